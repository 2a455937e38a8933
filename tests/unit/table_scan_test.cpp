// The direct page reader (store/table_scan) against SQLite: every model built by reading the
// file's pages must equal the model built through SQLite, on every kind of file the generator
// writes, on page layouts it does not write (small and large pages, reserved bytes, overflow
// chains, short records), and it must never crash or read outside the file on damaged ones.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <cstdio>
#include <functional>
#include <random>
#include <set>
#include <string>

#include "store/table_scan.h"
#include "test_support.h"
#include "warm_up.h"
#include "tracedrop/model.h"
#include "tracedrop/store.h"

using namespace tracedrop;

namespace {

std::string copy_of(const std::string& from, const std::string& name) {
  return test::write_file(name, test::read_file(from));
}

std::unique_ptr<Model> build(Store& store, bool direct, bool threads = true,
                             AttributeStorage attributes = AttributeStorage::kInMemory) {
  LoadOptions load;
  load.direct = direct;
  load.threads = threads;
  load.attributes = attributes;
  auto m = Model::build(store, load);
  INFO((m.is_ok() ? std::string() : m.status().message()));
  REQUIRE(m.is_ok());
  return std::move(m).value();
}

// Everything a model holds, compared column by column, with attribute text by content.
void require_same(const Model& a, const Model& b) {
  REQUIRE(a.span_count() == b.span_count());
  REQUIRE(a.trace_count() == b.trace_count());
  REQUIRE(a.event_count() == b.event_count());
  CHECK(a.spans.id == b.spans.id);
  CHECK(a.spans.parent_id == b.spans.parent_id);
  CHECK(a.spans.trace == b.spans.trace);
  CHECK(a.spans.parent == b.spans.parent);
  CHECK(a.spans.start == b.spans.start);
  CHECK(a.spans.end == b.spans.end);
  CHECK(a.spans.rowid == b.spans.rowid);
  CHECK(a.spans.status == b.spans.status);
  CHECK(a.spans.kind == b.spans.kind);
  CHECK(a.spans.flags == b.spans.flags);
  CHECK(a.spans.attr_len == b.spans.attr_len);
  size_t differing = 0;
  std::string sa, sb;
  for (uint32_t s = 0; s < a.span_count(); ++s) {
    auto ta = a.span_attributes(s, sa);
    auto tb = b.span_attributes(s, sb);
    REQUIRE(ta.is_ok());
    REQUIRE(tb.is_ok());
    if (*ta != *tb || a.span_name(s) != b.span_name(s) || a.span_id_text(s) != b.span_id_text(s) ||
        a.parent_id_text(s) != b.parent_id_text(s))
      ++differing;
  }
  CHECK(differing == 0);
  for (uint32_t t = 0; t < a.trace_count(); ++t) {
    const TraceInfo &x = a.traces[t], &y = b.traces[t];
    INFO("trace " << x.id);
    CHECK(x.id == y.id);
    CHECK(x.root == y.root);
    CHECK(x.start == y.start);
    CHECK(x.end == y.end);
    CHECK(x.span_count == y.span_count);
    CHECK(x.error_count == y.error_count);
    CHECK(x.orphan_count == y.orphan_count);
    CHECK(x.incomplete == y.incomplete);
    CHECK(a.str(x.service) == b.str(y.service));
  }
  CHECK(a.events.span == b.events.span);
  CHECK(a.events.time == b.events.time);
  CHECK(a.events.rowid == b.events.rowid);
  CHECK(a.events.bad_attributes == b.events.bad_attributes);
  differing = 0;
  for (uint32_t e = 0; e < a.event_count(); ++e) {
    const bool same_metric = (a.events.metric_value[e] == b.events.metric_value[e]) ||
                             (a.events.metric_value[e] != a.events.metric_value[e] &&
                              b.events.metric_value[e] != b.events.metric_value[e]);
    if (a.event_attributes(e) != b.event_attributes(e) || a.event_name(e) != b.event_name(e) || !same_metric ||
        a.str(a.events.metric_model[e]) != b.str(b.events.metric_model[e]))
      ++differing;
  }
  CHECK(differing == 0);
  REQUIRE(a.diagnostics().size() == b.diagnostics().size());
  for (size_t i = 0; i < a.diagnostics().size(); ++i) {
    CHECK(a.diagnostics()[i].code == b.diagnostics()[i].code);
    CHECK(a.diagnostics()[i].count == b.diagnostics()[i].count);
    CHECK(a.diagnostics()[i].examples == b.diagnostics()[i].examples);
  }
}

// A LoadOptions::read_file over the file at `path` (what the browser's file source does).
std::function<int64_t(uint64_t, size_t, char*, std::string&)> file_reader(const std::string& path) {
  return [path](uint64_t offset, size_t n, char* out, std::string& error) -> int64_t {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return error = "cannot open " + path, -1;
    size_t got = 0;
    if (std::fseek(f, static_cast<long>(offset), SEEK_SET) == 0) got = std::fread(out, 1, n, f);
    std::fclose(f);
    return static_cast<int64_t>(got);
  };
}

// The model built in one pass over the file's bytes, read in slices of `slice` bytes.
std::unique_ptr<Model> build_one_pass(Store& store, const std::string& path, size_t slice,
                                      AttributeStorage attributes = AttributeStorage::kInMemory) {
  LoadOptions load;
  load.direct = false;  // as a store without an image: the one pass or SQLite
  load.attributes = attributes;
  load.read_file = file_reader(path);
  load.read_slice_bytes = slice;
  auto m = Model::build(store, load);
  INFO((m.is_ok() ? std::string() : m.status().message()));
  REQUIRE(m.is_ok());
  return std::move(m).value();
}

// Builds the model of `path` in one pass (slices of 64 KiB, the smallest, and 16 MiB) and
// through SQLite, and compares; returns whether the one pass was used each time.
bool same_in_one_pass(const std::string& path) {
  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  auto through_sqlite = build(**store, false);
  auto sqlite_on_demand = build(**store, false, true, AttributeStorage::kOnDemand);
  bool used = true;
  for (size_t slice : {size_t{64} << 10, size_t{16} << 20}) {
    INFO("slices of " << slice << " bytes");
    auto in_memory = build_one_pass(**store, path, slice);
    require_same(*in_memory, *through_sqlite);
    auto on_demand = build_one_pass(**store, path, slice, AttributeStorage::kOnDemand);
    CHECK(on_demand->spans.attr_offset.empty());
    require_same(*on_demand, *sqlite_on_demand);
    // Overflow chains beyond the smallest slices' reach are read from the file apart.
    used = used && in_memory->read_in_one_pass() && on_demand->read_in_one_pass();
  }
  return used;
}

// Builds the model of `path` both ways and compares; returns whether the direct reader was used.
bool same_both_ways(const std::string& path) {
  auto store = Store::open_path(path);
  INFO(path << ": " << (store.is_ok() ? std::string() : store.status().message()));
  REQUIRE(store.is_ok());
  auto direct = build(**store, true);
  auto through_sqlite = build(**store, false);
  CHECK_FALSE(through_sqlite->reads_in_place());
  require_same(*direct, *through_sqlite);
  // Natively the spans table is read on two threads when its root page has two children or
  // more; one thread must give the same model.
  auto one_thread = build(**store, true, false);
  require_same(*one_thread, *through_sqlite);
  // Attributes read on demand (no text kept in memory): the same, on two threads and on one.
  auto on_demand = build(**store, true, true, AttributeStorage::kOnDemand);
  auto sqlite_on_demand = build(**store, false, true, AttributeStorage::kOnDemand);
  CHECK(on_demand->spans.attr_offset.empty());
  require_same(*on_demand, *sqlite_on_demand);
  require_same(*build(**store, true, false, AttributeStorage::kOnDemand), *sqlite_on_demand);
  // Texts fetched many at a time (search, export) equal those fetched one by one.
  std::vector<uint32_t> all(direct->span_count());
  for (uint32_t s = 0; s < direct->span_count(); ++s) all[s] = s;
  Model::AttributeTexts batch;
  REQUIRE(direct->span_attributes_batch(all, batch).is_ok());
  size_t differing = 0;
  std::string scratch;
  for (uint32_t s = 0; s < direct->span_count(); ++s)
    if (!batch.found[s] || batch.texts[s] != *through_sqlite->span_attributes(s, scratch)) ++differing;
  CHECK(differing == 0);
  return direct->reads_in_place();
}

const std::string& standard_path() { return test::standard_db().path; }

// SQL that replaces the spans table by one declared with `declaration`, keeping `columns` of
// every row in rowid order.
std::string recreate_spans(const std::string& declaration, const std::string& columns) {
  return "ALTER TABLE spans RENAME TO spans_old;"
         "CREATE TABLE spans(" + declaration + ");"
         "INSERT INTO spans SELECT " + columns + " FROM spans_old ORDER BY rowid;"
         "DROP TABLE spans_old;";
}

}  // namespace

