// Opening files: every kind of bad input gets its own code and a message that says what is
// wrong and what to do, and the user's files are never modified.
#include <catch2/catch.hpp>

#include <cstring>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "test_support.h"
#include "tracedrop/model.h"
#include "tracedrop/store.h"

using namespace tracedrop;
using test::read_file;
using test::temp_dir;
using test::write_file;

namespace {

// Every rowid of the spans table, ascending.
bool for_each_rowid(Store& store, std::vector<int64_t>& out) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(store.db(), "SELECT rowid FROM spans ORDER BY rowid", -1, &st, nullptr) != SQLITE_OK) return false;
  while (sqlite3_step(st) == SQLITE_ROW) out.push_back(sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  return true;
}

Status open_error(const std::string& path) {
  auto r = Store::open_path(path);
  return r.is_ok() ? Status::ok() : r.status();
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  REQUIRE(rc == SQLITE_OK);
}

std::string make_db(const std::string& name, const char* sql) {
  const std::string path = temp_dir() + "/" + name;
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  exec(db, sql);
  sqlite3_close(db);
  return path;
}

std::string copy_of(const std::string& from, const std::string& name) {
  return write_file(name, read_file(from));
}

std::vector<std::string> dir_listing(const std::string& dir) {
  std::vector<std::string> names;
  if (FILE* p = popen(("ls -A '" + dir + "'").c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof buf, p)) names.emplace_back(buf);
    pclose(p);
  }
  return names;
}

}  // namespace

TEST_CASE("a missing file says so and where Llama Stack keeps it", "[store]") {
  Status st = open_error(temp_dir() + "/nope/trace_store.db");
  CHECK(st.code() == ErrorCode::kFileNotFound);
  CHECK(contains(st.message(), "/nope/trace_store.db does not exist"));
  CHECK(contains(st.message(), "~/.llama/distributions"));
}

TEST_CASE("a directory is refused with a hint", "[store]") {
  const std::string dir = temp_dir() + "/a_dir";
  ::mkdir(dir.c_str(), 0755);
  Status st = open_error(dir);
  CHECK(st.code() == ErrorCode::kIsDirectory);
  CHECK(contains(st.message(), "is a directory"));
  // When the directory holds the database, the message names it.
  copy_of(test::standard_db().path, "a_dir/trace_store.db");
  st = open_error(dir);
  CHECK(st.code() == ErrorCode::kIsDirectory);
  CHECK(contains(st.message(), dir + "/trace_store.db"));
}

TEST_CASE("an empty file", "[store]") {
  Status st = open_error(write_file("empty.db", ""));
  CHECK(st.code() == ErrorCode::kEmptyFile);
  CHECK(contains(st.message(), "is empty (0 bytes)"));
}

TEST_CASE("files that are not SQLite", "[store]") {
  Status st = open_error(write_file("notes.txt", "hello, this is a text file and not a database at all\n"));
  CHECK(st.code() == ErrorCode::kNotSqlite);
  CHECK(contains(st.message(), "is not a SQLite database"));
  st = open_error(write_file("export.json", "  {\"resourceSpans\": []}"));
  CHECK(st.code() == ErrorCode::kNotSqlite);
  CHECK(contains(st.message(), "looks like JSON"));
  st = open_error(write_file("db.gz", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8) + std::string(200, 'x')));
  CHECK(st.code() == ErrorCode::kNotSqlite);
  CHECK(contains(st.message(), "gzip"));
}

TEST_CASE("truncated databases", "[store]") {
  const std::string full = read_file(test::standard_db().path);
  REQUIRE(full.size() > 8192);
  Status st = open_error(write_file("half.db", full.substr(0, full.size() / 2)));
  CHECK(st.code() == ErrorCode::kTruncated);
  CHECK(contains(st.message(), "is truncated"));
  CHECK(contains(st.message(), std::to_string(full.size())));
  st = open_error(write_file("header_only.db", full.substr(0, 50)));
  CHECK(st.code() == ErrorCode::kTruncated);
  st = open_error(write_file("magic_only.db", full.substr(0, 10)));
  CHECK(st.code() == ErrorCode::kTruncated);
}

