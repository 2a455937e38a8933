// `tracedrop-bench --export`: our exporters (open + model build + export_traces into a
// FileSink, per format) against the old otel_conversation_exporter.py's approach rebuilt in
// C++ (a fresh connection and an unindexed `WHERE trace_id = ?` scan per trace, the whole
// document built in memory as nlohmann::json, then written). Each side runs in its own fresh
// process per repetition; figures are medians. The baseline runs on a fixed random sample of
// traces and its per-trace cost is extrapolated to the whole file (labelled as such).
#include "export_bench.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>

#include "report.h"
#include "tracedrop/export.h"
#include "tracedrop/model.h"
#include "tracedrop/store.h"
#include "tracedrop/time.h"

namespace bench {
namespace {

struct FormatCase {
  const char* key;  // "otlp-json", "otlp-json-gzip", ...
  const char* format;
  bool gzip;
  int gzip_level = 1;  // GzipSink's default (our own deflate); 6: zlib's default, for reference
};

const FormatCase kCases[] = {{"otlp-json", "otlp-json", false},
                             {"otlp-json-gzip", "otlp-json", true},
                             {"otlp-json-gzip6", "otlp-json", true, 6},
                             {"otlp-jsonl", "otlp-jsonl", false},
                             {"jaeger", "jaeger", false}};

// Targets (printed, not asserted).
constexpr double kTargetSpeedup = 100;
constexpr double kTargetSpansPerSecond = 300000;
constexpr double kTargetGzipFactor = 2;

std::string temp_output(const char* suffix) {
  return "/tmp/tracedrop-bench-export-" + std::to_string(getpid()) + suffix;
}

// ---------------------------------------------------------------------------- our side

// `to_chunks`: the export goes to a ChunkSink of 1 MiB chunks that are counted and dropped, as
// the wasm module's exportTraces hands them to JavaScript (bench/wasm/wasm_bench.mjs compares
// the two: the same work on both sides, no file); otherwise to a file (FileSink), as the CLI.
nlohmann::json ours_session(const std::string& db, const FormatCase& c, bool to_chunks) {
  Figures fig;
  const Stopwatch session;
  Stopwatch sw;
  auto store = tracedrop::Store::open_path(db);
  if (!store.is_ok()) return {{"error", "open: " + store.status().message()}};
  auto model = tracedrop::Model::build(**store, tracedrop::LoadOptions{});
  if (!model.is_ok()) return {{"error", "build: " + model.status().message()}};
  fig.record("build", sw);
  const uint64_t peak_after_build = vm_hwm_kb();

  sw.restart();
  const tracedrop::Model& m = **model;
  auto traces = tracedrop::select_traces(m, tracedrop::ExportSelection{});
  if (!traces.is_ok()) return {{"error", "select: " + traces.status().message()}};
  const std::string path = temp_output(c.gzip ? ".json.gz" : ".json");
  std::unique_ptr<tracedrop::FileSink> file;
  uint64_t chunk_bytes = 0;
  tracedrop::ChunkSink chunks([&chunk_bytes](std::string_view chunk) {
    chunk_bytes += chunk.size();
    return tracedrop::Status::ok();
  });
  if (!to_chunks) {
    auto created = tracedrop::FileSink::create(path);
    if (!created.is_ok()) return {{"error", created.status().message()}};
    file = std::move(created).value();
  }
  tracedrop::Sink& out = file ? static_cast<tracedrop::Sink&>(*file) : static_cast<tracedrop::Sink&>(chunks);
  std::unique_ptr<tracedrop::GzipSink> gz;
  if (c.gzip) gz = std::move(tracedrop::GzipSink::create(out, c.gzip_level)).value();
  tracedrop::Sink& sink = gz ? static_cast<tracedrop::Sink&>(*gz) : out;
  tracedrop::ExportOptions options;
  options.format = *tracedrop::parse_export_format(c.format);
  auto summary = tracedrop::export_traces(m, *traces, options, sink);
  if (!summary.is_ok()) return {{"error", "export: " + summary.status().message()}};
  tracedrop::Status st = sink.close();
  if (st.is_ok() && file) st = file->commit();
  if (!st.is_ok()) return {{"error", st.message()}};
  fig.record("export", sw);
  fig.record("total", session);
  const uint64_t file_bytes = file ? file->bytes_written() : chunk_bytes;
  if (file) std::remove(path.c_str());
  nlohmann::json counts{{"traces", summary->traces},
                        {"spans", summary->spans},
                        {"events", summary->events},
                        {"bytes", file_bytes},
                        {"uncompressed_bytes", summary->bytes},
                        {"skipped", summary->skipped.size()}};
  return {{"side", std::string("ours.") + c.key}, {"ms", fig.wall}, {"cpu_ms", fig.cpu}, {"counts", counts},
          {"peak_kb", vm_hwm_kb()}, {"peak_kb_after_build", peak_after_build}};
}

// ---------------------------------------------------------------------------- the baseline

struct Connection {
  sqlite3* db = nullptr;
  ~Connection() { sqlite3_close(db); }
};

std::string column_text(sqlite3_stmt* st, int i) {
  const auto* t = sqlite3_column_text(st, i);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(st, i)))
           : std::string();
}

