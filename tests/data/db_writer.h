// Writes rows into a new trace store the way Llama Stack's sqlite sink did: the traces row is
// an upsert per span (root_span_id kept once set, start/end as text MIN/MAX), then the span,
// then its events. Everything goes into one transaction with the journal off, for speed.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "generator.h"
#include "trace_model.h"

namespace tracedrop::testdata::detail {

class DbWriter {
 public:
  DbWriter() = default;
  ~DbWriter();
  DbWriter(const DbWriter&) = delete;
  DbWriter& operator=(const DbWriter&) = delete;

  // Removes `path` and its sidecars, creates the schema for `variant`, opens a transaction.
  bool open(const std::string& path, GenOptions::Variant variant);
  // Upserts the traces row (unless the trace has none), inserts the span row (twice if asked)
  // and its events (when the variant has the table).
  bool write_span(const TraceInfo& trace, const SpanRec& span);
  // Commits, switches to WAL without ever checkpointing, and opens a new transaction: rows
  // written from now on stay in the -wal file.
  bool begin_wal_phase();
  // Commits and closes. WAL variants: the -shm index is removed (it is rebuilt from the -wal),
  // and with drop_wal the -wal too (its rows are lost).
  bool finish(bool drop_wal);

  uint64_t database_bytes();  // page_count * page_size, including uncommitted pages
  bool has_events_table() const { return has_events_; }
  const std::string& error() const { return error_; }

 private:
  bool exec(const char* sql);
  bool prepare(const char* sql, sqlite3_stmt** stmt);
  bool fail(const std::string& doing);
  bool create_schema(GenOptions::Variant variant);
  bool upsert_trace(const TraceInfo& trace, const SpanRec& span);
  bool insert_span(const TraceInfo& trace, const SpanRec& span);
  bool insert_event(const SpanRec& span, const EventRec& event, bool naive);
  void finalize_all();

  sqlite3* db_ = nullptr;
  std::string path_;
  sqlite3_stmt* upsert_trace_ = nullptr;
  sqlite3_stmt* insert_span_ = nullptr;
  sqlite3_stmt* insert_event_ = nullptr;
  sqlite3_stmt* page_count_ = nullptr;
  int64_t page_size_ = 4096;
  bool has_events_ = true;
  bool extra_column_ = false;
  std::string error_;
};

// Removes a file if present (true if it is absent afterwards).
bool remove_if_exists(const std::string& path);
uint64_t file_size(const std::string& path);

}  // namespace tracedrop::testdata::detail
