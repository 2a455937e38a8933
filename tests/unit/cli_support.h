// What the CLI tests share: the small generated database they run commands on, and running
// the CLI in process with its output captured.
#pragma once

#include <string>
#include <vector>

#include "cli.h"
#include "test_support.h"

namespace tracedrop::test {

// Every special trace plus 16 ordinary ones: each CLI run loads the whole file, and there are
// many runs. Generated once per test process; read only.
const Loaded& cli_db();

struct CliResult {
  int code = -1;
  std::string out, err;
};

CliResult run_cli_in(const std::vector<std::string>& args, const cli::CliEnv& env);

}  // namespace tracedrop::test
