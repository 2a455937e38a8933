// Queries with Llama Stack's semantics. Answers are checked against SQLite running Llama
// Stack's own SQL on the same file, and against the generator's known constants.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>

#include "query/sql_value.h"
#include "test_support.h"
#include "tracedrop/query.h"
#include "tracedrop/views.h"

using namespace tracedrop;
using Json = nlohmann::json;
using testdata::AgentToolsCase;

namespace {

// ------------------------------------------------------------------ handmade databases

constexpr const char* kSchema = R"sql(
CREATE TABLE traces (trace_id TEXT PRIMARY KEY, service_name TEXT, root_span_id TEXT,
  start_time TIMESTAMP, end_time TIMESTAMP, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE spans (span_id TEXT PRIMARY KEY, trace_id TEXT REFERENCES traces(trace_id),
  parent_span_id TEXT, name TEXT, start_time TIMESTAMP, end_time TIMESTAMP, attributes TEXT,
  status TEXT, kind TEXT);
CREATE TABLE span_events (id INTEGER PRIMARY KEY AUTOINCREMENT, span_id TEXT REFERENCES spans(span_id),
  name TEXT, timestamp TIMESTAMP, attributes TEXT);
CREATE INDEX idx_traces_created_at ON traces(created_at);
)sql";

struct MiniDb {
  std::string path;
  std::unique_ptr<Store> store;
  std::unique_ptr<Model> model;
};

std::string trace_hex(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%032x", i);
  return buf;
}

std::string span_hex(int i) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016x", i);
  return buf;
}

std::string sql_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// Time text of second `sec` after 2025-06-02T08:00:00 (microsecond 100 so a fraction is written).
std::string at(int sec) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "2025-06-02T%02d:%02d:%02d.000100+00:00", 8 + sec / 3600, (sec / 60) % 60, sec % 60);
  return buf;
}

MiniDb make_db(const std::string& name, const std::string& inserts) {
  MiniDb db;
  db.path = test::temp_dir() + "/" + name;
  std::remove(db.path.c_str());
  test::exec_sql(db.path, std::string(kSchema) + "BEGIN;" + inserts + "COMMIT;");
  LoadOptions in_memory;
  in_memory.attributes = AttributeStorage::kInMemory;
  test::Loaded loaded = test::load_db(db.path, in_memory);
  db.store = std::move(loaded.store);
  db.model = std::move(loaded.model);
  return db;
}

// One trace with one root span (trace i, span i) whose attributes are `attrs` (SQL literal).
std::string one_span_trace(int i, const std::string& attrs_sql, bool null_root = false, int start = -1) {
  const int s = start < 0 ? i : start;
  return "INSERT INTO traces VALUES(" + sql_quote(trace_hex(i)) + ", 'svc" + std::to_string(i % 3) + "', " +
         (null_root ? std::string("NULL") : sql_quote(span_hex(i))) + ", " + sql_quote(at(s)) + ", " +
         sql_quote(at(s + 1)) + ", '2025-06-02 08:00:00');" + "INSERT INTO spans VALUES(" + sql_quote(span_hex(i)) +
         ", " + sql_quote(trace_hex(i)) + ", NULL, 'span" + std::to_string(i) + "', " + sql_quote(at(s)) + ", " +
         sql_quote(at(s + 1)) + ", " + attrs_sql + ", 'OK', 'INTERNAL');";
}

// Attribute values of every JSON type and the awkward numbers (all valid JSON, so that
// SQLite's json_extract can serve as the oracle).
const std::vector<std::string> kFilterAttributes = {
    R"({"n": 5})",       R"({"n": 5.0})",          R"({"n": 5.5})",      R"({"n": "5"})",
    R"({"n": true})",    R"({"n": false})",        R"({"n": null})",     R"({"n": "abc"})",
    R"({"n": "Abc"})",   R"({"n": [1, 2]})",       R"({"n": {"x": 1}})", R"({})",
    R"({"n": 10})",      R"({"n": -3})",           R"({"n": "ab"})",     R"({"n": "\u00e9"})",
    R"({"n": 9007199254740993})", R"({"n": 1e300})", R"({"n": 1})",      R"({"n": 0})",
    R"({"n": ""})",      R"({"a": {"b": 3}, "arr": [10, 20]})",           R"({"a": {"b": "x"}, "arr": [30]})",
    R"({"n": "abd"})",   R"({"n": 9223372036854775807})",                 R"({"n": "5", "m": 1})",
    R"({"n": "a\"b"})",  R"({"n": -0.5})",
};

const MiniDb& filter_db() {
  static MiniDb db = [] {
    std::string sql;
    int i = 1;
    for (const auto& a : kFilterAttributes) sql += one_span_trace(i++, sql_quote(a));
    sql += one_span_trace(i++, "NULL");  // NULL attributes
    // Same-span semantics: trace 100 has A and B on different spans, trace 101 on one span.
    sql += one_span_trace(100, sql_quote(R"({"A": 1})"));
    sql += "INSERT INTO spans VALUES('" + span_hex(1000) + "', '" + trace_hex(100) + "', '" + span_hex(100) +
           "', 'child', " + sql_quote(at(100)) + ", " + sql_quote(at(101)) + ", '{\"B\": 2}', 'OK', 'INTERNAL');";
    sql += one_span_trace(101, sql_quote(R"({"A": 1, "B": 2})"));
    return make_db("filters.db", sql);
  }();
  return db;
}

// ------------------------------------------------------------------ helpers

const Model& std_model() { return *test::standard_db().model; }
const testdata::GenSummary& summary() { return test::standard_db().summary; }

uint32_t special(const std::string& case_name) {
  auto it = summary().special.find(case_name);
  REQUIRE(it != summary().special.end());
  auto t = std_model().find_trace(it->second);
  REQUIRE(t);
  return *t;
}

