// The JSON views: trace summaries, trace trees, search hits. Counts are checked against SQL on
// the same file; the agent_tools tree against the generator's constants.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <cmath>
#include <cstdio>
#include <set>

#include "test_support.h"
#include "tracedrop/query.h"
#include "tracedrop/views.h"

using namespace tracedrop;
using Json = nlohmann::json;
using testdata::AgentToolsCase;

namespace {

const Model& std_model() { return *test::standard_db().model; }
const testdata::GenSummary& summary() { return test::standard_db().summary; }

uint32_t special(const std::string& case_name, size_t which = 0) {
  auto it = summary().special_traces.find(case_name);
  REQUIRE(it != summary().special_traces.end());
  REQUIRE(which < it->second.size());
  auto t = std_model().find_trace(it->second[which]);
  REQUIRE(t);
  return *t;
}

std::string sql_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
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

Json tree_of(const Model& m, uint32_t t) {
  auto r = trace_tree_json(m, t);
  INFO(r.status().message());
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

// Every node of a tree, in pre-order, with its parent node (nullptr for roots). Iterative.
struct Visit {
  const Json* node;
  const Json* parent;
  size_t depth;
};
std::vector<Visit> walk(const Json& tree) {
  std::vector<Visit> out, stack;
  const Json& roots = tree["tree"];
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.push_back({&*it, nullptr, 1});
  while (!stack.empty()) {
    const Visit v = stack.back();
    stack.pop_back();
    out.push_back(v);
    const Json& children = (*v.node)["children"];
    for (auto it = children.rbegin(); it != children.rend(); ++it) stack.push_back({&*it, v.node, v.depth + 1});
  }
  return out;
}

std::vector<std::string> child_names(const Json& node) {
  std::vector<std::string> out;
  for (const Json& c : node["children"]) out.push_back(c["name"].get<std::string>());
  return out;
}

bool has_flag(const Json& node, const std::string& flag) {
  for (const Json& f : node["flags"])
    if (f == flag) return true;
  return false;
}

int64_t ms_between(const Json& node) {
  return (parse_timestamp(node["end"].get<std::string>())->ns - parse_timestamp(node["start"].get<std::string>())->ns) /
         1000000;
}

// A structural check shared by every tree: each span once, parents link up, children in
// start order, durations consistent.
void check_tree_consistent(const Model& m, uint32_t t, const Json& tree) {
  const auto nodes = walk(tree);
  CHECK(tree["trace_id"] == m.traces[t].id);
  CHECK(tree["spans"] == m.traces[t].span_count);
  CHECK(nodes.size() == m.traces[t].span_count);
  std::set<std::string> ids;
  for (const Visit& v : nodes) {
    const Json& n = *v.node;
    ids.insert(n["span_id"].get<std::string>());
    if (v.parent) CHECK(n["parent_span_id"] == (*v.parent)["span_id"]);
    std::string prev;
    for (const Json& c : n["children"]) {
      CHECK(c["start"].get<std::string>() >= prev);  // ISO UTC with 6 digits sorts as text
      prev = c["start"].get<std::string>();
    }
    CHECK(n["attributes"].is_object());
    CHECK(n["events"].is_array());
    CHECK(n["flags"].is_array());
  }
  CHECK(ids.size() == nodes.size());
  CHECK(tree["tree"].size() == m.trace_roots(t).size());
}

}  // namespace

// ==================================================================== small helpers

TEST_CASE("ns_to_ms rounds to whole microseconds", "[views]") {
  CHECK(ns_to_ms(0) == 0.0);
  CHECK(ns_to_ms(1234567) == 1.235);
  CHECK(ns_to_ms(1234499) == 1.234);
  CHECK(ns_to_ms(1234500) == 1.235);
  CHECK(ns_to_ms(1000000) == 1.0);
  CHECK(ns_to_ms(999) == 0.001);
  CHECK(ns_to_ms(499) == 0.0);
  CHECK(ns_to_ms(-1500) == -0.002);
  CHECK(ns_to_ms(INT64_C(86400) * 1000000000) == 86400000.0);
}

TEST_CASE("flag and incomplete-reason names", "[views]") {
  CHECK(span_flag_names(0).empty());
  CHECK(span_flag_names(kSpanOrphan | kSpanDanglingParent) == std::vector<std::string>{"dangling_parent", "orphan"});
  CHECK(span_flag_names(kSpanErrorAttribute) == std::vector<std::string>{"error_attribute"});
  CHECK(span_flag_names(kSpanRemoteParent | kSpanCycle) == std::vector<std::string>{"cycle", "remote_parent"});
  CHECK(span_flag_names(0xffffffffu).size() == 19);
  CHECK(trace_incomplete_names(kTraceNullRoot) == std::vector<std::string>{"null_root"});
  CHECK(trace_incomplete_names(kTraceNotInTable | kTraceHasOrphans | kTraceNoRoot) ==
        std::vector<std::string>{"not_in_table", "has_orphans", "no_root"});
  CHECK(trace_incomplete_names(0xffffffffu).size() == 6);
}

// ==================================================================== trace summaries

TEST_CASE("trace summaries count what SQL counts", "[views]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  std::vector<uint32_t> traces;
  for (const char* name : {"agent_tools", "chat_completion", "error_status", "error_attribute", "orphans",
                           "null_root", "deep", "cycle"}) {
    traces.push_back(special(name));
  }
  const Json list = trace_list_json(m, traces);
  REQUIRE(list.size() == traces.size());
  for (size_t i = 0; i < traces.size(); ++i) {
    const Json& j = list[i];
    const std::string id = j["trace_id"];
    INFO(id);
    CHECK(j == trace_summary_json(m, traces[i]));
    const std::string where = " FROM spans WHERE trace_id = " + sql_quote(id);
    CHECK(j["span_count"] == sql_int(*db.store, "SELECT count(*)" + where));
    // ERROR status, or an "error" key in readable attributes.
    CHECK(j["error_count"] == sql_int(*db.store, "SELECT count(*)" + where +
                                                     " AND (status = 'ERROR' OR (json_valid(attributes) AND "
                                                     "json_type(attributes, '$.error') IS NOT NULL))"));
    const Json& reasons = j["incomplete_reasons"];
    CHECK(j["incomplete"] == !reasons.empty());
    CHECK(j["service"].is_string());
    CHECK_FALSE(j["service"].get<std::string>().empty());
    const auto start = parse_timestamp(j["start"].get<std::string>());
    const auto end = parse_timestamp(j["end"].get<std::string>());
    REQUIRE(start);
    REQUIRE(end);
    CHECK(j["duration_ms"] == ns_to_ms(end->ns - start->ns));
    CHECK(j["end"].get<std::string>().back() == 'Z');
  }
  const Json& tools = list[0];
  CHECK(tools["name"] == "create_agent_turn");
  CHECK(tools["span_count"] == AgentToolsCase::kSpanCount);
  CHECK(tools["error_count"] == 0);
  CHECK(tools["incomplete"] == false);
  CHECK(tools["duration_ms"] == static_cast<double>(AgentToolsCase::kRootMs));
  CHECK(tools["root_span_id"] == sql(*db.store, "SELECT root_span_id FROM traces WHERE trace_id = " +
                                                    sql_quote(tools["trace_id"]))
                                     .rows[0][0]
                                     .s);
  CHECK(tools["start"].get<std::string>().size() == std::string("2025-06-02T08:00:57.620527Z").size());
  // Failures are counted on both kinds of error.
  CHECK(list[2]["error_count"].get<int>() >= 2);
  CHECK(list[3]["error_count"].get<int>() >= 2);
  // The orphans case: the root never ended, so there is none and the trace says why.
  const Json& orphans = list[4];
  CHECK(orphans["incomplete"] == true);
  CHECK(orphans["root_span_id"].is_null());
  std::set<std::string> why(orphans["incomplete_reasons"].begin(), orphans["incomplete_reasons"].end());
  CHECK(why.count("null_root") == 1);
  CHECK(why.count("has_orphans") == 1);
  // null_root: complete otherwise, the root is found anyway and shown.
  const Json& null_root = list[5];
  CHECK(null_root["incomplete_reasons"] == Json::array({"null_root"}));
  CHECK(null_root["root_span_id"].is_string());
}

TEST_CASE("trace_list_json lists every trace of a query with consistent counts", "[views]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  TraceQuery q;
  q.limit = SIZE_MAX;
  auto all = query_traces(m, q);
  REQUIRE(all.is_ok());
  const Json list = trace_list_json(m, all.value());
  REQUIRE(list.size() == summary().distinct_traces);
  uint64_t spans = 0, incomplete = 0;
  for (const Json& j : list) {
    spans += j["span_count"].get<uint64_t>();
    incomplete += j["incomplete"].get<bool>() ? 1u : 0u;
  }
  CHECK(spans == summary().span_rows);
  CHECK(incomplete >= summary().null_root_traces + summary().traces_not_in_table);
}

// ==================================================================== trace trees

TEST_CASE("trace tree of the agent_tools turn: exact structure", "[views]") {
  const Model& m = std_model();
  const uint32_t t = special("agent_tools");
  const Json tree = tree_of(m, t);
  check_tree_consistent(m, t, tree);
  REQUIRE(tree["tree"].size() == 1);
  const Json& root = tree["tree"][0];
  CHECK(root["name"] == "create_agent_turn");
  CHECK(root["parent_span_id"].is_null());
  CHECK(root["status"] == "OK");
  CHECK(root["kind"] == "INTERNAL");
  CHECK(root["duration_ms"] == static_cast<double>(AgentToolsCase::kRootMs));
  CHECK(root["attributes"]["session_id"] == AgentToolsCase::kSessionId);
  CHECK(root["attributes"]["agent_id"] == AgentToolsCase::kAgentId);
  CHECK(root["attributes"]["turn_id"] == AgentToolsCase::kTurnId);
  CHECK(root["attributes"]["__ttl__"] == 604800);
  CHECK(root["flags"] == Json::array({"marked_root"}));
  CHECK(child_names(root) == std::vector<std::string>{"ToolGroupsRoutingTable.list_tools", "run_shields", "inference",
                                                      "tool_execution", "inference", "run_shields"});
  const Json& kids = root["children"];
  CHECK(ms_between(kids[0]) == AgentToolsCase::kListToolsMs);
  CHECK(ms_between(kids[1]) == AgentToolsCase::kShieldMs);
  CHECK(ms_between(kids[2]) == AgentToolsCase::kInference1Ms);
  CHECK(ms_between(kids[3]) == AgentToolsCase::kToolMs);
  CHECK(ms_between(kids[4]) == AgentToolsCase::kInference2Ms);
  CHECK(ms_between(kids[5]) == AgentToolsCase::kShieldMs);
  CHECK(kids[2]["duration_ms"] == static_cast<double>(AgentToolsCase::kInference1Ms));

  // Shields: run_shields -> run_shield_code-scanner -> SafetyRouter.run_shield -> 2 leaves.
  for (const Json* shields : {&kids[1], &kids[5]}) {
    CHECK(child_names(*shields) == std::vector<std::string>{"run_shield_code-scanner"});
    const Json& one = (*shields)["children"][0];
    CHECK(child_names(one) == std::vector<std::string>{"SafetyRouter.run_shield"});
    CHECK(child_names(one["children"][0]) ==
          std::vector<std::string>{"ShieldsRoutingTable.get_shield", "MetaReferenceCodeScannerSafetyImpl.run_shield"});
    CHECK((*shields)["attributes"]["output"] == AgentToolsCase::kShieldOutput);
  }
  // Inference rounds and their token events.
  const uint64_t tokens[2][3] = {
      {AgentToolsCase::kRound1PromptTokens, AgentToolsCase::kRound1CompletionTokens, AgentToolsCase::kRound1TotalTokens},
      {AgentToolsCase::kRound2PromptTokens, AgentToolsCase::kRound2CompletionTokens, AgentToolsCase::kRound2TotalTokens}};
  const char* stop[2] = {AgentToolsCase::kRound1StopReason, AgentToolsCase::kRound2StopReason};
  int round = 0;
  for (const Json* inf : {&kids[2], &kids[4]}) {
    CHECK(child_names(*inf) == std::vector<std::string>{"InferenceRouter.openai_chat_completion",
                                                        "InferenceRouter.stream_tokens_and_compute_metrics_openai_chat"});
    CHECK((*inf)["attributes"]["stop_reason"] == stop[round]);
    CHECK(child_names((*inf)["children"][0]) ==
          std::vector<std::string>{"ModelsRoutingTable.get_model", "OllamaInferenceAdapter.openai_chat_completion"});
    const Json& stream = (*inf)["children"][1];
    REQUIRE(stream["events"].size() == 3);
    std::set<std::string> names;
    for (const Json& e : stream["events"]) {
      names.insert(e["name"].get<std::string>());
      const std::string n = e["name"];
      const size_t k = n == "metric.prompt_tokens" ? 0 : n == "metric.completion_tokens" ? 1 : 2;
      CHECK(e["attributes"]["value"] == tokens[round][k]);
      CHECK(e["attributes"]["unit"] == "tokens");
      CHECK(e["attributes"]["model_id"] == AgentToolsCase::kModelId);
      CHECK(parse_timestamp(e["time"].get<std::string>()));
    }
    CHECK(names == std::set<std::string>{"metric.prompt_tokens", "metric.completion_tokens", "metric.total_tokens"});
    ++round;
  }
  // Tool execution.
  const Json& tool = kids[3];
  CHECK(tool["attributes"]["tool_name"] == AgentToolsCase::kToolName);
  CHECK(child_names(tool) == std::vector<std::string>{"ToolRuntimeRouter.invoke_tool"});
  CHECK(child_names(tool["children"][0]) ==
        std::vector<std::string>{"ToolGroupsRoutingTable.get_provider_impl", "TavilySearchToolRuntimeImpl.invoke_tool"});
  // Events total, and nothing flagged but the root marker.
  size_t events = 0;
  for (const Visit& v : walk(tree)) {
    events += (*v.node)["events"].size();
    if (v.parent) CHECK((*v.node)["flags"].empty());
  }
  CHECK(events == AgentToolsCase::kEventCount);
}

TEST_CASE("trace tree: orphans become extra roots", "[views]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  int multi_root = 0;
  for (const std::string& id : summary().special_traces.at("orphans")) {
    INFO(id);
    const uint32_t t = *m.find_trace(id);
    const Json tree = tree_of(m, t);
    check_tree_consistent(m, t, tree);
    // Roots: spans whose parent is not in the file (the never-written root's children).
    const int64_t expected_roots =
        sql_int(*db.store, "SELECT count(*) FROM spans s WHERE trace_id = " + sql_quote(id) +
                               " AND NOT EXISTS (SELECT 1 FROM spans p WHERE p.span_id = s.parent_span_id)");
    REQUIRE(expected_roots >= 1);
    CHECK(tree["tree"].size() == static_cast<size_t>(expected_roots));
    if (expected_roots >= 2) ++multi_root;
    // They all name the same missing parent, and are flagged. A single such span cannot be
    // told apart from a root under a remote parent, and the model takes it as the root.
    const std::string missing = tree["tree"][0]["parent_span_id"];
    for (const Json& r : tree["tree"]) {
      CHECK(r["parent_span_id"] == missing);
      CHECK(has_flag(r, "dangling_parent"));
      CHECK(has_flag(r, expected_roots >= 2 ? "orphan" : "remote_parent"));
    }
    CHECK(sql_int(*db.store, "SELECT count(*) FROM spans WHERE span_id = " + sql_quote(missing)) == 0);
    CHECK(tree["spans"] == sql_int(*db.store, "SELECT count(*) FROM spans WHERE trace_id = " + sql_quote(id)));
  }
  CHECK(multi_root >= 1);  // the agent turn's children all lost their root
}

TEST_CASE("trace tree: a root under a remote parent", "[views]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  for (const std::string& id : summary().special_traces.at("remote_parent")) {
    INFO(id);
    const uint32_t t = *m.find_trace(id);
    const Json tree = tree_of(m, t);
    check_tree_consistent(m, t, tree);
    REQUIRE(tree["tree"].size() == 1);
    const Json& root = tree["tree"][0];
    const auto row = sql(*db.store, "SELECT span_id, parent_span_id FROM spans WHERE span_id = (SELECT root_span_id FROM "
                                    "traces WHERE trace_id = " +
                                        sql_quote(id) + ")")
                         .rows;
    REQUIRE(row.size() == 1);
    CHECK(root["span_id"] == row[0][0].s);
    CHECK(root["parent_span_id"] == row[0][1].s);
    CHECK(has_flag(root, "remote_parent"));
    CHECK(has_flag(root, "dangling_parent"));
    CHECK_FALSE(has_flag(root, "orphan"));
    for (const Visit& v : walk(tree))
      if (v.parent) CHECK((*v.node)["flags"].empty());
  }
}

