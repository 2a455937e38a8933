#include "args.h"

#include <algorithm>
#include <cstdlib>

namespace tracedrop::cli {
namespace {

const std::vector<CommandSpec>& build_specs() {
  static const std::vector<CommandSpec> specs = {
      {Command::kList, "list", nullptr, nullptr, false, false, "List traces, newest first",
       {{"--limit", "N", "show at most N traces (default 20; 0 = all)"},
        {"--offset", "N", "skip the first N traces"},
        {"--details", nullptr, "add service, root span id and incomplete reasons"},
        {"--filter", "EXPR", "KEY=VALUE, KEY!=VALUE, KEY>VALUE or KEY<VALUE on a span's attributes "
                             "(repeatable; all must hold on the same span)"},
        {"--order-by", "FIELD", "sort by FIELD, or -FIELD for descending (repeatable): trace_id, "
                                "root_span_id, start_time, end_time, duration, name, service_name, "
                                "span_count, error_count"}},
       "Traces without a root span (root_span_id NULL) are listed too, marked `incomplete`;\n"
       "`!` marks traces with failed spans."},
      {Command::kShow, "show", nullptr, "TRACE_ID", false, false, "Show one trace as a span tree",
       {{"--attributes", nullptr, "print each span's attributes and events"},
        {"--max-depth", "N", "show N levels of spans (1 = the roots alone)"}},
       "TRACE_ID may be a unique prefix of at least 6 characters.\n"
       "Each span shows its duration and its start relative to the trace start; `✗` marks a\n"
       "failed span (ERROR status or an `error` attribute) with the error text below it."},
      {Command::kConversation, "conversation", "conv", "TRACE_ID", false, false,
       "Show an agent turn as a conversation: messages, tool calls, timing",
       {},
       "TRACE_ID may be a unique prefix of at least 6 characters."},
      {Command::kSearch, "search", nullptr, "TEXT", true, false,
       "Search span names, attributes and events (case-insensitive)",
       {{"--limit", "N", "show at most N matching spans (default 10; 0 = all)"}},
       "Several words are searched as one text (\"a b\"). Use `--` before a TEXT that starts\n"
       "with `-`."},
      {Command::kStats, "stats", nullptr, nullptr, false, false,
       "Statistics: counts, errors, durations per span name, tokens per model", {}, ""},
      {Command::kSql, "sql", nullptr, "STATEMENT", true, false,
       "Run one read-only SQL statement against the file",
       {{"--max-rows", "N", "keep at most N rows (default 1000)"}},
       "Tables: traces, spans, span_events (see docs/cli.md). Statements that would write are\n"
       "refused: the file is never modified."},
      {Command::kCheck, "check", "info", nullptr, false, false,
       "Check the file: counts, schema notes, warnings, diagnostics", {},
       "Exits 0 even when problems are reported: they describe the data, not a failure."},
      {Command::kExport, "export", nullptr, nullptr, false, false,
       "Export traces to OTLP JSON, OTLP JSON Lines or Jaeger JSON (optionally gzip)",
       {{"--output", "FILE", "the file to write (required). A name ending in .gz is written "
                             "gzip-compressed"},
        {"--format", "FORMAT", "otlp-json (default), otlp-jsonl (default for a .jsonl name) or jaeger"},
        {"--compress", nullptr, "gzip the output; `.gz` is added to FILE when it lacks it"},
        {"--compress-level", "N", "gzip level: 1 (default) is tracedrop's own fast deflate; 2-9 are "
                                  "zlib's: smaller files, several times slower"},
        {"--days", "DAYS", "only traces started within the last DAYS days (fractions allowed)"},
        {"--since", "TIME", "only traces started at or after TIME (2025-06-02, 2025-06-02T08:00, "
                            "...; UTC unless TIME has an offset)"},
        {"--until", "TIME", "only traces started before TIME"},
        {"--trace", "ID", "only this trace (repeatable; a unique prefix of 6+ characters is enough)"},
        {"--filter", "EXPR", "KEY=VALUE, KEY!=VALUE, KEY>VALUE or KEY<VALUE (or \"KEY eq|ne|gt|lt "
                             "VALUE\") on a span's attributes (repeatable; all must hold on the same span)"},
        {"--conversations", nullptr, "only traces that look like conversations (agent turns, "
                                     "chat completions), as the old exporter did"},
        {"--limit", "N", "export at most N traces, newest first (default 0 = all)"},
        {"--error-status", nullptr, "give ERROR status to spans whose failure is only an `error` "
                                    "attribute (Llama Stack stores them as OK)"}},
       "Writes to a temporary file beside FILE and renames it into place at the end: a failed\n"
       "or interrupted export never leaves a truncated FILE. A summary (traces, spans, bytes,\n"
       "time, skipped traces with their reasons) follows; a progress bar shows on a terminal.\n"
       "The options of the old otel_conversation_exporter.py (--db, --output/-o, --format,\n"
       "--days, --limit, --compress) work as they did. See docs/export.md."},
      {Command::kHelp, "help", nullptr, "COMMAND", false, true, "Show help for a command", {}, ""},
  };
  return specs;
}


bool parse_unsigned(const std::string& text, uint64_t& out) {
  if (text.empty() || text.size() > 19) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  out = std::strtoull(text.c_str(), nullptr, 10);
  return true;
}

const OptionSpec* find_option(const std::vector<OptionSpec>& options, const std::string& name) {
  for (const auto& o : options)
    if (name == o.name) return &o;
  return nullptr;
}

std::string short_alias(const std::string& arg) {
  if (arg == "-h") return "--help";
  if (arg == "-V") return "--version";
  if (arg == "-o") return "--output";  // export; the old exporter's spelling
  return arg;
}

// Everything the parser keeps between two arguments.
class Parser {
 public:
  explicit Parser(const std::vector<std::string>& args) : args_(args) {}

