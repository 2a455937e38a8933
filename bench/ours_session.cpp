// Our side: Store::open_path + Model::build (default LoadOptions), then the viewer's
// operations read from the model.
#include <sqlite3.h>

#include <algorithm>

#include "sessions.h"
#include "tracedrop/analysis.h"
#include "tracedrop/model.h"
#include "tracedrop/query.h"
#include "tracedrop/search.h"
#include "tracedrop/store.h"
#include "tracedrop/views.h"

namespace bench {
namespace {

using tracedrop::Model;

nlohmann::json error_json(const std::string& what, const tracedrop::Status& st) {
  return {{"error", what + ": " + st.message()}};
}

// The `count` traces around the median span count (ties by model order): typical traces,
// neither the one-span ones nor the giant ones.
std::vector<uint32_t> median_traces(const Model& model, size_t count) {
  std::vector<uint32_t> order;
  for (uint32_t t = 0; t < model.trace_count(); ++t)
    if (model.traces[t].span_count > 0) order.push_back(t);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return model.traces[a].span_count < model.traces[b].span_count;
  });
  const size_t take = std::min(count, order.size());
  const size_t first = std::min(order.size() / 2 - std::min(order.size() / 2, take / 2), order.size() - take);
  return std::vector<uint32_t>(order.begin() + static_cast<std::ptrdiff_t>(first),
                               order.begin() + static_cast<std::ptrdiff_t>(first + take));
}

std::vector<uint32_t> traces_by_id(const Model& model, const std::vector<std::string>& ids) {
  std::vector<uint32_t> out;
  for (const auto& id : ids)
    if (auto t = model.find_trace(id)) out.push_back(*t);
  return out;
}

// trace_tree_json and trace_tree_json_text of each trace; per-trace averages recorded.
tracedrop::Status time_trees(const Model& model, const std::vector<uint32_t>& trees, Figures& fig,
                             nlohmann::json& counts) {
  double wall = 0, cpu = 0, text_wall = 0, text_cpu = 0;
  uint64_t spans = 0, bytes = 0;
  for (uint32_t tr : trees) {
    Stopwatch sw;
    auto doc = tracedrop::trace_tree_json(model, tr);
    wall += sw.wall_ms();
    cpu += sw.cpu_ms();
    if (!doc.is_ok()) return doc.status();
    spans += (*doc)["spans"].get<uint64_t>();
    sw.restart();
    auto text = tracedrop::trace_tree_json_text(model, tr);
    text_wall += sw.wall_ms();
    text_cpu += sw.cpu_ms();
    if (!text.is_ok()) return text.status();
    bytes += text->size();
  }
  const double n = trees.empty() ? 1.0 : static_cast<double>(trees.size());
  fig.record("tree", wall / n, cpu / n);
  fig.record("tree_text", text_wall / n, text_cpu / n);
  counts["trees"] = trees.size();
  counts["tree_spans"] = spans;
  counts["tree_text_bytes"] = bytes;
  return tracedrop::Status::ok();
}

}  // namespace