TEST_CASE("trace tree: a parent cycle is cut and every span still shown once", "[views]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  const uint32_t t = special("cycle");
  const Json tree = tree_of(m, t);
  check_tree_consistent(m, t, tree);
  CHECK(tree["spans"] == sql_int(*db.store, "SELECT count(*) FROM spans WHERE trace_id = " + sql_quote(m.traces[t].id)));
  // The regular root, then the cycle's cut span as an extra root holding the other one.
  REQUIRE(tree["tree"].size() == 2);
  const Json& cut = tree["tree"][1];
  CHECK(has_flag(cut, "cycle"));
  REQUIRE(cut["children"].size() == 1);
  const std::set<std::string> pair = {cut["name"], cut["children"][0]["name"]};
  CHECK(pair == std::set<std::string>{"InferenceRouter.openai_completion", "ModelsRoutingTable.get_model"});
  // The cut span still shows the parent it claimed: its own child.
  CHECK(cut["parent_span_id"] == cut["children"][0]["span_id"]);
  size_t cycle_flags = 0;
  for (const Visit& v : walk(tree)) cycle_flags += has_flag(*v.node, "cycle") ? 1u : 0u;
  CHECK(cycle_flags >= 1);
  CHECK(tree["tree"][0]["name"] != cut["name"]);
}

