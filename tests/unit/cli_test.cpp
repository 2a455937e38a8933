// The `tracedrop` command line, driven in-process through cli::run(). Expected values come from
// the generator's summary and constants or from SQL run directly on the same file, never from
// the CLI's own output.
#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "cli_support.h"
#include "test_support.h"
#include "tracedrop/time.h"

using namespace tracedrop;
using nlohmann::json;
using testdata::AgentToolsCase;

namespace {

constexpr TimeNs kNow = 1767225600LL * 1000000000LL;  // 2026-01-01T00:00:00Z

cli::CliEnv plain_env() {
  cli::CliEnv env;
  env.now = kNow;
  return env;
}

using test::CliResult;

CliResult run_cli(const std::vector<std::string>& args, const cli::CliEnv& env = plain_env()) {
  return test::run_cli_in(args, env);
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }
bool has_ansi(const std::string& s) { return contains(s, "\x1b["); }

json parse_json(const std::string& text) {
  INFO(text.substr(0, 500));
  REQUIRE(json::accept(text));
  return json::parse(text);
}

// Runs a command with --db on the CLI test database and parses its JSON output.
json cli_json(std::vector<std::string> args, const std::string& db = test::cli_db().path) {
  args.insert(args.begin(), {"--db", db});
  args.push_back("--json");
  const CliResult r = run_cli(args);
  INFO(r.err);
  REQUIRE(r.code == 0);
  return parse_json(r.out);
}

CliResult cli_text(std::vector<std::string> args, const cli::CliEnv& env = plain_env(),
                   const std::string& db = test::cli_db().path) {
  args.insert(args.begin(), {"--db", db});
  return run_cli(args, env);
}

// --- independent answers, straight from SQLite

struct Sql {
  sqlite3* db = nullptr;
  explicit Sql(const std::string& path) { REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK); }
  ~Sql() { sqlite3_close(db); }

  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    INFO(sql);
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::vector<std::vector<std::string>> out;
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const auto* t = sqlite3_column_text(st, i);
        row.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    return out;
  }
  int64_t integer(const std::string& sql) {
    auto r = rows(sql);
    REQUIRE(r.size() == 1);
    return std::stoll(r[0][0]);
  }
  std::string text(const std::string& sql) {
    auto r = rows(sql);
    REQUIRE(!r.empty());
    return r[0][0];
  }
};

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// SQL's view of a failed span: ERROR status, or an `error` key in valid JSON attributes.
const char* kFailedSpanSql =
    "(status = 'ERROR' OR (json_valid(attributes) AND json_type(attributes, '$.error') IS NOT NULL))";

const std::string& special(const std::string& name) {
  const auto& s = test::cli_db().summary.special;
  auto it = s.find(name);
  REQUIRE(it != s.end());
  return it->second;
}

const json* find_trace(const json& list, const std::string& id) {
  for (const auto& t : list)
    if (t["trace_id"] == id) return &t;
  return nullptr;
}

size_t count_tree_nodes(const json& doc) {
  size_t n = 0;
  std::vector<const json*> stack;
  for (const auto& node : doc["tree"]) stack.push_back(&node);
  while (!stack.empty()) {
    const json* node = stack.back();
    stack.pop_back();
    ++n;
    for (const auto& c : (*node)["children"]) stack.push_back(&c);
  }
  return n;
}

std::string make_db(const std::string& name, const char* sql) {
  const std::string path = test::temp_dir() + "/" + name;
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
  return path;
}

const char* kSchema =
    "CREATE TABLE traces (trace_id TEXT PRIMARY KEY, service_name TEXT, root_span_id TEXT, start_time TIMESTAMP,"
    " end_time TIMESTAMP, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);"
    "CREATE TABLE spans (span_id TEXT PRIMARY KEY, trace_id TEXT REFERENCES traces(trace_id), parent_span_id TEXT,"
    " name TEXT, start_time TIMESTAMP, end_time TIMESTAMP, attributes TEXT, status TEXT, kind TEXT);"
    "CREATE TABLE span_events (id INTEGER PRIMARY KEY AUTOINCREMENT, span_id TEXT REFERENCES spans(span_id),"
    " name TEXT, timestamp TIMESTAMP, attributes TEXT);";

// Two traces whose ids share the prefix "abcdef".
const std::string& ambiguous_db() {
  static const std::string path = [] {
    const std::string sql = std::string(kSchema) +
        "INSERT INTO traces VALUES ('abcdef01000000000000000000000001', 'svc', '1111111111111111',"
        " '2025-06-02T08:00:00+00:00', '2025-06-02T08:00:01+00:00', '2025-06-02 08:00:00');"
        "INSERT INTO traces VALUES ('abcdef02000000000000000000000002', 'svc', '2222222222222222',"
        " '2025-06-02T09:00:00+00:00', '2025-06-02T09:00:02+00:00', '2025-06-02 09:00:00');"
        "INSERT INTO spans VALUES ('1111111111111111', 'abcdef01000000000000000000000001', NULL, 'first',"
        " '2025-06-02T08:00:00+00:00', '2025-06-02T08:00:01+00:00', '{\"__ttl__\": 604800}', 'OK', 'INTERNAL');"
        "INSERT INTO spans VALUES ('2222222222222222', 'abcdef02000000000000000000000002', NULL, 'second',"
        " '2025-06-02T09:00:00+00:00', '2025-06-02T09:00:02+00:00', '{\"__ttl__\": 604800}', 'OK', 'INTERNAL');";
    return make_db("ambiguous.db", sql.c_str());
  }();
  return path;
}

