// Turns the sessions' raw figures into medians, a table for people and JSON for machines.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sessions.h"

namespace bench {

struct RunRecord {
  std::string db;
  int repeat = 0;
  std::vector<Needle> needles;
  std::vector<nlohmann::json> ours, baseline;  // one session result per run
  std::string load_before, load_after;
};

// Targets, printed next to the figures (not asserted).
constexpr double kTargetSpansPerSecond = 1e6;
constexpr double kTargetListReadyMs = 2000;  // for a 1 GB file
constexpr double kBigFileBytes = 0.9 * 1024 * 1024 * 1024;  // "a 1 GB file" from here on

// Medians of every figure, per side, plus machine facts, targets and the raw samples.
nlohmann::json summarize(const RunRecord& record);
// The human-readable report of a summary.
std::string format_table(const nlohmann::json& summary);

}  // namespace bench