TEST_CASE("a damaged database fails with a recovery hint, never a crash", "[store]") {
  std::string bytes = read_file(test::standard_db().path);
  // Overwrite the middle of the file (b-tree pages of spans) with garbage.
  for (size_t i = bytes.size() / 3; i < bytes.size() / 3 + 40000 && i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>((i * 131) & 0xff);
  }
  const std::string path = write_file("damaged.db", bytes);
  auto store = Store::open_path(path);
  Status st = store.is_ok() ? Status::ok() : store.status();
  if (store.is_ok()) {
    auto model = Model::build(**store);
    st = model.is_ok() ? Status::ok() : model.status();
  }
  CHECK(st.code() == ErrorCode::kCorrupt);
  CHECK(contains(st.message(), "is damaged"));
  CHECK(contains(st.message(), ".recover"));
}

TEST_CASE("a damaged first page", "[store]") {
  std::string bytes = read_file(test::standard_db().path);
  for (size_t i = 100; i < 4096; ++i) bytes[i] = '\xff';
  Status st = open_error(write_file("damaged_page1.db", bytes));
  CHECK((st.code() == ErrorCode::kCorrupt || st.code() == ErrorCode::kNotSqlite));
  CHECK_FALSE(st.message().empty());
}

TEST_CASE("a SQLite database that is not a trace store names what is missing", "[store]") {
  Status st = open_error(make_db("other.db", "CREATE TABLE users(id INTEGER, name TEXT);"));
  CHECK(st.code() == ErrorCode::kNotTraceStore);
  CHECK(contains(st.message(), "tables `traces`, `spans` are missing"));
  CHECK(contains(st.message(), "it has `users`"));
  st = open_error(make_db("only_traces.db", "CREATE TABLE traces(trace_id TEXT);"));
  CHECK(st.code() == ErrorCode::kNotTraceStore);
  CHECK(contains(st.message(), "table `spans` is missing"));
  st = open_error(make_db("no_tables.db", "PRAGMA user_version=1;"));
  CHECK(st.code() == ErrorCode::kNotTraceStore);
  CHECK(contains(st.message(), "no tables"));
  st = open_error(make_db("bad_cols.db", "CREATE TABLE traces(trace_id TEXT); CREATE TABLE spans(id TEXT);"));
  CHECK(st.code() == ErrorCode::kNotTraceStore);
  CHECK(contains(st.message(), "`spans.span_id`, `spans.trace_id` are missing"));
}

TEST_CASE("a store without span_events and with extra schema still opens", "[store]") {
  testdata::GenOptions opt;
  opt.traces = 20;
  opt.variant = testdata::GenOptions::Variant::kNoEventsTable;
  auto no_events = test::generate_and_load(opt, "no_events.db");
  CHECK_FALSE(no_events.store->schema().has_span_events);
  CHECK(no_events.model->event_count() == 0);
  CHECK(no_events.model->span_count() == no_events.summary.span_rows);
  bool warned = false;
  for (const auto& w : no_events.store->warnings()) warned |= w.code == "no_span_events";
  CHECK(warned);

  opt.variant = testdata::GenOptions::Variant::kExtraSchema;
  auto extra = test::generate_and_load(opt, "extra.db");
  CHECK_FALSE(extra.store->schema().extra_tables.empty());
  CHECK_FALSE(extra.store->schema().extra_columns.empty());
  CHECK(extra.model->span_count() == extra.summary.span_rows);

  // Optional columns may be missing entirely.
  const std::string path = make_db("few_columns.db",
      "CREATE TABLE traces(trace_id TEXT);"
      "CREATE TABLE spans(span_id TEXT, trace_id TEXT, parent_span_id TEXT, name TEXT);"
      "INSERT INTO spans VALUES('00000000000000a1','0000000000000000000000000000abcd',NULL,'root');");
  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  CHECK(store->get()->schema().missing_columns.size() >= 5);
  auto model = Model::build(**store);
  REQUIRE(model.is_ok());
  CHECK(model->get()->span_count() == 1);
  CHECK((model->get()->spans.flags[0] & kSpanBadStart));
}