void set_mtime(const std::string& path, time_t seconds) {
  struct timeval times[2] = {{seconds, 0}, {seconds, 0}};
  REQUIRE(utimes(path.c_str(), times) == 0);
}

void make_dirs(const std::string& path) {
  std::string partial;
  size_t pos = 0;
  while ((pos = path.find('/', pos + 1)) != std::string::npos) {
    partial = path.substr(0, pos);
    mkdir(partial.c_str(), 0755);
  }
  mkdir(path.c_str(), 0755);
}

}  // namespace

// ------------------------------------------------------------------------------------ list

TEST_CASE("list --json: every trace, the contract keys, counts as SQL sees them", "[cli]") {
  const auto& db = test::cli_db();
  Sql sql(db.path);
  const json all = cli_json({"list", "--limit", "0"});
  REQUIRE(all.is_array());
  const int64_t distinct =
      sql.integer("SELECT COUNT(*) FROM (SELECT trace_id FROM traces UNION SELECT trace_id FROM spans)");
  CHECK(static_cast<int64_t>(all.size()) == distinct);
  CHECK(all.size() == db.summary.distinct_traces);

  for (const char* key : {"trace_id", "root_span_id", "name", "service", "start", "end", "duration_ms",
                          "span_count", "error_count", "incomplete"}) {
    INFO(key);
    CHECK(all[0].contains(key));
  }
  std::map<std::string, int64_t> spans_per_trace, errors_per_trace;
  for (const auto& row : sql.rows("SELECT trace_id, COUNT(*) FROM spans GROUP BY trace_id")) {
    spans_per_trace[row[0]] = std::stoll(row[1]);
  }
  for (const auto& row : sql.rows(std::string("SELECT trace_id, COUNT(*) FROM spans WHERE ") + kFailedSpanSql +
                                  " GROUP BY trace_id")) {
    errors_per_trace[row[0]] = std::stoll(row[1]);
  }
  for (const auto& t : all) {
    const std::string id = t["trace_id"];
    INFO(id);
    CHECK(t["span_count"].get<int64_t>() == spans_per_trace[id]);
    CHECK(t["error_count"].get<int64_t>() == errors_per_trace[id]);
  }

  const json* agent = find_trace(all, special("agent_tools"));
  REQUIRE(agent);
  CHECK((*agent)["name"] == "create_agent_turn");
  CHECK((*agent)["span_count"] == AgentToolsCase::kSpanCount);
  CHECK((*agent)["duration_ms"].get<double>() == Approx(static_cast<double>(AgentToolsCase::kRootMs)));
  CHECK((*agent)["incomplete"] == false);
  CHECK((*agent)["root_span_id"] ==
        sql.text("SELECT root_span_id FROM traces WHERE trace_id = " + quoted(special("agent_tools"))));
  const json* null_root = find_trace(all, special("null_root"));
  REQUIRE(null_root);
  CHECK((*null_root)["incomplete"] == true);
}

TEST_CASE("list: newest first, --limit default 20, --offset pages", "[cli]") {
  const json all = cli_json({"list", "--limit", "0"});
  for (size_t i = 1; i < all.size(); ++i) {
    const auto a = parse_timestamp(all[i - 1]["start"].get<std::string>());
    const auto b = parse_timestamp(all[i]["start"].get<std::string>());
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->ns >= b->ns);
  }
  CHECK(cli_json({"list"}).size() == 20);
  const json page = cli_json({"list", "--limit", "5", "--offset", "5"});
  REQUIRE(page.size() == 5);
  for (size_t i = 0; i < 5; ++i) CHECK(page[i]["trace_id"] == all[5 + i]["trace_id"]);
}

TEST_CASE("list --filter and --order-by go through the core query", "[cli]") {
  const auto& db = test::cli_db();
  Sql sql(db.path);
  const json agent = cli_json({"list", "--filter", std::string("agent_id=") + AgentToolsCase::kAgentId});
  const int64_t expected = sql.integer(
      std::string("SELECT COUNT(DISTINCT trace_id) FROM spans WHERE json_valid(attributes) AND "
                  "json_extract(attributes, '$.agent_id') = ") + quoted(AgentToolsCase::kAgentId));
  REQUIRE(static_cast<int64_t>(agent.size()) == expected);
  CHECK(agent[0]["trace_id"] == special("agent_tools"));

  const json most = cli_json({"list", "--order-by", "-span_count", "--limit", "1"});
  REQUIRE(most.size() == 1);
  CHECK(most[0]["span_count"].get<int64_t>() ==
        sql.integer("SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM spans GROUP BY trace_id)"));

  const CliResult bad = cli_text({"list", "--filter", "=novalue"});
  CHECK(bad.code == 2);
  CHECK(contains(bad.err, "--filter"));
}