TEST_CASE("trace tree: bad ids are shown as stored and still linked", "[views]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  const uint32_t t = special("bad_ids");
  const Json tree = tree_of(m, t);
  check_tree_consistent(m, t, tree);
  const auto rows = sql(*db.store, "SELECT span_id, parent_span_id FROM spans WHERE trace_id = " + sql_quote(m.traces[t].id)).rows;
  REQUIRE(rows.size() == m.traces[t].span_count);
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  // Ids that are not 16 hex digits come back exactly as stored; 16 uppercase hex digits are
  // valid ids and come back in the model's lower case.
  std::set<std::string> stored, shown;
  for (const auto& r : rows) stored.insert(lower(r[0].s));
  size_t bad = 0;
  for (const Visit& v : walk(tree)) {
    shown.insert(lower((*v.node)["span_id"].get<std::string>()));
    bad += has_flag(*v.node, "bad_span_id") ? 1u : 0u;
  }
  CHECK(shown == stored);
  CHECK(bad >= 1);
  // Exactly one root: the links held despite the odd ids.
  CHECK(tree["tree"].size() == 1);
  CHECK(tree["trace_id"] == m.traces[t].id);
}

TEST_CASE("span attributes: NaN kept as a number, unreadable text as _raw", "[views]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  // nan: a router span with bare NaN / Infinity / -Infinity values.
  bool seen_nan = false;
  const uint32_t nan_trace = special("nan");
  for (const uint32_t* p = m.trace_spans_begin(nan_trace); p != m.trace_spans_end(nan_trace); ++p) {
    auto a = span_attributes_json(m, *p);
    REQUIRE(a.is_ok());
    if (!a->contains("score")) continue;
    seen_nan = true;
    CHECK(std::isnan((*a)["score"].get<double>()));
    CHECK((*a)["max_logprob"].get<double>() == INFINITY);
    CHECK((*a)["min_logprob"].get<double>() == -INFINITY);
    CHECK((*a)["__ttl__"] == 604800);
    // nlohmann writes non-finite numbers as null.
    CHECK(Json::parse(a->dump())["score"].is_null());
  }
  CHECK(seen_nan);
  // bad_json: the truncated text, whole, under "_raw".
  bool seen_raw = false;
  const uint32_t bad = special("bad_json");
  for (const uint32_t* p = m.trace_spans_begin(bad); p != m.trace_spans_end(bad); ++p) {
    if (!(m.spans.flags[*p] & kSpanBadAttributes)) continue;
    seen_raw = true;
    auto a = span_attributes_json(m, *p);
    REQUIRE(a.is_ok());
    REQUIRE(a->size() == 1);
    const auto stored = sql(*db.store, "SELECT attributes FROM spans WHERE rowid = " + std::to_string(m.spans.rowid[*p])).rows;
    CHECK((*a)["_raw"] == stored[0][0].s);
  }
  CHECK(seen_raw);
  // The on-demand model reads the same attributes through the store.
  const Model& lazy = *test::standard_db(true).model;
  const uint32_t tools = special("agent_tools");
  const uint32_t root = static_cast<uint32_t>(m.traces[tools].root);
  const uint32_t lazy_root = static_cast<uint32_t>(lazy.traces[*lazy.find_trace(m.traces[tools].id)].root);
  CHECK(span_attributes_json(lazy, lazy_root).value() == span_attributes_json(m, root).value());
}

