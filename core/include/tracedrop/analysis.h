// Statistics over the whole store, and the conversation analysis of one trace.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tracedrop/model.h"
#include "tracedrop/status.h"

namespace tracedrop {

struct NameStats {
  std::string name;
  uint64_t count = 0;
  uint64_t errors = 0;
  double total_ms = 0, mean_ms = 0, p50_ms = 0, p95_ms = 0, max_ms = 0;
};

struct TokenCounts {
  double prompt = 0, completion = 0, total = 0;
  uint64_t events = 0;
};

struct Stats {
  uint64_t traces = 0, spans = 0, events = 0;
  uint64_t errors = 0;             // spans with ERROR status or an `error` attribute
  uint64_t error_status = 0, error_attribute = 0;
  uint64_t incomplete_traces = 0, orphan_spans = 0;
  bool has_time_range = false;
  TimeNs first_start = 0, last_end = 0;
  std::vector<NameStats> by_name;  // by total time, descending
  std::map<std::string, TokenCounts> tokens_by_model;  // "" key for events without model_id
};

Stats compute_stats(const Model& model);
// The `stats --json` contract: traces, spans, events, errors, incomplete_traces, orphan_spans,
// first_start, last_end (ISO UTC), by_name [{name, count, errors, total_ms, mean_ms, p50_ms,
// p95_ms, max_ms}], tokens_by_model {model: {prompt, completion, total}}, diagnostics.
nlohmann::json stats_to_json(const Model& model, const Stats& stats);

// What analyze_conversation_flow promised, for one trace: messages, tool calls, inference
// rounds, shield verdicts, timing breakdown with the critical path. See docs in analysis.cpp.
Result<nlohmann::json> analyze_conversation(const Model& model, uint32_t trace);

}  // namespace tracedrop
