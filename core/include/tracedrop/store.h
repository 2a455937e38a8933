// Read-only access to a trace_store.db: open by path, from bytes in memory, or through a
// named SQLite VFS (the browser's File reader). Never writes to the user's file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tracedrop/file_image.h"
#include "tracedrop/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tracedrop {

// What the schema check found.
struct SchemaInfo {
  bool has_span_events = false;
  std::vector<std::string> extra_tables;   // tables beyond traces/spans/span_events
  std::vector<std::string> extra_columns;  // "spans.foo", ...
  std::vector<std::string> missing_columns;  // optional columns absent ("spans.kind", ...)
};

// Result of a user's SQL statement.
struct SqlResult {
  std::vector<std::string> columns;
  // Each cell as SQLite gives it: null, integer, real, text or blob (as "x'..'" text).
  struct Cell {
    enum Type : uint8_t { kNull, kInteger, kReal, kText, kBlob } type = kNull;
    int64_t i = 0;
    double d = 0;
    std::string s;
  };
  std::vector<std::vector<Cell>> rows;
  bool truncated = false;  // more rows than max_rows
};

class Store {
 public:
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Opens a file read-only. Checks, in order: exists, not a directory, readable, not empty,
  // SQLite header, size matches the header (truncation), readable schema, trace-store tables.
  // A hot journal or a -wal sidecar is applied to a private copy, never to the user's file.
  static Result<std::unique_ptr<Store>> open_path(const std::string& path);
  // Opens a database image held in memory (the browser's small-file path). Takes the bytes.
  static Result<std::unique_ptr<Store>> open_bytes(std::string bytes, std::string display_name = "database");
  // The same for `size` bytes in a buffer the caller filled (the browser copies a file's bytes
  // straight into one, without first zero-filling a string of that size). Takes the buffer.
  static Result<std::unique_ptr<Store>> open_bytes(std::unique_ptr<char[]> bytes, size_t size,
                                                   std::string display_name = "database");
  // Opens `name` through a registered read-only VFS (the browser's large-file path).
  static Result<std::unique_ptr<Store>> open_vfs(const std::string& name, const std::string& vfs,
                                                 std::string display_name);

  sqlite3* db() const { return db_; }
  const std::string& display_name() const { return display_name_; }
  uint64_t file_size() const { return file_size_; }
  const SchemaInfo& schema() const { return schema_; }
  // Warnings about the file as a whole (e.g. a WAL database whose -wal file is absent).
  struct Warning { std::string code, message; };
  const std::vector<Warning>& warnings() const { return warnings_; }
  // The file's bytes as one block of memory, when SQLite's view of the database is exactly
  // those bytes (a read-only mapping of the file, or the image of open_bytes); null otherwise
  // (a private copy with a journal applied, the browser's VFS, no mmap).
  const std::shared_ptr<const FileImage>& image() const { return image_; }

  // Attribute text of the span with this rowid (on-demand attribute storage).
  Status span_attributes(int64_t rowid, std::string& out);
  // Attribute texts of many spans: `rowids` ascending; fn(i, text) is called for each rowids[i]
  // found, in that order. Dense runs are read with one range scan, sparse ones row by row, all
  // inside one read transaction.
  Status span_attributes_batch(const std::vector<int64_t>& rowids,
                               const std::function<void(size_t, std::string_view)>& fn);

  // Runs one read-only SQL statement. Anything that would write, or more than one statement,
  // is refused with kReadOnly / kInvalidArgument. At most max_rows rows are kept.
  Result<SqlResult> run_sql(std::string_view sql, size_t max_rows = 1000);

 private:
  Store() = default;
  // open_bytes of `size` bytes at `data`, which the image keeps alive through `owner`.
  static Result<std::unique_ptr<Store>> open_image(char* data, size_t size, std::shared_ptr<void> owner,
                                                   std::string display_name);
  Status init_after_open();
  Status check_schema();
  Status prepare_attribute_statements();  // attr_stmt_ and attr_range_stmt_, once

  sqlite3* db_ = nullptr;
  sqlite3_stmt* attr_stmt_ = nullptr;
  sqlite3_stmt* attr_range_stmt_ = nullptr;
  std::string display_name_;
  uint64_t file_size_ = 0;
  std::shared_ptr<const FileImage> image_;
  std::string temp_copy_dir_;  // private copy made to apply a journal/WAL, removed on close
  SchemaInfo schema_;
  std::vector<Warning> warnings_;
};

// Checks a database image's first bytes (>= 100) and size: returns kNotSqlite / kTruncated /
// kEmptyFile errors with user-facing messages, or ok. `journal_mode_wal` is set from the header.
Status check_sqlite_header(const unsigned char* data, size_t len, uint64_t file_size,
                           const std::string& display_name, bool* journal_mode_wal);

}  // namespace tracedrop