  ParseOutcome run() {
    for (i_ = 0; i_ < args_.size() && !out_.error; ++i_) step(args_[i_]);
    if (!out_.error) finish();
    return std::move(out_);
  }

 private:
  void fail(std::string message) {
    if (!out_.error) out_.error = std::move(message);
  }
  Invocation& inv() { return out_.invocation; }

  void step(const std::string& arg) {
    if (!only_positionals_ && arg == "--") {
      only_positionals_ = true;
    } else if (!only_positionals_ && arg.size() > 1 && arg[0] == '-') {
      option(short_alias(arg));
    } else {
      positional(arg);
    }
  }

  void option(const std::string& arg) {
    std::string name = arg;
    std::optional<std::string> inline_value;
    const size_t eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    const OptionSpec* spec = find_option(global_options(), name);
    if (!spec && inv().command) spec = find_option(inv().command->options, name);
    if (!spec) {
      fail("unknown option '" + name + "'" +
           (inv().command ? " for '" + std::string(inv().command->name) + "'" : std::string()));
      return;
    }
    std::string value;
    if (spec->value) {
      if (inline_value) {
        value = *inline_value;
      } else if (i_ + 1 < args_.size()) {
        value = args_[++i_];
      } else {
        fail("option " + name + " needs a value (" + spec->value + ")");
        return;
      }
    } else if (inline_value) {
      fail("option " + name + " takes no value");
      return;
    }
    record(*spec, name, value);
  }

  void record(const OptionSpec& spec, const std::string& name, const std::string& value) {
    if (name == "--help") inv().help = true;
    else if (name == "--version") inv().version = true;
    else if (name == "--json") inv().json = true;
    else if (name == "--db") inv().db = value;
    else if (name == "--naive-tz") inv().naive_tz = value;
    if (spec.value && std::string(spec.value) == "N") {
      uint64_t n = 0;
      if (!parse_unsigned(value, n)) {
        fail("option " + name + " needs a whole number >= 0, not '" + value + "'");
        return;
      }
      inv().numbers[name] = n;
    }
    inv().options[name].push_back(value);
  }

  void positional(const std::string& arg) {
    if (!inv().command) {
      inv().command = find_command(arg);
      if (!inv().command) fail("unknown command '" + arg + "'");
      return;
    }
    const CommandSpec& cmd = *inv().command;
    if (!cmd.positional) {
      fail("'" + std::string(cmd.name) + "' takes no argument (got '" + arg + "')");
    } else if (positional_count_ > 0 && !cmd.join_words) {
      fail("unexpected argument '" + arg + "' (" + cmd.name + " takes one " + cmd.positional + ")");
    } else {
      if (positional_count_ > 0) inv().positional += ' ';
      inv().positional += arg;
      ++positional_count_;
    }
  }

  void finish() {
    const CommandSpec* cmd = inv().command;
    if (inv().help || inv().version) return;
    if (!cmd) {
      fail("missing command");
    } else if (cmd->positional && !cmd->positional_optional && positional_count_ == 0) {
      fail("'" + std::string(cmd->name) + "' needs " + cmd->positional);
    } else if (cmd->id == Command::kHelp && positional_count_ > 0 && !find_command(inv().positional)) {
      fail("unknown command '" + inv().positional + "'");
    } else if (inv().has("--max-depth") && inv().number("--max-depth", 0) == 0) {
      fail("option --max-depth needs a number >= 1 (1 = the roots alone)");
    }
  }