TEST_CASE("list: human table, colour only on a terminal without NO_COLOR", "[cli]") {
  const CliResult r = cli_text({"list", "--limit", "0", "--details"});
  REQUIRE(r.code == 0);
  const std::string header = r.out.substr(0, r.out.find('\n'));
  for (const char* h : {"START", "TRACE ID", "NAME", "SPANS", "ERRORS", "DURATION", "SERVICE", "ROOT SPAN", "FLAGS"}) {
    INFO(h);
    CHECK(contains(header, h));
  }
  CHECK_FALSE(has_ansi(r.out));
  // The agent turn's row: full id, its duration, its span count.
  std::istringstream lines(r.out);
  std::string line, agent_line, null_root_line;
  while (std::getline(lines, line)) {
    if (contains(line, special("agent_tools"))) agent_line = line;
    if (contains(line, special("null_root"))) null_root_line = line;
  }
  CHECK(contains(agent_line, "create_agent_turn"));
  CHECK(contains(agent_line, std::to_string(AgentToolsCase::kRootMs) + ".0 ms"));
  CHECK(contains(agent_line, " " + std::to_string(AgentToolsCase::kSpanCount) + " "));
  CHECK(contains(null_root_line, "incomplete"));
  CHECK(contains(null_root_line, "null_root"));

  cli::CliEnv tty = plain_env();
  tty.is_tty = true;
  CHECK(has_ansi(cli_text({"list"}, tty).out));
  tty.no_color = true;
  CHECK_FALSE(has_ansi(cli_text({"list"}, tty).out));
  tty.no_color = false;
  const CliResult json_on_tty = cli_text({"list", "--json"}, tty);
  CHECK_FALSE(has_ansi(json_on_tty.out));
  CHECK(json::accept(json_on_tty.out));
}

TEST_CASE("list: a narrow terminal cuts names, not ids", "[cli]") {
  cli::CliEnv env = plain_env();
  env.width = 90;
  const CliResult r = cli_text({"list", "--limit", "0"}, env);
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "…"));
  const json all = cli_json({"list", "--limit", "0"});
  for (const auto& t : all) CHECK(contains(r.out, t["trace_id"].get<std::string>()));
}

// ------------------------------------------------------------------------------------ show

TEST_CASE("show --json: the tree of the agent turn", "[cli]") {
  const auto& db = test::cli_db();
  Sql sql(db.path);
  const std::string id = special("agent_tools");
  const json doc = cli_json({"show", id});
  CHECK(doc["trace_id"] == id);
  CHECK(doc["spans"] == AgentToolsCase::kSpanCount);
  CHECK(count_tree_nodes(doc) == AgentToolsCase::kSpanCount);
  REQUIRE(doc["tree"].size() == 1);
  CHECK(doc["tree"][0]["name"] == "create_agent_turn");
  const std::string root = sql.text("SELECT root_span_id FROM traces WHERE trace_id = " + quoted(id));
  CHECK(doc["tree"][0]["span_id"] == root);
  CHECK(static_cast<int64_t>(doc["tree"][0]["children"].size()) ==
        sql.integer("SELECT COUNT(*) FROM spans WHERE parent_span_id = " + quoted(root)));

  const json shallow = cli_json({"show", id, "--max-depth", "1"});
  CHECK(shallow["tree"][0]["children"].empty());
  const json two = cli_json({"show", id, "--max-depth", "2"});
  CHECK(count_tree_nodes(two) ==
        1 + static_cast<size_t>(sql.integer("SELECT COUNT(*) FROM spans WHERE parent_span_id = " + quoted(root))));
}

TEST_CASE("show: unique prefixes and upper case resolve to the trace", "[cli]") {
  const std::string id = special("agent_tools");
  const json full = cli_json({"show", id});
  CHECK(cli_json({"show", id.substr(0, 8)}) == full);
  std::string upper = id;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
  CHECK(cli_json({"show", upper}) == full);
  // A trace whose ids are not lower-case hex is found by its stored text.
  const json bad_ids = cli_json({"show", special("bad_ids")});
  CHECK(bad_ids["trace_id"] == special("bad_ids"));
}

TEST_CASE("show: human tree with box drawing, durations, offsets", "[cli]") {
  const CliResult r = cli_text({"show", special("agent_tools")});
  REQUIRE(r.code == 0);
  CHECK_FALSE(has_ansi(r.out));
  CHECK(contains(r.out, special("agent_tools")));
  CHECK(contains(r.out, "├─ "));
  CHECK(contains(r.out, "└─ "));
  CHECK(contains(r.out, "│  "));
  CHECK(contains(r.out, "create_agent_turn"));
  // tool_execution lasts kToolMs; the first inference kInference1Ms.
  std::istringstream lines(r.out);
  std::string line;
  int tool_lines = 0;
  while (std::getline(lines, line)) {
    if (contains(line, "─ tool_execution")) {
      ++tool_lines;
      CHECK(contains(line, std::to_string(AgentToolsCase::kToolMs) + ".0 ms"));
    }
  }
  CHECK(tool_lines == 1);
  CHECK(contains(r.out, std::to_string(AgentToolsCase::kInference1Ms) + ".0 ms"));
  CHECK_FALSE(contains(r.out, "✗"));

  const CliResult attrs = cli_text({"show", special("agent_tools"), "--attributes"});
  CHECK(contains(attrs.out, std::string("agent_name: ") + AgentToolsCase::kAgentName));
  CHECK(contains(attrs.out, "event metric.prompt_tokens"));

  cli::CliEnv tty = plain_env();
  tty.is_tty = true;
  CHECK(has_ansi(cli_text({"show", special("agent_tools")}, tty).out));
}

