// Deterministic generator of Llama Stack `trace_store.db` files, for tests, benchmarks and the
// site's demo data (the project never depends on real or shared sample files).
//
// It writes the exact Llama Stack schema and value formats (see the format notes in the
// project docs): ids as lowercase hex, ISO 8601 times with `+00:00` whose fraction is absent
// when the microsecond is 0, rows in span END order with traces slightly interleaved, the
// traces row maintained by the same upsert Llama Stack ran, attributes as Python `json.dumps`
// text with `__ttl__` last, token counts as `metric.*` span events.
//
// Same options => same logical content, byte for byte (own PRNG; no clock, no randomness
// source). Only the SQLite C API and the standard library are used.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tracedrop::testdata {

struct GenOptions {
  uint64_t seed = 42;
  // Number of traces (distinct trace ids) to write. Ignored if target_bytes > 0. With quirks,
  // the special traces below are always written, so at least kSpecialTraceCount (+1 for the
  // WAL variants) traces come out.
  uint32_t traces = 200;
  // If > 0: keep writing traces until the database file reaches about this size (with quirks,
  // at least the special traces, about 3 MB).
  uint64_t target_bytes = 0;
  // Include the awkward cases (see GenSummary::special). false: only clean traces.
  bool quirks = true;
  enum class Variant {
    kStandard,          // the schema exactly as Llama Stack creates it
    kNoEventsTable,     // no span_events table (token metrics are then not written at all)
    kExtraSchema,       // extra table `annotations` and extra column `spans.extra_col TEXT`
    kNoPrimaryKey,      // spans table without PRIMARY KEY; one span id written twice
    kWalWithSidecar,    // WAL mode; the last traces live only in the `-wal` file beside it
    kWalSidecarMissing  // WAL mode header, but the `-wal` file was deleted: last traces lost
  } variant = Variant::kStandard;
  std::function<void(double)> progress;  // optional, called with 0..1
};

