// analyze_conversation: the generator's fully known agent turn, its special cases, small
// hand-made traces for the timing rules, and every trace of the standard database and the
// shared fixture checked against facts computed independently with SQL.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "analysis/critical_path.h"
#include "test_support.h"
#include "tracedrop/analysis.h"
#include "tracedrop/store.h"
#include "tracedrop/time.h"

using namespace tracedrop;
using Json = nlohmann::json;

namespace {

constexpr int64_t kMs = 1000000;

const test::Loaded& db() { return test::standard_db(); }
const testdata::GenSummary& summary() { return db().summary; }

Json analyze(const Model& m, const std::string& trace_id) {
  std::optional<uint32_t> t = m.find_trace(trace_id);
  INFO(trace_id);
  REQUIRE(t.has_value());
  Result<Json> r = analyze_conversation(m, *t);
  INFO(r.status().message());
  REQUIRE(r.is_ok());
  return r.value();
}

const std::string& special(const std::string& name) {
  auto it = summary().special.find(name);
  INFO(name);
  REQUIRE(it != summary().special.end());
  return it->second;
}

std::vector<std::string> special_traces(const std::string& name) {
  auto it = summary().special_traces.find(name);
  REQUIRE(it != summary().special_traces.end());
  return it->second;
}

std::string sql_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

SqlResult sql(Store& store, const std::string& query) {
  Result<SqlResult> r = store.run_sql(query, 1000000);
  INFO(query);
  INFO(r.status().message());
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

std::string sql_text(Store& store, const std::string& query) {
  SqlResult r = sql(store, query);
  INFO(query);
  REQUIRE(r.rows.size() == 1);
  REQUIRE(r.rows[0][0].type == SqlResult::Cell::kText);
  return r.rows[0][0].s;
}

TimeNs time_of(const std::string& iso) {
  std::optional<ParsedTime> t = parse_timestamp(iso);
  INFO(iso);
  REQUIRE(t.has_value());
  return t->ns;
}

double ms_between(const Json& a, const Json& b) {
  return static_cast<double>(time_of(b.get<std::string>()) - time_of(a.get<std::string>())) / 1e6;
}

std::vector<std::string> names_at_depth(const Json& path, int depth) {
  std::vector<std::string> out;
  for (const Json& e : path) {
    if (e["depth"] == depth) out.push_back(e["name"].get<std::string>());
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The fully known agent turn.

TEST_CASE("agent_tools: identity, messages in order, no repetition", "[conversation]") {
  using C = testdata::AgentToolsCase;
  const Json a = analyze(*db().model, special("agent_tools"));
  CHECK(a["trace_id"] == special("agent_tools"));
  CHECK(a["name"] == "create_agent_turn");
  CHECK(a["kind"] == "agent_turn");
  CHECK(a["agent_id"] == C::kAgentId);
  CHECK(a["session_id"] == C::kSessionId);
  CHECK(a["turn_id"] == C::kTurnId);
  CHECK(a["agent_name"] == C::kAgentName);
  CHECK(a["errors"] == Json::array());

  const Json& msgs = a["messages"];
  REQUIRE(msgs.size() == 5);
  CHECK(msgs[0]["role"] == "system");
  CHECK(msgs[0]["content"] == C::kSystemPrompt);
  CHECK(msgs[1]["role"] == "user");
  CHECK(msgs[1]["content"] == C::kUserMessage);
  CHECK(msgs[2]["role"] == "assistant");
  CHECK(msgs[2]["content"] == "");
  CHECK(msgs[2]["stop_reason"] == C::kRound1StopReason);
  REQUIRE(msgs[2]["tool_calls"].size() == 1);
  CHECK(msgs[2]["tool_calls"][0] == Json({{"call_id", C::kToolCallId},
                                          {"tool_name", C::kToolName},
                                          {"arguments", {{"query", C::kToolQuery}}}}));
  CHECK(msgs[3]["role"] == "tool");
  CHECK(msgs[3]["call_id"] == C::kToolCallId);
  CHECK(msgs[3]["content"] == C::kToolResult);
  CHECK(msgs[4]["role"] == "assistant");
  CHECK(msgs[4]["content"] == C::kFinalAnswer);
  CHECK(msgs[4]["stop_reason"] == C::kRound2StopReason);
  CHECK_FALSE(msgs[4].contains("tool_calls"));
  CHECK_FALSE(msgs[1].contains("call_id"));
  // Where each was seen: the first round's input, each round's output, the tool execution.
  const Json& rounds = a["inference_rounds"];
  REQUIRE(rounds.size() == 2);
  CHECK(msgs[0]["span_id"] == rounds[0]["span_id"]);
  CHECK(msgs[1]["span_id"] == rounds[0]["span_id"]);
  CHECK(msgs[2]["span_id"] == rounds[0]["span_id"]);
  CHECK(msgs[3]["span_id"] == a["tool_calls"][0]["span_id"]);
  CHECK(msgs[4]["span_id"] == rounds[1]["span_id"]);
  for (size_t i = 1; i < msgs.size(); ++i) CHECK(ms_between(msgs[i - 1]["time"], msgs[i]["time"]) >= 0);
}

TEST_CASE("agent_tools: rounds, tool call and shields", "[conversation]") {
  using C = testdata::AgentToolsCase;
  const Json a = analyze(*db().model, special("agent_tools"));
  const Json& rounds = a["inference_rounds"];
  REQUIRE(rounds.size() == 2);
  CHECK(rounds[0]["index"] == 1);
  CHECK(rounds[1]["index"] == 2);
  for (const Json& r : rounds) {
    CHECK(r["model"] == C::kModelId);
    CHECK(r["provider"] == C::kProviderId);
    CHECK(r["error"].is_null());
  }
  CHECK(rounds[0]["prompt_tokens"] == C::kRound1PromptTokens);
  CHECK(rounds[0]["completion_tokens"] == C::kRound1CompletionTokens);
  CHECK(rounds[0]["total_tokens"] == C::kRound1TotalTokens);
  CHECK(rounds[0]["stop_reason"] == C::kRound1StopReason);
  CHECK(rounds[0]["tool_calls"] == 1);
  CHECK(rounds[0]["duration_ms"] == static_cast<double>(C::kInference1Ms));
  CHECK(rounds[1]["prompt_tokens"] == C::kRound2PromptTokens);
  CHECK(rounds[1]["completion_tokens"] == C::kRound2CompletionTokens);
  CHECK(rounds[1]["total_tokens"] == C::kRound2TotalTokens);
  CHECK(rounds[1]["stop_reason"] == C::kRound2StopReason);
  CHECK(rounds[1]["tool_calls"] == 0);
  CHECK(rounds[1]["duration_ms"] == static_cast<double>(C::kInference2Ms));
  CHECK(ms_between(rounds[0]["start"], rounds[1]["start"]) == static_cast<double>(C::kInference1Ms + 1 + C::kToolMs + 1));

  REQUIRE(a["tool_calls"].size() == 1);
  const Json& tc = a["tool_calls"][0];
  CHECK(tc["call_id"] == C::kToolCallId);
  CHECK(tc["tool_name"] == C::kToolName);
  CHECK(tc["arguments"] == Json({{"query", C::kToolQuery}}));
  CHECK(tc["result"] == C::kToolResult);
  CHECK(tc["duration_ms"] == static_cast<double>(C::kToolMs));
  CHECK(tc["failed"] == false);
  CHECK(tc["error"].is_null());
  CHECK(ms_between(rounds[0]["start"], tc["start"]) == static_cast<double>(C::kInference1Ms + 1));

  const Json& shields = a["shields"];
  REQUIRE(shields.size() == 2);
  CHECK(shields[0]["phase"] == "input");
  CHECK(shields[1]["phase"] == "output");
  for (const Json& s : shields) {
    CHECK(s["shield_ids"] == Json::array({C::kShieldId}));
    CHECK(s["verdict"] == C::kShieldOutput);
    CHECK(s["violation"].is_null());
    CHECK(s["duration_ms"] == static_cast<double>(C::kShieldMs));
  }
  CHECK(a["tokens"] == Json({{"prompt", C::kRound1PromptTokens + C::kRound2PromptTokens},
                             {"completion", C::kRound1CompletionTokens + C::kRound2CompletionTokens},
                             {"total", C::kRound1TotalTokens + C::kRound2TotalTokens}}));
}

TEST_CASE("agent_tools: timing and critical path", "[conversation]") {
  using C = testdata::AgentToolsCase;
  const Json a = analyze(*db().model, special("agent_tools"));
  const Json& t = a["timing"];
  CHECK(t["total_ms"] == static_cast<double>(C::kRootMs));
  CHECK(t["inference_ms"] == static_cast<double>(C::kInference1Ms + C::kInference2Ms));
  CHECK(t["tools_ms"] == static_cast<double>(C::kToolMs));
  CHECK(t["shields_ms"] == static_cast<double>(2 * C::kShieldMs));
  // The 7 gaps of 1 ms between the root's children, and list_tools.
  CHECK(t["other_ms"] == static_cast<double>(7 + C::kListToolsMs));

  const Json& path = t["critical_path"];
  REQUIRE(path.size() > 7);
  CHECK(path[0]["name"] == "create_agent_turn");
  CHECK(path[0]["depth"] == 0);
  CHECK(path[0]["duration_ms"] == static_cast<double>(C::kRootMs));
  CHECK(path[0]["self_ms"] == 7.0);  // the children are back to back: only the gaps are the root's
  // Sequential children: every one of them is on the path, in time order.
  const std::vector<std::string> top = names_at_depth(path, 1);
  CHECK(top == std::vector<std::string>{"ToolGroupsRoutingTable.list_tools", "run_shields", "inference",
                                        "tool_execution", "inference", "run_shields"});
  std::vector<double> durations;
  for (const Json& e : path) {
    if (e["depth"] == 1) durations.push_back(e["duration_ms"].get<double>());
  }
  CHECK(durations == std::vector<double>{static_cast<double>(C::kListToolsMs), static_cast<double>(C::kShieldMs),
                                         static_cast<double>(C::kInference1Ms), static_cast<double>(C::kToolMs),
                                         static_cast<double>(C::kInference2Ms), static_cast<double>(C::kShieldMs)});
  // Inside a round the streaming span (which ends last) is on the path; inside the tool
  // execution the provider's invoke_tool.
  const std::vector<std::string> second = names_at_depth(path, 2);
  CHECK(std::count(second.begin(), second.end(), "InferenceRouter.stream_tokens_and_compute_metrics_openai_chat") == 2);
  CHECK(std::count(second.begin(), second.end(), "ToolRuntimeRouter.invoke_tool") == 1);
  const std::vector<std::string> third = names_at_depth(path, 3);
  CHECK(std::count(third.begin(), third.end(), "TavilySearchToolRuntimeImpl.invoke_tool") == 1);
  double self_sum = 0;
  for (const Json& e : path) self_sum += e["self_ms"].get<double>();
  CHECK(self_sum == Approx(static_cast<double>(C::kRootMs)).margin(1e-6));
}

TEST_CASE("agent_tools: the same analysis with attributes read on demand", "[conversation]") {
  const Json in_memory = analyze(*db().model, special("agent_tools"));
  const Json on_demand = analyze(*test::standard_db(true).model, special("agent_tools"));
  CHECK(in_memory == on_demand);
}

// ---------------------------------------------------------------------------------------------
// Special cases.

TEST_CASE("shield_violation: output and input violations", "[conversation]") {
  Store& store = *db().store;
  const std::vector<std::string> ids = special_traces("shield_violation");
  REQUIRE(ids.size() == 2);
  for (size_t i = 0; i < ids.size(); ++i) {
    const Json a = analyze(*db().model, ids[i]);
    INFO(ids[i]);
    CHECK(a["kind"] == "agent_turn");
    const std::string stored = sql_text(store,
        "SELECT json_extract(attributes, '$.output') FROM spans WHERE trace_id = " + sql_quote(ids[i]) +
        " AND name = 'run_shields' AND json_extract(attributes, '$.output') LIKE '{%'");
    const Json expected_violation = Json::parse(stored);
    Json violations = Json::array();
    for (const Json& s : a["shields"]) {
      if (s["verdict"] == "violation") violations.push_back(s);
    }
    REQUIRE(violations.size() == 1);
    const Json& v = violations[0];
    CHECK(v["phase"] == (i == 0 ? "output" : "input"));
    CHECK(v["shield_ids"] == Json::array({"code-scanner", "llama-guard"}));
    CHECK(v["violation"]["violation_level"] == "error");
    CHECK(v["violation"]["user_message"] == expected_violation["user_message"]);
    CHECK(v["violation"]["metadata"] == Json({{"violation_type", "S1"}}));
    if (i == 1) {
      // Stopped before any inference: the request's message is the whole conversation.
      CHECK(a["inference_rounds"].empty());
      REQUIRE(a["messages"].size() == 1);
      CHECK(a["messages"][0]["role"] == "user");
      const std::string request = sql_text(store, "SELECT json_extract(attributes, '$.request') FROM spans WHERE trace_id = " +
                                                      sql_quote(ids[i]) + " AND name = 'create_agent_turn'");
      CHECK(a["messages"][0]["content"] == Json::parse(request)["messages"][0]["content"]);
    } else {
      CHECK(a["shields"][0]["verdict"] == "no violations");
      CHECK(a["shields"][0]["phase"] == "input");
      CHECK(a["messages"].back()["role"] == "assistant");
    }
  }
}

TEST_CASE("error_status: the failed tool call and its error", "[conversation]") {
  Store& store = *db().store;
  for (const std::string& id : special_traces("error_status")) {
    INFO(id);
    const Json a = analyze(*db().model, id);
    const std::string error = sql_text(store, "SELECT json_extract(attributes, '$.error') FROM spans WHERE trace_id = " +
                                                  sql_quote(id) + " AND name = 'ToolRuntimeRouter.invoke_tool' AND status = 'ERROR'");
    const Json& calls = a["tool_calls"];
    REQUIRE(!calls.empty());
    const Json& failed = calls[0];
    CHECK(failed["failed"] == true);
    CHECK(failed["error"] == error);
    CHECK(failed["result"].is_null());
    CHECK(failed["tool_name"] == "web_search");
    const std::string call_id = sql_text(store,
        "SELECT json_extract(json_extract(attributes, '$.input'), '$.tool_calls[0].call_id') FROM spans WHERE trace_id = " +
            sql_quote(id) + " AND name = 'tool_execution' ORDER BY start_time LIMIT 1");
    CHECK(failed["call_id"] == call_id);
    // Both failed spans are reported, with the stored message.
    REQUIRE(a["errors"].size() == 2);
    for (const Json& e : a["errors"]) CHECK(e["message"] == error);
    // The next round's input carries the error as the tool message: it joins the conversation.
    bool tool_message = false;
    for (const Json& m : a["messages"]) {
      if (m["role"] == "tool" && m["call_id"] == call_id) {
        tool_message = true;
        CHECK(m["content"] == "Error when running tool: " + error);
      }
    }
    CHECK(tool_message);
  }
}

TEST_CASE("error_attribute: the failed round", "[conversation]") {
  Store& store = *db().store;
  const std::string id = special_traces("error_attribute").at(0);
  const Json a = analyze(*db().model, id);
  const std::string error = sql_text(store, "SELECT json_extract(attributes, '$.error') FROM spans WHERE trace_id = " +
                                                sql_quote(id) + " AND name = 'InferenceRouter.openai_chat_completion' "
                                                "AND json_extract(attributes, '$.error') IS NOT NULL");
  REQUIRE(!a["inference_rounds"].empty());
  CHECK(a["inference_rounds"].back()["error"] == error);
  CHECK(a["inference_rounds"].back()["prompt_tokens"].is_null());
  CHECK(a["errors"].size() == 2);
}

TEST_CASE("chat_completion: messages from the nested reprs", "[conversation]") {
  Store& store = *db().store;
  const std::string id = special("chat_completion");
  const Json a = analyze(*db().model, id);
  CHECK(a["kind"] == "chat_completion");
  CHECK(a["name"] == "/v1/chat/completions");
  CHECK(a["session_id"].is_null());
  // The generator may open with a system prompt; the output repr has no message content, so
  // there is no answer.
  const std::string router_where = " FROM spans WHERE trace_id = " + sql_quote(id) +
                                   " AND name = 'InferenceRouter.openai_chat_completion'";
  const bool with_system = sql(store, "SELECT 1" + router_where + " AND attributes LIKE '%''role'': ''system''%'").rows.size() == 1;
  const Json& msgs = a["messages"];
  REQUIRE(msgs.size() == (with_system ? 2u : 1u));
  if (with_system) {
    CHECK(msgs[0]["role"] == "system");
    CHECK(msgs[0]["content"] == "You are a helpful assistant.");
  }
  CHECK(msgs.back()["role"] == "user");
  CHECK(msgs.back()["content"] == "What is 2 + 2?");
  REQUIRE(a["inference_rounds"].size() == 1);
  const Json& r = a["inference_rounds"][0];
  const std::string q = " FROM span_events e JOIN spans s ON s.span_id = e.span_id WHERE s.trace_id = " + sql_quote(id);
  CHECK(r["model"] == sql_text(store, "SELECT DISTINCT json_extract(e.attributes, '$.model_id')" + q));
  CHECK(r["provider"] == sql_text(store, "SELECT DISTINCT json_extract(e.attributes, '$.provider_id')" + q));
  const SqlResult tokens = sql(store, "SELECT e.name, json_extract(e.attributes, '$.value')" + q);
  REQUIRE(tokens.rows.size() == 3);
  for (const auto& row : tokens.rows) {
    const std::string key = row[0].s.substr(7);  // "metric.prompt_tokens" -> "prompt_tokens"
    CHECK(r[key] == row[1].i);
  }
  CHECK(r["stop_reason"] == "stop");
  CHECK(r["tool_calls"] == 0);
  CHECK(r["span_id"] == sql_text(store, "SELECT span_id" + router_where));
  CHECK(a["timing"]["inference_ms"] == r["duration_ms"]);
}

TEST_CASE("orphans: no root, total from the span range", "[conversation]") {
  Store& store = *db().store;
  for (const std::string& id : special_traces("orphans")) {
    INFO(id);
    const Json a = analyze(*db().model, id);
    const SqlResult range = sql(store, "SELECT min(start_time), max(end_time) FROM spans WHERE trace_id = " + sql_quote(id));
    REQUIRE(range.rows.size() == 1);
    const double expected_ms = static_cast<double>(time_of(range.rows[0][1].s) - time_of(range.rows[0][0].s)) / 1e6;
    CHECK(a["timing"]["total_ms"] == Approx(expected_ms).margin(1e-9));
    // The generator orphans the spans of an agent turn and of a chat completion.
    const bool turn = !sql(store, "SELECT 1 FROM spans WHERE name = 'inference' AND trace_id = " + sql_quote(id)).rows.empty();
    CHECK(a["kind"] == (turn ? "agent_turn" : "chat_completion"));
    CHECK(a["session_id"].is_null());
    CHECK(!a["inference_rounds"].empty());
    const Json& path = a["timing"]["critical_path"];
    REQUIRE(!path.empty());
    CHECK(path[0]["depth"] == 0);
  }
}

TEST_CASE("unicode: the user message comes through intact", "[conversation]") {
  const Json a = analyze(*db().model, special("unicode"));
  bool found = false;
  for (const Json& m : a["messages"]) found = found || (m["role"] == "user" && m["content"] == testdata::kUnicodeMessage);
  CHECK(found);
  CHECK(a["agent_name"] == "旅行助手");
}

// ---------------------------------------------------------------------------------------------
// Hand-made traces for the rules the generator cannot pin down.

namespace {

struct SpanRow {
  std::string id, parent, name;
  int64_t start_ms, end_ms;
  std::string attributes;
  std::string status = "OK";
};

std::string at_ms(int64_t ms) { return format_iso_utc(1748851200LL * 1000000000LL + ms * kMs, 6); }

// A trace store with one trace made of `spans` (times in ms after a fixed instant).
test::Loaded hand_made(const std::string& name, const std::string& trace_id, const std::vector<SpanRow>& spans) {
  const std::string path = test::temp_dir() + "/" + name;
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  const char* schema =
      "CREATE TABLE traces (trace_id TEXT PRIMARY KEY, service_name TEXT, root_span_id TEXT, start_time TIMESTAMP,"
      " end_time TIMESTAMP, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);"
      "CREATE TABLE spans (span_id TEXT PRIMARY KEY, trace_id TEXT REFERENCES traces(trace_id), parent_span_id TEXT,"
      " name TEXT, start_time TIMESTAMP, end_time TIMESTAMP, attributes TEXT, status TEXT, kind TEXT);"
      "CREATE TABLE span_events (id INTEGER PRIMARY KEY AUTOINCREMENT, span_id TEXT REFERENCES spans(span_id),"
      " name TEXT, timestamp TIMESTAMP, attributes TEXT);";
  REQUIRE(sqlite3_exec(db, schema, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "INSERT INTO spans VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'INTERNAL')", -1, &st, nullptr) == SQLITE_OK);
  for (const SpanRow& s : spans) {
    const std::string start = at_ms(s.start_ms), end = at_ms(s.end_ms);
    sqlite3_bind_text(st, 1, s.id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, trace_id.c_str(), -1, SQLITE_TRANSIENT);
    if (s.parent.empty()) {
      sqlite3_bind_null(st, 3);
    } else {
      sqlite3_bind_text(st, 3, s.parent.c_str(), -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_text(st, 4, s.name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, start.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, end.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, s.attributes.c_str(), static_cast<int>(s.attributes.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 8, s.status.c_str(), -1, SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  const std::string root = spans.front().id;
  const std::string trace_row = "INSERT INTO traces (trace_id, service_name, root_span_id, start_time, end_time) VALUES ('" +
                                trace_id + "', 'x', '" + root + "', '" + at_ms(spans.front().start_ms) + "', '" +
                                at_ms(spans.front().end_ms) + "')";
  REQUIRE(sqlite3_exec(db, trace_row.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);

  test::Loaded out;
  out.path = path;
  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  out.store = std::move(store).value();
  auto model = Model::build(*out.store);
  REQUIRE(model.is_ok());
  out.model = std::move(model).value();
  return out;
}

const char* const kTrace1 = "0123456789abcdef0123456789abcdef";

}  // namespace

TEST_CASE("critical path: parallel children, clipping, and unions of time", "[conversation]") {
  // root [0,100]: C inference [1,15]; A tool [10,60] and B tool [20,90] in parallel;
  // B's children D [15,50] (starts before B: clipped to [20,50]) and E [60,85].
  const std::string assistant =
      R"({"role":"assistant","content":"","tool_calls":[{"call_id":"c1","tool_name":"t1","arguments":{"x":1}},)"
      R"({"call_id":"c2","tool_name":"t2","arguments":"{\"y\": 2}"}]})";
  const Json a_attrs = {{"tool_name", "t1"}, {"input", assistant}};
  const Json b_attrs = {{"tool_name", "t2"}, {"input", assistant},
                        {"output", R"({"role":"tool","call_id":"c2","content":[{"type":"text","text":"two"}]})"}};
  const test::Loaded l = hand_made("critical.db", kTrace1,
                                   {{"00000000000000a0", "", "create_agent_turn", 0, 100, "{}"},
                                    {"00000000000000a1", "00000000000000a0", "tool_execution", 10, 60, a_attrs.dump()},
                                    {"00000000000000a2", "00000000000000a0", "tool_execution", 20, 90, b_attrs.dump()},
                                    {"00000000000000a3", "00000000000000a0", "inference", 1, 15, "{}"},
                                    {"00000000000000a4", "00000000000000a2", "D", 15, 50, "{}"},
                                    {"00000000000000a5", "00000000000000a2", "E", 60, 85, "{}"}});
  const Json a = analyze(*l.model, kTrace1);
  const Json& path = a["timing"]["critical_path"];
  REQUIRE(path.size() == 5);
  const std::vector<std::pair<std::string, double>> expected = {
      {"00000000000000a0", 16.0}, {"00000000000000a3", 14.0}, {"00000000000000a2", 15.0},
      {"00000000000000a4", 30.0}, {"00000000000000a5", 25.0}};
  const std::vector<int> depths = {0, 1, 1, 2, 2};
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO(i);
    CHECK(path[i]["span_id"] == expected[i].first);
    CHECK(path[i]["self_ms"] == expected[i].second);
    CHECK(path[i]["depth"] == depths[i]);
  }
  CHECK(a["timing"]["total_ms"] == 100.0);
  CHECK(a["timing"]["tools_ms"] == 80.0);  // [10,60] u [20,90]
  CHECK(a["timing"]["inference_ms"] == 14.0);
  CHECK(a["timing"]["other_ms"] == 6.0);
  // Tool calls matched to the assistant's calls: by tool name without output, by call id with.
  REQUIRE(a["tool_calls"].size() == 2);
  CHECK(a["tool_calls"][0]["call_id"] == "c1");
  CHECK(a["tool_calls"][0]["arguments"] == Json({{"x", 1}}));
  CHECK(a["tool_calls"][0]["result"].is_null());
  CHECK(a["tool_calls"][0]["failed"] == false);
  CHECK(a["tool_calls"][1]["call_id"] == "c2");
  CHECK(a["tool_calls"][1]["arguments"] == Json({{"y", 2}}));  // JSON text arguments parsed
  CHECK(a["tool_calls"][1]["result"] == "two");
}

TEST_CASE("covered_ns: union of clipped intervals", "[conversation]") {
  using analysis::covered_ns;
  CHECK(covered_ns({}, 0, 100) == 0);
  CHECK(covered_ns({{10, 20}, {15, 30}, {40, 50}}, 0, 100) == 30);
  CHECK(covered_ns({{-10, 20}, {90, 200}}, 0, 100) == 30);
  CHECK(covered_ns({{10, 90}, {20, 30}}, 0, 100) == 80);
  CHECK(covered_ns({{200, 300}}, 0, 100) == 0);
}

TEST_CASE("chat completion with an answer, OpenAI tool calls and invalid UTF-8", "[conversation]") {
  const std::string args =
      "{'params': \"{'model': 'm1', 'messages': [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', "
      "'content': [{'type': 'text', 'text': 'Weather in Paris?'}]}]}\"}";
  const std::string output =
      "{'id': 'chatcmpl-1', 'choices': [{'index': 0, 'finish_reason': 'tool_calls', 'message': {'role': 'assistant', "
      "'content': None, 'tool_calls': [{'id': 'call_1', 'type': 'function', 'function': {'name': 'get_weather', "
      "'arguments': '{\"city\": \"Paris\"}'}}]}}]}";
  const Json router = {{"__args__", args}, {"output", output}};
  // Raw invalid UTF-8 in a stored error message must not break the JSON output.
  const std::string bad_error = "{\"error\": \"bad \xff byte\"}";
  const test::Loaded l = hand_made("chat.db", kTrace1,
                                   {{"00000000000000b0", "", "/v1/chat/completions", 0, 50, "{}"},
                                    {"00000000000000b1", "00000000000000b0", "InferenceRouter.openai_chat_completion", 1,
                                     49, router.dump()},
                                    {"00000000000000b2", "00000000000000b1", "Adapter.x", 2, 48, bad_error}});
  const Json a = analyze(*l.model, kTrace1);
  CHECK(a["kind"] == "chat_completion");
  const Json& msgs = a["messages"];
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[0]["role"] == "system");
  CHECK(msgs[1]["content"] == "Weather in Paris?");
  CHECK(msgs[2]["role"] == "assistant");
  CHECK(msgs[2]["content"] == "");
  CHECK(msgs[2]["stop_reason"] == "tool_calls");
  CHECK(msgs[2]["tool_calls"] ==
        Json::array({{{"call_id", "call_1"}, {"tool_name", "get_weather"}, {"arguments", {{"city", "Paris"}}}}}));
  const Json& r = a["inference_rounds"].at(0);
  CHECK(r["model"] == "m1");
  CHECK(r["provider"].is_null());
  CHECK(r["prompt_tokens"].is_null());
  CHECK(r["tool_calls"] == 1);
  CHECK(r["error"] == "bad \xEF\xBF\xBD byte");
  REQUIRE(a["errors"].size() == 1);
  CHECK(a["errors"][0]["name"] == "Adapter.x");
  CHECK_NOTHROW(a.dump());
}

// ---------------------------------------------------------------------------------------------
// Every trace: invariants, and facts computed independently with SQL.

namespace {

struct TraceFacts {
  std::map<std::string, double> tokens;  // "metric.prompt_tokens" -> sum
  int64_t inference_spans = 0, tool_spans = 0;
};

std::map<std::string, TraceFacts> facts_by_sql(Store& store) {
  std::map<std::string, TraceFacts> out;
  const SqlResult tokens = sql(store,
      "SELECT s.trace_id, e.name, total(CASE WHEN json_valid(e.attributes) THEN json_extract(e.attributes, '$.value') END)"
      " FROM span_events e JOIN spans s ON s.span_id = e.span_id"
      " WHERE e.name IN ('metric.prompt_tokens', 'metric.completion_tokens', 'metric.total_tokens')"
      " GROUP BY s.trace_id, e.name");
  for (const auto& row : tokens.rows) out[row[0].s].tokens[row[1].s] = row[2].d;
  const SqlResult counts = sql(store,
      "SELECT trace_id, sum(name = 'inference'), sum(name = 'tool_execution') FROM spans GROUP BY trace_id");
  for (const auto& row : counts.rows) {
    out[row[0].s].inference_spans = row[1].i;
    out[row[0].s].tool_spans = row[2].i;
  }
  return out;
}

double token_fact(const TraceFacts& f, const char* name) {
  auto it = f.tokens.find(name);
  return it == f.tokens.end() ? 0.0 : it->second;
}

// Pre-order, nested inside the parent entry (clipped to it), siblings one after the other.
void check_critical_path(const Model& m, const Json& path, bool has_root, double total_ms) {
  struct Open {
    int64_t depth;
    TimeNs lo, hi, last_end;
  };
  std::vector<Open> open;
  double self_sum = 0;
  for (const Json& e : path) {
    std::optional<uint32_t> s = m.find_span(e["span_id"].get<std::string>());
    REQUIRE(s.has_value());
    const int64_t depth = e["depth"].get<int64_t>();
    while (!open.empty() && open.back().depth >= depth) open.pop_back();
    REQUIRE(static_cast<int64_t>(open.size()) == depth);  // depth grows one step at a time
    TimeNs lo = m.spans.start[*s];
    const TimeNs hi = m.spans.end[*s];
    if (!open.empty()) {
      Open& parent = open.back();
      lo = std::max(lo, parent.lo);
      CHECK(hi <= parent.hi);
      CHECK(lo >= parent.last_end);  // after the previous sibling on the path
      parent.last_end = hi;
    }
    CHECK(e["self_ms"].get<double>() >= 0);
    CHECK(e["self_ms"].get<double>() <= static_cast<double>(hi - lo) / 1e6 + 1e-9);
    self_sum += e["self_ms"].get<double>();
    open.push_back(Open{depth, lo, hi, lo});
  }
  if (has_root) {
    CHECK(self_sum == Approx(total_ms).margin(1e-6));
  } else {
    CHECK(self_sum <= total_ms + 1e-6);
  }
}

void check_all_traces(const Model& m, Store& store) {
  const std::map<std::string, TraceFacts> facts = facts_by_sql(store);
  for (uint32_t t = 0; t < m.trace_count(); ++t) {
    INFO("trace " << m.traces[t].id);
    Result<Json> r = analyze_conversation(m, t);
    INFO(r.status().message());
    REQUIRE(r.is_ok());
    const Json& a = r.value();
    CHECK_NOTHROW(a.dump());
    const Json& timing = a["timing"];
    const double total = timing["total_ms"].get<double>();
    const double parts = timing["inference_ms"].get<double>() + timing["tools_ms"].get<double>() +
                         timing["shields_ms"].get<double>();
    CHECK(timing["other_ms"].get<double>() >= 0);
    CHECK(timing["other_ms"].get<double>() == Approx(std::max(0.0, total - parts)).margin(1e-6));
    for (const char* k : {"inference_ms", "tools_ms", "shields_ms"}) CHECK(timing[k].get<double>() <= total + 1e-9);

    auto f = facts.find(m.traces[t].id);
    const TraceFacts none;
    const TraceFacts& fact = f == facts.end() ? none : f->second;
    CHECK(a["tokens"]["prompt"].get<double>() == token_fact(fact, "metric.prompt_tokens"));
    CHECK(a["tokens"]["completion"].get<double>() == token_fact(fact, "metric.completion_tokens"));
    CHECK(a["tokens"]["total"].get<double>() == token_fact(fact, "metric.total_tokens"));
    if (a["kind"] == "agent_turn") {
      CHECK(static_cast<int64_t>(a["inference_rounds"].size()) == fact.inference_spans);
      CHECK(static_cast<int64_t>(a["tool_calls"].size()) == fact.tool_spans);
    }
    if (a["kind"] == "chat_completion") CHECK(a["inference_rounds"].size() <= 1);
    for (const Json& msg : a["messages"]) {
      CHECK(msg["role"].is_string());
      CHECK(msg["content"].is_string());
    }
    check_critical_path(m, timing["critical_path"], m.traces[t].root >= 0, total);
  }
}

}  // namespace

// Every tool result follows the assistant message that asked for it, even when a round's
// output was unreadable (bad_json) and the request is only known from the next round's input.
void check_tool_results_follow_calls(const Json& a) {
  std::vector<std::string> asked;
  for (const Json& m : a["messages"]) {
    if (m["role"] == "assistant" && m.contains("tool_calls")) {
      for (const Json& tc : m["tool_calls"]) {
        if (tc["call_id"].is_string()) asked.push_back(tc["call_id"].get<std::string>());
      }
    }
    if (m["role"] == "tool") {
      INFO(m.dump());
      REQUIRE(m["call_id"].is_string());
      CHECK(std::find(asked.begin(), asked.end(), m["call_id"].get<std::string>()) != asked.end());
    }
  }
}

TEST_CASE("bad_json: a round with truncated attributes keeps the order", "[conversation]") {
  const Json a = analyze(*db().model, special_traces("bad_json").at(0));
  CHECK(a["kind"] == "agent_turn");
  REQUIRE(a["messages"].size() >= 3);
  CHECK(a["messages"][0]["role"] == "system");
  CHECK(a["messages"][1]["role"] == "user");
  check_tool_results_follow_calls(a);
}

TEST_CASE("every trace of the standard database", "[conversation]") {
  check_all_traces(*db().model, *db().store);
  for (uint32_t t = 0; t < db().model->trace_count(); ++t) {
    INFO(db().model->traces[t].id);
    check_tool_results_follow_calls(analyze_conversation(*db().model, t).value());
  }
  // The kinds the generator wrote are recognised.
  size_t turns = 0, chats = 0;
  for (uint32_t t = 0; t < db().model->trace_count(); ++t) {
    const Json a = analyze_conversation(*db().model, t).value();
    if (a["kind"] == "agent_turn") ++turns;
    if (a["kind"] == "chat_completion") ++chats;
  }
  CHECK(turns > 20);
  CHECK(chats > 20);
}

TEST_CASE("every trace of the shared fixture", "[conversation]") {
  const std::string path = test::shared_fixture();
  if (path.empty()) return;  // optional: only when the sample sits next to the repository
  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  auto model = Model::build(*store.value());
  REQUIRE(model.is_ok());
  check_all_traces(*model.value(), *store.value());
}

TEST_CASE("an index out of range is an error value", "[conversation]") {
  Result<Json> r = analyze_conversation(*db().model, db().model->trace_count());
  CHECK(r.status().code() == ErrorCode::kInvalidArgument);
}