TEST_CASE("show: failed spans carry ✗ and their error text; orphans and remote parents are flagged", "[cli]") {
  const auto& db = test::cli_db();
  Sql sql(db.path);
  const std::string id = special("error_attribute");
  const CliResult r = cli_text({"show", id});
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "✗"));
  const std::string error = sql.text(
      "SELECT json_extract(attributes, '$.error') FROM spans WHERE trace_id = " + quoted(id) +
      " AND json_valid(attributes) AND json_type(attributes, '$.error') IS NOT NULL ORDER BY rowid LIMIT 1");
  REQUIRE(!error.empty());
  const std::string start = error.substr(0, std::min<size_t>(error.find('\n'), 30));
  CHECK(contains(r.out, "error: " + start));
  // ✗ lines are as many as the spans SQL calls failed.
  size_t marks = 0;
  for (size_t p = r.out.find("✗"); p != std::string::npos; p = r.out.find("✗", p + 1)) ++marks;
  CHECK(static_cast<int64_t>(marks) ==
        sql.integer(std::string("SELECT COUNT(*) FROM spans WHERE trace_id = ") + quoted(id) + " AND " + kFailedSpanSql));

  CHECK(contains(cli_text({"show", special("orphans")}).out, "[orphan]"));
  CHECK(contains(cli_text({"show", special("remote_parent")}).out, "[remote parent]"));
}

TEST_CASE("show: unknown ids and ambiguous prefixes exit 1 with what to do", "[cli]") {
  const std::string& path = test::cli_db().path;
  const CliResult unknown = cli_text({"show", "ffffffffffffffffffffffffffffffff"});
  CHECK(unknown.code == 1);
  CHECK(contains(unknown.err, "no trace with id ffffffffffffffffffffffffffffffff in " + path));
  CHECK(contains(unknown.err, "tracedrop list"));
  CHECK(unknown.out.empty());

  const CliResult ambiguous = cli_text({"show", "abcdef"}, plain_env(), ambiguous_db());
  CHECK(ambiguous.code == 1);
  CHECK(contains(ambiguous.err, "ambiguous"));
  CHECK(contains(ambiguous.err, "abcdef01000000000000000000000001"));
  CHECK(contains(ambiguous.err, "abcdef02000000000000000000000002"));
  const CliResult unique = cli_text({"show", "abcdef02", "--json"}, plain_env(), ambiguous_db());
  CHECK(unique.code == 0);
  CHECK(parse_json(unique.out)["trace_id"] == "abcdef02000000000000000000000002");
  CHECK(cli_text({"show", "abc"}, plain_env(), ambiguous_db()).code == 1);
}

// ---------------------------------------------------------------------------- conversation

TEST_CASE("conversation --json: the analysis of the agent turn", "[cli]") {
  const json a = cli_json({"conversation", special("agent_tools")});
  CHECK(a["trace_id"] == special("agent_tools"));
  REQUIRE(a["tool_calls"].size() == 1);
  CHECK(a["tool_calls"][0]["tool_name"] == AgentToolsCase::kToolName);
  CHECK(a["tool_calls"][0]["call_id"] == AgentToolsCase::kToolCallId);
  REQUIRE(a["inference_rounds"].size() == 2);
  CHECK(a["inference_rounds"][0]["prompt_tokens"] == AgentToolsCase::kRound1PromptTokens);
  CHECK(a["inference_rounds"][1]["completion_tokens"] == AgentToolsCase::kRound2CompletionTokens);
  CHECK(a["timing"]["total_ms"].get<double>() == Approx(static_cast<double>(AgentToolsCase::kRootMs)));
}

TEST_CASE("conversation: a chat transcript, rounds, shields and timing", "[cli]") {
  const CliResult r = cli_text({"conversation", special("agent_tools")});
  REQUIRE(r.code == 0);
  CHECK_FALSE(has_ansi(r.out));
  for (const std::string& text : {std::string("[system]"), std::string("[user]"), std::string("[assistant]"),
                                 std::string("[tool]"), std::string(AgentToolsCase::kSystemPrompt),
                                 std::string(AgentToolsCase::kUserMessage), std::string(AgentToolsCase::kToolName),
                                 std::string(AgentToolsCase::kToolResult), std::string(AgentToolsCase::kFinalAnswer),
                                 std::string(AgentToolsCase::kModelId), std::string(AgentToolsCase::kShieldId),
                                 std::string("Inference rounds"), std::string("Shields"), std::string("Critical path")}) {
    INFO(text);
    CHECK(contains(r.out, text));
  }
  // The user message precedes the tool result, which precedes the final answer.
  const size_t user = r.out.find(AgentToolsCase::kUserMessage);
  const size_t tool = r.out.find(AgentToolsCase::kToolResult);
  const size_t answer = r.out.find(AgentToolsCase::kFinalAnswer);
  CHECK(user < tool);
  CHECK(tool < answer);
  CHECK(contains(r.out, "total " + std::to_string(AgentToolsCase::kRootMs) + ".0 ms"));

  // Control characters in messages are shown as escapes, never raw.
  const CliResult unicode = cli_text({"conversation", special("unicode")});
  REQUIRE(unicode.code == 0);
  CHECK(contains(unicode.out, "Привет, 世界!"));
  CHECK(contains(unicode.out, "C:\\temp\\ttab"));
}

