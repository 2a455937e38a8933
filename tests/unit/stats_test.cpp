// Store statistics: exact counts against the generator's summary and against SQL on the same
// file, durations parsed independently, percentiles and JSON on a handmade database.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "test_support.h"
#include "tracedrop/analysis.h"
#include "tracedrop/store.h"
#include "tracedrop/time.h"

using namespace tracedrop;

namespace {

const Model& model() { return *test::standard_db().model; }
const testdata::GenSummary& summary() { return test::standard_db().summary; }

int64_t sql_int(Store& store, const std::string& sql) {
  auto r = store.run_sql(sql);
  INFO(sql);
  INFO(r.status().message());
  REQUIRE(r.is_ok());
  REQUIRE(r->rows.size() == 1);
  return r->rows[0][0].i;
}

uint64_t sql_count(Store& store, const std::string& sql) { return static_cast<uint64_t>(sql_int(store, sql)); }

// Attribute text SQLite 3.40 can read: Python's bare NaN/Infinity replaced.
const std::string kFixedAttrs =
    "replace(replace(replace(CAST(attributes AS TEXT), '-Infinity', 'null'), 'Infinity', 'null'), 'NaN', 'null')";
// 1 when the span has a non-empty `error` attribute (not null, false or ""). CASE keeps
// json_type away from text that is not JSON (it would fail the whole statement).
const std::string kHasErrorAttr = "(CASE WHEN json_valid(" + kFixedAttrs + ") THEN coalesce(json_type(" + kFixedAttrs +
                                  ", '$.error') NOT IN ('null', 'false') AND NOT (json_type(" + kFixedAttrs +
                                  ", '$.error') = 'text' AND json_extract(" + kFixedAttrs + ", '$.error') = ''), 0) ELSE 0 END)";

// A time cell read as the model reads it: ISO text, or a number as epoch s/ms/µs/ns.
std::optional<TimeNs> cell_time(const SqlResult::Cell& c) {
  if (c.type == SqlResult::Cell::kText) {
    auto p = parse_timestamp(c.s);
    return p ? std::optional<TimeNs>(p->ns) : std::nullopt;
  }
  if (c.type == SqlResult::Cell::kInteger) return time_from_number(static_cast<double>(c.i));
  if (c.type == SqlResult::Cell::kReal) return time_from_number(c.d);
  return std::nullopt;
}

struct SpanTimes {
  std::string name;
  TimeNs start = 0, end = 0;
};

// Every span's times from SQL, with the model's documented repairs: a missing start is the
// end, a missing end is the start, an end before the start is the start.
std::vector<SpanTimes> span_times(Store& store) {
  auto r = store.run_sql("SELECT name, start_time, end_time FROM spans", 10000000);
  REQUIRE(r.is_ok());
  std::vector<SpanTimes> out;
  for (const auto& row : r->rows) {
    auto s = cell_time(row[1]);
    auto e = cell_time(row[2]);
    SpanTimes t;
    t.name = row[0].s;
    t.start = s ? *s : (e ? *e : 0);
    t.end = e ? std::max(*e, t.start) : t.start;
    out.push_back(t);
  }
  return out;
}

const NameStats* find_name(const Stats& st, const std::string& name) {
  for (const auto& n : st.by_name)
    if (n.name == name) return &n;
  return nullptr;
}

// ------------------------------------------------------------------ a handmade database

std::string iso(int64_t micros_after_base) {
  // 2025-06-02T08:00:00 UTC, as the trace store writes it (+00:00, always a fraction here).
  const TimeNs base = (days_from_civil(2025, 6, 2) * 86400 + 8 * 3600) * 1000000000LL;
  std::string s = format_iso_utc(base + micros_after_base * 1000, 6);
  s.pop_back();  // 'Z'
  return s + "+00:00";
}

struct HandSpan {
  const char* id;
  const char* parent;  // nullptr for NULL
  const char* name;
  int64_t start_us, dur_us;
  const char* status;
  const char* attributes;
};

std::string span_insert(const HandSpan& s) {
  const std::string parent = s.parent ? std::string("'") + s.parent + "'" : "NULL";
  return std::string("INSERT INTO spans VALUES ('") + s.id + "', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', " + parent + ", '" +
         s.name + "', '" + iso(s.start_us) + "', '" + iso(s.start_us + s.dur_us) + "', '" + s.attributes + "', '" +
         s.status + "', 'INTERNAL');";
}

const char* kSchema =
    "CREATE TABLE traces (trace_id TEXT PRIMARY KEY, service_name TEXT, root_span_id TEXT, start_time TIMESTAMP, "
    "end_time TIMESTAMP, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);"
    "CREATE TABLE spans (span_id TEXT PRIMARY KEY, trace_id TEXT REFERENCES traces(trace_id), parent_span_id TEXT, "
    "name TEXT, start_time TIMESTAMP, end_time TIMESTAMP, attributes TEXT, status TEXT, kind TEXT);"
    "CREATE TABLE span_events (id INTEGER PRIMARY KEY AUTOINCREMENT, span_id TEXT REFERENCES spans(span_id), "
    "name TEXT, timestamp TIMESTAMP, attributes TEXT);"
    "CREATE INDEX idx_traces_created_at ON traces(created_at);";

test::Loaded load_sql(const std::string& name, const std::string& sql) {
  test::Loaded out;
  out.path = test::temp_dir() + "/" + name;
  std::remove(out.path.c_str());
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(out.path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, (std::string(kSchema) + sql).c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
  auto store = Store::open_path(out.path);
  REQUIRE(store.is_ok());
  out.store = std::move(store).value();
  auto m = Model::build(*out.store);
  REQUIRE(m.is_ok());
  out.model = std::move(m).value();
  return out;
}

// Root (100 ms), 10 `x` spans of 1..10 ms in shuffled order, 3 `y` spans of odd lengths,
// 20 `z` spans of 1..20 ms, one orphan; errors by status, by attribute, and both.
const test::Loaded& hand_db() {
  static const test::Loaded db = [] {
    std::string sql =
        "INSERT INTO traces VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'svc', '1000000000000000', NULL, NULL, "
        "'2025-06-02 08:00:00');";
    sql += span_insert({"1000000000000000", nullptr, "root", 0, 100000, "OK", "{\"__root__\": true}"});
    const int x_ms[] = {5, 1, 9, 3, 7, 2, 8, 4, 6, 10};
    for (int i = 0; i < 10; ++i) {
      char id[17];
      std::snprintf(id, sizeof id, "20000000000000%02d", i);
      const char* status = i == 0 ? "ERROR" : "OK";
      const char* attrs = i == 1 ? "{\"error\": \"boom\"}" : i == 2 ? "{\"error\": \"\"}" : "{}";
      sql += span_insert({id, "1000000000000000", "x", 1000 * i, 1000 * x_ms[i], status, attrs});
    }
    const int64_t y_us[] = {1500, 250, 2000};  // 1.5 ms, 0.25 ms, 2 ms
    for (int i = 0; i < 3; ++i) {
      char id[17];
      std::snprintf(id, sizeof id, "30000000000000%02d", i);
      sql += span_insert({id, "1000000000000000", "y", 500 * i, y_us[i], i == 2 ? "ERROR" : "OK",
                          i == 2 ? "{\"error\": \"both\"}" : "{}"});
    }
    for (int i = 0; i < 20; ++i) {
      char id[17];
      std::snprintf(id, sizeof id, "40000000000000%02d", i);
      sql += span_insert({id, "1000000000000000", "z", 100 * i, 1000 * (20 - i), "OK", "{}"});
    }
    sql += span_insert({"5000000000000000", "ffffffffffffffff", "orphan", 50000, 10, "OK", "{}"});
    // Token events: m1 integral, one without model_id and a fractional value, and noise.
    const std::string ev = "INSERT INTO span_events (span_id, name, timestamp, attributes) VALUES ('2000000000000000', ";
    const std::string t = "'" + iso(10) + "', ";
    sql += ev + "'metric.prompt_tokens', " + t + "'{\"value\": 10, \"unit\": \"tokens\", \"model_id\": \"m1\"}');";
    sql += ev + "'metric.completion_tokens', " + t + "'{\"value\": 5, \"unit\": \"tokens\", \"model_id\": \"m1\"}');";
    sql += ev + "'metric.total_tokens', " + t + "'{\"value\": 15, \"unit\": \"tokens\", \"model_id\": \"m1\"}');";
    sql += ev + "'metric.prompt_tokens', " + t + "'{\"value\": 2.5, \"unit\": \"tokens\"}');";
    sql += ev + "'metric.other', " + t + "'{\"value\": 99, \"unit\": \"ms\", \"model_id\": \"m1\"}');";
    sql += ev + "'metric.total_tokens', " + t + "'{\"unit\": \"tokens\", \"model_id\": \"m1\"}');";
    sql += ev + "'unstructured_log', " + t + "'{\"message\": \"hi\", \"severity\": \"info\"}');";
    return load_sql("stats_hand.db", sql);
  }();
  return db;
}

}  // namespace

// ------------------------------------------------------------------ handmade

TEST_CASE("percentiles are nearest-rank on a handmade set", "[stats]") {
  const Stats st = compute_stats(*hand_db().model);
  const NameStats* x = find_name(st, "x");
  REQUIRE(x);
  CHECK(x->count == 10);
  CHECK(x->total_ms == 55.0);
  CHECK(x->mean_ms == 5.5);
  CHECK(x->p50_ms == 5.0);   // rank ceil(0.50 * 10) = 5
  CHECK(x->p95_ms == 10.0);  // rank ceil(0.95 * 10) = 10
  CHECK(x->max_ms == 10.0);
  CHECK(x->errors == 2);     // ERROR status, and "boom" (an empty error does not count)

  const NameStats* y = find_name(st, "y");
  REQUIRE(y);
  CHECK(y->count == 3);
  CHECK(y->p50_ms == 1.5);   // rank 2 of {0.25, 1.5, 2.0}
  CHECK(y->p95_ms == 2.0);   // rank 3
  CHECK(y->mean_ms == 1.25);
  CHECK(y->total_ms == 3.75);
  CHECK(y->errors == 1);

  const NameStats* z = find_name(st, "z");
  REQUIRE(z);
  CHECK(z->p50_ms == 10.0);  // rank 10 of 1..20
  CHECK(z->p95_ms == 19.0);  // rank 19
  CHECK(z->total_ms == 210.0);

  // By total time: z 210, root 100, x 55, y 3.75, orphan 0.01.
  REQUIRE(st.by_name.size() == 5);
  CHECK(st.by_name[0].name == "z");
  CHECK(st.by_name[1].name == "root");
  CHECK(st.by_name[2].name == "x");
  CHECK(st.by_name[3].name == "y");
  CHECK(st.by_name[4].name == "orphan");
}

TEST_CASE("handmade counts, time range, tokens and JSON", "[stats]") {
  const Model& m = *hand_db().model;
  const Stats st = compute_stats(m);
  CHECK(st.traces == 1);
  CHECK(st.spans == 35);
  CHECK(st.events == 7);
  CHECK(st.error_status == 2);
  CHECK(st.error_attribute == 2);
  CHECK(st.errors == 3);
  CHECK(st.orphan_spans == 1);
  CHECK(st.incomplete_traces == 1);
  REQUIRE(st.has_time_range);
  CHECK(format_iso_utc(st.first_start, 6) == "2025-06-02T08:00:00.000000Z");
  CHECK(format_iso_utc(st.last_end, 6) == "2025-06-02T08:00:00.100000Z");
  REQUIRE(st.tokens_by_model.count("m1"));
  CHECK(st.tokens_by_model.at("m1").prompt == 10);
  CHECK(st.tokens_by_model.at("m1").completion == 5);
  CHECK(st.tokens_by_model.at("m1").total == 15);
  CHECK(st.tokens_by_model.at("m1").events == 3);
  REQUIRE(st.tokens_by_model.count(""));
  CHECK(st.tokens_by_model.at("").prompt == 2.5);
  CHECK(st.tokens_by_model.size() == 2);

  const nlohmann::json j = stats_to_json(m, st);
  CHECK(j["traces"] == 1);
  CHECK(j["spans"] == 35);
  CHECK(j["events"] == 7);
  CHECK(j["errors"] == 3);
  CHECK(j["error_status"] == 2);
  CHECK(j["error_attribute"] == 2);
  CHECK(j["incomplete_traces"] == 1);
  CHECK(j["orphan_spans"] == 1);
  CHECK(j["first_start"] == "2025-06-02T08:00:00.000000Z");
  CHECK(j["last_end"] == "2025-06-02T08:00:00.100000Z");
  REQUIRE(j["by_name"].size() == 5);
  const auto& x = j["by_name"][2];
  CHECK(x["name"] == "x");
  CHECK(x["count"] == 10);
  CHECK(x["errors"] == 2);
  CHECK(x["total_ms"] == 55.0);
  CHECK(x["mean_ms"] == 5.5);
  CHECK(x["p50_ms"] == 5.0);
  CHECK(x["p95_ms"] == 10.0);
  CHECK(x["max_ms"] == 10.0);
  const auto& tok = j["tokens_by_model"];
  CHECK(tok["m1"]["prompt"].is_number_integer());
  CHECK(tok["m1"] == nlohmann::json({{"prompt", 10}, {"completion", 5}, {"total", 15}}));
  CHECK(tok["unknown"]["prompt"].is_number_float());
  CHECK(tok["unknown"]["prompt"] == 2.5);
  CHECK(tok.size() == 2);
  // The loader's diagnostics, as {code, message, count, examples}.
  bool orphan_diag = false;
  for (const auto& d : j["diagnostics"]) {
    if (d["code"] != "orphan_spans") continue;
    orphan_diag = true;
    CHECK(d["count"] == 1);
    CHECK(d["examples"].size() == 1);
    CHECK(!d["message"].get<std::string>().empty());
  }
  CHECK(orphan_diag);
}

TEST_CASE("stats of a store without spans", "[stats]") {
  const auto db = load_sql("stats_empty.db", "");
  const Stats st = compute_stats(*db.model);
  CHECK(st.spans == 0);
  CHECK_FALSE(st.has_time_range);
  CHECK(st.by_name.empty());
  const nlohmann::json j = stats_to_json(*db.model, st);
  CHECK(j["first_start"].is_null());
  CHECK(j["last_end"].is_null());
  CHECK(j["by_name"] == nlohmann::json::array());
  CHECK(j["tokens_by_model"] == nlohmann::json::object());
  CHECK(j["diagnostics"].is_array());
}

// ------------------------------------------------------------------ the generated database

TEST_CASE("counts agree with the generator and with SQL", "[stats]") {
  Store& store = *test::standard_db().store;
  const Stats st = compute_stats(model());
  CHECK(st.traces == summary().distinct_traces);
  CHECK(st.traces == sql_count(store, "SELECT count(*) FROM (SELECT trace_id FROM traces UNION SELECT trace_id FROM spans)"));
  CHECK(st.spans == summary().span_rows);
  CHECK(st.spans == sql_count(store, "SELECT count(*) FROM spans"));
  CHECK(st.events == summary().event_rows);
  CHECK(st.events == sql_count(store, "SELECT count(*) FROM span_events WHERE span_id IN (SELECT span_id FROM spans)"));

  CHECK(st.error_status == summary().error_status_spans);
  CHECK(st.error_status == sql_count(store, "SELECT count(*) FROM spans WHERE upper(status) = 'ERROR'"));
  CHECK(st.error_attribute == summary().error_attribute_spans);
  CHECK(st.error_attribute == sql_count(store, "SELECT count(*) FROM spans WHERE " + kHasErrorAttr));
  CHECK(st.errors == sql_count(store, "SELECT count(*) FROM spans WHERE upper(status) = 'ERROR' OR " + kHasErrorAttr));
  CHECK(st.errors > st.error_status);
  CHECK(st.errors < st.error_status + st.error_attribute);  // some spans have both

  CHECK(st.orphan_spans == summary().orphan_spans);
  // Incomplete: no traces row, NULL or unknown root_span_id, no spans, or a span whose parent
  // is missing and which is not the root.
  const uint64_t incomplete = sql_count(
      store,
      "SELECT count(*) FROM (SELECT trace_id FROM traces UNION SELECT trace_id FROM spans) t WHERE "
      "NOT EXISTS (SELECT 1 FROM traces r WHERE r.trace_id = t.trace_id) "
      "OR EXISTS (SELECT 1 FROM traces r WHERE r.trace_id = t.trace_id AND (r.root_span_id IS NULL OR NOT EXISTS "
      "  (SELECT 1 FROM spans s WHERE s.span_id = r.root_span_id AND s.trace_id = r.trace_id))) "
      "OR NOT EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id) "
      "OR EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id AND coalesce(s.parent_span_id, '') <> '' "
      "  AND NOT EXISTS (SELECT 1 FROM spans p WHERE p.span_id = s.parent_span_id AND p.trace_id = s.trace_id) "
      "  AND s.span_id IS NOT (SELECT root_span_id FROM traces r WHERE r.trace_id = t.trace_id))");
  CHECK(st.incomplete_traces == incomplete);
  CHECK(st.incomplete_traces >= summary().null_root_traces + summary().traces_not_in_table);
}

TEST_CASE("time range and per-name durations agree with the parsed rows", "[stats]") {
  Store& store = *test::standard_db().store;
  const Stats st = compute_stats(model());
  const auto rows = span_times(store);
  REQUIRE(!rows.empty());
  struct Agg {
    uint64_t count = 0;
    int64_t total = 0, max = 0;
  };
  std::map<std::string, Agg> agg;
  TimeNs lo = rows[0].start, hi = rows[0].end;
  for (const auto& r : rows) {
    lo = std::min(lo, r.start);
    hi = std::max(hi, r.end);
    Agg& a = agg[r.name];
    ++a.count;
    a.total += r.end - r.start;
    a.max = std::max(a.max, r.end - r.start);
  }
  REQUIRE(st.has_time_range);
  CHECK(st.first_start == lo);
  CHECK(st.last_end == hi);

  REQUIRE(st.by_name.size() == agg.size());
  REQUIRE(st.by_name.size() == summary().spans_by_name.size());
  for (const auto& n : st.by_name) {
    INFO(n.name);
    REQUIRE(agg.count(n.name));
    const Agg& a = agg.at(n.name);
    CHECK(n.count == a.count);
    CHECK(n.count == summary().spans_by_name.at(n.name));
    CHECK(n.total_ms == Approx(static_cast<double>(a.total) / 1e6).margin(0.0006));
    CHECK(n.mean_ms == Approx(static_cast<double>(a.total) / static_cast<double>(a.count) / 1e6).margin(0.0006));
    CHECK(n.max_ms == Approx(static_cast<double>(a.max) / 1e6).margin(0.0006));
    CHECK(n.p50_ms <= n.p95_ms);
    CHECK(n.p95_ms <= n.max_ms);
  }
  for (size_t i = 1; i < st.by_name.size(); ++i) CHECK(st.by_name[i - 1].total_ms >= st.by_name[i].total_ms);

  // Errors per name against SQL.
  auto r = store.run_sql("SELECT name, sum(upper(status) = 'ERROR' OR " + kHasErrorAttr + ") FROM spans GROUP BY name", 100000);
  REQUIRE(r.is_ok());
  for (const auto& row : r->rows) {
    const NameStats* n = find_name(st, row[0].s);
    REQUIRE(n);
    CHECK(n->errors == static_cast<uint64_t>(row[1].i));
  }
}

TEST_CASE("token sums per model equal the generator's", "[stats]") {
  Store& store = *test::standard_db().store;
  const Stats st = compute_stats(model());
  REQUIRE(!summary().tokens_by_model.empty());
  CHECK(st.tokens_by_model.size() == summary().tokens_by_model.size());
  for (const auto& [name, sums] : summary().tokens_by_model) {
    INFO(name);
    REQUIRE(st.tokens_by_model.count(name));
    const TokenCounts& tc = st.tokens_by_model.at(name);
    CHECK(tc.prompt == static_cast<double>(sums[0]));
    CHECK(tc.completion == static_cast<double>(sums[1]));
    CHECK(tc.total == static_cast<double>(sums[2]));
  }
  // And against SQL: the total over all models.
  const int64_t prompt_sql = sql_int(
      store, "SELECT sum(json_extract(attributes, '$.value')) FROM span_events WHERE name = 'metric.prompt_tokens' "
             "AND span_id IN (SELECT span_id FROM spans)");
  double prompt = 0;
  for (const auto& [name, tc] : st.tokens_by_model) prompt += tc.prompt;
  CHECK(prompt == static_cast<double>(prompt_sql));

  const nlohmann::json j = stats_to_json(model(), st);
  for (const auto& [name, sums] : summary().tokens_by_model) {
    const auto& t = j["tokens_by_model"][name.empty() ? "unknown" : name];
    CHECK(t["prompt"].is_number_integer());
    CHECK(t["prompt"] == sums[0]);
    CHECK(t["completion"] == sums[1]);
    CHECK(t["total"] == sums[2]);
  }
}

TEST_CASE("stats JSON carries the diagnostics", "[stats]") {
  const nlohmann::json j = stats_to_json(model(), compute_stats(model()));
  REQUIRE(j["diagnostics"].size() == model().diagnostics().size());
  for (size_t i = 0; i < model().diagnostics().size(); ++i) {
    const Diagnostic& d = model().diagnostics()[i];
    CHECK(j["diagnostics"][i]["code"] == d.code);
    CHECK(j["diagnostics"][i]["message"] == d.message);
    CHECK(j["diagnostics"][i]["count"] == d.count);
    CHECK(j["diagnostics"][i]["examples"].size() == d.examples.size());
  }
  CHECK(j["first_start"] == format_iso_utc(compute_stats(model()).first_start, 6));
  for (const char* key : {"traces", "spans", "events", "errors", "error_status", "error_attribute", "incomplete_traces",
                          "orphan_spans", "first_start", "last_end", "by_name", "tokens_by_model", "diagnostics"}) {
    CHECK(j.contains(key));
  }
}

TEST_CASE("stats of the shared fixture", "[stats]") {
  const std::string path = test::shared_fixture();
  if (path.empty()) return;
  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  auto m = Model::build(**store);
  REQUIRE(m.is_ok());
  const Stats st = compute_stats(**m);
  CHECK(st.traces == 200);
  CHECK(st.spans == 4199);
  CHECK(st.events == 1004);
  CHECK(st.error_status == 13);
  CHECK(st.error_attribute == sql_count(**store, "SELECT count(*) FROM spans WHERE " + kHasErrorAttr));
  CHECK(st.errors == sql_count(**store, "SELECT count(*) FROM spans WHERE upper(status) = 'ERROR' OR " + kHasErrorAttr));
  uint64_t named = 0;
  for (const auto& n : st.by_name) named += n.count;
  CHECK(named == 4199);
}