  const std::vector<std::string>& args_;
  size_t i_ = 0;
  bool only_positionals_ = false;
  size_t positional_count_ = 0;
  ParseOutcome out_;
};

std::string option_usage(const OptionSpec& o) {
  if (std::string(o.name) == "--output") return "-o FILE";  // export's one required option
  std::string s = std::string("[") + o.name;
  if (o.value) s += std::string(" ") + o.value;
  s += "]";
  const std::string name = o.name;
  if (name == "--filter" || name == "--order-by" || name == "--trace") s += "...";
  return s;
}

// Words of `text` wrapped to `width` columns, lines after the first indented by `indent`.
std::string wrap(const std::string& text, size_t indent, size_t width) {
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  return out + line;
}

void print_options(std::ostream& out, const std::vector<OptionSpec>& options) {
  constexpr size_t kHelpColumn = 22;
  for (const auto& o : options) {
    std::string left = std::string("  ") + o.name + (o.value ? std::string(" ") + o.value : "");
    if (std::string(o.name) == "--help") left = "  -h, --help";
    if (std::string(o.name) == "--version") left = "  -V, --version";
    if (std::string(o.name) == "--output") left = "  -o, --output FILE";
    left.resize(std::max(left.size() + 2, kHelpColumn), ' ');
    out << left << wrap(o.help, kHelpColumn, 90) << '\n';
  }
}

}  // namespace

const std::vector<CommandSpec>& command_specs() { return build_specs(); }

const std::vector<OptionSpec>& global_options() {
  static const std::vector<OptionSpec> options = {
      {"--db", "PATH", "the trace_store.db to read (default: $TRACEDROP_DB, else the newest "
                       "~/.llama/distributions/*/trace_store.db)"},
      {"--naive-tz", "OFFSET", "UTC offset of times stored without one (files before 2025-03), "
                               "e.g. +02:00 (default UTC)"},
      {"--json", nullptr, "print JSON on stdout instead of text"},
      {"--help", nullptr, "show help"},
      {"--version", nullptr, "show the version"},
  };
  return options;
}

const CommandSpec* find_command(const std::string& name) {
  for (const auto& c : command_specs()) {
    if (name == c.name || (c.alias && name == c.alias)) return &c;
  }
  return nullptr;
}

const std::vector<std::string>& Invocation::all(const std::string& option) const {
  static const std::vector<std::string> kNone;
  auto it = options.find(option);
  return it == options.end() ? kNone : it->second;
}

uint64_t Invocation::number(const std::string& option, uint64_t fallback) const {
  auto it = numbers.find(option);
  return it == numbers.end() ? fallback : it->second;
}

ParseOutcome parse_command_line(const std::vector<std::string>& args) { return Parser(args).run(); }

std::string usage_line(const CommandSpec* command) {
  if (!command) return "Usage: tracedrop [--db PATH] [--naive-tz OFFSET] [--json] COMMAND [ARGS...]";
  std::string s = std::string("Usage: tracedrop ") + command->name;
  if (command->positional) {
    s += command->positional_optional ? std::string(" [") + command->positional + "]"
                                      : std::string(" ") + command->positional;
  }
  for (const auto& o : command->options) s += " " + option_usage(o);
  if (command->id != Command::kHelp) s += " [--json]";
  return s;
}

void print_main_help(std::ostream& out) {
  out << "tracedrop " << TRACEDROP_VERSION
      << " - read Llama Stack trace_store.db telemetry files\n\n"
      << usage_line(nullptr) << "\n\nCommands:\n";
  for (const auto& c : command_specs()) {
    std::string left = std::string("  ") + c.name;
    left.resize(17, ' ');
    out << left << c.summary << (c.alias ? std::string(" (alias: ") + c.alias + ")" : "") << '\n';
  }
  out << "\nGlobal options (also accepted after the command):\n";
  print_options(out, global_options());
  out << "\nEnvironment: TRACEDROP_DB (database when --db is not given), NO_COLOR (no colours).\n"
      << "Exit status: 0 ok, 1 error (bad input or file), 2 usage error.\n"
      << "Run 'tracedrop COMMAND --help' for a command's options.\n";
}

void print_command_help(std::ostream& out, const CommandSpec& command) {
  out << usage_line(&command) << "\n\n" << command.summary << ".\n";
  if (command.details && *command.details) out << '\n' << command.details << '\n';
  if (!command.options.empty()) {
    out << "\nOptions:\n";
    print_options(out, command.options);
  }
  out << "\nGlobal options: --db PATH, --naive-tz OFFSET, --json (see 'tracedrop --help').\n";
}

}  // namespace tracedrop::cli
