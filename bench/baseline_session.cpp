// The baseline: what the old trace_viewer.py did, statement for statement, through the same
// SQLite build on a fresh connection, with no index added (the schema has none on
// spans.trace_id, so every per-trace statement scans `spans`). Every cell of every row is
// fetched as text, as Python's sqlite3 module converts each one.
#include <sqlite3.h>

#include "sessions.h"

namespace bench {
namespace {

const char kListSql[] =
    "SELECT t.trace_id, t.root_span_id, t.start_time, t.end_time, COUNT(s.span_id) AS span_count "
    "FROM traces t LEFT JOIN spans s ON t.trace_id = s.trace_id "
    "GROUP BY t.trace_id, t.root_span_id, t.start_time, t.end_time "
    "ORDER BY t.start_time DESC LIMIT ?";
const char kShowTraceSql[] = "SELECT * FROM traces WHERE trace_id = ?";
const char kShowSpansSql[] =
    "SELECT span_id, parent_span_id, name, start_time, end_time, attributes, status "
    "FROM spans WHERE trace_id = ? ORDER BY start_time";
const char kSearchSql[] =
    "SELECT DISTINCT t.trace_id, t.start_time, s.name, s.attributes "
    "FROM traces t JOIN spans s ON t.trace_id = s.trace_id "
    "WHERE s.attributes LIKE ? ORDER BY t.start_time DESC LIMIT ?";
const char* const kViewerStatsSql[] = {
    "SELECT COUNT(*) FROM traces",
    "SELECT COUNT(*) FROM spans",
    "SELECT MIN(start_time), MAX(start_time) FROM traces",
    "SELECT name, COUNT(*) FROM spans GROUP BY name ORDER BY 2 DESC LIMIT 5",
};
// Our stats also give per-name durations; this is the same in SQL, to compare like with like.
const char kNameDurationsSql[] =
    "SELECT name, count(*), "
    "avg((julianday(end_time) - julianday(start_time)) * 86400000), "
    "max((julianday(end_time) - julianday(start_time)) * 86400000) "
    "FROM spans GROUP BY name";

// One statement with text/integer parameters, every row fetched. Returns rows, -1 on error.
class Query {
 public:
  Query(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Query() { sqlite3_finalize(stmt_); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int i, const std::string& text) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& bind(int i, int64_t v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }

  int64_t fetch_all() {
    if (rc_ != SQLITE_OK) return -1;
    int64_t rows = 0;
    const int columns = sqlite3_column_count(stmt_);
    int rc;
    while ((rc = sqlite3_step(stmt_)) == SQLITE_ROW) {
      ++rows;
      for (int c = 0; c < columns; ++c) {
        sqlite3_column_text(stmt_, c);
        bytes_ += static_cast<uint64_t>(sqlite3_column_bytes(stmt_, c));
      }
    }
    return rc == SQLITE_DONE ? rows : -1;
  }
  std::string error() const { return sqlite3_errmsg(db_); }
  uint64_t bytes() const { return bytes_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
  uint64_t bytes_ = 0;
};

struct Connection {
  sqlite3* db = nullptr;
  ~Connection() { sqlite3_close(db); }
};

}  // namespace

nlohmann::json run_baseline_session(const SessionConfig& config) {
  Figures fig;
  nlohmann::json counts;
  std::string failure;
  // Runs one statement to the end; remembers the first failure.
  auto run = [&](Query& q) {
    const int64_t rows = q.fetch_all();
    if (rows < 0 && failure.empty()) failure = q.error();
    return rows;
  };
  const Stopwatch session;

  Stopwatch sw;
  Connection conn;
  if (sqlite3_open_v2(config.db.c_str(), &conn.db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    return {{"error", "open: " + std::string(conn.db ? sqlite3_errmsg(conn.db) : "out of memory")}};
  }
  fig.record("open", sw);

  sw.restart();
  {
    Query list(conn.db, kListSql);
    counts["list_rows"] = run(list.bind(1, static_cast<int64_t>(config.list_limit)));
  }
  fig.record("list", sw);
  fig.record("list_ready", session);

  sw.restart();
  int64_t show_spans = 0;
  for (const std::string& id : config.tree_trace_ids) {
    Query trace(conn.db, kShowTraceSql);
    run(trace.bind(1, id));
    Query spans(conn.db, kShowSpansSql);
    show_spans += run(spans.bind(1, id));
  }
  const double n = config.tree_trace_ids.empty() ? 1.0 : static_cast<double>(config.tree_trace_ids.size());
  fig.record("show", sw.wall_ms() / n, sw.cpu_ms() / n);
  counts["trees"] = config.tree_trace_ids.size();
  counts["tree_spans"] = show_spans;

  for (const Needle& needle : config.needles) {
    sw.restart();
    Query search(conn.db, kSearchSql);
    counts["hits." + needle.key] =
        run(search.bind(1, "%" + needle.text + "%").bind(2, static_cast<int64_t>(config.search_limit)));
    fig.record("search." + needle.key, sw);
  }

  const Stopwatch stats;
  sw.restart();
  for (const char* sql : kViewerStatsSql) {
    Query q(conn.db, sql);
    run(q);
  }
  fig.record("stats_viewer", sw);
  sw.restart();
  {
    Query q(conn.db, kNameDurationsSql);
    counts["stats_names"] = run(q);
  }
  fig.record("stats_names", sw);
  fig.record("stats", stats);

  if (!failure.empty()) return {{"error", "baseline SQL failed: " + failure}};
  return {{"side", "baseline"}, {"ms", fig.wall}, {"cpu_ms", fig.cpu}, {"counts", counts}, {"peak_kb", vm_hwm_kb()}};
}

}  // namespace bench