// Rows written, and the facts tests assert. All counts are exact, by construction.
//
// WAL variants: the last max(1, traces/10) traces (target_bytes mode: everything written
// after the file reached 90% of the target) are written after `PRAGMA journal_mode=WAL`
// without any checkpoint. The `wal_only_*` fields count those rows.
//  - kWalWithSidecar: the counts below include the WAL rows (what a reader that applies the
//    `-wal` sees). Without the sidecar, a reader sees trace_rows - wal_only_trace_rows trace
//    rows (same for spans and events).
//  - kWalSidecarMissing: the counts below are what is left in the file (the visible rows);
//    the `wal_only_*` rows were written and then lost with the deleted `-wal`.
// All special traces are written before the WAL part, so they are visible in both.
struct GenSummary {
  uint64_t trace_rows = 0, span_rows = 0, event_rows = 0;  // rows in each table
  uint64_t distinct_traces = 0;  // distinct trace ids among spans and traces rows
  // traces rows whose root_span_id is NULL (null_root, orphans, foreign-only traces)
  uint64_t null_root_traces = 0;
  uint64_t traces_not_in_table = 0;  // distinct span trace ids without a traces row
  // Spans with a parent_span_id that is not in the file: roots under a remote (W3C
  // traceparent) span, and orphans whose root never ended. Their sum is the count of
  // `parent_span_id IS NOT NULL AND parent not found`.
  uint64_t remote_parent_roots = 0, orphan_spans = 0;
  uint64_t error_status_spans = 0;     // status 'ERROR'
  uint64_t error_attribute_spans = 0;  // attributes with an "error" key (any status)
  uint64_t naive_time_spans = 0;       // spans with naive (offset-less) times
  // spans.start_time/end_time TEXT values without a fraction (microsecond 0), any trace.
  uint64_t no_fraction_times = 0;
  // Attributes that are not valid JSON: truncated text, and bare NaN/Infinity numbers.
  // `json_valid(attributes) = 0` counts exactly bad_json_spans + nan_spans.
  uint64_t bad_json_spans = 0, nan_spans = 0;
  uint64_t duplicate_span_ids = 0;  // span ids written twice (kNoPrimaryKey only)
  uint64_t cycle_spans = 0;         // spans in a parent cycle (A -> B -> A)
  // Spans with a wrongly typed cell: integer/real epoch times, BLOB attributes, or an integer
  // bound as attributes (the TEXT affinity stores it as the text '42': valid JSON, no object).
  uint64_t wrong_type_spans = 0;
  uint64_t null_end_spans = 0;     // end_time NULL
  uint64_t foreign_kind_spans = 0;  // status UNSET or kind other than INTERNAL
  uint64_t bad_id_spans = 0;       // spans of traces whose ids are not lowercase hex
  uint64_t root_spans = 0;         // spans with parent_span_id NULL
  uint64_t metric_events = 0, log_events = 0;  // span_events by kind (metric.* / unstructured_log)
  uint64_t max_depth = 0;  // deepest span chain, root = 1 (8 through the llama-guard shield path)
  // model_id -> {prompt, completion, total}, summed over the metric events written.
  std::map<std::string, std::array<uint64_t, 3>> tokens_by_model;
  std::map<std::string, uint64_t> spans_by_name;
  // Special case name -> (first) trace id; special_traces lists every trace of a case.
  //  null_root        complete traces whose traces.root_span_id is NULL (3)
  //  not_in_table     complete traces with spans but no traces row (2)
  //  remote_parent    roots whose parent_span_id is a remote span not in the file (2)
  //  orphans          root never ended: root row absent, root_span_id NULL, children present (2)
  //  naive            legacy `/alpha/agents/turn/create` turns, naive local times (UTC+2),
  //                   service `llama-stack` (2)
  //  no_fraction      a turn with many times without fraction (1)
  //  error_status     tool call failing with 429: router and runtime spans ERROR + `error`;
  //                   tool_execution OK without output + error unstructured_log (2)
  //  error_attribute  inference failure as an `error` attribute on OK adapter/router spans,
  //                   their parents OK (2)
  //  foreign_kinds    a lone `POST` CLIENT span (UNSET) and a `POST /v1/chat/completions`
  //                   SERVER span (UNSET) parent of a chat completion root (2)
  //  unicode          a turn whose user message is kUnicodeMessage (1)
  //  nan              a span with bare NaN, Infinity and -Infinity attribute values (2)
  //  bad_json         a span whose attributes text is truncated JSON (2)
  //  bad_ids          uppercase/short/non-hex trace and span ids, consistently linked (1)
  //  wrong_types      a chat completion: router start_time INTEGER epoch seconds; get_model
  //                   attributes as a BLOB (valid JSON bytes); adapter attributes the integer
  //                   42 (stored as TEXT '42' by affinity) and end_time a REAL epoch
  //                   (1; wrong_type_spans = 3)
  //  cycle            two spans whose parents point at each other (1; cycle_spans = 2)
  //  no_end           a streaming span with NULL end_time (1)
  //  chat_completion  a clean `/v1/chat/completions` trace (1)
  //  agent_tools      the fully known agent turn of AgentToolsCase (1)
  //  shield_violation output shield violation, then an input shield violation (2)
  //  deep             an agent turn reaching depth 8 through the llama-guard path (1)
  //  duplicate_ids    kNoPrimaryKey only: a trace with one span row written twice (1)
  std::map<std::string, std::string> special;
  std::map<std::string, std::vector<std::string>> special_traces;
  // WAL variants only (see above).
  uint64_t wal_only_trace_rows = 0, wal_only_span_rows = 0, wal_only_event_rows = 0;
  uint64_t file_bytes = 0;  // size of the database file (without sidecars) when done
};

// Number of special traces written when quirks are on (kNoPrimaryKey adds duplicate_ids).
constexpr uint32_t kSpecialTraceCount = 32;

// The user message of the "unicode" case: scripts, emoji (surrogate pairs in JSON), a
// skin-tone modifier, quotes, a backslash, a tab and a newline.
inline constexpr const char* kUnicodeMessage =
    "Привет, 世界! नमस्ते · שלום · 👋🏽🎉 \"quoted\" C:\\temp\ttab\nnew line";