TEST_CASE("WAL databases: with the -wal file its rows are read, without it a warning", "[store]") {
  testdata::GenOptions opt;
  opt.traces = 30;
  opt.variant = testdata::GenOptions::Variant::kWalWithSidecar;
  const std::string dir = temp_dir() + "/wal";
  ::mkdir(dir.c_str(), 0755);
  testdata::GenSummary sum;
  std::string err;
  REQUIRE(testdata::generate(opt, dir + "/trace_store.db", &sum, &err));
  const std::string db_bytes = read_file(dir + "/trace_store.db");
  const std::string wal_bytes = read_file(dir + "/trace_store.db-wal");
  REQUIRE_FALSE(wal_bytes.empty());
  const auto listing = dir_listing(dir);

  auto with = Store::open_path(dir + "/trace_store.db");
  REQUIRE(with.is_ok());
  auto model = Model::build(**with);
  REQUIRE(model.is_ok());
  CHECK(model->get()->span_count() == sum.span_rows);
  bool applied = false;
  for (const auto& w : with->get()->warnings()) applied |= w.code == "wal_applied";
  CHECK(applied);
  with->reset();
  // The user's files are exactly as they were, and nothing was added beside them.
  CHECK(read_file(dir + "/trace_store.db") == db_bytes);
  CHECK(read_file(dir + "/trace_store.db-wal") == wal_bytes);
  CHECK(dir_listing(dir) == listing);

  opt.variant = testdata::GenOptions::Variant::kWalSidecarMissing;
  const std::string dir2 = temp_dir() + "/wal_missing";
  ::mkdir(dir2.c_str(), 0755);
  REQUIRE(testdata::generate(opt, dir2 + "/trace_store.db", &sum, &err));
  const auto listing2 = dir_listing(dir2);
  auto without = Store::open_path(dir2 + "/trace_store.db");
  REQUIRE(without.is_ok());
  bool warned = false;
  for (const auto& w : without->get()->warnings()) {
    if (w.code == "wal_missing") {
      warned = true;
      CHECK(contains(w.message, "recent traces may be absent"));
    }
  }
  CHECK(warned);
  auto m2 = Model::build(**without);
  REQUIRE(m2.is_ok());
  CHECK(m2->get()->span_count() > 0);
  without->reset();
  CHECK(dir_listing(dir2) == listing2);

  // From bytes (the browser never sees the -wal file): same warning, readable.
  auto bytes = Store::open_bytes(read_file(dir2 + "/trace_store.db"), "dropped.db");
  REQUIRE(bytes.is_ok());
  warned = false;
  for (const auto& w : bytes->get()->warnings()) warned |= w.code == "wal_missing";
  CHECK(warned);
  CHECK(Model::build(**bytes).is_ok());
}

