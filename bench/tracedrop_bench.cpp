// tracedrop-bench: our core (open + model build, then the viewer's operations from the model)
// against the baseline (the SQL the old trace_viewer.py ran) on the same database, in the same
// run. Each side runs in its own fresh process per repetition so peak memory (VmHWM) is its
// own; every figure is the median over the repetitions. See bench/README.md.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_util.h"
#include "export_bench.h"
#include "report.h"
#include "sessions.h"

namespace {

using bench::SessionConfig;

const char kUsage[] =
    "usage: tracedrop-bench --db PATH [--repeat N] [--json] [--export [--sample N]]\n"
    "  --db PATH    the trace_store.db to measure (read only)\n"
    "  --repeat N   runs per side; each figure is the median (default 5)\n"
    "  --json       print the summary (medians, targets, raw samples) as JSON\n"
    "  --export     measure the exporters (per format) against the old exporter's approach\n"
    "  --sample N   traces the export baseline runs on, extrapolated to the file (default 20)\n";

struct Args {
  std::string db;
  int repeat = 5;
  bool json = false;
  bool export_mode = false;
  size_t sample = 20;
  std::string child;  // internal: "ours" or "baseline" runs one session and prints its JSON
  std::vector<std::string> tree_ids;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "tracedrop-bench: %s\n%s", message.c_str(), kUsage);
  return 2;
}

bool parse_args(int argc, char** argv, Args& args, std::string& error) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    auto need = [&](const char* what) {
      if (!value) error = arg + " needs " + what;
      return value != nullptr;
    };
    if (arg == "--db") {
      if (!need("a path")) return false;
      args.db = value;
      ++i;
    } else if (arg == "--repeat") {
      if (!need("a number")) return false;
      args.repeat = std::atoi(value);
      if (args.repeat < 1 || args.repeat > 1000) return error = "--repeat needs a number from 1 to 1000", false;
      ++i;
    } else if (arg == "--json") {
      args.json = true;
    } else if (arg == "--export") {
      args.export_mode = true;
    } else if (arg == "--sample") {
      if (!need("a number")) return false;
      const int n = std::atoi(value);
      if (n < 1 || n > 100000) return error = "--sample needs a number from 1 to 100000", false;
      args.sample = static_cast<size_t>(n);
      ++i;
    } else if (arg == "--child") {  // internal
      if (!need("a side")) return false;
      args.child = value;
      ++i;
    } else if (arg == "--trees") {  // internal: hex-encoded trace ids, comma-separated
      if (!need("ids")) return false;
      for (const auto& hex : bench::split(value, ',')) args.tree_ids.push_back(bench::from_hex(hex));
      ++i;
    } else {
      error = "unknown argument: " + arg;
      return false;
    }
  }
  if (args.db.empty()) return error = "--db is required", false;
  return true;
}

// Child mode: one session, its JSON on stdout.
int run_child(const Args& args) {
  if (args.child.rfind("export", 0) == 0) {
    const nlohmann::json result = bench::run_export_child(args.child, args.db, args.sample);
    std::fputs(result.dump().c_str(), stdout);
    return result.contains("error") ? 1 : 0;
  }
  SessionConfig config;
  config.db = args.db;
  config.tree_trace_ids = args.tree_ids;
  config.needles = bench::default_needles();
  nlohmann::json result;
  if (args.child == "ours") result = bench::run_ours_session(config);
  else if (args.child == "baseline") result = bench::run_baseline_session(config);
  else return usage_error("unknown side: " + args.child);
  std::fputs(result.dump().c_str(), stdout);
  return result.contains("error") ? 1 : 0;
}

// Runs one session in a fresh process; false (message printed) on failure.
bool run_session(const std::string& side, const Args& args, const std::string& trees, nlohmann::json& out) {
  std::vector<std::string> child_args = {"--child", side, "--db", args.db};
  if (!trees.empty()) {
    child_args.push_back("--trees");
    child_args.push_back(trees);
  }
  std::string text, error;
  const bool ok = bench::run_self(child_args, &text, &error);
  out = nlohmann::json::parse(text, nullptr, false);
  if (!ok || out.is_discarded() || out.contains("error")) {
    const std::string why = !out.is_discarded() && out.contains("error") ? out["error"].get<std::string>() : error;
    std::fprintf(stderr, "tracedrop-bench: %s session failed: %s\n", side.c_str(), why.c_str());
    return false;
  }
  return true;
}

std::string join_hex_ids(const nlohmann::json& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id.get<std::string>();
  return out;
}

int run_parent(const Args& args) {
  struct stat st {};
  if (stat(args.db.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return usage_error("no such file: " + args.db);
  bench::RunRecord record;
  record.db = args.db;
  record.repeat = args.repeat;
  record.needles = bench::default_needles();
  bench::warm_page_cache(args.db);
  record.load_before = bench::load_average();
  std::string trees;  // picked by our first session, then used by every session
  for (int r = 0; r < args.repeat; ++r) {
    nlohmann::json ours, base;
    if (!run_session("ours", args, trees, ours)) return 1;
    if (trees.empty()) trees = join_hex_ids(ours["tree_trace_ids_hex"]);
    if (!run_session("baseline", args, trees, base)) return 1;
    std::fprintf(stderr, "run %d/%d: ours list ready %.0f ms, baseline %.0f ms\n", r + 1, args.repeat,
                 ours["ms"]["list_ready"].get<double>(), base["ms"]["list_ready"].get<double>());
    record.ours.push_back(std::move(ours));
    record.baseline.push_back(std::move(base));
  }
  record.load_after = bench::load_average();
  const nlohmann::json summary = bench::summarize(record);
  if (args.json) std::puts(summary.dump(2).c_str());
  else std::fputs(bench::format_table(summary).c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  std::string error;
  if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!parse_args(argc, argv, args, error)) return usage_error(error);
  if (!args.child.empty()) return run_child(args);
  if (args.export_mode) {
    struct stat st {};
    if (stat(args.db.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return usage_error("no such file: " + args.db);
    return bench::run_export_parent(args.db, args.repeat, args.sample, args.json);
  }
  return run_parent(args);
}