TEST_CASE("direct page reading gives the model SQLite gives, on every generated variant", "[table_scan]") {
  using V = testdata::GenOptions::Variant;
  {
    // The standard file's spans table has an interior root page: the two-thread read is
    // what the comparisons below exercise.
    auto store = Store::open_path(standard_path());
    REQUIRE(store.is_ok());
    TableLayout layout;
    std::string why;
    REQUIRE(resolve_table_layout((*store)->db(), "spans", {"rowid", "span_id"}, layout, why));
    CHECK(root_children(*(*store)->image(), layout) >= 2);
  }
  CHECK(same_both_ways(standard_path()));
  const std::pair<V, bool> variants[] = {
      {V::kNoEventsTable, true}, {V::kExtraSchema, true}, {V::kNoPrimaryKey, true},
      {V::kWalSidecarMissing, true},  // read as it is in the main file, like SQLite does
      {V::kWalWithSidecar, false},    // a private copy with the -wal applied: SQLite only
  };
  int n = 0;
  for (const auto& [variant, in_place] : variants) {
    testdata::GenOptions opt;
    opt.traces = 60;
    opt.seed = 5;
    opt.variant = variant;
    const std::string path = test::temp_dir() + "/variant" + std::to_string(n++) + ".db";
    std::string error;
    REQUIRE(testdata::generate(opt, path, nullptr, &error));
    INFO("variant " << n);
    CHECK(same_both_ways(path) == in_place);
  }
}

