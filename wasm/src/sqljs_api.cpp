// A raw SQLite connection for the sql.js-compatible surface (wasm/js/sqljs.mjs): the same SQLite
// build as the core, but none of the core's model. A database opened from bytes is read-only
// (sqlite3_deserialize with SQLITE_DESERIALIZE_READONLY, plus PRAGMA query_only=1); a database
// opened without bytes is an empty, writable in-memory one, as in sql.js.
//
// Statements are kept here and named by small integer ids; JS never sees a pointer. Nothing
// throws into JS: a failing call answers a negative number (or null) and errmsg() holds
// SQLite's own message, which the JS layer throws as an Error like sql.js does.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "file_vfs.h"

using emscripten::val;

namespace tracedrop::wasm {
namespace {

class SqlJsDb {
 public:
  SqlJsDb() = default;
  SqlJsDb(const SqlJsDb&) = delete;
  SqlJsDb& operator=(const SqlJsDb&) = delete;
  ~SqlJsDb() { close(); }

  // Opens `data` (a Uint8Array) read-only, or an empty writable database when `data` is null
  // or undefined. Answers 0, or -1 with errmsg() set.
  int open(val data) {
    close();
    use_crypto_randomness();
    int rc = sqlite3_open_v2(":memory:", &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) return fail_from_db(rc);
    if (data.isNull() || data.isUndefined()) return 0;
    if (!data.instanceof(val::global("Uint8Array"))) {
      error_ = "Database: the data must be a Uint8Array";
      close();
      return -1;
    }
    const size_t size = data["length"].as<size_t>();
    // SQLite owns the copy (FREEONCLOSE); an empty buffer still needs a valid pointer.
    auto* copy = static_cast<unsigned char*>(sqlite3_malloc64(size ? size : 1));
    if (!copy) {
      error_ = "out of memory";
      close();
      return -1;
    }
    if (size) val(emscripten::typed_memory_view(size, copy)).call<void>("set", data);
    // A WAL-mode file is read as it stands in the main file: an in-memory database cannot use
    // WAL, so the header says "rollback journal" (as the core's Store::open_bytes does).
    if (size >= 20 && copy[18] == 2 && copy[19] == 2) copy[18] = copy[19] = 1;
    rc = sqlite3_deserialize(db_, "main", copy, static_cast<sqlite3_int64>(size), static_cast<sqlite3_int64>(size),
                             SQLITE_DESERIALIZE_READONLY | SQLITE_DESERIALIZE_FREEONCLOSE);
    if (rc != SQLITE_OK) {
      const int out = fail_from_db(rc);
      close();
      return out;
    }
    rc = sqlite3_exec(db_, "PRAGMA query_only=1", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      const int out = fail_from_db(rc);
      close();
      return out;
    }
    return 0;
  }

  bool isOpen() const { return db_ != nullptr; }
  std::string errmsg() const { return error_; }

  // sqlite3_exec of a whole script (db.run without parameters). 0 or -1.
  int exec(std::string sql) {
    if (!check_open()) return -1;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? 0 : fail_from_db(rc);
  }

  // Keeps `sql` as the script that nextStatement() walks through.
  void setScript(std::string sql) {
    script_ = std::move(sql);
    script_pos_ = 0;
  }

  // Prepares the next statement of the script: its id (> 0), 0 when the script is finished
  // (empty statements and comments are skipped), -1 on an error.
  int nextStatement() {
    if (!check_open()) return -1;
    while (script_pos_ < script_.size()) {
      const char* start = script_.c_str() + script_pos_;
      const char* tail = nullptr;
      sqlite3_stmt* stmt = nullptr;
      const int rc = sqlite3_prepare_v2(db_, start, static_cast<int>(script_.size() - script_pos_), &stmt, &tail);
      if (rc != SQLITE_OK) {
        script_pos_ = script_.size();
        return fail_from_db(rc);
      }
      const size_t used = tail ? static_cast<size_t>(tail - start) : script_.size() - script_pos_;
      script_pos_ += used ? used : script_.size() - script_pos_;
      if (stmt) return keep(stmt);
    }
    return 0;
  }

