// Thin helpers over the SQLite C API: statement guards, row loops, error translation.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>

#include "tracedrop/status.h"
#include "tracedrop/store.h"

namespace tracedrop {

struct StmtGuard {
  sqlite3_stmt* stmt;
  ~StmtGuard() {
    if (stmt) sqlite3_finalize(stmt);
  }
};

// Translates a SQLite failure while `doing` something with `name` into a user-facing Status.
Status sqlite_status(sqlite3* db, int rc, const std::string& doing, const std::string& name);
Status exec_simple(sqlite3* db, const char* sql, const std::string& name);

// Runs `sql` and calls fn(stmt) per row until it returns false.
template <typename Fn>
Status for_each_row(sqlite3* db, const std::string& sql, const std::string& name, Fn&& fn) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  StmtGuard guard{stmt};
  if (rc != SQLITE_OK) return sqlite_status(db, rc, "reading", name);
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (!fn(stmt)) return Status::ok();
  }
  if (rc != SQLITE_DONE) return sqlite_status(db, rc, "reading", name);
  return Status::ok();
}

inline std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

// The column's text without copying (valid until the next step). Empty for NULL.
// A TEXT value is read as a blob: that points straight into SQLite's page buffer, where
// sqlite3_column_text would first copy it to add a terminating zero. Other types are converted
// to their text form.
inline std::string_view column_view(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_TEXT) {
    const auto* b = static_cast<const char*>(sqlite3_column_blob(s, i));
    return b ? std::string_view(b, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string_view();
  }
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string_view();
}

bool only_whitespace_or_comments(std::string_view sql);
void read_cell(sqlite3_stmt* stmt, int i, SqlResult::Cell& cell);

}  // namespace tracedrop
