// run(): parses the command line, handles help/version/usage errors, and dispatches.
#include "cli.h"

#include <exception>

#include "commands.h"
#include "context.h"

namespace tracedrop::cli {
namespace {

int usage_error(std::ostream& err, const CommandSpec* command, const std::string& message) {
  const bool real_command = command && command->id != Command::kHelp;
  err << "tracedrop: " << message << '\n' << usage_line(real_command ? command : nullptr) << '\n';
  if (!real_command) {
    err << "Commands:";
    for (const auto& c : command_specs()) err << ' ' << c.name;
    err << '\n';
  }
  err      << "Run 'tracedrop " << (real_command ? std::string(command->name) + " " : std::string())
      << "--help' for more.\n";
  return kExitUsage;
}

int print_help(std::ostream& out, const Invocation& inv) {
  const CommandSpec* topic = inv.command;
  if (topic && topic->id == Command::kHelp) topic = inv.positional.empty() ? nullptr : find_command(inv.positional);
  if (topic) print_command_help(out, *topic);
  else print_main_help(out);
  return kExitOk;
}

int dispatch(Context& ctx) {
  switch (ctx.inv.command->id) {
    case Command::kList: return run_list(ctx);
    case Command::kShow: return run_show(ctx);
    case Command::kConversation: return run_conversation(ctx);
    case Command::kSearch: return run_search(ctx);
    case Command::kStats: return run_stats(ctx);
    case Command::kSql: return run_sql(ctx);
    case Command::kCheck: return run_check(ctx);
    case Command::kExport: return run_export(ctx);
    case Command::kHelp:
    case Command::kNone: break;
  }
  return print_help(ctx.out, ctx.inv);
}

int run_checked(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const CliEnv& env) {
  const ParseOutcome parsed = parse_command_line(args);
  const Invocation& inv = parsed.invocation;
  if (parsed.error) return usage_error(err, inv.command, *parsed.error);
  if (inv.version) {
    out << "tracedrop " << TRACEDROP_VERSION << '\n';
    return kExitOk;
  }
  if (inv.help || inv.command->id == Command::kHelp) return print_help(out, inv);
  int64_t naive_offset = 0;
  if (inv.naive_tz) {
    const auto offset = parse_utc_offset(*inv.naive_tz);
    if (!offset) {
      return usage_error(err, inv.command,
                         "invalid --naive-tz '" + *inv.naive_tz +
                             "': give the UTC offset of the machine that wrote the file, such as "
                             "+02:00, -0530, +2 or UTC");
    }
    naive_offset = *offset;
  }
  Context ctx{inv, out, err, env, Style(env.is_tty && !env.no_color && !inv.json), naive_offset};
  return dispatch(ctx);
}

}  // namespace

int fail(Context& ctx, const Status& status) { return fail(ctx, status.message()); }

int fail(Context& ctx, const std::string& message) {
  ctx.err << "tracedrop: " << message << '\n';
  return kExitFailure;
}

int usage_error(Context& ctx, const std::string& message) {
  return usage_error(ctx.err, ctx.inv.command, message);
}

void print_json(Context& ctx, const nlohmann::json& value) {
  ctx.out << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const CliEnv& env) {
  // Nothing may escape: JSON access or allocation failures become an ordinary error exit.
  try {
    return run_checked(args, out, err, env);
  } catch (const std::exception& e) {
    err << "tracedrop: internal error: " << e.what() << '\n';
  } catch (...) {
    err << "tracedrop: internal error\n";
  }
  return kExitFailure;
}

}  // namespace tracedrop::cli