  // Prepares the first statement of `sql` (the rest is ignored, as sqlite3_prepare does).
  int prepare(std::string sql) {
    setScript(std::move(sql));
    const int id = nextStatement();
    script_.clear();
    script_pos_ = 0;
    return id;
  }

  int bindParameterIndex(int id, std::string name) {
    sqlite3_stmt* s = find(id);
    return s ? sqlite3_bind_parameter_index(s, name.c_str()) : 0;
  }
  int bindParameterCount(int id) {
    sqlite3_stmt* s = find(id);
    return s ? sqlite3_bind_parameter_count(s) : 0;
  }
  int bindNull(int id, int pos) { return bound(id, [&](sqlite3_stmt* s) { return sqlite3_bind_null(s, pos); }); }
  int bindInt(int id, int pos, int value) {
    return bound(id, [&](sqlite3_stmt* s) { return sqlite3_bind_int(s, pos, value); });
  }
  int bindDouble(int id, int pos, double value) {
    return bound(id, [&](sqlite3_stmt* s) { return sqlite3_bind_double(s, pos, value); });
  }
  int bindText(int id, int pos, std::string value) {
    return bound(id, [&](sqlite3_stmt* s) {
      return sqlite3_bind_text64(s, pos, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    });
  }
  // `bytes`: a Uint8Array (or an array of byte values).
  int bindBlob(int id, int pos, val bytes) {
    std::string data;
    data.resize(bytes["length"].as<size_t>());
    if (bytes.instanceof(val::global("Uint8Array"))) {
      if (!data.empty()) {
        val(emscripten::typed_memory_view(data.size(), reinterpret_cast<unsigned char*>(&data[0])))
            .call<void>("set", bytes);
      }
    } else {
      for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(bytes[i].as<int>() & 0xff);
    }
    return bound(id, [&](sqlite3_stmt* s) {
      return sqlite3_bind_blob64(s, pos, data.data(), data.size(), SQLITE_TRANSIENT);
    });
  }

  // 1: a row is ready; 0: done; -1: an error (errmsg()).
  int step(int id) {
    sqlite3_stmt* s = find(id);
    if (!s) return missing();
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return fail_from_db(rc);
  }

  val columnNames(int id) {
    val out = val::array();
    sqlite3_stmt* s = find(id);
    if (!s) return out;
    const int n = sqlite3_column_count(s);
    for (int i = 0; i < n; ++i) {
      const char* name = sqlite3_column_name(s, i);
      out.call<void>("push", std::string(name ? name : ""));
    }
    return out;
  }

  // The current row as JS values: INTEGER and FLOAT -> number (INTEGER -> BigInt with
  // use_bigint), TEXT -> string, BLOB -> Uint8Array (a copy), NULL -> null.
  val row(int id, bool use_bigint) {
    val out = val::array();
    sqlite3_stmt* s = find(id);
    if (!s) return out;
    const int n = sqlite3_data_count(s);
    for (int i = 0; i < n; ++i) {
      switch (sqlite3_column_type(s, i)) {
        case SQLITE_INTEGER:
          if (use_bigint) {
            out.call<void>("push", val::global("BigInt")(text_of(s, i)));
          } else {
            out.call<void>("push", sqlite3_column_double(s, i));
          }
          break;
        case SQLITE_FLOAT:
          out.call<void>("push", sqlite3_column_double(s, i));
          break;
        case SQLITE_TEXT:
          out.call<void>("push", text_of(s, i));
          break;
        case SQLITE_BLOB: {
          const void* p = sqlite3_column_blob(s, i);
          const int size = sqlite3_column_bytes(s, i);
          val view(emscripten::typed_memory_view(static_cast<size_t>(size), static_cast<const unsigned char*>(p)));
          out.call<void>("push", val::global("Uint8Array").new_(view));  // a copy
          break;
        }
        default:
          out.call<void>("push", val::null());
      }
    }
    return out;
  }

  std::string sql(int id) {
    sqlite3_stmt* s = find(id);
    const char* text = s ? sqlite3_sql(s) : nullptr;
    return text ? text : "";
  }

  // Clears the bindings and rewinds. 0 or -1.
  int reset(int id) {
    sqlite3_stmt* s = find(id);
    if (!s) return missing();
    sqlite3_clear_bindings(s);
    const int rc = sqlite3_reset(s);
    return rc == SQLITE_OK ? 0 : fail_from_db(rc);
  }

  void finalize(int id) {
    auto it = statements_.find(id);
    if (it == statements_.end()) return;
    sqlite3_finalize(it->second);
    statements_.erase(it);
  }

  int changes() const { return db_ ? sqlite3_changes(db_) : 0; }

  // The database file's bytes (sqlite3_serialize) as a Uint8Array copy, or null (errmsg()).
  val exportBytes() {
    if (!check_open()) return val::null();
    sqlite3_int64 size = 0;
    unsigned char* bytes = sqlite3_serialize(db_, "main", &size, 0);
    if (!bytes) {
      error_ = sqlite3_errcode(db_) != SQLITE_OK ? sqlite3_errmsg(db_) : "out of memory";
      return val::null();
    }
    val view(emscripten::typed_memory_view(static_cast<size_t>(size), bytes));
    val out = val::global("Uint8Array").new_(view);
    sqlite3_free(bytes);
    return out;
  }

  void close() {
    for (auto& entry : statements_) sqlite3_finalize(entry.second);
    statements_.clear();
    if (db_) sqlite3_close(db_);
    db_ = nullptr;
    script_.clear();
    script_pos_ = 0;
  }

 private:
  static std::string text_of(sqlite3_stmt* s, int i) {
    const unsigned char* p = sqlite3_column_text(s, i);
    const int size = sqlite3_column_bytes(s, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(size)) : std::string();
  }

  bool check_open() {
    if (db_) return true;
    error_ = "Database closed";
    return false;
  }

  int fail_from_db(int rc) {
    error_ = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    return -1;
  }

  int missing() {
    error_ = "Statement closed";
    return -1;
  }

  int keep(sqlite3_stmt* stmt) {
    const int id = next_id_++;
    statements_[id] = stmt;
    return id;
  }

  sqlite3_stmt* find(int id) {
    auto it = statements_.find(id);
    return it == statements_.end() ? nullptr : it->second;
  }

  template <typename Fn>
  int bound(int id, Fn&& fn) {
    sqlite3_stmt* s = find(id);
    if (!s) return missing();
    const int rc = fn(s);
    return rc == SQLITE_OK ? 0 : fail_from_db(rc);
  }

  sqlite3* db_ = nullptr;
  std::map<int, sqlite3_stmt*> statements_;
  int next_id_ = 1;
  std::string script_;
  size_t script_pos_ = 0;
  std::string error_;
};

}  // namespace
}  // namespace tracedrop::wasm

EMSCRIPTEN_BINDINGS(tracedrop_sqljs) {
  using tracedrop::wasm::SqlJsDb;
  emscripten::class_<SqlJsDb>("SqlJsDb")
      .constructor<>()
      .function("open", &SqlJsDb::open)
      .function("isOpen", &SqlJsDb::isOpen)
      .function("errmsg", &SqlJsDb::errmsg)
      .function("exec", &SqlJsDb::exec)
      .function("setScript", &SqlJsDb::setScript)
      .function("nextStatement", &SqlJsDb::nextStatement)
      .function("prepare", &SqlJsDb::prepare)
      .function("bindParameterIndex", &SqlJsDb::bindParameterIndex)
      .function("bindParameterCount", &SqlJsDb::bindParameterCount)
      .function("bindNull", &SqlJsDb::bindNull)
      .function("bindInt", &SqlJsDb::bindInt)
      .function("bindDouble", &SqlJsDb::bindDouble)
      .function("bindText", &SqlJsDb::bindText)
      .function("bindBlob", &SqlJsDb::bindBlob)
      .function("step", &SqlJsDb::step)
      .function("columnNames", &SqlJsDb::columnNames)
      .function("row", &SqlJsDb::row)
      .function("sql", &SqlJsDb::sql)
      .function("reset", &SqlJsDb::reset)
      .function("finalize", &SqlJsDb::finalize)
      .function("changes", &SqlJsDb::changes)
      .function("exportBytes", &SqlJsDb::exportBytes)
      .function("close", &SqlJsDb::close);
}
