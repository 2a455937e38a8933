#include "tracedrop/store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#if defined(__unix__) && !defined(__EMSCRIPTEN__)
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include "store/file_util.h"
#include "store/sqlite_util.h"

namespace tracedrop {
namespace {

constexpr char kRecoverHint[] =
    "To salvage what is readable, run: sqlite3 BROKEN.db \".recover\" | sqlite3 recovered.db "
    "and open recovered.db.";

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Describes the first bytes of a file that is not SQLite, to help the user see what it is.
std::string describe_foreign(const unsigned char* data, size_t len) {
  if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
    return " It is gzip-compressed: decompress it first (gunzip) and open the .db inside.";
  }
  if (len >= 4 && std::memcmp(data, "PK\x03\x04", 4) == 0) {
    return " It is a ZIP archive: extract trace_store.db from it first.";
  }
  size_t i = 0;
  while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) ++i;
  if (i < len && (data[i] == '{' || data[i] == '[')) {
    return " It looks like JSON (perhaps an exported trace file); tracedrop opens the SQLite file "
           "itself.";
  }
  return "";
}

std::string quote_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += "`" + names[i] + "`";
  }
  return out;
}

// Percent-encodes the characters that would end or alter a SQLite URI path.
std::string uri_path(const std::string& path) {
  std::string out = "file:";
  for (char c : path) {
    if (c == '?' || c == '#' || c == '%') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// A read-only shared mapping of the file (never written: PROT_READ). Null when the platform
// or the file does not allow one; the model then reads everything through SQLite.
std::shared_ptr<const FileImage> map_file(const std::string& path, uint64_t size) {
#if defined(__unix__) && !defined(__EMSCRIPTEN__)
  if (size == 0 || size > SIZE_MAX) return nullptr;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  const auto n = static_cast<size_t>(size);
  void* p = ::mmap(nullptr, n, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) return nullptr;
  return std::make_shared<const FileImage>(static_cast<const char*>(p), n, [p, n] { ::munmap(p, n); });
#else
  (void)path;
  (void)size;
  return nullptr;
#endif
}

}  // namespace

Status check_sqlite_header(const unsigned char* data, size_t len, uint64_t file_size,
                           const std::string& name, bool* journal_mode_wal) {
  static const char kMagic[] = "SQLite format 3";  // 15 chars + NUL = 16 bytes
  if (file_size == 0) {
    return {ErrorCode::kEmptyFile,
            name + " is empty (0 bytes), so it holds no traces. Llama Stack creates the file when "
                   "it starts; copy it again once traces have been written."};
  }
  const bool magic_ok = len >= 16 && std::memcmp(data, kMagic, 16) == 0;
  if (!magic_ok) {
    if (len < 16 && std::memcmp(data, kMagic, std::min<size_t>(len, 16)) == 0) {
      return {ErrorCode::kTruncated, name + " is truncated: it ends inside the SQLite header (" +
                                         std::to_string(file_size) + " bytes). Copy the file again."};
    }
    return {ErrorCode::kNotSqlite,
            name + " is not a SQLite database, so it cannot be a Llama Stack trace_store.db." +
                describe_foreign(data, len) +
                " Open the trace_store.db file written by Llama Stack's telemetry (sqlite sink)."};
  }
  if (len < 100) {
    return {ErrorCode::kTruncated, name + " is truncated: it ends inside the SQLite header (" +
                                       std::to_string(file_size) + " bytes). Copy the file again."};
  }
  uint32_t page_size = (uint32_t{data[16]} << 8) | data[17];
  if (page_size == 1) page_size = 65536;
  const bool page_size_ok = page_size >= 512 && page_size <= 65536 && (page_size & (page_size - 1)) == 0;
  if (!page_size_ok) {
    return {ErrorCode::kCorrupt, name + " has a damaged SQLite header (page size " +
                                     std::to_string(page_size) + "). " + kRecoverHint};
  }
  if (journal_mode_wal) *journal_mode_wal = data[18] == 2 || data[19] == 2;
  // The in-header page count is valid when "version-valid-for" equals the change counter.
  const uint32_t page_count = be32(data + 28);
  if (be32(data + 92) == be32(data + 24) && page_count > 0) {
    const uint64_t expected = uint64_t{page_count} * page_size;
    if (file_size < expected) {
      return {ErrorCode::kTruncated,
              name + " is truncated: its header says " + std::to_string(expected) +
                  " bytes but the file has " + std::to_string(file_size) +
                  ". The copy or download was probably cut short; copy the file again. " +
                  kRecoverHint};
    }
  }
  return Status::ok();
}

Store::~Store() {
  if (attr_stmt_) sqlite3_finalize(attr_stmt_);
  if (attr_range_stmt_) sqlite3_finalize(attr_range_stmt_);
  if (db_) sqlite3_close_v2(db_);
  if (!temp_copy_dir_.empty()) remove_tree(temp_copy_dir_);
}

Result<std::unique_ptr<Store>> Store::open_path(const std::string& path) {
  std::unique_ptr<Store> store(new Store());
  store->display_name_ = path;
  FileProbe probe = probe_file(path);
  if (!probe.status.is_ok()) return probe.status;
  store->file_size_ = probe.size;
  bool wal = false;
  TRACEDROP_RETURN_IF_ERROR(check_sqlite_header(probe.header.data(), probe.header.size(), probe.size,
                                                path, &wal));

  const uint64_t journal_size = file_size_or_zero(path + "-journal");
  const uint64_t wal_size = file_size_or_zero(path + "-wal");
  const bool wal_file_exists = path_exists(path + "-wal");
  std::string uri;
  int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
  if ((!wal && journal_size > 0) || (wal && wal_size > 0)) {
    // Pending changes sit in a sidecar. SQLite would have to write to apply them, so it
    // happens in a private copy; the user's files are only read.
    auto copy = make_private_copy(path, wal ? "-wal" : "-journal");
    if (!copy.is_ok()) return copy.status();
    store->temp_copy_dir_ = copy->dir;
    uri = uri_path(copy->db_path);
    flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI;
    store->warnings_.push_back(
        {wal ? "wal_applied" : "journal_applied",
         wal ? "The database's -wal file holds changes not yet in the main file; they were read "
               "from a private copy (your files are untouched)."
             : "The database has a hot journal (a write was interrupted); it was rolled back in a "
               "private copy (your files are untouched)."});
  } else if (wal) {
    uri = uri_path(path) + "?immutable=1";
    if (!wal_file_exists) {
      store->warnings_.push_back(
          {"wal_missing",
           path + " is in WAL mode but its -wal file (" + path +
               "-wal) is not beside it: changes not yet checkpointed into the main file are "
               "missing, so recent traces may be absent. Copy the -wal file together with the "
               "database (ideally after stopping Llama Stack)."});
    }
  } else {
    uri = uri_path(path) + "?mode=ro";
  }
  const int rc = sqlite3_open_v2(uri.c_str(), &store->db_, flags, nullptr);
  if (rc != SQLITE_OK) return sqlite_status(store->db_, rc, "opening", path);
  TRACEDROP_RETURN_IF_ERROR(store->init_after_open());
  // Without a private copy, SQLite reads exactly the bytes of the file (no sidecar applies).
  if (store->temp_copy_dir_.empty()) store->image_ = map_file(path, store->file_size_);
  // Pages are read through a read-only memory map instead of a read() copy per page (the
  // kernel copy was a sixth of the model build). SQLite caps the size (SQLITE_MAX_MMAP_SIZE)
  // and falls back to read() where mapping is not possible.
  const std::string mmap_pragma = "PRAGMA mmap_size=" + std::to_string(store->file_size_);
  TRACEDROP_RETURN_IF_ERROR(exec_simple(store->db_, mmap_pragma.c_str(), store->display_name_));
  return store;
}

Result<std::unique_ptr<Store>> Store::open_bytes(std::string bytes, std::string display_name) {
  auto owned = std::make_shared<std::string>(std::move(bytes));
  char* data = owned->data();
  const size_t size = owned->size();
  return open_image(data, size, std::move(owned), std::move(display_name));
}

Result<std::unique_ptr<Store>> Store::open_bytes(std::unique_ptr<char[]> bytes, size_t size, std::string display_name) {
  std::shared_ptr<char[]> owned(std::move(bytes));
  char* data = owned.get();
  return open_image(data, size, std::move(owned), std::move(display_name));
}

Result<std::unique_ptr<Store>> Store::open_image(char* data, size_t size, std::shared_ptr<void> owner,
                                                 std::string display_name) {
  std::unique_ptr<Store> store(new Store());
  store->display_name_ = display_name;
  store->file_size_ = size;
  bool wal = false;
  TRACEDROP_RETURN_IF_ERROR(check_sqlite_header(reinterpret_cast<const unsigned char*>(data), std::min<size_t>(size, 100),
                                                size, display_name, &wal));
  if (wal) {
    // An in-memory image cannot use WAL; read it as a rollback-journal database instead.
    data[18] = 1;
    data[19] = 1;
    store->warnings_.push_back(
        {"wal_missing",
         display_name + " is in WAL mode and its -wal file cannot be opened with it here: changes "
                        "not yet checkpointed into the main file are missing, so recent traces may "
                        "be absent. To include them, open the database once with sqlite3 next to "
                        "its -wal file and run PRAGMA wal_checkpoint; then use the checkpointed file."});
  }
  int rc = sqlite3_open_v2(":memory:", &store->db_, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) return sqlite_status(store->db_, rc, "opening", display_name);
  // The bytes stay where they are: SQLite reads them in place (read-only, never resized or
  // freed by it) and the model keeps attribute text as views into them.
  const auto sqlite_size = static_cast<sqlite3_int64>(size);
  store->image_ = std::make_shared<const FileImage>(data, size, [owner]() mutable { owner.reset(); });
  rc = sqlite3_deserialize(store->db_, "main", reinterpret_cast<unsigned char*>(data), sqlite_size, sqlite_size,
                           SQLITE_DESERIALIZE_READONLY);
  if (rc != SQLITE_OK) return sqlite_status(store->db_, rc, "opening", display_name);
  TRACEDROP_RETURN_IF_ERROR(store->init_after_open());
  return store;
}

Result<std::unique_ptr<Store>> Store::open_vfs(const std::string& name, const std::string& vfs,
                                               std::string display_name) {
  std::unique_ptr<Store> store(new Store());
  store->display_name_ = display_name;
  auto header = read_header_via_vfs(name, vfs);
  if (!header.is_ok()) return header.status();
  store->file_size_ = header->size;
  bool wal = false;
  TRACEDROP_RETURN_IF_ERROR(check_sqlite_header(header->bytes.data(), header->bytes.size(),
                                                header->size, display_name, &wal));
  std::string uri = uri_path(name) + "?immutable=1";
  if (wal) {
    store->warnings_.push_back(
        {"wal_missing",
         display_name + " is in WAL mode and its -wal file cannot be opened with it here: changes "
                        "not yet checkpointed into the main file are missing, so recent traces may "
                        "be absent."});
  }
  const int rc = sqlite3_open_v2(uri.c_str(), &store->db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                                 vfs.c_str());
  if (rc != SQLITE_OK) return sqlite_status(store->db_, rc, "opening", display_name);
  TRACEDROP_RETURN_IF_ERROR(store->init_after_open());
  return store;
}

Status Store::init_after_open() {
  sqlite3_extended_result_codes(db_, 1);
  // No ATTACH: a user statement must not create or touch any other file.
  sqlite3_limit(db_, SQLITE_LIMIT_ATTACHED, 0);
  Status st = exec_simple(db_, "PRAGMA query_only=1", display_name_);
  if (!st.is_ok()) return st;
  return check_schema();
}

Status Store::check_schema() {
  std::vector<std::string> tables;
  Status st = for_each_row(db_, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name",
                           display_name_, [&](sqlite3_stmt* s) {
                             tables.push_back(column_text(s, 0));
                             return true;
                           });
  if (!st.is_ok()) return st;
  auto has = [&](const char* t) { return std::find(tables.begin(), tables.end(), t) != tables.end(); };
  std::vector<std::string> missing;
  if (!has("traces")) missing.push_back("traces");
  if (!has("spans")) missing.push_back("spans");
  if (!missing.empty()) {
    std::vector<std::string> present;
    for (const auto& t : tables)
      if (t.rfind("sqlite_", 0) != 0) present.push_back(t);
    return {ErrorCode::kNotTraceStore,
            display_name_ + " is a SQLite database but not a Llama Stack trace store: table" +
                (missing.size() > 1 ? "s " : " ") + quote_list(missing) +
                (missing.size() > 1 ? " are" : " is") + " missing (it has " +
                (present.empty() ? std::string("no tables") : quote_list(present)) +
                "). Open the trace_store.db written by Llama Stack's telemetry sqlite sink."};
  }
  schema_.has_span_events = has("span_events");
  for (const auto& t : tables) {
    if (t != "traces" && t != "spans" && t != "span_events" && t.rfind("sqlite_", 0) != 0) {
      schema_.extra_tables.push_back(t);
    }
  }
  struct Expected {
    const char* table;
    std::vector<const char*> required, optional;
  };
  const Expected expected[] = {
      {"traces", {"trace_id"}, {"service_name", "root_span_id", "start_time", "end_time", "created_at"}},
      {"spans", {"span_id", "trace_id"}, {"parent_span_id", "name", "start_time", "end_time", "attributes", "status", "kind"}},
      {"span_events", {"span_id"}, {"name", "timestamp", "attributes"}},
  };
  for (const auto& e : expected) {
    if (std::string(e.table) == "span_events" && !schema_.has_span_events) continue;
    std::set<std::string> cols;
    st = for_each_row(db_, std::string("SELECT name FROM pragma_table_info('") + e.table + "')",
                      display_name_, [&](sqlite3_stmt* s) {
                        cols.insert(column_text(s, 0));
                        return true;
                      });
    if (!st.is_ok()) return st;
    std::vector<std::string> missing_required;
    for (const char* c : e.required)
      if (!cols.count(c)) missing_required.push_back(std::string(e.table) + "." + c);
    if (!missing_required.empty()) {
      return {ErrorCode::kNotTraceStore,
              display_name_ + " is not a Llama Stack trace store: column" +
                  (missing_required.size() > 1 ? "s " : " ") + quote_list(missing_required) +
                  (missing_required.size() > 1 ? " are" : " is") +
                  " missing. Open the trace_store.db written by Llama Stack's telemetry sqlite sink."};
    }
    for (const char* c : e.optional) {
      if (!cols.count(c)) schema_.missing_columns.push_back(std::string(e.table) + "." + c);
      cols.erase(c);
    }
    for (const char* c : e.required) cols.erase(c);
    if (std::string(e.table) == "span_events") cols.erase("id");
    for (const auto& c : cols) schema_.extra_columns.push_back(std::string(e.table) + "." + c);
  }
  if (!schema_.has_span_events) {
    warnings_.push_back({"no_span_events",
                         "The database has no span_events table, so there are no events, logs or "
                         "token counts to show."});
  }
  return Status::ok();
}

Status Store::prepare_attribute_statements() {
  if (!attr_stmt_) {
    const int rc = sqlite3_prepare_v2(db_, "SELECT attributes FROM spans WHERE rowid=?", -1, &attr_stmt_, nullptr);
    if (rc != SQLITE_OK) return sqlite_status(db_, rc, "reading attributes from", display_name_);
  }
  if (!attr_range_stmt_) {
    const int rc = sqlite3_prepare_v2(db_, "SELECT rowid, attributes FROM spans WHERE rowid BETWEEN ?1 AND ?2", -1,
                                      &attr_range_stmt_, nullptr);
    if (rc != SQLITE_OK) return sqlite_status(db_, rc, "reading attributes from", display_name_);
  }
  return Status::ok();
}

Status Store::span_attributes(int64_t rowid, std::string& out) {
  out.clear();
  TRACEDROP_RETURN_IF_ERROR(prepare_attribute_statements());
  sqlite3_reset(attr_stmt_);
  sqlite3_bind_int64(attr_stmt_, 1, rowid);
  const int rc = sqlite3_step(attr_stmt_);
  if (rc == SQLITE_ROW) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(attr_stmt_, 0));
    if (p) out.assign(p, static_cast<size_t>(sqlite3_column_bytes(attr_stmt_, 0)));
    sqlite3_reset(attr_stmt_);
    return Status::ok();
  }
  sqlite3_reset(attr_stmt_);
  if (rc == SQLITE_DONE) {
    return {ErrorCode::kNotFound, "span row " + std::to_string(rowid) +
                                      " is gone: the file changed since it was opened. Open it again."};
  }
  return sqlite_status(db_, rc, "reading attributes from", display_name_);
}