// Python's datetime.fromisoformat(...).timestamp() * 1e9: a float on the way.
int64_t float_nanos(const std::string& text) {
  auto t = tracedrop::parse_timestamp(text);
  if (!t) return 0;
  const double seconds = static_cast<double>(t->ns) / 1e9;
  return static_cast<int64_t>(seconds * 1e9);
}

// The old script's attribute values: numbers and booleans as doubleValue, the rest as text.
nlohmann::json old_any_value(const nlohmann::json& v) {
  if (v.is_boolean()) return {{"doubleValue", v.get<bool>() ? 1.0 : 0.0}};
  if (v.is_number()) return {{"doubleValue", v.get<double>()}};
  if (v.is_string()) return {{"stringValue", v.get<std::string>()}};
  return {{"stringValue", v.dump()}};
}

// The old script's kind: a text search in the name.
int old_kind(const std::string& name) {
  if (name.find("inference") != std::string::npos || name.find("chat") != std::string::npos) return 3;
  if (name.find('/') != std::string::npos) return 2;
  return 1;
}

// One trace: a fresh connection and a full scan of `spans` (no index on trace_id).
bool baseline_trace(const std::string& db, const std::string& trace_id, nlohmann::json& spans, uint64_t& rows,
                    std::string& error) {
  Connection conn;
  if (sqlite3_open_v2(db.c_str(), &conn.db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    error = "open failed";
    return false;
  }
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "SELECT span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, status, kind "
      "FROM spans WHERE trace_id = ?";
  if (sqlite3_prepare_v2(conn.db, sql, -1, &st, nullptr) != SQLITE_OK) {
    error = sqlite3_errmsg(conn.db);
    return false;
  }
  sqlite3_bind_text(st, 1, trace_id.data(), static_cast<int>(trace_id.size()), SQLITE_TRANSIENT);
  while (sqlite3_step(st) == SQLITE_ROW) {
    ++rows;
    const std::string name = column_text(st, 3);
    nlohmann::json span{{"traceId", column_text(st, 1)},
                        {"spanId", column_text(st, 0)},
                        {"name", name},
                        {"kind", old_kind(name)},
                        {"startTimeUnixNano", std::to_string(float_nanos(column_text(st, 4)))},
                        {"endTimeUnixNano", std::to_string(float_nanos(column_text(st, 5)))},
                        {"status", {{"code", 1}}}};
    const std::string parent = column_text(st, 2);
    if (!parent.empty()) span["parentSpanId"] = parent;
    column_text(st, 7);
    column_text(st, 8);
    nlohmann::json attributes = nlohmann::json::array();
    const nlohmann::json parsed = nlohmann::json::parse(column_text(st, 6), nullptr, false);
    if (parsed.is_object()) {
      for (auto it = parsed.begin(); it != parsed.end(); ++it)
        attributes.push_back({{"key", it.key()}, {"value", old_any_value(*it)}});
    }
    span["attributes"] = std::move(attributes);
    spans.push_back(std::move(span));
  }
  sqlite3_finalize(st);
  return true;
}

// A fixed random sample (seed 1) of the trace ids, the same in every run.
std::vector<std::string> sample_ids(sqlite3* db, size_t sample, size_t& total) {
  std::vector<std::string> ids;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT trace_id FROM traces ORDER BY trace_id", -1, &st, nullptr) != SQLITE_OK) return ids;
  while (sqlite3_step(st) == SQLITE_ROW) ids.push_back(column_text(st, 0));
  sqlite3_finalize(st);
  total = ids.size();
  std::mt19937_64 rng(1);
  std::shuffle(ids.begin(), ids.end(), rng);
  ids.resize(std::min(sample, ids.size()));
  return ids;
}

nlohmann::json baseline_session(const std::string& db, size_t sample) {
  Figures fig;
  Stopwatch sw;
  size_t total_traces = 0;
  int64_t total_spans = 0;
  std::vector<std::string> ids;
  {
    Connection conn;
    if (sqlite3_open_v2(db.c_str(), &conn.db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      return {{"error", "open failed"}};
    }
    ids = sample_ids(conn.db, sample, total_traces);  // the script's trace list query, roughly
    fig.record("list", sw);
    sqlite3_stmt* st = nullptr;  // not timed: only for the extrapolation
    if (sqlite3_prepare_v2(conn.db, "SELECT count(*) FROM spans", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      total_spans = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  if (ids.empty()) return {{"error", "no traces"}};

  sw.restart();
  nlohmann::json doc{{"resourceSpans",
                      {{{"resource", {{"attributes", {{{"key", "service.name"}, {"value", {{"stringValue", "llama-stack"}}}}}}}},
                        {"scopeSpans", {{{"scope", {{"name", "llama_stack"}}}, {"spans", nlohmann::json::array()}}}}}}}};
  nlohmann::json& spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"];
  uint64_t rows = 0;
  std::string error;
  for (const auto& id : ids)
    if (!baseline_trace(db, id, spans, rows, error)) return {{"error", error}};
  fig.record("traces", sw);

  sw.restart();
  const std::string path = temp_output(".baseline.json");
  {
    const std::string text = doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    std::ofstream(path, std::ios::binary) << text;
  }
  fig.record("write", sw);
  std::remove(path.c_str());
  nlohmann::json counts{{"sample_traces", ids.size()}, {"sample_spans", rows}, {"total_traces", total_traces},
                        {"total_spans", total_spans}};
  return {{"side", "baseline"}, {"ms", fig.wall}, {"cpu_ms", fig.cpu}, {"counts", counts}, {"peak_kb", vm_hwm_kb()}};
}

// ---------------------------------------------------------------------------- report

double med(const std::vector<nlohmann::json>& runs, const char* group, const char* key) {
  std::vector<double> v;
  for (const auto& r : runs)
    if (r.contains(group) && r[group].contains(key)) v.push_back(r[group][key].get<double>());
  return median(v);
}

nlohmann::json summarize_export(const ExportRun& run) {
  nlohmann::json out{{"db", run.db}, {"date", today_utc()}, {"repeat", run.repeat}, {"page_cache", "warm"},
                     {"machine", {{"cpus", online_cpus()}, {"cpu_model", cpu_model()},
                                  {"load_before", run.load_before}, {"load_after", run.load_after}}}};
  nlohmann::json formats = nlohmann::json::object();
  for (const FormatCase& c : kCases) {
    const auto& runs = run.ours.at(c.key);
    const double spans = med(runs, "counts", "spans");
    const double bytes = med(runs, "counts", "bytes");
    const double export_ms = med(runs, "ms", "export"), export_cpu = med(runs, "cpu_ms", "export");
    std::vector<double> peak, peak_build;
    for (const auto& r : runs) {
      peak.push_back(r.value("peak_kb", 0.0) / 1024);
      peak_build.push_back(r.value("peak_kb_after_build", 0.0) / 1024);
    }
    formats[c.key] = {{"build_ms", med(runs, "ms", "build")}, {"build_cpu_ms", med(runs, "cpu_ms", "build")},
                      {"export_ms", export_ms}, {"export_cpu_ms", export_cpu},
                      {"total_ms", med(runs, "ms", "total")}, {"total_cpu_ms", med(runs, "cpu_ms", "total")},
                      {"spans", spans}, {"bytes", bytes}, {"uncompressed_bytes", med(runs, "counts", "uncompressed_bytes")},
                      {"spans_per_s", spans / (export_ms / 1000)}, {"spans_per_cpu_s", spans / (export_cpu / 1000)},
                      {"mb_per_s", bytes / 1048576 / (export_ms / 1000)},
                      {"peak_mb", median(peak)}, {"peak_mb_after_build", median(peak_build)}};
  }
  out["ours"] = formats;

  const auto& b = run.baseline;
  const double sample = med(b, "counts", "sample_traces"), total = med(b, "counts", "total_traces");
  const double total_spans = med(b, "counts", "total_spans");
  const double per_trace_ms = (med(b, "ms", "traces") + med(b, "ms", "write")) / sample;
  const double per_trace_cpu = (med(b, "cpu_ms", "traces") + med(b, "cpu_ms", "write")) / sample;
  const double extrapolated_ms = med(b, "ms", "list") + per_trace_ms * total;
  const double extrapolated_cpu = med(b, "cpu_ms", "list") + per_trace_cpu * total;
  std::vector<double> bpeak;
  for (const auto& r : b) bpeak.push_back(r.value("peak_kb", 0.0) / 1024);
  out["baseline"] = {{"sample_traces", sample}, {"sample_spans", med(b, "counts", "sample_spans")},
                     {"total_traces", total}, {"total_spans", total_spans},
                     {"per_trace_ms", per_trace_ms}, {"per_trace_cpu_ms", per_trace_cpu},
                     {"extrapolated_total_ms", extrapolated_ms}, {"extrapolated_total_cpu_ms", extrapolated_cpu},
                     {"extrapolated_spans_per_s", total_spans / (extrapolated_ms / 1000)},
                     {"peak_mb_sample", median(bpeak)},
                     {"note", "measured on a fixed random sample of traces; the whole-file cost is the per-trace "
                              "cost times the trace count (each trace is a full scan of spans)"}};

  const nlohmann::json& otlp = formats["otlp-json"];
  const double speedup = extrapolated_ms / otlp["total_ms"].get<double>();
  const double speedup_cpu = extrapolated_cpu / otlp["total_cpu_ms"].get<double>();
  const double gzip_factor = formats["otlp-json-gzip"]["export_ms"].get<double>() / otlp["export_ms"].get<double>();
  const double gzip_factor_cpu =
      formats["otlp-json-gzip"]["export_cpu_ms"].get<double>() / otlp["export_cpu_ms"].get<double>();
  out["targets"] = {
      {"speedup_vs_baseline", {{"value", speedup}, {"cpu", speedup_cpu}, {"target", kTargetSpeedup},
                               {"met", speedup >= kTargetSpeedup}}},
      {"otlp_json_spans_per_s", {{"value", otlp["spans_per_s"]}, {"cpu", otlp["spans_per_cpu_s"]},
                                 {"target", kTargetSpansPerSecond},
                                 {"met", otlp["spans_per_s"].get<double>() >= kTargetSpansPerSecond}}},
      {"gzip_cost_factor", {{"value", gzip_factor}, {"cpu", gzip_factor_cpu}, {"target", kTargetGzipFactor},
                            {"met", gzip_factor <= kTargetGzipFactor}}}};
  return out;
}

std::string fmt(const char* pattern, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, pattern, v);
  return buf;
}

std::string format_export_table(const nlohmann::json& s) {
  std::string out;
  out += "tracedrop-bench --export: " + s["db"].get<std::string>() + "\n";
  out += "date " + s["date"].get<std::string>() + ", median of " + std::to_string(s["repeat"].get<int>()) +
         " runs, warm page cache, " + std::to_string(s["machine"]["cpus"].get<long>()) + " CPUs, load " +
         s["machine"]["load_before"].get<std::string>() + " before / " + s["machine"]["load_after"].get<std::string>() +
         " after\n\n";
  out += "format            build ms (cpu)       export ms (cpu)      spans/s (per cpu s)    MB/s   file MB  peak MB (after build)\n";
  for (const FormatCase& c : kCases) {
    const auto& f = s["ours"][c.key];
    char line[256];
    std::snprintf(line, sizeof line, "%-16s %8.0f (%6.0f)   %8.0f (%6.0f)   %9.0f (%9.0f)  %6.1f  %8.1f  %6.1f (%6.1f)\n", c.key,
                  f["build_ms"].get<double>(), f["build_cpu_ms"].get<double>(), f["export_ms"].get<double>(),
                  f["export_cpu_ms"].get<double>(), f["spans_per_s"].get<double>(), f["spans_per_cpu_s"].get<double>(),
                  f["mb_per_s"].get<double>(), f["bytes"].get<double>() / 1048576, f["peak_mb"].get<double>(),
                  f["peak_mb_after_build"].get<double>());
    out += line;
  }
  const auto& b = s["baseline"];
  out += "\nbaseline (old exporter's approach, C++): EXTRAPOLATED from a fixed random sample of " +
         fmt("%.0f", b["sample_traces"].get<double>()) + " traces (" + fmt("%.0f", b["sample_spans"].get<double>()) +
         " spans) to " + fmt("%.0f", b["total_traces"].get<double>()) + " traces\n";
  out += "  per trace " + fmt("%.1f", b["per_trace_ms"].get<double>()) + " ms (" +
         fmt("%.1f", b["per_trace_cpu_ms"].get<double>()) + " cpu); whole file ~" +
         fmt("%.0f", b["extrapolated_total_ms"].get<double>() / 1000) + " s (" +
         fmt("%.0f", b["extrapolated_total_cpu_ms"].get<double>() / 1000) + " s cpu), " +
         fmt("%.0f", b["extrapolated_spans_per_s"].get<double>()) + " spans/s; peak " +
         fmt("%.1f", b["peak_mb_sample"].get<double>()) + " MB for the sample only\n\n";
  const auto& t = s["targets"];
  auto verdict = [](const nlohmann::json& x) { return x["met"].get<bool>() ? "met" : "MISSED"; };
  out += "targets (not asserted):\n";
  out += "  ours (open+build+export, OTLP JSON) vs baseline: " + fmt("%.0fx", t["speedup_vs_baseline"]["value"].get<double>()) +
         " wall, " + fmt("%.0fx", t["speedup_vs_baseline"]["cpu"].get<double>()) + " cpu (target >= 100x): " +
         verdict(t["speedup_vs_baseline"]) + "\n";
  out += "  OTLP JSON export: " + fmt("%.0f", t["otlp_json_spans_per_s"]["value"].get<double>()) + " spans/s wall, " +
         fmt("%.0f", t["otlp_json_spans_per_s"]["cpu"].get<double>()) + " per cpu s (target >= 300000): " +
         verdict(t["otlp_json_spans_per_s"]) + "\n";
  out += "  gzip cost: " + fmt("%.2fx", t["gzip_cost_factor"]["value"].get<double>()) + " plain wall, " +
         fmt("%.2fx", t["gzip_cost_factor"]["cpu"].get<double>()) + " cpu (target <= 2x): " +
         verdict(t["gzip_cost_factor"]) + " (level 1, the default; zlib's level 6 for reference: " +
         fmt("%.2fx", s["ours"]["otlp-json-gzip6"]["export_ms"].get<double>() /
                          s["ours"]["otlp-json"]["export_ms"].get<double>()) +
         ")\n";
  return out;
}

}  // namespace

nlohmann::json run_export_child(const std::string& side, const std::string& db, size_t sample) {
  if (side == "export-baseline") return baseline_session(db, sample);
  for (const FormatCase& c : kCases) {
    if (side == std::string("export-ours.") + c.key) return ours_session(db, c, false);
    if (side == std::string("export-ours-chunks.") + c.key) return ours_session(db, c, true);
  }
  return {{"error", "unknown side " + side}};
}

int run_export_parent(const std::string& db, int repeat, size_t sample, bool json) {
  ExportRun run;
  run.db = db;
  run.repeat = repeat;
  warm_page_cache(db);
  run.load_before = load_average();
  for (int r = 0; r < repeat; ++r) {
    for (const FormatCase& c : kCases) {
      std::string text, error;
      const bool ok = run_self({"--child", std::string("export-ours.") + c.key, "--db", db}, &text, &error);
      nlohmann::json result = nlohmann::json::parse(text, nullptr, false);
      if (!ok || result.is_discarded() || result.contains("error")) {
        std::fprintf(stderr, "tracedrop-bench: export %s failed: %s\n", c.key,
                     !result.is_discarded() && result.contains("error") ? result["error"].dump().c_str() : error.c_str());
        return 1;
      }
      run.ours[c.key].push_back(std::move(result));
    }
    std::string text, error;
    const bool ok = run_self({"--child", "export-baseline", "--db", db, "--sample", std::to_string(sample)}, &text, &error);
    nlohmann::json result = nlohmann::json::parse(text, nullptr, false);
    if (!ok || result.is_discarded() || result.contains("error")) {
      std::fprintf(stderr, "tracedrop-bench: export baseline failed: %s\n", error.c_str());
      return 1;
    }
    std::fprintf(stderr, "run %d/%d: ours otlp-json export %.0f ms, baseline %.0f ms for %zu sampled traces\n", r + 1,
                 repeat, run.ours["otlp-json"].back()["ms"]["export"].get<double>(),
                 result["ms"]["traces"].get<double>(), sample);
    run.baseline.push_back(std::move(result));
  }
  run.load_after = load_average();
  const nlohmann::json summary = summarize_export(run);
  if (json) std::puts(summary.dump(2).c_str());
  else std::fputs(format_export_table(summary).c_str(), stdout);
  return 0;
}

}  // namespace bench