SqlResult sql(Store& store, const std::string& text) {
  auto r = store.run_sql(text, 1000000);
  INFO(text);
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

int64_t sql_int(Store& store, const std::string& text) {
  auto r = sql(store, text);
  REQUIRE(r.rows.size() == 1);
  return r.rows[0][0].i;
}

double sql_double(Store& store, const std::string& text) {
  auto r = sql(store, text);
  REQUIRE(r.rows.size() == 1);
  const auto& c = r.rows[0][0];
  return c.type == SqlResult::Cell::kInteger ? static_cast<double>(c.i) : c.d;
}

std::vector<std::string> sql_strings(Store& store, const std::string& text) {
  std::vector<std::string> out;
  for (const auto& row : sql(store, text).rows) out.push_back(row[0].s);
  return out;
}

std::vector<std::string> ids_of(const Model& m, const std::vector<uint32_t>& traces) {
  std::vector<std::string> out;
  for (uint32_t t : traces) out.push_back(m.traces[t].id);
  return out;
}

std::vector<uint32_t> run(const Model& m, TraceQuery q) {
  auto r = query_traces(m, q);
  INFO(r.status().message());
  REQUIRE(r.is_ok());
  return r.value();
}

// Trace ids matching `filters`, in trace id order.
std::vector<std::string> matching_ids(const Model& m, const std::vector<AttributeFilter>& filters) {
  TraceQuery q;
  q.filters = filters;
  q.order_by = {"trace_id"};
  q.limit = SIZE_MAX;
  return ids_of(m, run(m, q));
}

// A SQL literal binding the value as Python's sqlite3 would (bool -> 0/1).
std::string sql_literal(const Json& v) {
  if (v.is_null()) return "NULL";
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  if (v.is_number_integer()) return v.dump();
  if (v.is_number_float()) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v.get<double>());
    std::string s = buf;
    if (s.find_first_of(".en") == std::string::npos) s += ".0";  // keep it a REAL literal
    return s;
  }
  if (v.is_string()) return sql_quote(v.get<std::string>());
  return sql_quote(v.dump());
}

const char* sql_op(FilterOp op) {
  switch (op) {
    case FilterOp::kEq: return "=";
    case FilterOp::kNe: return "!=";
    case FilterOp::kGt: return ">";
    case FilterOp::kLt: return "<";
  }
  return "?";
}

// Llama Stack's WHERE clause, run by SQLite on the same file.
std::vector<std::string> oracle_ids(Store& store, const std::vector<AttributeFilter>& filters,
                                    const std::string& json_path_guard = "") {
  std::string where;
  for (const auto& f : filters) {
    if (!where.empty()) where += " AND ";
    where += "json_extract(attributes, '$." + f.key + "') " + sql_op(f.op) + " " + sql_literal(f.value);
  }
  return sql_strings(store, "SELECT DISTINCT trace_id FROM spans WHERE " + json_path_guard + where + " ORDER BY trace_id");
}

AttributeFilter filter(const std::string& key, FilterOp op, Json value) { return AttributeFilter{key, op, std::move(value)}; }

}  // namespace

// ==================================================================== filter syntax

TEST_CASE("filter operators parse by name and symbol", "[query]") {
  CHECK(parse_filter_op("eq") == FilterOp::kEq);
  CHECK(parse_filter_op("=") == FilterOp::kEq);
  CHECK(parse_filter_op("ne") == FilterOp::kNe);
  CHECK(parse_filter_op("!=") == FilterOp::kNe);
  CHECK(parse_filter_op("gt") == FilterOp::kGt);
  CHECK(parse_filter_op(">") == FilterOp::kGt);
  CHECK(parse_filter_op("lt") == FilterOp::kLt);
  CHECK(parse_filter_op("<") == FilterOp::kLt);
  CHECK_FALSE(parse_filter_op("ge"));
  CHECK_FALSE(parse_filter_op(""));
}