TEST_CASE("a hot journal is rolled back in a private copy", "[store]") {
  const std::string src = temp_dir() + "/hot_src.db";
  {
    std::string err;
    testdata::GenOptions opt;
    opt.traces = 20;
    testdata::GenSummary sum;
    REQUIRE(testdata::generate(opt, src, &sum, &err));
  }
  const std::string original = read_file(src);
  // Start a write that spills into the main file, and copy the pair while it is open: the
  // copy is a crashed writer's database with a hot journal.
  const std::string dir = temp_dir() + "/hot";
  ::mkdir(dir.c_str(), 0755);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(src.c_str(), &db) == SQLITE_OK);
  exec(db, "PRAGMA journal_mode=DELETE; PRAGMA cache_size=1; BEGIN;"
           "UPDATE spans SET name = 'CHANGED_' || name, attributes = attributes || '                ';");
  write_file("hot/trace_store.db", read_file(src));
  write_file("hot/trace_store.db-journal", read_file(src + "-journal"));
  exec(db, "ROLLBACK;");
  sqlite3_close(db);
  REQUIRE_FALSE(read_file(dir + "/trace_store.db-journal").empty());
  REQUIRE(read_file(dir + "/trace_store.db") != original);  // the crash left changed pages

  const std::string db_bytes = read_file(dir + "/trace_store.db");
  const std::string journal_bytes = read_file(dir + "/trace_store.db-journal");
  auto store = Store::open_path(dir + "/trace_store.db");
  REQUIRE(store.is_ok());
  auto res = store->get()->run_sql("SELECT count(*) FROM spans WHERE name LIKE 'CHANGED_%'");
  REQUIRE(res.is_ok());
  CHECK(res->rows[0][0].i == 0);
  store->reset();
  CHECK(read_file(dir + "/trace_store.db") == db_bytes);
  CHECK(read_file(dir + "/trace_store.db-journal") == journal_bytes);
}

TEST_CASE("opening, loading and querying never write to the user's file", "[store]") {
  const std::string path = copy_of(test::standard_db().path, "untouched.db");
  const std::string before = read_file(path);
  struct stat st_before {};
  ::stat(path.c_str(), &st_before);
  {
    auto store = Store::open_path(path);
    REQUIRE(store.is_ok());
    auto model = Model::build(**store);
    REQUIRE(model.is_ok());
    auto res = store->get()->run_sql("SELECT count(*) FROM spans");
    REQUIRE(res.is_ok());
  }
  CHECK(read_file(path) == before);
  struct stat st_after {};
  ::stat(path.c_str(), &st_after);
  CHECK(st_after.st_mtime == st_before.st_mtime);
  CHECK(::access((path + "-journal").c_str(), F_OK) != 0);
  CHECK(::access((path + "-wal").c_str(), F_OK) != 0);
  CHECK(::access((path + "-shm").c_str(), F_OK) != 0);
}

TEST_CASE("a read-only file on disk opens", "[store]") {
  const std::string path = copy_of(test::standard_db().path, "readonly.db");
  ::chmod(path.c_str(), 0444);
  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  CHECK(Model::build(**store).is_ok());
}

TEST_CASE("user SQL is read-only and one statement at a time", "[store]") {
  auto store = Store::open_path(test::standard_db().path);
  REQUIRE(store.is_ok());
  Store& s = **store;
  auto ok = s.run_sql("SELECT count(*) AS n, NULL, 1.5, x'00ff', 'txt' FROM traces;");
  REQUIRE(ok.is_ok());
  CHECK(ok->columns.size() == 5);
  CHECK(ok->columns[0] == "n");
  CHECK(ok->rows[0][0].i == static_cast<int64_t>(test::standard_db().summary.trace_rows));
  CHECK(ok->rows[0][1].type == SqlResult::Cell::kNull);
  CHECK(ok->rows[0][2].d == 1.5);
  CHECK(ok->rows[0][3].s == "x'00ff'");
  CHECK(ok->rows[0][4].s == "txt");

  auto write = s.run_sql("DELETE FROM spans");
  CHECK(write.status().code() == ErrorCode::kReadOnly);
  auto create = s.run_sql("CREATE TABLE x(a)");
  CHECK(create.status().code() == ErrorCode::kReadOnly);
  auto two = s.run_sql("SELECT 1; SELECT 2");
  CHECK(two.status().code() == ErrorCode::kInvalidArgument);
  auto attach = s.run_sql("ATTACH DATABASE '/tmp/tracedrop-should-not-exist.db' AS x");
  CHECK_FALSE(attach.is_ok());
  CHECK(::access("/tmp/tracedrop-should-not-exist.db", F_OK) != 0);
  auto syntax = s.run_sql("SELEC nonsense");
  CHECK(syntax.status().code() == ErrorCode::kSqlError);
  CHECK(contains(syntax.status().message(), "syntax error"));
  auto empty = s.run_sql("  -- nothing\n");
  CHECK(empty.status().code() == ErrorCode::kInvalidArgument);
  auto many = s.run_sql("SELECT * FROM spans", 10);
  REQUIRE(many.is_ok());
  CHECK(many->rows.size() == 10);
  CHECK(many->truncated);
}

