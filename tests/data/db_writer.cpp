#include "db_writer.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

namespace tracedrop::testdata::detail {

namespace {

// The CREATE statements exactly as Llama Stack's SQLiteSpanProcessor issues them (the
// indentation is part of the text sqlite_master keeps).
constexpr const char* kCreateTraces = R"(CREATE TABLE IF NOT EXISTS traces (
                trace_id TEXT PRIMARY KEY,
                service_name TEXT,
                root_span_id TEXT,
                start_time TIMESTAMP,
                end_time TIMESTAMP,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
            ))";

constexpr const char* kCreateSpans = R"(CREATE TABLE IF NOT EXISTS spans (
                span_id TEXT PRIMARY KEY,
                trace_id TEXT REFERENCES traces(trace_id),
                parent_span_id TEXT,
                name TEXT,
                start_time TIMESTAMP,
                end_time TIMESTAMP,
                attributes TEXT,
                status TEXT,
                kind TEXT
            ))";

// Same table without the PRIMARY KEY (files from forks/hand-made stores allow duplicates).
constexpr const char* kCreateSpansNoPk = R"(CREATE TABLE IF NOT EXISTS spans (
                span_id TEXT,
                trace_id TEXT REFERENCES traces(trace_id),
                parent_span_id TEXT,
                name TEXT,
                start_time TIMESTAMP,
                end_time TIMESTAMP,
                attributes TEXT,
                status TEXT,
                kind TEXT
            ))";

constexpr const char* kCreateEvents = R"(CREATE TABLE IF NOT EXISTS span_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                span_id TEXT REFERENCES spans(span_id),
                name TEXT,
                timestamp TIMESTAMP,
                attributes TEXT
            ))";

constexpr const char* kCreateIndex = R"(CREATE INDEX IF NOT EXISTS idx_traces_created_at
            ON traces(created_at))";

// kExtraSchema: a table nobody knows about, and a column added later with ALTER TABLE.
constexpr const char* kExtraSchema =
    "ALTER TABLE spans ADD COLUMN extra_col TEXT;"
    "CREATE TABLE annotations (id INTEGER PRIMARY KEY, span_id TEXT, note TEXT);"
    "INSERT INTO annotations (span_id, note) VALUES ('0000000000000000', 'added by a plugin'),"
    " ('0000000000000001', 'reviewed');";

// Llama Stack's upsert: the first row fixes service_name and created_at; root_span_id is set
// once a root ends; start/end widen as text.
constexpr const char* kUpsertTrace =
    "INSERT INTO traces (trace_id, service_name, root_span_id, start_time, end_time, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT(trace_id) DO UPDATE SET"
    " root_span_id = COALESCE(root_span_id, excluded.root_span_id),"
    " start_time = MIN(excluded.start_time, start_time),"
    " end_time = MAX(excluded.end_time, end_time)";

constexpr const char* kInsertSpan =
    "INSERT INTO spans (span_id, trace_id, parent_span_id, name, start_time, end_time, attributes,"
    " status, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

constexpr const char* kInsertSpanExtra =
    "INSERT INTO spans (span_id, trace_id, parent_span_id, name, start_time, end_time, attributes,"
    " status, kind, extra_col) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

constexpr const char* kInsertEvent =
    "INSERT INTO span_events (span_id, name, timestamp, attributes) VALUES (?1, ?2, ?3, ?4)";

void bind_text(sqlite3_stmt* stmt, int index, const std::string& s) {
  sqlite3_bind_text(stmt, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

double epoch_seconds(int64_t us) { return static_cast<double>(us) / static_cast<double>(kMicrosPerSecond); }

}  // namespace

bool remove_if_exists(const std::string& path) { return std::remove(path.c_str()) == 0 || errno == ENOENT; }

uint64_t file_size(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

DbWriter::~DbWriter() {
  finalize_all();
  if (db_) sqlite3_close(db_);
}

bool DbWriter::fail(const std::string& doing) {
  error_ = doing + ": " + (db_ ? sqlite3_errmsg(db_) : "cannot open database");
  return false;
}

bool DbWriter::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
  error_ = std::string("SQL failed (") + (msg ? msg : "?") + "): " + sql;
  sqlite3_free(msg);
  return false;
}

bool DbWriter::prepare(const char* sql, sqlite3_stmt** stmt) {
  if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) == SQLITE_OK) return true;
  return fail(std::string("preparing ") + sql);
}

bool DbWriter::open(const std::string& path, GenOptions::Variant variant) {
  path_ = path;
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    if (!remove_if_exists(path + suffix)) {
      error_ = "cannot remove existing " + path + suffix;
      return false;
    }
  }
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    return fail("creating " + path);
  }
  // No journal and no fsync while writing: the file is scratch data until we are done.
  if (!exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-65536;")) return false;
  if (!exec("BEGIN") || !create_schema(variant)) return false;
  extra_column_ = variant == GenOptions::Variant::kExtraSchema;
  has_events_ = variant != GenOptions::Variant::kNoEventsTable;
  if (!prepare(kUpsertTrace, &upsert_trace_)) return false;
  if (!prepare(extra_column_ ? kInsertSpanExtra : kInsertSpan, &insert_span_)) return false;
  if (has_events_ && !prepare(kInsertEvent, &insert_event_)) return false;
  if (!prepare("PRAGMA page_count", &page_count_)) return false;
  sqlite3_stmt* ps = nullptr;
  if (!prepare("PRAGMA page_size", &ps)) return false;
  if (sqlite3_step(ps) == SQLITE_ROW) page_size_ = sqlite3_column_int64(ps, 0);
  sqlite3_finalize(ps);
  return true;
}

