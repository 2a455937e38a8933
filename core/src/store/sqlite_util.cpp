#include "store/sqlite_util.h"

#include <cstdio>

namespace tracedrop {

Status sqlite_status(sqlite3* db, int rc, const std::string& doing, const std::string& name) {
  const std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return {ErrorCode::kNotSqlite, name + " is not a readable SQLite database (SQLite says: " + detail +
                                         "). It may be encrypted or not a database at all."};
    case SQLITE_CORRUPT:
      return {ErrorCode::kCorrupt,
              name + " is damaged: SQLite reports \"" + detail + "\" while " + doing +
                  " it. To salvage what is readable, run: sqlite3 BROKEN.db \".recover\" | sqlite3 "
                  "recovered.db and open recovered.db."};
    case SQLITE_CANTOPEN:
      return {ErrorCode::kIoError, "Cannot open " + name + " (" + detail + ")."};
    case SQLITE_IOERR:
      return {ErrorCode::kIoError, "Reading " + name + " failed (" + detail +
                                       "). The file may have changed or been removed while open."};
    case SQLITE_NOMEM:
      return {ErrorCode::kTooLarge, "Out of memory while " + doing + " " + name + "."};
    case SQLITE_INTERRUPT:
      return {ErrorCode::kCancelled, "Cancelled."};
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return {ErrorCode::kIoError, name + " is locked by another program (" + detail +
                                       "). Stop the program writing to it, or copy the file and open the copy."};
    default:
      return {ErrorCode::kSqlError, "SQLite error while " + doing + " " + name + ": " + detail};
  }
}

Status exec_simple(sqlite3* db, const char* sql, const std::string& name) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::ok() : sqlite_status(db, rc, "opening", name);
}

bool only_whitespace_or_comments(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ';') {
      ++i;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      const size_t end = sql.find("*/", i + 2);
      if (end == std::string_view::npos) return true;  // an unterminated comment is still a comment
      i = end + 2;
    } else {
      return false;
    }
  }
  return true;
}

void read_cell(sqlite3_stmt* stmt, int i, SqlResult::Cell& cell) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      cell.type = SqlResult::Cell::kInteger;
      cell.i = sqlite3_column_int64(stmt, i);
      break;
    case SQLITE_FLOAT:
      cell.type = SqlResult::Cell::kReal;
      cell.d = sqlite3_column_double(stmt, i);
      break;
    case SQLITE_TEXT:
      cell.type = SqlResult::Cell::kText;
      cell.s = column_text(stmt, i);
      break;
    case SQLITE_BLOB: {
      cell.type = SqlResult::Cell::kBlob;
      const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(stmt, i));
      const int n = sqlite3_column_bytes(stmt, i);
      cell.s = "x'";
      for (int k = 0; k < n; ++k) {
        char b[3];
        std::snprintf(b, sizeof b, "%02x", p[k]);
        cell.s += b;
      }
      cell.s += "'";
      break;
    }
    default:
      cell.type = SqlResult::Cell::kNull;
  }
}

}  // namespace tracedrop