nlohmann::json run_ours_session(const SessionConfig& config) {
  Figures fig;
  nlohmann::json counts;
  const Stopwatch session;

  Stopwatch sw;
  auto store = tracedrop::Store::open_path(config.db);
  if (!store.is_ok()) return error_json("open", store.status());
  fig.record("open", sw);

  sw.restart();
  auto built = Model::build(**store);
  if (!built.is_ok()) return error_json("build", built.status());
  fig.record("build", sw);
  const Model& model = **built;
  const uint64_t peak_after_build = vm_hwm_kb();
  // Resident memory splits into the process's own (anonymous) pages and pages of the database
  // file mapped by SQLite (page cache, shared with the system and dropped under pressure).
  counts["rss_anon_kb_after_build"] = status_kb("RssAnon");
  counts["rss_file_kb_after_build"] = status_kb("RssFile");

  sw.restart();
  tracedrop::TraceQuery query;
  query.limit = config.list_limit;
  auto listed = tracedrop::query_traces(model, query);
  if (!listed.is_ok()) return error_json("query_traces", listed.status());
  const nlohmann::json list = tracedrop::trace_list_json(model, *listed);
  fig.record("list", sw);
  fig.record("list_ready", session);
  counts["list_rows"] = list.size();

  const std::vector<uint32_t> trees = config.tree_trace_ids.empty() ? median_traces(model, config.tree_count)
                                                                    : traces_by_id(model, config.tree_trace_ids);
  const tracedrop::Status tree_status = time_trees(model, trees, fig, counts);
  if (!tree_status.is_ok()) return error_json("trace tree", tree_status);
  nlohmann::json tree_ids = nlohmann::json::array();
  for (uint32_t tr : trees) tree_ids.push_back(to_hex(model.traces[tr].id));

  tracedrop::SearchOptions search_options;
  search_options.limit = config.search_limit;
  for (const Needle& needle : config.needles) {
    sw.restart();
    auto hits = tracedrop::search(model, needle.text, search_options);
    fig.record("search." + needle.key, sw);
    if (!hits.is_ok()) return error_json("search", hits.status());
    counts["hits." + needle.key] = hits->size();
  }

  sw.restart();
  const tracedrop::Stats stats = tracedrop::compute_stats(model);
  const nlohmann::json stats_doc = tracedrop::stats_to_json(model, stats);
  fig.record("stats", sw);
  counts["stats_names"] = stats.by_name.size();

  counts["spans"] = model.span_count();
  counts["traces"] = model.trace_count();
  counts["events"] = model.event_count();
  const bool in_memory = model.attributes_in_memory();
  const bool in_place = model.reads_in_place();
  const uint64_t session_peak = vm_hwm_kb();
  built = tracedrop::Status(tracedrop::ErrorCode::kCancelled, "released");  // frees the model

  // The same build with the attribute check on the scanning thread (what the browser build,
  // which has no threads, does), then the floor: SQLite alone stepping through every column of
  // every span row, reading each value as bytes, with nothing kept. Both after the session,
  // with the first model freed, so they change neither its figures nor its peak memory.
  {
    tracedrop::LoadOptions one_thread;
    one_thread.threads = false;
    sw.restart();
    auto again = Model::build(**store, one_thread);
    if (!again.is_ok()) return error_json("build (one thread)", again.status());
    fig.record("build_1thread", sw);
  }
  {
    // Everything read through SQLite's virtual machine, as before the direct page reader.
    tracedrop::LoadOptions through_sqlite;
    through_sqlite.direct = false;
    sw.restart();
    auto again = Model::build(**store, through_sqlite);
    if (!again.is_ok()) return error_json("build (through SQLite)", again.status());
    fig.record("build_sqlite", sw);
  }
  {
    sw.restart();
    sqlite3_stmt* st = nullptr;
    const char* sql = "SELECT rowid, span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, "
                      "status, kind FROM spans";
    if (sqlite3_prepare_v2((*store)->db(), sql, -1, &st, nullptr) != SQLITE_OK) {
      return error_json("scan floor", tracedrop::Status(tracedrop::ErrorCode::kSqlError, sqlite3_errmsg((*store)->db())));
    }
    uint64_t bytes = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int i = 1; i < 10; ++i) {
        (void)sqlite3_column_blob(st, i);
        bytes += static_cast<uint64_t>(sqlite3_column_bytes(st, i));
      }
    }
    sqlite3_finalize(st);
    fig.record("scan_floor", sw);
    counts["scan_floor_bytes"] = bytes;
  }

  return {{"side", "ours"},
          {"ms", fig.wall},
          {"cpu_ms", fig.cpu},
          {"counts", counts},
          {"attributes_in_memory", in_memory},
          {"reads_in_place", in_place},
          {"file_bytes", (*store)->file_size()},
          {"tree_trace_ids_hex", tree_ids},
          {"peak_kb_after_build", peak_after_build},
          {"peak_kb", session_peak}};
}

std::vector<Needle> default_needles() {
  return {{"weather", "weather"}, {"unicode", "Zürich"}, {"nomatch", "qxzjv-nothing-matches-this"}};
}

}  // namespace bench