bool DbWriter::create_schema(GenOptions::Variant variant) {
  using V = GenOptions::Variant;
  if (!exec(kCreateTraces)) return false;
  if (!exec(variant == V::kNoPrimaryKey ? kCreateSpansNoPk : kCreateSpans)) return false;
  if (variant != V::kNoEventsTable && !exec(kCreateEvents)) return false;
  if (!exec(kCreateIndex)) return false;
  if (variant == V::kExtraSchema && !exec(kExtraSchema)) return false;
  return true;
}

bool DbWriter::upsert_trace(const TraceInfo& trace, const SpanRec& span) {
  sqlite3_stmt* st = upsert_trace_;
  bind_text(st, 1, trace.trace_id);
  bind_text(st, 2, trace.service_name);
  if (span.is_root && !trace.force_null_root) {
    bind_text(st, 3, span.span_id);
  } else {
    sqlite3_bind_null(st, 3);
  }
  // The trace row always sees the span's real times, whatever odd cell the span row gets.
  bind_text(st, 4, iso_time(span.start_us, trace.naive));
  bind_text(st, 5, iso_time(span.end_us, trace.naive));
  bind_text(st, 6, sqlite_timestamp(span.end_us));  // CURRENT_TIMESTAMP when the row was made
  const int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE || fail("writing trace " + trace.trace_id);
}

bool DbWriter::insert_span(const TraceInfo& trace, const SpanRec& span) {
  sqlite3_stmt* st = insert_span_;
  bind_text(st, 1, span.span_id);
  bind_text(st, 2, trace.trace_id);
  if (span.has_parent) {
    bind_text(st, 3, span.parent_id);
  } else {
    sqlite3_bind_null(st, 3);
  }
  bind_text(st, 4, span.name);
  if (span.start_epoch_int) {
    sqlite3_bind_int64(st, 5, span.start_us / kMicrosPerSecond);
  } else {
    bind_text(st, 5, iso_time(span.start_us, trace.naive));
  }
  if (span.null_end) {
    sqlite3_bind_null(st, 6);
  } else if (span.end_epoch_real) {
    sqlite3_bind_double(st, 6, epoch_seconds(span.end_us));
  } else {
    bind_text(st, 6, iso_time(span.end_us, trace.naive));
  }
  switch (span.attr_cell) {
    case SpanRec::AttrCell::kBlob:
      sqlite3_bind_blob(st, 7, span.attributes.data(), static_cast<int>(span.attributes.size()), SQLITE_TRANSIENT);
      break;
    case SpanRec::AttrCell::kInteger: sqlite3_bind_int64(st, 7, 42); break;
    default: bind_text(st, 7, span.attributes); break;
  }
  bind_text(st, 8, span.status);
  bind_text(st, 9, span.kind);
  if (extra_column_) bind_text(st, 10, "extra:" + span.name);
  const int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE || fail("writing span " + span.span_id);
}

bool DbWriter::insert_event(const SpanRec& span, const EventRec& event, bool naive) {
  sqlite3_stmt* st = insert_event_;
  bind_text(st, 1, span.span_id);
  bind_text(st, 2, event.name);
  bind_text(st, 3, iso_time(event.ts_us, naive));
  bind_text(st, 4, event.attributes);
  const int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE || fail("writing an event of span " + span.span_id);
}

bool DbWriter::write_span(const TraceInfo& trace, const SpanRec& span) {
  if (trace.write_trace_row && !upsert_trace(trace, span)) return false;
  if (!insert_span(trace, span)) return false;
  if (span.write_twice && !insert_span(trace, span)) return false;
  if (!has_events_) return true;
  for (const auto& e : span.events) {
    if (!insert_event(span, e, trace.naive)) return false;
  }
  return true;
}

uint64_t DbWriter::database_bytes() {
  int64_t pages = 0;
  if (sqlite3_step(page_count_) == SQLITE_ROW) pages = sqlite3_column_int64(page_count_, 0);
  sqlite3_reset(page_count_);
  return static_cast<uint64_t>(pages * page_size_);
}

bool DbWriter::begin_wal_phase() {
  if (!exec("COMMIT")) return false;
  sqlite3_stmt* st = nullptr;
  if (!prepare("PRAGMA journal_mode=WAL", &st)) return false;
  std::string mode;
  if (sqlite3_step(st) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    mode = text ? text : "";
  }
  sqlite3_finalize(st);
  if (mode != "wal") {
    error_ = "could not switch " + path_ + " to WAL mode (got '" + mode + "')";
    return false;
  }
  // Never checkpoint, not even on close: the new rows must stay in the -wal file.
  if (!exec("PRAGMA wal_autocheckpoint=0")) return false;
  if (sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr) != SQLITE_OK) {
    return fail("disabling the checkpoint on close");
  }
  return exec("BEGIN");
}

void DbWriter::finalize_all() {
  for (sqlite3_stmt** st : {&upsert_trace_, &insert_span_, &insert_event_, &page_count_}) {
    if (*st) sqlite3_finalize(*st);
    *st = nullptr;
  }
}

bool DbWriter::finish(bool drop_wal) {
  if (!exec("COMMIT")) return false;
  finalize_all();
  if (sqlite3_close(db_) != SQLITE_OK) return fail("closing " + path_);
  db_ = nullptr;
  // The wal-index is shared-memory state that readers rebuild; real copies rarely carry it.
  if (!remove_if_exists(path_ + "-shm")) {
    error_ = "cannot remove " + path_ + "-shm";
    return false;
  }
  if (drop_wal && !remove_if_exists(path_ + "-wal")) {
    error_ = "cannot remove " + path_ + "-wal";
    return false;
  }
  return true;
}

}  // namespace tracedrop::testdata::detail