// ---------------------------------------------------------------------------------- search

TEST_CASE("search --json: the spans holding a text, as SQL finds them", "[cli]") {
  const auto& db = test::cli_db();
  Sql sql(db.path);
  const std::string needle = AgentToolsCase::kToolCallId;
  const json hits = cli_json({"search", needle, "--limit", "0"});
  std::set<std::string> expected;
  for (const auto& row : sql.rows("SELECT span_id FROM spans WHERE instr(attributes, " + quoted(needle) +
                                  ") > 0 UNION SELECT span_id FROM span_events WHERE instr(attributes, " +
                                  quoted(needle) + ") > 0")) {
    expected.insert(row[0]);
  }
  std::set<std::string> got;
  for (const auto& h : hits) {
    for (const char* key : {"trace_id", "span_id", "name", "field", "snippet"}) CHECK(h.contains(key));
    CHECK(h["trace_id"] == special("agent_tools"));
    CHECK(contains(h["snippet"].get<std::string>(), needle));
    got.insert(h["span_id"].get<std::string>());
  }
  CHECK(!expected.empty());
  CHECK(got == expected);
  CHECK(cli_json({"search", "inference"}).size() == 10);
  CHECK(cli_json({"search", "inference", "--limit", "3"}).size() == 3);
}

TEST_CASE("search: table with highlighted matches on a terminal", "[cli]") {
  const CliResult r = cli_text({"search", AgentToolsCase::kToolQuery});
  REQUIRE(r.code == 0);
  const std::string header = r.out.substr(0, r.out.find('\n'));
  for (const char* h : {"TRACE ID", "SPAN ID", "NAME", "FIELD", "SNIPPET"}) CHECK(contains(header, h));
  CHECK(contains(r.out, special("agent_tools")));
  CHECK_FALSE(has_ansi(r.out));
  cli::CliEnv tty = plain_env();
  tty.is_tty = true;
  const CliResult coloured = cli_text({"search", "WEB_SEARCH"}, tty);
  CHECK(contains(coloured.out, "\x1b[1;31mweb_search\x1b[0m"));
  const CliResult none = cli_text({"search", "no such text anywhere 1f2e3d"});
  CHECK(none.code == 0);
  CHECK(contains(none.out, "no span matches"));
}

// ----------------------------------------------------------------------------------- stats

TEST_CASE("stats --json: totals, names and tokens as the generator wrote them", "[cli]") {
  const auto& db = test::cli_db();
  Sql sql(db.path);
  const json s = cli_json({"stats"});
  CHECK(s["traces"] == db.summary.distinct_traces);
  CHECK(s["spans"] == db.summary.span_rows);
  CHECK(s["events"] == db.summary.event_rows);
  CHECK(s["errors"].get<int64_t>() == sql.integer(std::string("SELECT COUNT(*) FROM spans WHERE ") + kFailedSpanSql));
  REQUIRE(s["by_name"].size() == db.summary.spans_by_name.size());
  for (const auto& n : s["by_name"]) {
    INFO(n["name"]);
    CHECK(n["count"] == db.summary.spans_by_name.at(n["name"].get<std::string>()));
  }
  for (const auto& [model, counts] : db.summary.tokens_by_model) {
    INFO(model);
    REQUIRE(s["tokens_by_model"].contains(model));
    CHECK(s["tokens_by_model"][model]["prompt"].get<double>() == Approx(static_cast<double>(counts[0])));
    CHECK(s["tokens_by_model"][model]["total"].get<double>() == Approx(static_cast<double>(counts[2])));
  }
}

TEST_CASE("stats: human summary with the per-name table", "[cli]") {
  const auto& db = test::cli_db();
  const CliResult r = cli_text({"stats"});
  REQUIRE(r.code == 0);
  CHECK_FALSE(has_ansi(r.out));
  CHECK(contains(r.out, "Traces      " + std::to_string(db.summary.distinct_traces)));
  for (const char* h : {"NAME", "COUNT", "ERRORS", "MEAN", "P50", "P95", "MAX", "Tokens by model", "Diagnostics",
                        "orphan_spans"}) {
    INFO(h);
    CHECK(contains(r.out, h));
  }
  for (const auto& [model, counts] : db.summary.tokens_by_model) CHECK(contains(r.out, model));
}

// ------------------------------------------------------------------------------------- sql