TEST_CASE("direct page reading from bytes in memory (the browser's small files)", "[table_scan]") {
  auto store = Store::open_bytes(test::read_file(standard_path()), "standard.db");
  REQUIRE(store.is_ok());
  auto direct = build(**store, true);
  CHECK(direct->reads_in_place());
  require_same(*direct, *test::standard_db().model);
}

TEST_CASE("direct page reading on page sizes, reserved bytes and overflow chains", "[table_scan]") {
  // 512-byte pages put most attribute texts on overflow chains; 64 KiB pages make deep
  // records; reserved bytes at the end of each page shift every limit.
  struct Layout {
    const char* name;
    int page_size;
    int reserved;
  };
  for (const Layout& l : {Layout{"p512", 512, 0}, Layout{"p1024r32", 1024, 32}, Layout{"p65536", 65536, 0},
                          Layout{"p4096r8", 4096, 8}}) {
    INFO(l.name);
    const std::string path = copy_of(standard_path(), std::string(l.name) + ".db");
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const std::string pragma = "PRAGMA page_size=" + std::to_string(l.page_size);
    REQUIRE(sqlite3_exec(db, pragma.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    int reserved = l.reserved;  // after the page size, which resets the wish
    REQUIRE(sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserved) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "VACUUM", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    const std::string bytes = test::read_file(path);
    const int stored = (uint8_t(bytes[16]) << 8 | uint8_t(bytes[17])) == 1 ? 65536 : (uint8_t(bytes[16]) << 8 | uint8_t(bytes[17]));
    REQUIRE(stored == l.page_size);
    REQUIRE(uint8_t(bytes[20]) == l.reserved);
    CHECK(same_both_ways(path));
  }
}

TEST_CASE("a table part read while another thread moves its end: claim", "[table_scan]") {
  // 512-byte pages give the spans table a root page with many children.
  const std::string path = copy_of(standard_path(), "claim512.db");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA page_size=512; VACUUM;", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  TableLayout layout;
  std::string why;
  REQUIRE(resolve_table_layout((*store)->db(), "spans", {"rowid"}, layout, why));
  const uint32_t children = root_children(*(*store)->image(), layout);
  REQUIRE(children >= 8);
  auto rowids = [&](const TablePart& part) {
    std::vector<int64_t> out;
    REQUIRE(scan_table(*(*store)->image(), layout, [&](const DirectRow& r) {
      out.push_back(r.rowid());
      return true;
    }, why, &part) == ScanOutcome::kDone);
    return out;
  };
  const uint32_t stop_at = children / 2 + 1;
  std::vector<uint32_t> asked;
  TablePart claimed{0, children, [&](uint32_t child) {
    asked.push_back(child);
    return child < stop_at;
  }};
  const std::vector<int64_t> got = rowids(claimed);
  // Asked once per child, in order, up to the first refusal; the rows are those of the
  // children it allowed, in rowid order, and the rest of the table follows them.
  std::vector<uint32_t> expected_asks;
  for (uint32_t c = 0; c <= stop_at; ++c) expected_asks.push_back(c);
  CHECK(asked == expected_asks);
  CHECK(got == rowids(TablePart{0, stop_at, {}}));
  std::vector<int64_t> all = got, rest = rowids(TablePart{stop_at, children, {}});
  REQUIRE_FALSE(got.empty());
  REQUIRE_FALSE(rest.empty());
  CHECK(got.back() < rest.front());
  all.insert(all.end(), rest.begin(), rest.end());
  CHECK(all == rowids(TablePart{0, children, {}}));

  // The model builder shares the spans table out between two threads this way (the front
  // one child at a time, the back in runs): whatever each thread takes, the model is the one
  // a single thread builds.
  auto one_thread = build(**store, true, false);
  for (int run = 0; run < 6; ++run) {
    INFO("run " << run);
    require_same(*build(**store, true, true), *one_thread);
  }
}

TEST_CASE("direct page reading of short records, defaults, integers and reals in text columns", "[table_scan]") {
  // Columns added later (ALTER TABLE ADD COLUMN) leave older records short: NULL when the
  // column has no default (read directly), the default otherwise (SQLite reads the file then).
  const std::string rebuild = recreate_spans(
      "span_id TEXT PRIMARY KEY, trace_id TEXT, parent_span_id TEXT, name TEXT, start_time TEXT, end_time TEXT,"
      " attributes TEXT",
      "span_id, trace_id, parent_span_id, name, start_time, end_time, attributes");
  const std::string no_default = copy_of(standard_path(), "short_null.db");
  test::exec_sql(no_default, rebuild + "ALTER TABLE spans ADD COLUMN status TEXT; ALTER TABLE spans ADD COLUMN kind TEXT;"
                             "UPDATE spans SET status = 'ERROR', kind = 'SERVER' WHERE rowid % 7 = 0;");
  CHECK(same_both_ways(no_default));

  const std::string with_default = copy_of(standard_path(), "short_default.db");
  test::exec_sql(with_default, rebuild + "ALTER TABLE spans ADD COLUMN status TEXT DEFAULT 'OK';"
                               "ALTER TABLE spans ADD COLUMN kind TEXT DEFAULT 'CLIENT';");
  CHECK_FALSE(same_both_ways(with_default));  // read through SQLite, same model

  // A default on a column whose records all hold it (like traces.created_at in every file
  // Llama Stack writes) does not matter: read directly.
  const std::string full_default = copy_of(standard_path(), "full_default.db");
  test::exec_sql(full_default, recreate_spans(
      "span_id TEXT PRIMARY KEY, trace_id TEXT, parent_span_id TEXT, name TEXT, start_time TEXT, end_time TEXT,"
      " attributes TEXT, status TEXT DEFAULT 'OK', kind TEXT DEFAULT 'CLIENT'",
      "span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, status, kind"));
  CHECK(same_both_ways(full_default));

  // Columns declared without a type keep numbers as numbers (TEXT columns would turn them
  // into text on the way in).
  const std::string untyped = recreate_spans(
      "span_id PRIMARY KEY, trace_id, parent_span_id, name, start_time, end_time, attributes, status, kind",
      "span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, status, kind");
  const std::string integers = copy_of(standard_path(), "integers.db");
  test::exec_sql(integers, untyped + "UPDATE spans SET name = 42, status = 7 WHERE rowid % 11 = 0;"
                 "UPDATE spans SET span_id = rowid * 1000 WHERE rowid % 13 = 0;"
                 "UPDATE spans SET attributes = -rowid WHERE rowid % 17 = 0;"
                 "UPDATE spans SET start_time = 1700000000 WHERE rowid % 19 = 0;");
  {
    auto store = Store::open_path(integers);
    REQUIRE(store.is_ok());
    auto r = (*store)->run_sql("SELECT count(*) FROM spans WHERE typeof(name) = 'integer'");
    REQUIRE(r.is_ok());
    REQUIRE(r->rows[0][0].i > 10);  // the integers really are stored as integers
  }
  CHECK(same_both_ways(integers));

  const std::string reals = copy_of(standard_path(), "reals.db");
  test::exec_sql(reals, untyped + "UPDATE spans SET name = 1.5 WHERE rowid = 3; UPDATE spans SET start_time = 1700000000.25 WHERE rowid = 4;");
  CHECK_FALSE(same_both_ways(reals));  // a REAL read as text: SQLite's formatting, so SQLite reads it

  const std::string real_times = copy_of(standard_path(), "real_times.db");
  test::exec_sql(real_times, untyped + "UPDATE spans SET start_time = 1700000000.25 WHERE rowid % 23 = 0;"
                             "UPDATE spans SET end_time = 1700000001.5 WHERE rowid % 29 = 0;");
  CHECK(same_both_ways(real_times));  // REAL times are read as numbers both ways

  // The same in span_events, which natively is parsed on a thread of its own: a REAL event
  // name sends the whole build through SQLite (same model); integers are read directly.
  const std::string untyped_events =
      "ALTER TABLE span_events RENAME TO events_old;"
      "CREATE TABLE span_events(id INTEGER PRIMARY KEY AUTOINCREMENT, span_id, name, timestamp, attributes);"
      "INSERT INTO span_events SELECT * FROM events_old ORDER BY id; DROP TABLE events_old;";
  const std::string event_reals = copy_of(standard_path(), "event_reals.db");
  test::exec_sql(event_reals, untyped_events + "UPDATE span_events SET name = 2.5 WHERE id % 7 = 0;");
  CHECK_FALSE(same_both_ways(event_reals));
  const std::string event_integers = copy_of(standard_path(), "event_integers.db");
  test::exec_sql(event_integers, untyped_events + "UPDATE span_events SET name = 12, attributes = 3 WHERE id % 7 = 0;"
                                 "UPDATE span_events SET timestamp = 1700000000 WHERE id % 5 = 0;");
  CHECK(same_both_ways(event_integers));
}

TEST_CASE("direct page reading never crashes on damaged pages", "[table_scan]") {
  // Random bytes overwritten inside the spans pages. Whatever SQLite makes of the damage,
  // the direct reader must stay inside the file; when both succeed they must agree.
  const std::string original = test::read_file(standard_path());
  const size_t page = 4096;
  REQUIRE(original.size() > 40 * page);
  std::mt19937 rng(7);
  int both_ok = 0;
  for (int round = 0; round < 40; ++round) {
    std::string bytes = original;
    const size_t target = (1 + rng() % (bytes.size() / page - 1)) * page;
    for (int k = 0; k < 1 + round % 8; ++k) {
      const size_t at = target + rng() % (round % 2 ? 64 : page);
      bytes[at] = static_cast<char>(rng());
    }
    INFO("round " << round << " page at " << target);
    auto a = Store::open_bytes(bytes, "damaged.db");
    auto b = Store::open_bytes(bytes, "damaged.db");
    if (!a.is_ok() || !b.is_ok()) continue;
    LoadOptions direct, through_sqlite;
    through_sqlite.direct = false;
    auto ma = Model::build(**a, direct);
    auto mb = Model::build(**b, through_sqlite);
    CHECK(ma.is_ok() == mb.is_ok());
    if (!ma.is_ok() || !mb.is_ok()) {
      if (!ma.is_ok() && !mb.is_ok()) CHECK(ma.status().code() == mb.status().code());
      continue;
    }
    ++both_ok;
    require_same(**ma, **mb);
  }
  CHECK(both_ok > 0);
}

TEST_CASE("the real-world sample reads the same directly", "[table_scan]") {
  const std::string fixture = test::shared_fixture();
  if (fixture.empty()) {
    WARN("../shared/fixtures/sample_trace_store.db is absent: skipped");
    return;
  }
  CHECK(same_both_ways(fixture));
}

TEST_CASE("long attribute texts left on overflow pages: a file changed under them gives a clear error", "[table_scan]") {
  // 512-byte pages: nearly every attribute text continues on overflow pages and stays there.
  const std::string path = copy_of(standard_path(), "changed_under.db");
  test::exec_sql(path, "PRAGMA page_size=512; VACUUM;");
  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  auto m = Model::build(**store);
  REQUIRE(m.is_ok());
  REQUIRE((*m)->reads_in_place());
  uint32_t chained = 0, first = UINT32_MAX;
  for (uint32_t s = 0; s < (*m)->span_count(); ++s)
    if ((*m)->spans.attr_offset[s] & SpanColumns::kInChain) {
      ++chained;
      if (first == UINT32_MAX) first = s;
    }
  REQUIRE(chained > 100);
  std::string scratch;
  REQUIRE((*m)->span_attributes(first, scratch).is_ok());
  // Overwrite everything after page 1 in place (same size: nothing is cut off under the map).
  {
    std::string bytes = test::read_file(path);
    for (size_t i = 512; i < bytes.size(); ++i) bytes[i] = '\xff';
    FILE* f = std::fopen(path.c_str(), "r+b");
    REQUIRE(f);
    REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
    std::fclose(f);
  }
  auto gone = (*m)->span_attributes(first, scratch);
  REQUIRE_FALSE(gone.is_ok());
  CHECK(gone.status().code() == ErrorCode::kNotFound);
  CHECK_THAT(gone.status().message(), Catch::Contains("the file changed since it was opened"));
  Model::AttributeTexts batch;
  CHECK(Model::build(**store).is_ok() == false);  // and a new build says the file is damaged
  CHECK_FALSE((*m)->span_attributes_batch({first}, batch).is_ok());
}

TEST_CASE("event names, units and models: many distinct ones and escaped ones read right both ways", "[table_scan]") {
  // The events parser numbers these strings with a small table of its own (linear search up
  // to 16 strings, then a map); units and models with escapes are decoded first.
  const std::string path = copy_of(standard_path(), "event_strings.db");
  test::exec_sql(path,
                 "UPDATE span_events SET name = 'custom.event.' || (id % 40) WHERE name NOT LIKE 'metric.%';"
                 "UPDATE span_events SET attributes = '{\"value\": 7, \"unit\": \"tok\\u0065ns\", \"model_id\": \"m\\\"' || (id % 25) || '\"}'"
                 " WHERE name LIKE 'metric.%' AND id % 3 = 0;");
  CHECK(same_both_ways(path));
  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  for (bool direct : {true, false}) {
    auto m = build(**store, direct);
    auto rows = (*store)->run_sql("SELECT id, name, attributes FROM span_events ORDER BY id");
    REQUIRE(rows.is_ok());
    REQUIRE(rows->rows.size() == m->event_count());
    std::set<std::string> names;
    size_t escaped = 0;
    for (uint32_t e = 0; e < m->event_count(); ++e) {
      const auto& row = rows->rows[e];
      REQUIRE(m->events.rowid[e] == row[0].i);
      CHECK(m->event_name(e) == row[1].s);
      names.insert(row[1].s);
      if (row[2].s.find("tok\\u0065ns") != std::string::npos) {
        ++escaped;
        CHECK(m->str(m->events.metric_unit[e]) == "tokens");
        CHECK(m->str(m->events.metric_model[e]) == "m\"" + std::to_string(row[0].i % 25));
        CHECK(m->events.metric_value[e] == 7.0);
      }
    }
    CHECK(names.size() > 20);
    CHECK(escaped > 0);
  }
}

// ---------------------------------------------------------------- one pass over the file

TEST_CASE("one pass over the file's bytes gives the model SQLite gives", "[table_scan][one_pass]") {
  CHECK(same_in_one_pass(standard_path()));
  const std::string fixture = test::shared_fixture();
  if (!fixture.empty()) CHECK(same_in_one_pass(fixture));
  // Pages of 512 bytes (nearly every span on overflow pages, chains crossing slices) and of
  // 64 KiB (one page a slice at the smallest slices).
  for (int page_size : {512, 65536}) {
    INFO("page size " << page_size);
    const std::string path = copy_of(standard_path(), "one_pass_" + std::to_string(page_size) + ".db");
    test::exec_sql(path, "PRAGMA page_size=" + std::to_string(page_size) + "; VACUUM;");
    CHECK(same_in_one_pass(path));
  }
  // Without a span_events table, and with an extra table and extra columns.
  const std::string no_events = copy_of(standard_path(), "one_pass_no_events.db");
  test::exec_sql(no_events, "DROP TABLE span_events;");
  CHECK(same_in_one_pass(no_events));
  const std::string extra = copy_of(standard_path(), "one_pass_extra.db");
  test::exec_sql(extra, "CREATE TABLE notes(a, b, c); INSERT INTO notes VALUES (1, 'x', 2.5);");
  CHECK(same_in_one_pass(extra));
}

TEST_CASE("events without their span, without a time, or without JSON: the same every way", "[table_scan][one_pass]") {
  // Dropped, given their span's end, kept as text; the rows after a dropped one move up. The
  // one pass and the early parse commit the events before resolving their spans, SQLite's
  // build one at a time: the models, diagnostics included, must be the same.
  const std::string path = copy_of(standard_path(), "odd_events.db");
  test::exec_sql(path,
                 "INSERT INTO span_events (span_id, name, timestamp, attributes) VALUES "
                 "('00000000deadbeef', 'metric.prompt_tokens', '2025-01-01T00:00:00+00:00', '{\"value\": 1}'), "
                 "((SELECT span_id FROM spans ORDER BY rowid LIMIT 1 OFFSET 3), 'log', NULL, 'not json'), "
                 "('not-a-hex-id', 'log', 'garbage', '{}'), "
                 "((SELECT span_id FROM spans ORDER BY rowid LIMIT 1 OFFSET 5), 'metric.total_tokens', "
                 "'2025-01-01T00:00:01+00:00', '{\"value\": 7, \"unit\": \"tokens\"}');");
  CHECK(same_in_one_pass(path));
  CHECK(same_both_ways(path));
  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  auto plain = Store::open_path(standard_path());
  REQUIRE(plain.is_ok());
  auto before = build(**plain, true);
  for (bool direct : {true, false}) {
    INFO("direct " << direct);
    auto m = build(**store, direct);
    REQUIRE(m->event_count() == before->event_count() + 2);  // two of the four kept
    const size_t n = m->event_count();
    const uint32_t untimed = static_cast<uint32_t>(n - 2), last = static_cast<uint32_t>(n - 1);
    CHECK(m->events.bad_attributes[untimed] == 1);
    CHECK(m->events.time[untimed] == m->spans.end[m->events.span[untimed]]);  // its span's end
    CHECK(m->events.rowid[last] == m->events.rowid[untimed] + 2);  // the dropped row between
    CHECK(m->span_id_text(m->events.span[last]) != m->span_id_text(m->events.span[untimed]));
    CHECK(m->events.metric_value[last] == 7);
    uint64_t without_span = 0, bad = 0;
    for (const Diagnostic& d : m->diagnostics()) {
      if (d.code == "events_without_span") without_span = d.count;
      if (d.code == "bad_event_attributes") bad = d.count;
    }
    CHECK(without_span == 2);
    CHECK(bad == 1);
  }
}

TEST_CASE("one pass: what it cannot take falls back to SQLite with the same model", "[table_scan][one_pass]") {
  // A table as wide as spans (9 columns): its pages look like spans pages. With rowids below
  // those already read they are left out (and the pass stands); with larger ones they are read
  // as spans, and the tree walk at the end finds they are not.
  for (const char* rowids : {"rowid", "rowid + 1000000"}) {
    INFO("twin rowids " << rowids);
    const std::string twin = copy_of(standard_path(), "one_pass_twin.db");
    test::exec_sql(twin, std::string("CREATE TABLE twin(a, b, c, d, e, f, g, h, i);"
                                     "INSERT INTO twin(rowid, a, b, c, d, e, f, g, h, i) SELECT ") + rowids +
                             ", span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, status,"
                             " kind FROM spans LIMIT 300;");
    CHECK(same_in_one_pass(twin) == (std::string(rowids) == "rowid"));
  }
  // Rows stored against rowid order: the spans rows rewritten newest first with their rowids,
  // so the file's page order is the reverse of the table's.
  const std::string reversed = copy_of(standard_path(), "one_pass_reversed.db");
  test::exec_sql(reversed, "ALTER TABLE spans RENAME TO spans_old;"
                           "CREATE TABLE spans(span_id TEXT PRIMARY KEY, trace_id TEXT, parent_span_id TEXT, name TEXT,"
                           " start_time TIMESTAMP, end_time TIMESTAMP, attributes TEXT, status TEXT, kind TEXT);"
                           "INSERT INTO spans(rowid, span_id, trace_id, parent_span_id, name, start_time, end_time,"
                           " attributes, status, kind) SELECT rowid, span_id, trace_id, parent_span_id, name, start_time,"
                           " end_time, attributes, status, kind FROM spans_old ORDER BY rowid DESC;"
                           "DROP TABLE spans_old;");
  CHECK_FALSE(same_in_one_pass(reversed));
  // Free pages left from deleted rows still look like leaves of spans.
  const std::string freed = copy_of(standard_path(), "one_pass_freed.db");
  test::exec_sql(freed, "DELETE FROM spans WHERE rowid % 3 = 0 AND rowid < 2000;");
  {
    auto store = Store::open_path(freed);
    REQUIRE(store.is_ok());
    require_same(*build_one_pass(**store, freed, 64 << 10), *build(**store, false));
  }
  // An attribute text longer than three slices of 64 KiB: the part of its chain beyond the
  // slices at hand is read from the file apart (more bytes read than the file has); when those
  // reads fail, SQLite reads the tables.
  const std::string long_text = copy_of(standard_path(), "one_pass_long.db");
  test::exec_sql(long_text, "INSERT INTO spans SELECT 'ffff' || substr(span_id, 5), trace_id, parent_span_id, name,"
                            " start_time, end_time, json_object('blob', hex(zeroblob(150000))), status, kind"
                            " FROM spans ORDER BY rowid DESC LIMIT 1;");
  {
    auto store = Store::open_path(long_text);
    REQUIRE(store.is_ok());
    const uint64_t file_size = (*store)->file_size();
    for (bool apart_fails : {false, true}) {
      INFO("reads apart from the slices fail: " << apart_fails);
      uint64_t bytes_read = 0;
      const auto whole = file_reader(long_text);
      LoadOptions load;
      load.direct = false;
      load.read_slice_bytes = 64 << 10;
      load.read_file = [&](uint64_t offset, size_t n, char* out, std::string& error) -> int64_t {
        const bool slice = offset % (64 << 10) == 0 && (n == (64 << 10) || offset + n == file_size);
        if (apart_fails && !slice) return error = "no", -1;
        bytes_read += n;
        return whole(offset, n, out, error);
      };
      auto small = Model::build(**store, load);
      REQUIRE(small.is_ok());
      CHECK((*small)->read_in_one_pass() == !apart_fails);
      CHECK((bytes_read > file_size) == !apart_fails);
      require_same(**small, *build(**store, false));
    }
    auto large = build_one_pass(**store, long_text, 1 << 20);  // within a slice: read in the pass
    CHECK(large->read_in_one_pass());
    require_same(*large, *build(**store, false));
  }
}

TEST_CASE("one pass: a file that cannot be read or shrinks says so; cancelling stops it", "[table_scan][one_pass]") {
  auto store = Store::open_path(standard_path());
  REQUIRE(store.is_ok());
  LoadOptions load;
  load.direct = false;
  load.read_slice_bytes = 64 << 10;
  const auto reader = file_reader(standard_path());
  load.read_file = [reader](uint64_t offset, size_t n, char* out, std::string& error) -> int64_t {
    if (offset >= (256u << 10)) return error = "the file was not found", -1;
    return reader(offset, n, out, error);
  };
  auto failed = Model::build(**store, load);
  REQUIRE_FALSE(failed.is_ok());
  CHECK(failed.status().code() == ErrorCode::kIoError);
  CHECK_THAT(failed.status().message(), Catch::Contains("could not be read") && Catch::Contains("the file was not found"));

  load.read_file = [reader](uint64_t offset, size_t n, char* out, std::string& error) -> int64_t {
    const int64_t got = reader(offset, n, out, error);
    return offset >= (256u << 10) ? got / 2 : got;  // the file got shorter
  };
  auto shrunk = Model::build(**store, load);
  REQUIRE_FALSE(shrunk.is_ok());
  CHECK(shrunk.status().code() == ErrorCode::kIoError);
  CHECK_THAT(shrunk.status().message(), Catch::Contains("changed while it was being read"));

  load.read_file = reader;
  int calls = 0;
  load.progress = [&](double) { return ++calls < 3; };
  auto cancelled = Model::build(**store, load);
  REQUIRE_FALSE(cancelled.is_ok());
  CHECK(cancelled.status().code() == ErrorCode::kCancelled);
}

TEST_CASE("one pass never crashes on damaged pages", "[table_scan][one_pass]") {
  // As for the direct reader: random bytes inside the file; both ways must stay inside their
  // buffers, and agree when both succeed.
  const std::string original = test::read_file(standard_path());
  const size_t page = 4096;
  std::mt19937 rng(11);
  int both_ok = 0, one_pass = 0;
  for (int round = 0; round < 40; ++round) {
    std::string bytes = original;
    const size_t target = (1 + rng() % (bytes.size() / page - 1)) * page;
    for (int k = 0; k < 1 + round % 8; ++k) bytes[target + rng() % (round % 2 ? 64 : page)] = static_cast<char>(rng());
    INFO("round " << round << " page at " << target);
    const std::string path = test::write_file("one_pass_damaged.db", bytes);
    auto a = Store::open_path(path);
    if (!a.is_ok()) continue;
    LoadOptions pass, through_sqlite;
    pass.direct = through_sqlite.direct = false;
    pass.read_file = file_reader(path);
    pass.read_slice_bytes = 64 << 10;
    auto ma = Model::build(**a, pass);
    auto mb = Model::build(**a, through_sqlite);
    CHECK(ma.is_ok() == mb.is_ok());
    if (!ma.is_ok() || !mb.is_ok()) continue;
    ++both_ok;
    if ((*ma)->read_in_one_pass()) ++one_pass;
    require_same(**ma, **mb);
  }
  CHECK(both_ok > 0);
  CHECK(one_pass > 0);
}

TEST_CASE("the module's warm-up builds its made-up database both ways", "[one_pass]") {
  // wasm/src/warm_up.cpp: what the browser worker runs before the first file. Its database must
  // read in one pass (else the warm-up would not run that code) and hold what it was asked for.
  auto r = tracedrop::wasm::warm_up(500, 2);
  INFO((r.is_ok() ? r.value() : r.status().message()));
  REQUIRE(r.is_ok());
  // Every 17th span has an `error` attribute; none has unreadable attribute text.
  CHECK(r.value() == "{\"spans\":500,\"events\":125,\"bad_attributes\":0,\"error_attributes\":29,\"one_pass\":true}");
}