TEST_CASE("filter expressions: key, operator, JSON or text value", "[query]") {
  struct Case {
    const char* text;
    const char* key;
    FilterOp op;
    Json value;
  };
  const Case cases[] = {
      {"session_id=abc", "session_id", FilterOp::kEq, "abc"},
      {"n!=5", "n", FilterOp::kNe, 5},
      {"n>1.5", "n", FilterOp::kGt, 1.5},
      {"n<-3", "n", FilterOp::kLt, -3},
      {"flag=true", "flag", FilterOp::kEq, true},
      {"s=\"42\"", "s", FilterOp::kEq, "42"},
      {" a.b = x y ", "a.b", FilterOp::kEq, "x y"},
      {"url=a=b", "url", FilterOp::kEq, "a=b"},
      {"empty=", "empty", FilterOp::kEq, ""},
      {"v=null", "v", FilterOp::kEq, nullptr},
      {"n=NaN", "n", FilterOp::kEq, "NaN"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto f = parse_filter_expression(c.text);
    REQUIRE(f.is_ok());
    CHECK(f->key == c.key);
    CHECK(f->op == c.op);
    CHECK(f->value == c.value);
    CHECK(f->value.dump() == c.value.dump());  // 5 stays an integer, "5" a string
  }
  for (const char* bad : {"novalue", "=5", " != 3", "a!b", "n>=5", "n<=5", ""}) {
    INFO(bad);
    auto f = parse_filter_expression(bad);
    REQUIRE_FALSE(f.is_ok());
    CHECK(f.status().code() == ErrorCode::kInvalidArgument);
    CHECK_FALSE(f.status().message().empty());
  }
}

// ==================================================================== SQLite comparison rules

TEST_CASE("SQL value comparison follows SQLite's ordering", "[query]") {
  using query::SqlValue;
  auto integer = [](int64_t i) { SqlValue v; v.type = SqlValue::kInteger; v.i = i; return v; };
  auto real = [](double d) { SqlValue v; v.type = SqlValue::kReal; v.d = d; return v; };
  auto text = [](std::string_view t) { SqlValue v; v.type = SqlValue::kText; v.text = t; return v; };
  CHECK(query::sql_compare(integer(5), real(5.0)) == 0);
  CHECK(query::sql_compare(integer(5), real(5.5)) == -1);
  CHECK(query::sql_compare(real(-0.5), integer(0)) == -1);
  CHECK(query::sql_compare(integer(-1), real(-0.5)) == -1);
  // 2^53 + 1 is not a double: an exact comparison still tells them apart.
  CHECK(query::sql_compare(integer(9007199254740993), real(9007199254740992.0)) == 1);
  CHECK(query::sql_compare(integer(INT64_MAX), real(9.3e18)) == -1);
  CHECK(query::sql_compare(integer(INT64_MIN), real(-9.3e18)) == 1);
  CHECK(query::sql_compare(real(1e300), text("")) == -1);  // numbers before text
  CHECK(query::sql_compare(text("Abc"), text("abc")) == -1);  // bytewise
  CHECK(query::sql_compare(text("ab"), text("abc")) == -1);
  CHECK(query::sql_compare(text("\xc3\xa9"), text("z")) == 1);
  CHECK_FALSE(query::sql_compare(SqlValue{}, integer(1)));
  CHECK_FALSE(query::sql_compare(text("a"), SqlValue{}));
}

TEST_CASE("every operator, type mix and missing key answers as SQLite's json_extract", "[query]") {
  const MiniDb& db = filter_db();
  const std::vector<Json> values = {
      5, 5.0, 5.5, "5", true, false, "abc", "ab", "Abc", 0, 1, 10, -3, "", 4.9, -0.5,
      Json::parse("9007199254740992"), Json::parse("9007199254740993"), 1e300, "[1,2]", Json::array({1, 2}),
      Json::object({{"x", 1}}), "\xc3\xa9", "a\"b", Json::parse("9223372036854775807"), 9.3e18, 3, "x", 20, 30};
  const std::vector<std::string> keys = {"n", "a.b", "arr[1]", "arr[0]", "m", "zzz"};
  int compared = 0;
  for (const auto& key : keys) {
    for (FilterOp op : {FilterOp::kEq, FilterOp::kNe, FilterOp::kGt, FilterOp::kLt}) {
      for (const Json& v : values) {
        const std::vector<AttributeFilter> f = {filter(key, op, v)};
        INFO(key << " " << sql_op(op) << " " << v.dump());
        CHECK(matching_ids(*db.model, f) == oracle_ids(*db.store, f));
        ++compared;
      }
    }
  }
  CHECK(compared == 6 * 4 * 30);
}

TEST_CASE("filters: known answers for type mixing and missing keys", "[query]") {
  const Model& m = *filter_db().model;
  auto ids = [](std::initializer_list<int> is) {
    std::vector<std::string> out;
    for (int i : is) out.push_back(trace_hex(i));
    return out;
  };
  // 5 and 5.0 are equal; "5" (text) is not.
  CHECK(matching_ids(m, {filter("n", FilterOp::kEq, 5)}) == ids({1, 2}));
  CHECK(matching_ids(m, {filter("n", FilterOp::kEq, 5.0)}) == ids({1, 2}));
  CHECK(matching_ids(m, {filter("n", FilterOp::kEq, "5")}) == ids({4, 26}));
  // true is 1: the JSON true and the integer 1.
  CHECK(matching_ids(m, {filter("n", FilterOp::kEq, true)}) == ids({5, 19}));
  CHECK(matching_ids(m, {filter("n", FilterOp::kEq, false)}) == ids({6, 20}));
  // ne never matches a missing key or a JSON null: only traces that have a non-null "m".
  CHECK(matching_ids(m, {filter("m", FilterOp::kNe, 7)}) == ids({26}));
  // Text sorts after every number: "n" > 1e300 holds for the text values only.
  CHECK(matching_ids(m, {filter("n", FilterOp::kGt, 1e300)}) ==
        ids({4, 8, 9, 10, 11, 15, 16, 21, 24, 26, 27}));
  // Numbers below "" (every number, booleans included).
  CHECK(matching_ids(m, {filter("n", FilterOp::kLt, "")}) == ids({1, 2, 3, 5, 6, 13, 14, 17, 18, 19, 20, 25, 28}));
  // Nested paths and array indices.
  CHECK(matching_ids(m, {filter("a.b", FilterOp::kEq, 3)}) == ids({22}));
  CHECK(matching_ids(m, {filter("arr[1]", FilterOp::kEq, 20)}) == ids({22}));
  CHECK(matching_ids(m, {filter("arr[1]", FilterOp::kNe, 20)}).empty());
  // Arrays/objects compare as their minified JSON text.
  CHECK(matching_ids(m, {filter("n", FilterOp::kEq, Json::array({1, 2}))}) == ids({10}));
  CHECK(matching_ids(m, {filter("n", FilterOp::kEq, "{\"x\":1}")}) == ids({11}));
  // Escapes are decoded before comparing.
  CHECK(matching_ids(m, {filter("n", FilterOp::kEq, "\xc3\xa9")}) == ids({16}));
  CHECK(matching_ids(m, {filter("n", FilterOp::kEq, "a\"b")}) == ids({27}));
  // A null filter value matches nothing (SQL: x = NULL is NULL).
  CHECK(matching_ids(m, {filter("n", FilterOp::kNe, nullptr)}).empty());
  CHECK(matching_ids(m, {filter("zzz", FilterOp::kNe, 1)}).empty());
}

TEST_CASE("all filters must hold on the same span", "[query]") {
  const MiniDb& db = filter_db();
  const std::vector<AttributeFilter> both = {filter("A", FilterOp::kEq, 1), filter("B", FilterOp::kEq, 2)};
  CHECK(matching_ids(*db.model, both) == std::vector<std::string>{trace_hex(101)});
  CHECK(oracle_ids(*db.store, both) == std::vector<std::string>{trace_hex(101)});
  // Each filter alone matches both traces.
  CHECK(matching_ids(*db.model, {both[0]}) == std::vector<std::string>{trace_hex(100), trace_hex(101)});
  CHECK(matching_ids(*db.model, {both[1]}) == std::vector<std::string>{trace_hex(100), trace_hex(101)});
}

TEST_CASE("a dotted key also finds a literal top-level key (OpenTelemetry names)", "[query]") {
  const MiniDb db = make_db("dotted.db", one_span_trace(1, sql_quote(R"({"http.method": "GET"})")) +
                                             one_span_trace(2, sql_quote(R"({"http": {"method": "GET"}})")) +
                                             one_span_trace(3, sql_quote(R"({"x.y": {"z": 1}})")));
  CHECK(matching_ids(*db.model, {filter("http.method", FilterOp::kEq, "GET")}) ==
        std::vector<std::string>{trace_hex(1), trace_hex(2)});
  CHECK(matching_ids(*db.model, {filter("\"x.y\".z", FilterOp::kEq, 1)}) == std::vector<std::string>{trace_hex(3)});
  CHECK(matching_ids(*db.model, {filter("$.http.method", FilterOp::kEq, "GET")}) ==
        std::vector<std::string>{trace_hex(2)});
  auto r = query_traces(*db.model, TraceQuery{{filter("", FilterOp::kEq, 1)}, {}, 100, 0, true});
  CHECK(r.status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("keys written with escapes are found, in short and long attribute texts", "[query]") {
  // Python's json.dumps never escapes printable ASCII, but JSON allows it; long texts go
  // through the byte-search shortcut, short ones are walked directly.
  const std::string pad = ", \"pad\": \"" + std::string(400, 'x') + "\"";
  std::string ins;
  ins += one_span_trace(1, sql_quote("{\"\\u0061b\": 1}"));
  ins += one_span_trace(2, sql_quote("{\"\\u0061b\": 1" + pad + "}"));
  ins += one_span_trace(3, sql_quote("{\"a\\/b\": 1" + pad + "}"));
  ins += one_span_trace(4, sql_quote("{\"ab\": 1" + pad + "}"));
  ins += one_span_trace(5, sql_quote("{\"x\": \"\\\"ab\\\"\"" + pad + "}"));  // "ab" only inside a string
  ins += one_span_trace(6, sql_quote("{\"caf\\u00e9\": 1" + pad + "}"));
  ins += one_span_trace(7, sql_quote("{\"nested\": {\"ab\": 2}" + pad + "}"));
  ins += one_span_trace(8, sql_quote("{\"ab\": 3, \"ab\": 1" + pad + "}"));  // the first duplicate counts
  const MiniDb db = make_db("escaped_keys.db", ins);
  const Model& m = *db.model;
  CHECK(matching_ids(m, {filter("ab", FilterOp::kEq, 1)}) == std::vector<std::string>{trace_hex(1), trace_hex(2), trace_hex(4)});
  CHECK(matching_ids(m, {filter("a/b", FilterOp::kEq, 1)}) == std::vector<std::string>{trace_hex(3)});
  CHECK(matching_ids(m, {filter("caf\xc3\xa9", FilterOp::kEq, 1)}) == std::vector<std::string>{trace_hex(6)});
  CHECK(matching_ids(m, {filter("nested.ab", FilterOp::kEq, 2)}) == std::vector<std::string>{trace_hex(7)});
  CHECK(matching_ids(m, {filter("ab", FilterOp::kEq, 3)}) == std::vector<std::string>{trace_hex(8)});
  CHECK(matching_ids(m, {filter("x", FilterOp::kEq, "\"ab\"")}) == std::vector<std::string>{trace_hex(5)});
}

TEST_CASE("filters on the generated store answer as SQLite", "[query]") {
  const auto& db = test::standard_db();
  // Rows whose attributes SQLite cannot read (truncated text, bare NaN) would abort Llama
  // Stack's query: the oracle skips them, and so do these filters (no match on such rows).
  const std::string guard = "json_valid(attributes) AND ";
  const std::vector<std::vector<AttributeFilter>> cases = {
      {filter("session_id", FilterOp::kEq, AgentToolsCase::kSessionId)},
      {filter("__root__", FilterOp::kEq, true)},
      {filter("__location__", FilterOp::kEq, "server"), filter("__root__", FilterOp::kEq, true)},
      {filter("__type__", FilterOp::kEq, "async_generator")},
      {filter("__ttl__", FilterOp::kGt, 604799)},
      {filter("__ttl__", FilterOp::kLt, 604800)},
      {filter("agent_name", FilterOp::kNe, AgentToolsCase::kAgentName)},
      {filter("stop_reason", FilterOp::kEq, "end_of_turn")},
      {filter("__class__", FilterOp::kGt, "M"), filter("__method__", FilterOp::kLt, "list")},
      {filter("tool_name", FilterOp::kEq, AgentToolsCase::kToolName)},
  };
  for (const auto& f : cases) {
    INFO(f[0].key << " ...");
    const auto oracle = oracle_ids(*db.store, f, guard);
    CHECK(matching_ids(*db.model, f) == oracle);
    // The on-demand model reads the same text through the store.
    CHECK(matching_ids(*test::standard_db(true).model, f) == oracle);
  }
  // The agent_tools session is one known trace.
  CHECK(matching_ids(*db.model, cases[0]) == std::vector<std::string>{summary().special.at("agent_tools")});
}

// ==================================================================== order, limit, incomplete

TEST_CASE("order_by: every field, ascending and descending, ties by trace id", "[query]") {
  // Three traces: start 10/20/30, durations 5/1/9, names b/c/a, span counts 1/3/2.
  std::string ins;
  auto trace = [&](int i, int start, int dur, const char* name, int spans, const char* service) {
    ins += "INSERT INTO traces VALUES('" + trace_hex(i) + "', '" + service + "', '" + span_hex(i * 10) + "', " +
           sql_quote(at(start)) + ", " + sql_quote(at(start + dur)) + ", NULL);";
    for (int k = 0; k < spans; ++k) {
      const std::string parent = k == 0 ? "NULL" : "'" + span_hex(i * 10) + "'";
      const int s = start + (k == 0 ? 0 : 1);
      const int e = k == 0 ? start + dur : s;
      ins += "INSERT INTO spans VALUES('" + span_hex(i * 10 + k) + "', '" + trace_hex(i) + "', " + parent + ", '" +
             (k == 0 ? std::string(name) : "child") + "', " + sql_quote(at(s)) + ", " + sql_quote(at(e)) +
             ", '{}', " + (k == 2 ? "'ERROR'" : "'OK'") + ", 'INTERNAL');";
    }
  };
  trace(1, 10, 5, "b", 1, "zeta");
  trace(2, 20, 1, "c", 3, "alpha");
  trace(3, 30, 9, "a", 2, "mid");
  const MiniDb db = make_db("order.db", ins);
  const Model& m = *db.model;
  auto order = [&](std::vector<std::string> by) {
    TraceQuery q;
    q.order_by = std::move(by);
    std::vector<int> out;
    for (uint32_t t : run(m, q)) out.push_back(std::stoi(m.traces[t].id, nullptr, 16));
    return out;
  };
  CHECK(order({}) == std::vector<int>{3, 2, 1});  // default: newest first
  CHECK(order({"start_time"}) == std::vector<int>{1, 2, 3});
  CHECK(order({"-start_time"}) == std::vector<int>{3, 2, 1});
  CHECK(order({"end_time"}) == std::vector<int>{1, 2, 3});
  CHECK(order({"duration"}) == std::vector<int>{2, 1, 3});
  CHECK(order({"-duration"}) == std::vector<int>{3, 1, 2});
  CHECK(order({"name"}) == std::vector<int>{3, 1, 2});
  CHECK(order({"-name"}) == std::vector<int>{2, 1, 3});
  CHECK(order({"span_count"}) == std::vector<int>{1, 3, 2});
  CHECK(order({"-span_count"}) == std::vector<int>{2, 3, 1});
  CHECK(order({"service_name"}) == std::vector<int>{2, 3, 1});
  CHECK(order({"-trace_id"}) == std::vector<int>{3, 2, 1});
  CHECK(order({"trace_id"}) == std::vector<int>{1, 2, 3});
  CHECK(order({"root_span_id"}) == std::vector<int>{1, 2, 3});
  CHECK(order({"-root_span_id"}) == std::vector<int>{3, 2, 1});
  // error_count: trace 2 has one ERROR span, the others none: ties fall back to trace id.
  CHECK(order({"error_count"}) == std::vector<int>{1, 3, 2});
  CHECK(order({"-error_count"}) == std::vector<int>{2, 1, 3});
  CHECK(order({"-error_count", "-trace_id"}) == std::vector<int>{2, 3, 1});

  TraceQuery bad;
  bad.order_by = {"start_time", "-colour"};
  auto r = query_traces(m, bad);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::kInvalidArgument);
  CHECK(r.status().message().find("-colour") != std::string::npos);
  for (const char* field : {"trace_id", "root_span_id", "start_time", "end_time", "duration", "name", "service_name",
                            "span_count", "error_count"}) {
    CHECK(r.status().message().find(field) != std::string::npos);
  }
}

TEST_CASE("order_by on the generated store sorts by the model's values", "[query]") {
  const Model& m = std_model();
  TraceQuery q;
  q.limit = SIZE_MAX;
  q.order_by = {"-duration"};
  const auto by_duration = run(m, q);
  REQUIRE(by_duration.size() == m.trace_count());
  for (size_t i = 1; i < by_duration.size(); ++i) {
    const TraceInfo& a = m.traces[by_duration[i - 1]];
    const TraceInfo& b = m.traces[by_duration[i]];
    CHECK(a.end - a.start >= b.end - b.start);
    if (a.end - a.start == b.end - b.start) CHECK(a.id < b.id);
  }
  q.order_by = {"name", "-span_count"};
  const auto by_name = run(m, q);
  for (size_t i = 1; i < by_name.size(); ++i) {
    const auto x = by_name[i - 1], y = by_name[i];
    CHECK(m.trace_name(x) <= m.trace_name(y));
    if (m.trace_name(x) == m.trace_name(y)) CHECK(m.traces[x].span_count >= m.traces[y].span_count);
  }
  // Every trace exactly once.
  CHECK(std::set<uint32_t>(by_name.begin(), by_name.end()).size() == m.trace_count());
}

TEST_CASE("limit and offset page through the ordered list", "[query]") {
  const Model& m = std_model();
  TraceQuery all;
  all.limit = SIZE_MAX;
  const auto full = run(m, all);
  REQUIRE(full.size() == summary().distinct_traces);
  TimeNs prev = INT64_MAX;
  for (uint32_t t : full) {
    CHECK(m.traces[t].start <= prev);  // default order: newest first
    prev = m.traces[t].start;
  }
  TraceQuery page;
  page.offset = 5;
  page.limit = 7;
  CHECK(run(m, page) == std::vector<uint32_t>(full.begin() + 5, full.begin() + 12));
  TraceQuery tail;
  tail.offset = full.size() - 3;
  tail.limit = 10;
  CHECK(run(m, tail) == std::vector<uint32_t>(full.end() - 3, full.end()));
  TraceQuery past;
  past.offset = full.size() + 10;
  CHECK(run(m, past).empty());
  TraceQuery none;
  none.limit = 0;
  CHECK(run(m, none).empty());
  TraceQuery dflt;
  CHECK(run(m, dflt).size() == std::min<size_t>(100, full.size()));
}

TEST_CASE("incomplete traces are kept and flagged; Llama Stack's view drops them", "[query]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  TraceQuery q;
  q.limit = SIZE_MAX;
  const auto with = run(m, q);
  q.include_incomplete = false;
  const auto without = run(m, q);
  CHECK(with.size() == m.trace_count());
  // What Llama Stack's query could see: a traces row with a root_span_id and spans.
  const int64_t visible = sql_int(*db.store,
                                  "SELECT count(*) FROM traces t WHERE root_span_id IS NOT NULL AND "
                                  "trace_id IN (SELECT trace_id FROM spans)");
  CHECK(without.size() == static_cast<size_t>(visible));
  CHECK(with.size() - without.size() >= summary().null_root_traces + summary().traces_not_in_table);

  const std::set<uint32_t> kept(without.begin(), without.end());
  for (const char* name : {"null_root", "not_in_table", "orphans"}) {
    for (const std::string& id : summary().special_traces.at(name)) {
      INFO(name << " " << id);
      const auto t = m.find_trace(id);
      REQUIRE(t);
      CHECK(std::find(with.begin(), with.end(), *t) != with.end());
      CHECK(kept.count(*t) == 0);
      const Json summary_json = trace_summary_json(m, *t);
      CHECK(summary_json["incomplete"] == true);
      CHECK_FALSE(summary_json["incomplete_reasons"].empty());
    }
  }
  const Json nr = trace_summary_json(m, special("null_root"));
  CHECK(std::find(nr["incomplete_reasons"].begin(), nr["incomplete_reasons"].end(), "null_root") !=
        nr["incomplete_reasons"].end());
  const Json nit = trace_summary_json(m, special("not_in_table"));
  CHECK(std::find(nit["incomplete_reasons"].begin(), nit["incomplete_reasons"].end(), "not_in_table") !=
        nit["incomplete_reasons"].end());
}

// ==================================================================== get_trace / get_span

TEST_CASE("get_trace and get_span return Llama Stack's shapes", "[query]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  const std::string id = summary().special.at("agent_tools");
  auto tr = get_trace(m, id);
  REQUIRE(tr.is_ok());
  const auto row = sql(*db.store, "SELECT root_span_id FROM traces WHERE trace_id = " + sql_quote(id)).rows;
  REQUIRE(row.size() == 1);
  CHECK(tr.value()["trace_id"] == id);
  CHECK(tr.value()["root_span_id"] == row[0][0].s);
  CHECK(tr.value()["incomplete"] == false);
  const auto start = parse_timestamp(tr.value()["start_time"].get<std::string>());
  const auto end = parse_timestamp(tr.value()["end_time"].get<std::string>());
  REQUIRE(start);
  REQUIRE(end);
  CHECK((end->ns - start->ns) / 1000000 == AgentToolsCase::kRootMs);

  auto null_root = get_trace(m, summary().special.at("null_root"));
  REQUIRE(null_root.is_ok());
  CHECK(null_root.value()["root_span_id"].is_null());
  CHECK(null_root.value()["incomplete"] == true);

  auto missing = get_trace(m, "00000000000000000000000000000bad");
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  CHECK(missing.status().message().find("00000000000000000000000000000bad") != std::string::npos);

  const std::string root = row[0][0].s;
  auto span = get_span(m, id, root);
  REQUIRE(span.is_ok());
  CHECK(span.value()["span_id"] == root);
  CHECK(span.value()["trace_id"] == id);
  CHECK(span.value()["parent_span_id"].is_null());
  CHECK(span.value()["name"] == "create_agent_turn");
  CHECK(span.value()["attributes"]["session_id"] == AgentToolsCase::kSessionId);
  CHECK(span.value()["attributes"]["agent_id"] == AgentToolsCase::kAgentId);
  CHECK(span.value()["attributes"]["turn_id"] == AgentToolsCase::kTurnId);
  CHECK(span.value()["start_time"] == tr.value()["start_time"]);
  CHECK_FALSE(span.value().contains("status"));

  auto wrong_trace = get_span(m, summary().special.at("null_root"), root);
  CHECK(wrong_trace.status().code() == ErrorCode::kNotFound);
  CHECK(get_span(m, id, "0000000000000bad").status().code() == ErrorCode::kNotFound);
}

// ==================================================================== get_span_tree

TEST_CASE("get_span_tree: depth limits, order and status as Llama Stack's recursive SQL", "[query]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  const std::string id = summary().special.at("agent_tools");
  const std::string root = sql_strings(*db.store, "SELECT root_span_id FROM traces WHERE trace_id = " + sql_quote(id))[0];
  // Depth 1: the span; 2: + 6 top-level children; 3: +7; 4: +8; 5: +4 = all 26.
  const std::vector<std::pair<int, size_t>> expected = {{1, 1}, {2, 7}, {3, 14}, {4, 22}, {5, 26}, {9, 26}};
  for (const auto& [depth, count] : expected) {
    INFO("max_depth " << depth);
    SpanTreeQuery q;
    q.span_id = root;
    q.max_depth = depth;
    auto entries = span_subtree(m, q);
    REQUIRE(entries.is_ok());
    CHECK(entries->size() == count);
    auto tree = get_span_tree(m, q);
    REQUIRE(tree.is_ok());
    CHECK(tree->size() == count);
    // Llama Stack's own query, run by SQLite.
    const auto rows = sql(*db.store,
                          "WITH RECURSIVE span_tree AS (SELECT s.*, 1 AS depth FROM spans s WHERE s.span_id = " +
                              sql_quote(root) +
                              " UNION ALL SELECT s.*, st.depth + 1 FROM spans s JOIN span_tree st ON s.parent_span_id = "
                              "st.span_id WHERE st.depth < " +
                              std::to_string(depth) +
                              ") SELECT span_id, depth, start_time, status FROM span_tree ORDER BY depth, start_time")
                          .rows;
    REQUIRE(rows.size() == count);
    for (size_t i = 0; i < rows.size(); ++i) {
      const uint32_t s = entries.value()[i].span;
      CHECK(entries.value()[i].depth == rows[i][1].i);
      CHECK(format_iso_utc(m.spans.start[s]) == format_iso_utc(parse_timestamp(rows[i][2].s)->ns));
      const Json& node = tree.value().at(rows[i][0].s);
      CHECK(node["span_id"] == rows[i][0].s);
      CHECK(node["status"] == "ok");
      CHECK(node["trace_id"] == id);
    }
  }
  SpanTreeQuery unlimited;
  unlimited.span_id = root;
  CHECK(get_span_tree(m, unlimited)->size() == AgentToolsCase::kSpanCount);
  SpanTreeQuery zero;
  zero.span_id = root;
  zero.max_depth = 0;
  CHECK(get_span_tree(m, zero)->size() == 1);  // Llama Stack always returns the span itself
  SpanTreeQuery missing;
  missing.span_id = "00000000deadbeef";
  auto r = get_span_tree(m, missing);
  CHECK(r.status().code() == ErrorCode::kNotFound);
  CHECK(r.status().message().find("00000000deadbeef") != std::string::npos);
}

TEST_CASE("get_span_tree: attributes_to_return keeps those keys, missing ones null", "[query]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  const std::string id = summary().special.at("agent_tools");
  const std::string root = sql_strings(*db.store, "SELECT root_span_id FROM traces WHERE trace_id = " + sql_quote(id))[0];
  SpanTreeQuery q;
  q.span_id = root;
  q.attributes_to_return = std::vector<std::string>{"session_id", "stop_reason", "no_such_key"};
  auto tree = get_span_tree(m, q);
  REQUIRE(tree.is_ok());
  REQUIRE(tree->size() == AgentToolsCase::kSpanCount);
  // SQLite's json_object of json_extract values, per span, is the oracle.
  const auto rows = sql(*db.store,
                        "SELECT span_id, json_object('session_id', json_extract(attributes, '$.session_id'), "
                        "'stop_reason', json_extract(attributes, '$.stop_reason'), 'no_such_key', "
                        "json_extract(attributes, '$.no_such_key')) FROM spans WHERE trace_id = " +
                            sql_quote(id))
                        .rows;
  REQUIRE(rows.size() == AgentToolsCase::kSpanCount);
  std::set<std::string> stop_reasons;
  for (const auto& row : rows) {
    const Json& attrs = tree.value().at(row[0].s)["attributes"];
    CHECK(attrs == Json::parse(row[1].s));
    CHECK(attrs.size() == 3);
    CHECK(attrs["no_such_key"].is_null());
    if (attrs["stop_reason"].is_string()) stop_reasons.insert(attrs["stop_reason"].get<std::string>());
  }
  CHECK(tree.value().at(root)["attributes"]["session_id"] == AgentToolsCase::kSessionId);
  CHECK(stop_reasons == std::set<std::string>{AgentToolsCase::kRound1StopReason, AgentToolsCase::kRound2StopReason});
  // An empty list means all attributes, as in Llama Stack.
  q.attributes_to_return = std::vector<std::string>{};
  CHECK(get_span_tree(m, q)->at(root)["attributes"].size() > 3);
}

// ==================================================================== query_spans

TEST_CASE("query_spans: spans of matching traces that carry every requested attribute", "[query]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  const std::vector<AttributeFilter> session = {filter("session_id", FilterOp::kEq, AgentToolsCase::kSessionId)};
  auto spans = query_spans(m, session, {"stop_reason"}, std::nullopt);
  REQUIRE(spans.is_ok());
  const std::string id = summary().special.at("agent_tools");
  const auto rows = sql(*db.store,
                        "SELECT span_id, json_extract(attributes, '$.stop_reason') FROM spans WHERE trace_id = " +
                            sql_quote(id) + " AND json_extract(attributes, '$.stop_reason') IS NOT NULL ORDER BY start_time")
                        .rows;
  REQUIRE(rows.size() == 2);
  REQUIRE(spans->size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    const Json& s = spans.value()[i];
    CHECK(s["span_id"] == rows[i][0].s);
    CHECK(s["trace_id"] == id);
    CHECK(s["attributes"] == Json{{"stop_reason", rows[i][1].s}});
    CHECK(s["name"] == "inference");
    CHECK_FALSE(s.contains("status"));
  }
  CHECK(spans.value()[0]["attributes"]["stop_reason"] == AgentToolsCase::kRound1StopReason);
  CHECK(spans.value()[1]["attributes"]["stop_reason"] == AgentToolsCase::kRound2StopReason);

  // Depth 1 is the root alone (no stop_reason); depth 2 reaches the inference spans.
  CHECK(query_spans(m, session, {"stop_reason"}, 1)->empty());
  CHECK(query_spans(m, session, {"stop_reason"}, 2)->size() == 2);
  // Every requested attribute must be there.
  CHECK(query_spans(m, session, {"stop_reason", "tool_name"}, std::nullopt)->empty());
  // No attributes requested: every span of the tree, with all attributes.
  auto all = query_spans(m, session, {}, std::nullopt);
  REQUIRE(all.is_ok());
  CHECK(all->size() == AgentToolsCase::kSpanCount);
  CHECK(all.value()[0]["attributes"]["turn_id"] == AgentToolsCase::kTurnId);
  // Across traces: each tool_execution span of the traces that ran a tool.
  auto tools = query_spans(m, {filter("tool_name", FilterOp::kEq, AgentToolsCase::kToolName)}, {"tool_name"}, std::nullopt);
  REQUIRE(tools.is_ok());
  const int64_t tool_spans = sql_int(*db.store,
                                     "SELECT count(*) FROM spans WHERE json_valid(attributes) AND "
                                     "json_extract(attributes, '$.tool_name') IS NOT NULL AND trace_id IN (SELECT "
                                     "trace_id FROM spans WHERE json_valid(attributes) AND "
                                     "json_extract(attributes, '$.tool_name') = " +
                                         sql_quote(AgentToolsCase::kToolName) + ")");
  CHECK(tools->size() <= static_cast<size_t>(tool_spans));
  CHECK(tools->size() >= 1);
  for (const Json& s : tools.value()) CHECK(s["attributes"]["tool_name"].is_string());
}

// ==================================================================== query_metrics

namespace {

struct MetricPoint {
  int64_t timestamp;
  double value;
};

std::vector<MetricPoint> series_points(const Json& response, const std::string& unit = "tokens") {
  std::vector<MetricPoint> out;
  for (const Json& series : response["data"]) {
    for (const Json& v : series["values"]) {
      if (v["unit"] == unit) out.push_back({v["timestamp"].get<int64_t>(), v["value"].get<double>()});
    }
  }
  return out;
}

double total_of(const Json& response) {
  double sum = 0;
  for (const auto& p : series_points(response)) sum += p.value;
  return sum;
}

Json metrics(const Model& m, MetricQuery q) {
  auto r = query_metrics(m, q);
  INFO(r.status().message());
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

MetricQuery all_time(const std::string& name) {
  MetricQuery q;
  q.metric_name = name;
  q.start_time = 0;
  q.end_time = INT64_C(4102444800) * 1000000000;  // 2100-01-01
  return q;
}

}  // namespace

TEST_CASE("query_metrics: totals match the generator and SQLite", "[query]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  const char* names[] = {"prompt_tokens", "completion_tokens", "total_tokens"};
  for (int k = 0; k < 3; ++k) {
    INFO(names[k]);
    uint64_t expected = 0;
    for (const auto& [model_id, counts] : summary().tokens_by_model) expected += counts[static_cast<size_t>(k)];
    REQUIRE(expected > 0);
    const Json total = metrics(m, all_time(names[k]));
    REQUIRE(total["data"].size() == 1);
    const Json& series = total["data"][0];
    CHECK(series["metric"] == names[k]);
    CHECK(series["labels"].empty());
    REQUIRE(series["values"].size() == 1);
    CHECK(series["values"][0]["unit"] == "tokens");
    CHECK(series["values"][0]["timestamp"] == INT64_C(4102444800));  // the end of the range
    CHECK(series["values"][0]["value"].get<double>() == static_cast<double>(expected));
    const double from_sql = sql_double(*db.store, std::string("SELECT sum(json_extract(attributes, '$.value')) FROM "
                                                              "span_events WHERE name = 'metric.") +
                                                      names[k] + "'");
    CHECK(total_of(total) == from_sql);
    // The "metric." prefix is accepted too.
    CHECK(metrics(m, all_time(std::string("metric.") + names[k])) == total);
  }
}

TEST_CASE("query_metrics: buckets per minute, hour and day match SQLite's grouping", "[query]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  for (const auto& [granularity, seconds] : std::vector<std::pair<std::string, int>>{{"1m", 60}, {"1h", 3600}, {"1d", 86400}}) {
    INFO(granularity);
    MetricQuery q = all_time("prompt_tokens");
    q.granularity = granularity;
    const auto points = series_points(metrics(m, q));
    const auto rows = sql(*db.store, "SELECT (CAST(strftime('%s', timestamp) AS INTEGER) / " + std::to_string(seconds) +
                                         ") * " + std::to_string(seconds) +
                                         " AS b, sum(json_extract(attributes, '$.value')) FROM span_events WHERE name = "
                                         "'metric.prompt_tokens' GROUP BY b ORDER BY b")
                          .rows;
    REQUIRE(points.size() == rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      CHECK(points[i].timestamp == rows[i][0].i);
      CHECK(points[i].timestamp % seconds == 0);
      CHECK(points[i].value == static_cast<double>(rows[i][1].i));
    }
  }
  MetricQuery five = all_time("prompt_tokens");
  five.granularity = "5m";
  const auto five_points = series_points(metrics(m, five));
  double sum = 0;
  for (const auto& p : five_points) {
    CHECK(p.timestamp % 300 == 0);
    sum += p.value;
  }
  CHECK(sum == total_of(metrics(m, all_time("prompt_tokens"))));
}

TEST_CASE("query_metrics: a time window keeps events inside [start, end]", "[query]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  const TraceInfo& t = m.traces[special("agent_tools")];
  // Whole seconds around the agent turn, so that SQLite's strftime('%s') can check it.
  const int64_t from = t.start / 1000000000, to = t.end / 1000000000 + 1;
  MetricQuery q = all_time("total_tokens");
  q.start_time = from * 1000000000;
  q.end_time = to * 1000000000;
  const double expected = sql_double(*db.store,
                                     "SELECT total(json_extract(attributes, '$.value')) FROM span_events WHERE name = "
                                     "'metric.total_tokens' AND julianday(timestamp) BETWEEN julianday(" +
                                         std::to_string(from) + ", 'unixepoch') AND julianday(" + std::to_string(to) +
                                         ", 'unixepoch')");
  CHECK(total_of(metrics(m, q)) == expected);
  CHECK(expected >= static_cast<double>(AgentToolsCase::kRound1TotalTokens + AgentToolsCase::kRound2TotalTokens));
  // Nothing before the epoch start of the data.
  MetricQuery empty = all_time("total_tokens");
  empty.end_time = 1000000000;
  CHECK(metrics(m, empty)["data"].empty());
}

TEST_CASE("query_metrics: label matchers =, !=, =~, !~ and missing labels", "[query]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  const auto& by_model = summary().tokens_by_model;
  REQUIRE(by_model.count(AgentToolsCase::kModelId) == 1);
  double all = 0, llama = 0;
  for (const auto& [model_id, counts] : by_model) {
    all += static_cast<double>(counts[0]);
    if (model_id.rfind("llama", 0) == 0) llama += static_cast<double>(counts[0]);
  }
  const double one = static_cast<double>(by_model.at(AgentToolsCase::kModelId)[0]);
  auto with = [&](LabelMatcher lm) {
    MetricQuery q = all_time("prompt_tokens");
    q.label_matchers = {lm};
    return metrics(m, q);
  };
  const Json eq = with({"model_id", AgentToolsCase::kModelId, LabelOp::kEq});
  CHECK(total_of(eq) == one);
  CHECK(eq["data"][0]["labels"] == Json::array({{{"name", "model_id"}, {"value", AgentToolsCase::kModelId}}}));
  CHECK(total_of(eq) == sql_double(*db.store,
                                   "SELECT sum(json_extract(attributes, '$.value')) FROM span_events WHERE name = "
                                   "'metric.prompt_tokens' AND json_extract(attributes, '$.model_id') = " +
                                       sql_quote(AgentToolsCase::kModelId)));
  const Json ne = with({"model_id", AgentToolsCase::kModelId, LabelOp::kNe});
  CHECK(total_of(ne) == all - one);
  CHECK(ne["data"][0]["labels"].empty());
  CHECK(total_of(with({"model_id", "llama.*", LabelOp::kRegex})) == llama);
  CHECK(total_of(with({"model_id", "llama.*", LabelOp::kNotRegex})) == all - llama);
  // Full match: a bare prefix matches nothing.
  CHECK(with({"model_id", "llama", LabelOp::kRegex})["data"].empty());
  CHECK(total_of(with({"provider_id", AgentToolsCase::kProviderId, LabelOp::kEq})) ==
        sql_double(*db.store,
                   "SELECT total(json_extract(attributes, '$.value')) FROM span_events WHERE name = "
                   "'metric.prompt_tokens' AND json_extract(attributes, '$.provider_id') = " +
                       sql_quote(AgentToolsCase::kProviderId)));
  // A missing label fails = and =~, passes != and !~.
  CHECK(with({"no_such_label", "x", LabelOp::kEq})["data"].empty());
  CHECK(with({"no_such_label", ".*", LabelOp::kRegex})["data"].empty());
  CHECK(total_of(with({"no_such_label", "x", LabelOp::kNe})) == all);
  CHECK(total_of(with({"no_such_label", "x", LabelOp::kNotRegex})) == all);
  // Numbers are matched by their text.
  CHECK(total_of(with({"value", "55", LabelOp::kEq})) ==
        sql_double(*db.store, "SELECT total(json_extract(attributes, '$.value')) FROM span_events WHERE name = "
                              "'metric.prompt_tokens' AND json_extract(attributes, '$.value') = 55"));
  // Two matchers must both hold.
  MetricQuery both = all_time("prompt_tokens");
  both.label_matchers = {{"model_id", AgentToolsCase::kModelId, LabelOp::kEq}, {"model_id", "x.*", LabelOp::kRegex}};
  CHECK(metrics(m, both)["data"].empty());
}

TEST_CASE("query_metrics: bad requests are rejected with a message", "[query]") {
  const Model& m = std_model();
  for (const char* g : {"", "m", "0h", "1w", "1.5h", "h1", "1hh"}) {
    INFO(g);
    MetricQuery q = all_time("prompt_tokens");
    q.granularity = std::string(g);
    auto r = query_metrics(m, q);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == ErrorCode::kInvalidArgument);
    CHECK(r.status().message().find("1h") != std::string::npos);
  }
  MetricQuery bad_regex = all_time("prompt_tokens");
  bad_regex.label_matchers = {{"model_id", "(unclosed", LabelOp::kRegex}};
  auto r = query_metrics(m, bad_regex);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::kInvalidArgument);
  CHECK(r.status().message().find("(unclosed") != std::string::npos);
  CHECK(query_metrics(m, all_time("")).status().code() == ErrorCode::kInvalidArgument);
  CHECK(metrics(m, all_time("no_such_metric")) == Json{{"data", Json::array()}});
}