Status Store::span_attributes_batch(const std::vector<int64_t>& rowids,
                                   const std::function<void(size_t, std::string_view)>& fn) {
  if (rowids.empty()) return Status::ok();
  TRACEDROP_RETURN_IF_ERROR(prepare_attribute_statements());
  // One read transaction for the whole batch: otherwise every row read takes and drops the
  // file lock and re-checks the file header.
  const bool own_txn = sqlite3_get_autocommit(db_) != 0;
  if (own_txn) TRACEDROP_RETURN_IF_ERROR(exec_simple(db_, "BEGIN", display_name_));
  auto read_row = [&](size_t i) -> Status {
    sqlite3_reset(attr_stmt_);
    sqlite3_bind_int64(attr_stmt_, 1, rowids[i]);
    const int rc = sqlite3_step(attr_stmt_);
    if (rc == SQLITE_ROW) {
      fn(i, column_view(attr_stmt_, 0));
    } else if (rc != SQLITE_DONE) {
      return sqlite_status(db_, rc, "reading attributes from", display_name_);
    }
    return Status::ok();
  };
  // Reads rowids[from, to) with one scan over the rowid range they span.
  auto read_range = [&](size_t from, size_t to) -> Status {
    sqlite3_reset(attr_range_stmt_);
    sqlite3_bind_int64(attr_range_stmt_, 1, rowids[from]);
    sqlite3_bind_int64(attr_range_stmt_, 2, rowids[to - 1]);
    size_t i = from;
    int rc = SQLITE_DONE;
    while (i < to && (rc = sqlite3_step(attr_range_stmt_)) == SQLITE_ROW) {
      const int64_t rowid = sqlite3_column_int64(attr_range_stmt_, 0);
      while (i < to && rowids[i] < rowid) ++i;  // gone since the model was built
      if (i < to && rowids[i] == rowid) fn(i++, column_view(attr_range_stmt_, 1));
    }
    if (i < to && rc != SQLITE_DONE) return sqlite_status(db_, rc, "reading attributes from", display_name_);
    sqlite3_reset(attr_range_stmt_);
    return Status::ok();
  };
  // Runs where at least one row in four is wanted are cheaper to scan than to seek.
  constexpr int64_t kDensity = 4;
  Status st = Status::ok();
  size_t i = 0;
  while (i < rowids.size() && st.is_ok()) {
    size_t j = i + 1;
    while (j < rowids.size() && rowids[j] - rowids[j - 1] <= kDensity) ++j;
    if (j - i >= 16) {
      st = read_range(i, j);
    } else {
      for (size_t k = i; k < j && st.is_ok(); ++k) st = read_row(k);
    }
    i = j;
  }
  sqlite3_reset(attr_stmt_);
  sqlite3_reset(attr_range_stmt_);
  if (own_txn) {
    const Status end = exec_simple(db_, "COMMIT", display_name_);
    if (st.is_ok()) st = end;
  }
  return st;
}

