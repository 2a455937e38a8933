// The `tracedrop` command line, as a library: tests drive run() in-process with their own
// streams and environment; cli/main.cpp only gathers the real ones.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "tracedrop/time.h"

namespace tracedrop::cli {

// What the process environment says, gathered once by main() (so tests can fake it).
struct CliEnv {
  bool is_tty = false;       // stdout is a terminal
  bool err_is_tty = false;   // stderr is a terminal (progress bars)
  // Long commands (export) catch SIGINT/SIGTERM while they run, to stop cleanly and remove
  // their temporary files. Off in tests and embedders that own the signals.
  bool catch_interrupts = false;
  bool no_color = false;     // NO_COLOR is set to a non-empty value
  std::string home;          // $HOME, "" when unset (default database search)
  int width = 0;             // terminal columns; 0 = unknown: tables are not truncated
  TimeNs now = 0;            // current time, for "3 h ago"
  std::string tracedrop_db;  // $TRACEDROP_DB, "" when unset
};

// Exit codes: documented in docs/cli.md.
enum ExitCode : int { kExitOk = 0, kExitFailure = 1, kExitUsage = 2 };

// Runs one command line (`args` excludes the program name). Results go to `out`; messages,
// warnings and "using <path>" go to `err`. Never throws.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const CliEnv& env);

}  // namespace tracedrop::cli
