// The export benchmark (`tracedrop-bench --export`): our exporters per format against the old
// otel_conversation_exporter.py's approach rebuilt in C++. See bench/README.md.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sessions.h"

namespace bench {

struct ExportRun {
  std::string db;
  int repeat = 0;
  std::map<std::string, std::vector<nlohmann::json>> ours;  // format key -> one result per run
  std::vector<nlohmann::json> baseline;
  std::string load_before, load_after;
};

// Child mode: "export-ours.<format key>" or "export-baseline" (on `sample` traces); the
// session's JSON, or {"error": ...}.
nlohmann::json run_export_child(const std::string& side, const std::string& db, size_t sample);

// Parent mode: `repeat` rounds of every format and the baseline, each in a fresh process;
// prints the table (or JSON). Returns the exit code.
int run_export_parent(const std::string& db, int repeat, size_t sample, bool json);

}  // namespace bench