// ==================================================================== the shared fixture

TEST_CASE("queries on the shared real-world fixture", "[query]") {
  const std::string path = test::shared_fixture();
  if (path.empty()) return;
  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  auto model = Model::build(**store);
  REQUIRE(model.is_ok());
  const Model& m = **model;
  TraceQuery q;
  q.limit = SIZE_MAX;
  CHECK(run(m, q).size() == 200);
  q.include_incomplete = false;
  CHECK(run(m, q).size() == 190);
  const double prompt = sql_double(**store, "SELECT sum(json_extract(attributes, '$.value')) FROM span_events WHERE "
                                            "name = 'metric.prompt_tokens'");
  CHECK(total_of(metrics(m, all_time("prompt_tokens"))) == prompt);
  // A filter from the file itself.
  const std::vector<AttributeFilter> f = {filter("__type__", FilterOp::kEq, "async_generator")};
  CHECK(matching_ids(m, f) == oracle_ids(**store, f, "json_valid(attributes) AND "));
}

// ==================================================================== speed

// Hidden (generating 10k traces takes a while in a debug build): run it with "[perf]",
// preferably in the release build, where the time limit is checked.
TEST_CASE("filtering 10k traces / 200k spans takes well under a second", "[.][perf]") {
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  const bool timed = true;
#else
  const bool timed = false;
#endif
  testdata::GenOptions opt;
  opt.traces = 10000;
  opt.seed = 7;
  LoadOptions load;
  load.attributes = AttributeStorage::kInMemory;
  const test::Loaded big = test::generate_and_load(opt, "big_query.db", load);
  INFO("spans " << big.model->span_count());
  CHECK(big.model->span_count() >= 150000);
  TraceQuery q;
  q.filters = {filter("__class__", FilterOp::kEq, "InferenceRouter"), filter("__method__", FilterOp::kEq, "no_such_method")};
  q.limit = SIZE_MAX;
  // CPU time: the machine may be shared with other work.
  const std::clock_t c0 = std::clock();
  const auto none = run(*big.model, q);
  q.filters = {filter("session_id", FilterOp::kNe, "x")};
  const auto sessions = run(*big.model, q);
  // The worst case: a key no span has, so every attribute text is looked at.
  q.filters = {filter("no_such_key", FilterOp::kNe, "x")};
  const auto nothing = run(*big.model, q);
  const double seconds = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  WARN("three filters over " << big.model->span_count() << " spans: " << seconds << " s CPU");
  CHECK(none.empty());
  CHECK(nothing.empty());
  CHECK(sessions.size() > 1000);
  if (timed) CHECK(seconds < 0.75);
}