TEST_CASE("sql --json: typed cells, truncation", "[cli]") {
  const auto& db = test::cli_db();
  const json count = cli_json({"sql", "SELECT COUNT(*) AS n FROM spans"});
  CHECK(count["columns"] == json::array({"n"}));
  CHECK(count["rows"][0][0].is_number_integer());
  CHECK(count["rows"][0][0] == db.summary.span_rows);
  CHECK(count["truncated"] == false);

  const json typed = cli_json({"sql", "SELECT 1 AS i, 2.5 AS r, 'x' AS t, NULL AS n"});
  CHECK(typed["rows"][0] == json::array({1, 2.5, "x", nullptr}));
  CHECK(typed["rows"][0][1].is_number_float());

  const json cut = cli_json({"sql", "SELECT span_id FROM spans", "--max-rows", "3"});
  CHECK(cut["rows"].size() == 3);
  CHECK(cut["truncated"] == true);
}

TEST_CASE("sql: human table with NULL, row count and truncation note", "[cli]") {
  const CliResult r = cli_text({"sql", "SELECT 'a' AS letter, NULL AS missing, 42 AS answer"});
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "letter"));
  CHECK(contains(r.out, "NULL"));
  CHECK(contains(r.out, "42"));
  CHECK(contains(r.out, "(1 row)"));
  const CliResult cut = cli_text({"sql", "SELECT span_id FROM spans", "--max-rows", "2"});
  CHECK(contains(cut.out, "(2 rows)"));
  CHECK(contains(cut.out, "--max-rows"));
}

TEST_CASE("sql: writes and syntax errors exit 1, the file untouched", "[cli]") {
  const auto& db = test::cli_db();
  const std::string before = test::read_file(db.path);
  for (const char* statement : {"DELETE FROM spans", "DROP TABLE traces", "INSERT INTO traces(trace_id) VALUES ('x')"}) {
    INFO(statement);
    const CliResult r = cli_text({"sql", statement});
    CHECK(r.code == 1);
    CHECK(contains(r.err, "tracedrop: "));
    CHECK(contains(r.err, "read-only"));
    CHECK(r.out.empty());
  }
  CHECK(test::read_file(db.path) == before);
  const CliResult syntax = cli_text({"sql", "SELEC nothing"});
  CHECK(syntax.code == 1);
  CHECK(contains(syntax.err, "SQL error"));
}

// ----------------------------------------------------------------------------------- check

TEST_CASE("check --json: counts, schema, diagnostics", "[cli]") {
  const auto& db = test::cli_db();
  Sql sql(db.path);
  const json c = cli_json({"check"});
  CHECK(c["path"] == db.path);
  CHECK(c["spans"] == db.summary.span_rows);
  CHECK(c["events"] == db.summary.event_rows);
  CHECK(c["traces"] == db.summary.distinct_traces);
  CHECK(c["traces_not_in_table"] == db.summary.traces_not_in_table);
  struct stat st {};
  REQUIRE(::stat(db.path.c_str(), &st) == 0);
  CHECK(c["size_bytes"] == static_cast<uint64_t>(st.st_size));
  CHECK(c["schema"]["has_span_events"] == true);
  CHECK(c["schema"]["extra_tables"].empty());
  std::set<std::string> codes;
  for (const auto& d : c["diagnostics"]) codes.insert(d["code"].get<std::string>());
  CHECK(codes.count("orphan_spans") == 1);
  CHECK(codes.count("null_root_traces") == 1);
  CHECK(codes.count("naive_times") == 1);

  const CliResult human = run_cli({"info", "--db", db.path});
  CHECK(human.code == 0);
  for (const char* text : {"File", "Size", "Traces", "Schema", "Diagnostics", "--naive-tz"}) CHECK(contains(human.out, text));
}

TEST_CASE("check: schema notes and store warnings of the variants", "[cli]") {
  testdata::GenOptions options;
  options.traces = 40;
  options.variant = testdata::GenOptions::Variant::kExtraSchema;
  const auto extra = test::generate_and_load(options, "cli_extra.db");
  const json e = cli_json({"check"}, extra.path);
  CHECK(e["schema"]["extra_tables"] == json::array({"annotations"}));
  CHECK(std::find(e["schema"]["extra_columns"].begin(), e["schema"]["extra_columns"].end(), "spans.extra_col") !=
        e["schema"]["extra_columns"].end());
  CHECK(contains(cli_text({"check"}, plain_env(), extra.path).out, "annotations"));

  options.variant = testdata::GenOptions::Variant::kNoEventsTable;
  const auto no_events = test::generate_and_load(options, "cli_no_events.db");
  const CliResult ne = cli_text({"check", "--json"}, plain_env(), no_events.path);
  CHECK(ne.code == 0);
  CHECK(parse_json(ne.out)["schema"]["has_span_events"] == false);
  CHECK(contains(ne.err, "warning: "));

  options.variant = testdata::GenOptions::Variant::kWalSidecarMissing;
  const auto wal = test::generate_and_load(options, "cli_wal_missing.db");
  const CliResult w = cli_text({"check", "--json"}, plain_env(), wal.path);
  CHECK(w.code == 0);
  CHECK(contains(w.err, "warning: "));
  CHECK(contains(w.err, "-wal"));
  const json wj = parse_json(w.out);
  REQUIRE(!wj["warnings"].empty());
  CHECK(wj["warnings"][0]["code"] == "wal_missing");
  // Every command repeats the store's warnings on stderr.
  const CliResult listed = cli_text({"list"}, plain_env(), wal.path);
  CHECK(listed.code == 0);
  CHECK(contains(listed.err, "warning: "));
  CHECK_FALSE(contains(listed.out, "warning"));
}

