// The shapes of Llama Stack traces: agent turns (shields, inference rounds, tool calls),
// chat completions, and the small API roots. Each builder returns a complete TraceRec; the
// quirk cases are made by planning a turn differently or by editing the result.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pyvalue.h"
#include "trace_model.h"

namespace tracedrop::testdata::detail {

struct ModelInfo {
  const char* id;
  const char* resource_id;
  const char* provider;
  const char* adapter;  // class of the provider adapter span
};

struct ToolInfo {
  const char* name;
  const char* toolgroup;
  const char* impl;  // class of the tool runtime span
};

struct AgentProfile {
  std::string agent_id;
  std::string name;  // empty: the turn has no agent_name
  const ModelInfo* model = nullptr;
  std::vector<std::string> shields;     // "code-scanner", "llama-guard"
  std::vector<const ToolInfo*> tools;   // one per toolgroup
};

struct SessionState {
  std::string session_id;
  size_t agent = 0;  // index into the agent pool
  std::vector<PyValue> history;  // messages of earlier turns
  int turns = 0;
  int max_turns = 4;
};

// Duration of a step (list_tools, run_shields, inference, tool_execution): random, or fixed
// (the step's span then lasts exactly duration_us).
struct Deadline {
  int64_t duration_us = 0;  // 0: random
};

struct ToolCallPlan {
  const ToolInfo* tool = nullptr;
  std::string call_id;
  std::string query;
  std::string result;
  bool fail_429 = false;  // the runtime raises: ERROR spans, error log on tool_execution
  Deadline deadline;
};

struct RoundPlan {
  uint64_t prompt_tokens = 0, completion_tokens = 0;  // 0: derived from the text
  Deadline deadline;
};

struct TurnPlan {
  std::string user_message;
  std::vector<ToolCallPlan> tool_calls;  // one per round before the answer
  std::vector<RoundPlan> rounds;         // tool_calls.size() + 1 (filled if empty)
  std::string final_answer;
  enum class Violation { kNone, kInput, kOutput } violation = Violation::kNone;
  bool legacy = false;            // `/alpha/agents/turn/create` root attributes
  bool inference_error = false;   // last round fails: `error` attribute on OK spans
  bool completion_log = false;    // "Turn ... completed in N ms" unstructured_log
  bool force_nested_guard_model = false;  // depth 8 through the llama-guard path
  bool library_client = false;
  std::string turn_id;  // empty: random
  Deadline input_shields, output_shields, list_tools;
  int64_t gap_us = 0;  // fixed gap between top-level steps (deterministic builders)
};

class Shapes {
 public:
  explicit Shapes(Rng& rng);

  // Regular content, drawn at random.
  TraceRec random_agent_turn(int64_t start_us, double snap_p);
  TraceRec random_chat_completion(int64_t start_us, double snap_p);
  TraceRec agent_session(int64_t start_us, double snap_p);
  TraceRec list_models(int64_t start_us, double snap_p);
  TraceRec create_agent(int64_t start_us, double snap_p);
  TraceRec list_tools_api(int64_t start_us, double snap_p);

  // Building blocks for the special cases.
  TurnPlan random_turn_plan(const AgentProfile& agent);
  TraceRec agent_turn(TraceBuilder& b, const AgentProfile& agent, SessionState& session, const TurnPlan& plan);
  TraceRec chat_completion(TraceBuilder& b, const ModelInfo& model, bool stream, const std::string& question,
                           const std::string& answer);
  TraceRec foreign_client_call(int64_t start_us);
  AgentProfile make_agent(const ModelInfo* model, std::vector<std::string> shields, std::vector<const ToolInfo*> tools,
                          std::string name);
  SessionState new_session(size_t agent);
  const ModelInfo& model(size_t i) const;
  const ToolInfo& tool(const char* name) const;
  Rng& rng() { return rng_; }

  std::vector<AgentProfile> agents;
  std::vector<SessionState> sessions;

 private:
  TraceRec finish(TraceBuilder& b);
  size_t random_agent();
  ToolCallPlan random_tool_call(const ToolInfo* tool);
  std::string knowledge_result();

  Rng& rng_;
};

}  // namespace tracedrop::testdata::detail