// The "agent_tools" trace: one agent turn whose content and timing are fixed.
// Spans (26): create_agent_turn; ToolGroupsRoutingTable.list_tools; input and output shields
// (run_shields -> run_shield_code-scanner -> SafetyRouter.run_shield -> {ShieldsRoutingTable.
// get_shield, MetaReferenceCodeScannerSafetyImpl.run_shield}); two inference rounds (inference
// -> {InferenceRouter.openai_chat_completion -> {ModelsRoutingTable.get_model,
// OllamaInferenceAdapter.openai_chat_completion}, InferenceRouter.stream_tokens_and_compute_
// metrics_openai_chat}); tool_execution -> ToolRuntimeRouter.invoke_tool ->
// {ToolGroupsRoutingTable.get_provider_impl, TavilySearchToolRuntimeImpl.invoke_tool}.
// Events (6): metric.prompt_tokens/completion_tokens/total_tokens on each stream span.
// Times: the root starts at some T (microsecond part non-zero, so every time has a fraction);
// the top-level children are laid out back to back with 1 ms gaps.
struct AgentToolsCase {
  static constexpr const char* kAgentId = "7f3c2a10-5b6e-4c1d-9a8f-0e2d4b6c8a01";
  static constexpr const char* kSessionId = "1d9e8f70-2a3b-4c5d-8e6f-7a8b9c0d1e2f";
  static constexpr const char* kTurnId = "c0ffee00-1234-4abc-8def-0123456789ab";
  static constexpr const char* kAgentName = "weather-bot";
  static constexpr const char* kSystemPrompt = "You are a helpful assistant.";
  static constexpr const char* kUserMessage = "What's the weather in Zürich tomorrow? ☀️";
  static constexpr const char* kModelId = "llama3.2:3b-instruct-fp16";
  static constexpr const char* kProviderId = "ollama";
  static constexpr const char* kShieldId = "code-scanner";
  static constexpr const char* kToolGroup = "builtin::websearch";
  // Round 1: a tool call.
  static constexpr uint64_t kRound1PromptTokens = 55;
  static constexpr uint64_t kRound1CompletionTokens = 20;
  static constexpr uint64_t kRound1TotalTokens = 75;
  static constexpr const char* kRound1StopReason = "end_of_message";
  static constexpr const char* kToolName = "web_search";
  static constexpr const char* kToolCallId = "5b1f2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d";
  static constexpr const char* kToolQuery = "weather Zürich tomorrow";  // arguments {"query": ...}
  static constexpr const char* kToolResult =
      "Zürich tomorrow: sunny, high 18 °C, low 9 °C, wind 5 km/h.";
  // Round 2: the answer.
  static constexpr uint64_t kRound2PromptTokens = 120;
  static constexpr uint64_t kRound2CompletionTokens = 40;
  static constexpr uint64_t kRound2TotalTokens = 160;
  static constexpr const char* kRound2StopReason = "end_of_turn";
  static constexpr const char* kFinalAnswer =
      "Tomorrow in Zürich it will be sunny with a high of 18 °C and a low of 9 °C. ☀️";
  static constexpr const char* kShieldOutput = "no violations";
  // Durations (end - start) in milliseconds.
  static constexpr int64_t kListToolsMs = 1;
  static constexpr int64_t kShieldMs = 10;      // each run_shields span
  static constexpr int64_t kInference1Ms = 800;  // first `inference` span
  static constexpr int64_t kToolMs = 300;        // `tool_execution`
  static constexpr int64_t kInference2Ms = 1200;  // second `inference` span
  // Root: 1 + list_tools + shield + inf1 + tool + inf2 + shield, with 1 ms between each.
  static constexpr int64_t kRootMs = 7 + kListToolsMs + 2 * kShieldMs + kInference1Ms + kToolMs + kInference2Ms;
  static constexpr uint64_t kSpanCount = 26;
  static constexpr uint64_t kEventCount = 6;
};

// Writes a new SQLite file at `path` (removing an existing one and its -journal/-wal/-shm).
// Returns false and sets *error on failure. `out` may be null.
bool generate(const GenOptions& options, const std::string& path, GenSummary* out, std::string* error);

// Parses/prints variant names as the CLI spells them: standard, no-events, extra-schema,
// no-pk, wal, wal-missing.
bool parse_variant(const std::string& name, GenOptions::Variant* out);
const char* variant_name(GenOptions::Variant variant);

}  // namespace tracedrop::testdata