// ---------------------------------------------------------------------- errors and usage

TEST_CASE("bad files exit 1 with the core's message naming the file", "[cli]") {
  const std::string missing = test::temp_dir() + "/does-not-exist.db";
  const CliResult m = run_cli({"--db", missing, "list"});
  CHECK(m.code == 1);
  CHECK(contains(m.err, "tracedrop: "));
  CHECK(contains(m.err, missing));
  CHECK(m.out.empty());

  const CliResult dir = run_cli({"--db", test::temp_dir(), "stats"});
  CHECK(dir.code == 1);
  CHECK(contains(dir.err, "directory"));

  const std::string text = test::write_file("cli_not_sqlite.db", std::string(4096, 'x'));
  const CliResult not_sqlite = run_cli({"--db", text, "check"});
  CHECK(not_sqlite.code == 1);
  CHECK(contains(not_sqlite.err, "not a SQLite database"));
}

TEST_CASE("usage errors exit 2 with a usage hint", "[cli]") {
  const std::string& path = test::cli_db().path;
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{}, "missing command"},
      {{"--db", path, "show"}, "needs TRACE_ID"},
      {{"--db", path, "conversation"}, "needs TRACE_ID"},
      {{"--db", path, "search"}, "needs TEXT"},
      {{"--db", path, "sql"}, "needs STATEMENT"},
      {{"--db", path, "list", "--bogus"}, "unknown option '--bogus'"},
      {{"--db", path, "list", "--limit"}, "needs a value"},
      {{"--db", path, "list", "--limit", "ten"}, "whole number"},
      {{"--db", path, "stats", "extra"}, "takes no argument"},
      {{"--db", path, "show", "a", "b"}, "unexpected argument"},
      {{"--db", path, "show", "abcdef", "--max-depth", "0"}, "--max-depth"},
      {{"--db", path, "--naive-tz", "bogus", "list"}, "invalid --naive-tz 'bogus'"},
      {{"--db", path, "list", "--naive-tz", "+25:99"}, "invalid --naive-tz"},
      {{"--db"}, "needs a value"},
  };
  for (const auto& c : cases) {
    INFO(c.message);
    const CliResult r = run_cli(c.args);
    CHECK(r.code == 2);
    CHECK(contains(r.err, c.message));
    CHECK(contains(r.err, "Usage: tracedrop"));
    CHECK(r.out.empty());
  }
}

TEST_CASE("--version, --help, help COMMAND, COMMAND --help", "[cli]") {
  const CliResult v = run_cli({"--version"});
  CHECK(v.code == 0);
  CHECK(v.out.rfind("tracedrop ", 0) == 0);
  for (const auto& args : std::vector<std::vector<std::string>>{{"--help"}, {"help"}, {"-h"}}) {
    const CliResult h = run_cli(args);
    CHECK(h.code == 0);
    for (const char* c : {"list", "show", "conversation", "search", "stats", "sql", "check", "TRACEDROP_DB"}) {
      CHECK(contains(h.out, c));
    }
  }
  const CliResult help_list = run_cli({"help", "list"});
  CHECK(help_list.code == 0);
  CHECK(contains(help_list.out, "Usage: tracedrop list"));
  CHECK(contains(help_list.out, "--order-by"));
  const CliResult list_help = run_cli({"list", "--help"});
  CHECK(list_help.out == help_list.out);
  CHECK(run_cli({"help", "nothing"}).code == 2);
}

TEST_CASE("global options are accepted after the command", "[cli]") {
  const std::string& path = test::cli_db().path;
  const CliResult r = run_cli({"list", "--limit", "3", "--json", "--db", path});
  REQUIRE(r.code == 0);
  CHECK(parse_json(r.out).size() == 3);
  CHECK(run_cli({"stats", "--db=" + path, "--json"}).code == 0);
}

TEST_CASE("--naive-tz moves naive times by the offset", "[cli]") {
  const std::string id = special("naive");
  const json utc = cli_json({"list", "--limit", "0"});
  const json shifted = cli_json({"--naive-tz", "+02:00", "list", "--limit", "0"});
  const json* a = find_trace(utc, id);
  const json* b = find_trace(shifted, id);
  REQUIRE(a);
  REQUIRE(b);
  const auto ta = parse_timestamp((*a)["start"].get<std::string>());
  const auto tb = parse_timestamp((*b)["start"].get<std::string>());
  REQUIRE(ta);
  REQUIRE(tb);
  CHECK(ta->ns - tb->ns == 7200LL * 1000000000LL);
  // Traces written with offsets do not move.
  const json* c = find_trace(shifted, special("agent_tools"));
  REQUIRE(c);
  CHECK((*c)["start"] == (*find_trace(utc, special("agent_tools")))["start"]);
}

