// The command-line grammar: which commands and options exist, how a command line is split
// into them, and the usage and help texts generated from the same table.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace tracedrop::cli {

struct OptionSpec {
  const char* name;   // "--limit"
  const char* value;  // metavariable ("N", "PATH") or nullptr for a flag
  const char* help;
};

enum class Command { kNone, kHelp, kList, kShow, kConversation, kSearch, kStats, kSql, kCheck, kExport };

struct CommandSpec {
  Command id;
  const char* name;
  const char* alias;       // another accepted name, or nullptr
  const char* positional;  // "TRACE_ID", ... or nullptr when the command takes none
  bool join_words;         // several words are joined with spaces (search TEXT, sql STATEMENT)
  bool positional_optional;
  const char* summary;
  std::vector<OptionSpec> options;
  const char* details;  // longer help text (may be "")
};

const std::vector<CommandSpec>& command_specs();
const std::vector<OptionSpec>& global_options();
const CommandSpec* find_command(const std::string& name);

// A parsed command line. Option values are kept as given; numbers are already checked.
struct Invocation {
  const CommandSpec* command = nullptr;  // nullptr: no command given
  std::string positional;                // "" when absent (words joined for join_words)
  std::map<std::string, std::vector<std::string>> options;  // "--filter" -> each value ("" for flags)
  std::map<std::string, uint64_t> numbers;                  // options whose value is N
  bool help = false, version = false, json = false;
  std::optional<std::string> db, naive_tz;

  bool has(const std::string& option) const { return options.count(option) != 0; }
  const std::vector<std::string>& all(const std::string& option) const;
  uint64_t number(const std::string& option, uint64_t fallback) const;
};

struct ParseOutcome {
  Invocation invocation;
  std::optional<std::string> error;  // a usage error (exit 2)
};

ParseOutcome parse_command_line(const std::vector<std::string>& args);

// "Usage: tracedrop list [--limit N] ..." for a command (or the general one for nullptr).
std::string usage_line(const CommandSpec* command);
void print_main_help(std::ostream& out);
void print_command_help(std::ostream& out, const CommandSpec& command);

}  // namespace tracedrop::cli