Result<SqlResult> Store::run_sql(std::string_view sql, size_t max_rows) {
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, &tail);
  StmtGuard guard{stmt};
  if (rc != SQLITE_OK) {
    return Status(ErrorCode::kSqlError, std::string("SQL error: ") + sqlite3_errmsg(db_));
  }
  if (!stmt) return Status(ErrorCode::kInvalidArgument, "The SQL text holds no statement.");
  if (!only_whitespace_or_comments(std::string_view(tail, static_cast<size_t>(sql.data() + sql.size() - tail)))) {
    return Status(ErrorCode::kInvalidArgument,
                  "Give one SQL statement at a time (found more text after the first statement).");
  }
  if (!sqlite3_stmt_readonly(stmt)) {
    return Status(ErrorCode::kReadOnly,
                  "Only read-only statements (SELECT, read-only PRAGMA, EXPLAIN) are allowed: "
                  "tracedrop never modifies the trace store.");
  }
  SqlResult result;
  const int ncol = sqlite3_column_count(stmt);
  for (int i = 0; i < ncol; ++i) result.columns.emplace_back(sqlite3_column_name(stmt, i));
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (result.rows.size() >= max_rows) {
      result.truncated = true;
      break;
    }
    std::vector<SqlResult::Cell> row(static_cast<size_t>(ncol));
    for (int i = 0; i < ncol; ++i) read_cell(stmt, i, row[static_cast<size_t>(i)]);
    result.rows.push_back(std::move(row));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return Status(ErrorCode::kSqlError, std::string("SQL error: ") + sqlite3_errmsg(db_));
  }
  return result;
}

}  // namespace tracedrop