TEST_CASE("the text form of a tree is the same document", "[views]") {
  const Model& m = std_model();
  for (const char* name : {"agent_tools", "orphans", "cycle", "bad_ids", "unicode", "nan", "bad_json", "deep"}) {
    INFO(name);
    const uint32_t t = special(name);
    auto text = trace_tree_json_text(m, t);
    REQUIRE(text.is_ok());
    const std::string dumped = tree_of(m, t).dump(-1, ' ', false, Json::error_handler_t::replace);
    // Same values (NaN is null in both); numbers may be spelled differently (1.0 vs 1).
    CHECK(Json::parse(text.value()) == Json::parse(dumped));
  }
}

TEST_CASE("a 100,000-span chain builds without recursion", "[views]") {
  constexpr int kDepth = 100000;
  const std::string path = test::temp_dir() + "/chain.db";
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  const char* schema =
      "CREATE TABLE traces (trace_id TEXT PRIMARY KEY, service_name TEXT, root_span_id TEXT, start_time TIMESTAMP, "
      "end_time TIMESTAMP, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);"
      "CREATE TABLE spans (span_id TEXT PRIMARY KEY, trace_id TEXT, parent_span_id TEXT, name TEXT, start_time "
      "TIMESTAMP, end_time TIMESTAMP, attributes TEXT, status TEXT, kind TEXT);"
      "CREATE TABLE span_events (id INTEGER PRIMARY KEY AUTOINCREMENT, span_id TEXT, name TEXT, timestamp TIMESTAMP, "
      "attributes TEXT);"
      "BEGIN;"
      "INSERT INTO traces VALUES('0123456789abcdef0123456789abcdef', 'svc', '0000000000000001', "
      "'2025-06-02T08:00:00.000001+00:00', '2025-06-02T09:00:00.000001+00:00', '2025-06-02 09:00:00');";
  REQUIRE(sqlite3_exec(db, schema, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_stmt* ins = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "INSERT INTO spans VALUES(?, '0123456789abcdef0123456789abcdef', ?, ?, ?, ?, ?, 'OK', 'INTERNAL')",
                             -1, &ins, nullptr) == SQLITE_OK);
  for (int i = 1; i <= kDepth; ++i) {
    char id[20], parent[20], start[48];
    std::snprintf(id, sizeof id, "%016x", i);
    std::snprintf(parent, sizeof parent, "%016x", i - 1);
    // Each span starts 1 µs after its parent; all end together.
    std::snprintf(start, sizeof start, "2025-06-02T08:%02d:%02d.%06d+00:00", (i / 1000000) / 60, (i / 1000000) % 60,
                  i % 1000000);
    sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
    if (i == 1) sqlite3_bind_null(ins, 2);
    else sqlite3_bind_text(ins, 2, parent, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 3, ("level" + std::to_string(i)).c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 4, start, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 5, "2025-06-02T09:00:00.000001+00:00", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 6, "{\"depth\": 1}", -1, SQLITE_STATIC);
    REQUIRE(sqlite3_step(ins) == SQLITE_DONE);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  REQUIRE(sqlite3_exec(db, "COMMIT;", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);

  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  auto model = Model::build(**store);
  REQUIRE(model.is_ok());
  const Model& m = **model;
  REQUIRE(m.trace_count() == 1);
  REQUIRE(m.span_count() == static_cast<uint32_t>(kDepth));

  {
    const Json tree = tree_of(m, 0);
    REQUIRE(tree["tree"].size() == 1);
    // Follow the only child down, iteratively.
    const Json* node = &tree["tree"][0];
    int depth = 1;
    while (!(*node)["children"].empty()) {
      REQUIRE((*node)["children"].size() == 1);
      node = &(*node)["children"][0];
      ++depth;
    }
    CHECK(depth == kDepth);
    CHECK((*node)["name"] == "level" + std::to_string(kDepth));
    CHECK((*node)["parent_span_id"] == "00000000000" "1869f");  // 99999
  }  // destroying the deep document must not recurse either

  auto text = trace_tree_json_text(m, 0);
  REQUIRE(text.is_ok());
  CHECK(text->size() > static_cast<size_t>(kDepth) * 100);
  CHECK(text->compare(0, 22, "{\"spans\":100000,\"trace") == 0);
  // The text ends by closing every level: ]} per span, then the tree array and the document.
  CHECK(text->substr(text->size() - 8) == "]}]}]}]}");

  // get_span_tree walks it breadth first.
  SpanTreeQuery q;
  q.span_id = "0000000000000001";
  auto sub = span_subtree(m, q);
  REQUIRE(sub.is_ok());
  CHECK(sub->size() == static_cast<size_t>(kDepth));
  CHECK(sub->back().depth == kDepth);
}

// ==================================================================== search hits

TEST_CASE("search hits carry trace, span, name, field and snippet", "[views]") {
  const Model& m = std_model();
  const uint32_t t = special("agent_tools");
  const uint32_t root = static_cast<uint32_t>(m.traces[t].root);
  const std::vector<SearchHit> hits = {{root, "attributes.session_id", "…1d9e8f70…"}, {root, "name", "create_agent_turn"}};
  const Json j = search_hits_json(m, hits);
  REQUIRE(j.size() == 2);
  CHECK(j[0] == Json{{"trace_id", m.traces[t].id},
                     {"span_id", m.span_id_text(root)},
                     {"name", "create_agent_turn"},
                     {"field", "attributes.session_id"},
                     {"snippet", "…1d9e8f70…"}});
  CHECK(j[1]["field"] == "name");
  CHECK(search_hits_json(m, {}).empty());
}

// ==================================================================== the shared fixture

TEST_CASE("views of the shared real-world fixture", "[views]") {
  const std::string path = test::shared_fixture();
  if (path.empty()) return;
  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  auto model = Model::build(**store);
  REQUIRE(model.is_ok());
  const Model& m = **model;
  REQUIRE(m.trace_count() == 200);
  uint64_t spans = 0, events = 0, null_root = 0, dangling = 0;
  for (uint32_t t = 0; t < m.trace_count(); ++t) {
    const Json s = trace_summary_json(m, t);
    for (const Json& r : s["incomplete_reasons"]) null_root += r == "null_root" ? 1u : 0u;
    const Json tree = tree_of(m, t);
    for (const Visit& v : walk(tree)) {
      ++spans;
      events += (*v.node)["events"].size();
      dangling += has_flag(*v.node, "dangling_parent") ? 1u : 0u;
    }
    CHECK(s["span_count"] == tree["spans"]);
  }
  CHECK(spans == 4199);
  CHECK(events == 1004);
  CHECK(null_root == 10);
  CHECK(dangling == 8);
  // A few traces against SQL.
  for (uint32_t t : {0u, 57u, 123u, 199u}) {
    CHECK(trace_summary_json(m, t)["span_count"] ==
          sql_int(**store, "SELECT count(*) FROM spans WHERE trace_id = " + sql_quote(m.traces[t].id)));
  }
}
