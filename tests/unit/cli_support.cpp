#include "cli_support.h"

#include <sstream>

namespace tracedrop::test {

const Loaded& cli_db() {
  static const Loaded db = [] {
    testdata::GenOptions options;
    options.traces = testdata::kSpecialTraceCount + 16;
    return generate_and_load(options, "cli.db");
  }();
  return db;
}

CliResult run_cli_in(const std::vector<std::string>& args, const cli::CliEnv& env) {
  std::ostringstream out, err;
  CliResult r;
  r.code = cli::run(args, out, err, env);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace tracedrop::test
