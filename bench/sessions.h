// One measured session per side, each run in its own fresh process: our core (Store + Model)
// and the baseline (the SQL the old trace_viewer.py ran, on a plain SQLite connection).
// A session returns its timings (ms), counts and peak memory as JSON.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_util.h"

namespace bench {

// Wall and CPU milliseconds per operation of one session.
struct Figures {
  nlohmann::json wall = nlohmann::json::object(), cpu = nlohmann::json::object();
  void record(const std::string& key, const Stopwatch& sw) { record(key, sw.wall_ms(), sw.cpu_ms()); }
  void record(const std::string& key, double wall_ms, double cpu_ms) {
    wall[key] = wall_ms;
    cpu[key] = cpu_ms;
  }
};

// A search needle and the short key its figures are stored under.
struct Needle {
  std::string key;   // "weather", "unicode", "nomatch"
  std::string text;  // what is searched
};

struct SessionConfig {
  std::string db;
  size_t list_limit = 20;
  size_t search_limit = 100;
  size_t tree_count = 20;
  std::vector<std::string> tree_trace_ids;  // traces to open; empty: ours picks them
  std::vector<Needle> needles;
};

// The default needles: an ASCII word found often, a non-ASCII one, and one that matches
// nothing (the worst case: every span is examined).
std::vector<Needle> default_needles();

// Both return {"side", "ms": {op: wall ms}, "cpu_ms": {op: CPU ms}, "counts": {...},
// "peak_kb", ...} or {"error": text}.
nlohmann::json run_ours_session(const SessionConfig& config);
nlohmann::json run_baseline_session(const SessionConfig& config);

}  // namespace bench