TEST_CASE("opening from bytes equals opening from the path", "[store]") {
  const auto& std_db = test::standard_db();
  auto bytes = Store::open_bytes(read_file(std_db.path), "dropped.db");
  REQUIRE(bytes.is_ok());
  auto model = Model::build(**bytes);
  REQUIRE(model.is_ok());
  CHECK(model->get()->span_count() == std_db.model->span_count());
  CHECK(model->get()->trace_count() == std_db.model->trace_count());
  CHECK(model->get()->event_count() == std_db.model->event_count());
  // Bad bytes get the same checks as bad files.
  CHECK(Store::open_bytes("", "x.db").status().code() == ErrorCode::kEmptyFile);
  CHECK(Store::open_bytes("not a database", "x.db").status().code() == ErrorCode::kNotSqlite);
  const std::string full = read_file(std_db.path);
  CHECK(Store::open_bytes(full.substr(0, full.size() - 4096), "x.db").status().code() == ErrorCode::kTruncated);

  // The same from a buffer the caller filled (the browser's way): same model, same checks.
  auto buffer = [](const std::string& text) {
    std::unique_ptr<char[]> b(new char[text.size() + 1]);
    std::memcpy(b.get(), text.data(), text.size());
    return b;
  };
  auto from_buffer = Store::open_bytes(buffer(full), full.size(), "dropped.db");
  REQUIRE(from_buffer.is_ok());
  CHECK((*from_buffer)->file_size() == full.size());
  auto model2 = Model::build(**from_buffer);
  REQUIRE(model2.is_ok());
  CHECK(model2->get()->span_count() == std_db.model->span_count());
  CHECK(model2->get()->event_count() == std_db.model->event_count());
  CHECK(model2->get()->reads_in_place());
  CHECK(Store::open_bytes(buffer(""), 0, "x.db").status().code() == ErrorCode::kEmptyFile);
  CHECK(Store::open_bytes(buffer("not a database"), 14, "x.db").status().code() == ErrorCode::kNotSqlite);
  CHECK(Store::open_bytes(buffer(full), full.size() - 4096, "x.db").status().code() == ErrorCode::kTruncated);
}

TEST_CASE("attribute rows in batches: dense runs, sparse rows, rows that are gone", "[store]") {
  const auto& db = test::standard_db(true);
  Store& store = *db.store;
  std::vector<int64_t> all;
  REQUIRE(for_each_rowid(store, all));
  REQUIRE(all.size() > 500);
  std::vector<int64_t> wanted(all.begin() + 10, all.begin() + 300);  // a dense run
  for (size_t i = 320; i < all.size(); i += 29) wanted.push_back(all[i]);  // sparse rows
  wanted.push_back(all.back() + 1000);  // not in the table
  std::vector<std::string> got(wanted.size());
  std::vector<bool> seen(wanted.size(), false);
  size_t last = 0;
  bool in_order = true;
  REQUIRE(store.span_attributes_batch(wanted, [&](size_t i, std::string_view text) {
                 if (i < last) in_order = false;
                 last = i;
                 seen[i] = true;
                 got[i] = std::string(text);
               }).is_ok());
  CHECK(in_order);
  CHECK_FALSE(seen.back());
  std::string one;
  size_t differing = 0;
  for (size_t i = 0; i + 1 < wanted.size(); ++i) {
    REQUIRE(seen[i]);
    REQUIRE(store.span_attributes(wanted[i], one).is_ok());
    if (one != got[i]) ++differing;
  }
  CHECK(differing == 0);
  // The batch leaves no transaction open behind it.
  CHECK(sqlite3_get_autocommit(store.db()) != 0);
}
