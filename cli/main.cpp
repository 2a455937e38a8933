// The `tracedrop` executable: gathers the process environment and hands over to cli::run().
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "cli.h"

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

int terminal_width(bool is_tty) {
  if (!is_tty) return 0;
  struct winsize ws {};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  const int columns = std::atoi(env_or_empty("COLUMNS").c_str());
  return columns > 0 ? columns : 80;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  tracedrop::cli::CliEnv env;
  env.is_tty = isatty(STDOUT_FILENO) == 1;
  env.err_is_tty = isatty(STDERR_FILENO) == 1;
  env.catch_interrupts = true;
  env.no_color = !env_or_empty("NO_COLOR").empty();
  env.home = env_or_empty("HOME");
  env.width = terminal_width(env.is_tty);
  env.now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  env.tracedrop_db = env_or_empty("TRACEDROP_DB");
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int code = tracedrop::cli::run(args, std::cout, std::cerr, env);
  std::cout.flush();
  return code;
}