// ------------------------------------------------------------------ which database

TEST_CASE("without --db: the newest ~/.llama/distributions/*/trace_store.db, or TRACEDROP_DB", "[cli]") {
  const std::string home = test::temp_dir() + "/cli_home";
  const std::string dists = home + "/.llama/distributions";
  make_dirs(dists + "/a-older");
  make_dirs(dists + "/z-newer");
  make_dirs(dists + "/empty-dist");
  testdata::GenOptions options;
  options.traces = 5;
  options.quirks = false;
  options.seed = 1;
  const std::string older = dists + "/a-older/trace_store.db";
  const std::string newer = dists + "/z-newer/trace_store.db";
  std::string error;
  testdata::GenSummary older_summary, newer_summary;
  REQUIRE(testdata::generate(options, older, &older_summary, &error));
  options.seed = 2;
  options.traces = 7;
  REQUIRE(testdata::generate(options, newer, &newer_summary, &error));
  set_mtime(older, 1700000000);
  set_mtime(newer, 1700000100);

  cli::CliEnv env = plain_env();
  env.home = home;
  const CliResult r = run_cli({"list", "--json", "--limit", "0"}, env);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(contains(r.err, "using " + newer));
  CHECK(parse_json(r.out).size() == newer_summary.distinct_traces);
  CHECK(json::parse(r.out) == cli_json({"list", "--limit", "0"}, newer));

  // Touch the other one: it becomes the choice.
  set_mtime(older, 1700000200);
  const CliResult flipped = run_cli({"list", "--json", "--limit", "0"}, env);
  CHECK(contains(flipped.err, "using " + older));
  CHECK(parse_json(flipped.out).size() == older_summary.distinct_traces);

  // TRACEDROP_DB wins over the search; --db wins over both.
  env.tracedrop_db = newer;
  const CliResult from_env = run_cli({"list", "--json", "--limit", "0"}, env);
  CHECK(contains(from_env.err, "using " + newer));
  CHECK(contains(from_env.err, "TRACEDROP_DB"));
  CHECK(parse_json(from_env.out).size() == newer_summary.distinct_traces);
  const CliResult explicit_db = run_cli({"--db", older, "list", "--json", "--limit", "0"}, env);
  CHECK(parse_json(explicit_db.out).size() == older_summary.distinct_traces);
  CHECK_FALSE(contains(explicit_db.err, "using"));

  // Nothing there: exit 1 saying where it looked and what to do.
  cli::CliEnv empty = plain_env();
  empty.home = test::temp_dir() + "/cli_empty_home";
  make_dirs(empty.home);
  const CliResult none = run_cli({"list"}, empty);
  CHECK(none.code == 1);
  CHECK(contains(none.err, empty.home + "/.llama/distributions"));
  CHECK(contains(none.err, "--db"));
  CHECK(contains(none.err, "TRACEDROP_DB"));
}

// ------------------------------------------------------------------ robustness

TEST_CASE("every command runs on every special trace without failing", "[cli]") {
  const auto& db = test::cli_db();
  for (const auto& [name, ids] : db.summary.special_traces) {
    for (const auto& id : ids) {
      INFO(name << " " << id);
      for (const auto& cmd : std::vector<std::vector<std::string>>{
               {"show", id, "--attributes"}, {"show", id, "--json"}, {"conversation", id},
               {"conversation", id, "--json"}}) {
        const CliResult r = cli_text(cmd);
        CHECK(r.code == 0);
        CHECK(r.err.empty());
        if (cmd.back() == "--json") CHECK(json::accept(r.out));
      }
    }
  }
}

TEST_CASE("stored text cannot drive the terminal", "[cli]") {
  const std::string sql = std::string(kSchema) +
      "INSERT INTO traces VALUES ('abcdef03000000000000000000000003', 'svc', '3333333333333333',"
      " '2025-06-02T08:00:00+00:00', '2025-06-02T08:00:01+00:00', '2025-06-02 08:00:00');"
      "INSERT INTO spans VALUES ('3333333333333333', 'abcdef03000000000000000000000003', NULL,"
      " 'evil' || char(27) || '[31mred' || char(10) || 'next', '2025-06-02T08:00:00+00:00',"
      " '2025-06-02T08:00:01+00:00', '{\"k\": \"v\\u001b[2J\"}', 'OK', 'INTERNAL');";
  const std::string path = make_db("evil.db", sql.c_str());
  for (const auto& cmd : std::vector<std::vector<std::string>>{
           {"list"}, {"show", "abcdef03", "--attributes"}, {"search", "evil"}, {"stats"}, {"sql", "SELECT name FROM spans"}}) {
    const CliResult r = cli_text(cmd, plain_env(), path);
    INFO(cmd[0]);
    CHECK(r.code == 0);
    CHECK(r.out.find('\x1b') == std::string::npos);
    CHECK(contains(r.out, "evil\\x1b[31mred\\nnext"));
  }
}
