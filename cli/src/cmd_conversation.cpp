// `tracedrop conversation`: analyze_conversation() of one trace, as a chat transcript
// followed by the inference rounds, tool calls, shields, tokens, timing and critical path.
#include <algorithm>

#include "commands.h"
#include "database.h"
#include "tracedrop/analysis.h"
#include "tracedrop/views.h"

namespace tracedrop::cli {
namespace {

using Json = nlohmann::json;

constexpr size_t kRoleWidth = 12;
constexpr size_t kMaxMessageLines = 20;  // longer messages are cut (--json has them whole)
constexpr size_t kMaxCellWidth = 80;     // tool arguments/results in the table (the transcript has them)

// A member as text for display: strings as they are, numbers and objects as JSON, "-" for
// null or missing.
std::string field(const Json& obj, const char* key, const std::string& fallback = "-") {
  if (!obj.is_object() || !obj.contains(key) || obj[key].is_null()) return fallback;
  const Json& v = obj[key];
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

const Json& member(const Json& obj, const char* key) {
  static const Json kNull;
  return obj.is_object() && obj.contains(key) ? obj[key] : kNull;
}

// An array member, or an empty array when absent or of another type.
const Json& list_member(const Json& obj, const char* key) {
  static const Json kEmpty = Json::array();
  const Json& v = member(obj, key);
  return v.is_array() ? v : kEmpty;
}

std::string ms_field(const Json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number()) return "-";
  return format_ms(obj[key].get<double>());
}

// Start time relative to the trace start ("+12.0 ms"), from the ISO text in the analysis.
std::string offset_field(const Json& obj, const char* key, TimeNs trace_start) {
  const std::string text = field(obj, key, "");
  const auto t = parse_timestamp(text);
  if (!t) return "-";
  return "+" + format_ms(ns_to_ms(t->ns - trace_start));
}

class ConversationPrinter {
 public:
  ConversationPrinter(Context& ctx, const Model& model, uint32_t trace, const Json& a)
      : ctx_(ctx), st_(ctx.style), model_(model), trace_(trace), a_(a) {}

  void print() {
    header();
    messages();
    rounds();
    tool_calls();
    shields();
    tokens_and_timing();
    critical_path();
    errors();
  }

 private:
  void section(const std::string& title) { ctx_.out << '\n' << st_.bold(title) << '\n'; }

  void header() {
    auto row = [&](const char* label, const std::string& value) {
      ctx_.out << st_.bold(pad(label, 11)) << value << '\n';
    };
    row("Trace", printable(field(a_, "trace_id")));
    row("Name", printable(field(a_, "name")) + " (" + field(a_, "kind") + ")");
    if (member(a_, "agent_id").is_string() || member(a_, "agent_name").is_string()) {
      row("Agent", printable(field(a_, "agent_name")) + " (" + printable(field(a_, "agent_id")) + ")");
    }
    if (member(a_, "session_id").is_string()) row("Session", printable(field(a_, "session_id")));
    if (member(a_, "turn_id").is_string()) row("Turn", printable(field(a_, "turn_id")));
  }

  std::string role_label(const std::string& role) const {
    const std::string label = pad("[" + printable(role) + "]", kRoleWidth);
    if (role == "user") return st_.green(label);
    if (role == "assistant") return st_.cyan(label);
    if (role == "tool") return st_.yellow(label);
    if (role == "system") return st_.dim(label);
    return label;
  }

  // Message text keeps its line breaks; each line is made safe and indented under the label.
  // `suffix` (already styled) ends the last line.
  void print_block(const std::string& first_prefix, const std::string& text, const std::string& suffix = "") {
    const std::string indent(2 + kRoleWidth, ' ');
    size_t start = 0, lines = 0;
    while (start <= text.size()) {
      size_t nl = text.find('\n', start);
      if (nl == std::string::npos) nl = text.size();
      if (lines == kMaxMessageLines) {
        const auto rest = static_cast<size_t>(std::count(text.begin() + static_cast<std::ptrdiff_t>(start), text.end(), '\n')) + 1;
        ctx_.out << indent << st_.dim("… " + std::to_string(rest) + " more lines (--json shows all)") << suffix << '\n';
        return;
      }
      ctx_.out << (lines == 0 ? first_prefix : indent) << printable(text.substr(start, nl - start));
      if (nl == text.size()) ctx_.out << suffix;
      ctx_.out << '\n';
      ++lines;
      start = nl + 1;
    }
  }

  void messages() {
    const Json& list = list_member(a_, "messages");
    section("Messages");
    if (list.empty()) {
      ctx_.out << "  (no messages found in this trace)\n";
      return;
    }
    for (const Json& m : list) {
      const std::string role = field(m, "role", "?");
      const std::string prefix = "  " + role_label(role);
      const std::string content = field(m, "content", "");
      const std::string call_note =
          role == "tool" && !member(m, "call_id").is_null() ? "  " + st_.dim("(call " + field(m, "call_id") + ")") : "";
      bool printed = false;
      if (!content.empty()) {
        print_block(prefix, content, call_note);
        printed = true;
      }
      for (const Json& call : list_member(m, "tool_calls")) {
        const std::string text = "→ " + field(call, "tool_name", "?") + " " + field(call, "arguments", "");
        print_block(printed ? std::string(2 + kRoleWidth, ' ') : prefix, text,
                    "  " + st_.dim("(call " + field(call, "call_id") + ")"));
        printed = true;
      }
      if (!printed) ctx_.out << prefix << st_.dim("(empty)") << '\n';
    }
  }

  TimeNs trace_start() const { return model_.traces[trace_].start; }

  void rounds() {
    const Json& list = list_member(a_, "inference_rounds");
    if (list.empty()) return;
    section("Inference rounds");
    Table t;
    t.add_column("#", true);
    t.add_column("MODEL", false, true);
    t.add_column("START", true);
    t.add_column("DURATION", true);
    t.add_column("PROMPT", true);
    t.add_column("COMPLETION", true);
    t.add_column("TOTAL", true);
    t.add_column("STOP", false, true);
    t.add_column("TOOL CALLS", true);
    for (const Json& r : list) {
      const bool failed = !member(r, "error").is_null();
      t.add_row({{field(r, "index"), "", ""},
                 {printable(field(r, "model")), "", ""},
                 {offset_field(r, "start", trace_start()), "dim", ""},
                 {ms_field(r, "duration_ms"), "", ""},
                 {field(r, "prompt_tokens"), "", ""},
                 {field(r, "completion_tokens"), "", ""},
                 {field(r, "total_tokens"), "", ""},
                 {failed ? "error: " + printable(field(r, "error")) : printable(field(r, "stop_reason")),
                  failed ? "red" : "", ""},
                 {field(r, "tool_calls"), "", ""}});
    }
    t.render(ctx_.out, st_, ctx_.env.width);
  }

  void tool_calls() {
    const Json& list = list_member(a_, "tool_calls");
    if (list.empty()) return;
    section("Tool calls");
    Table t;
    t.add_column("TOOL", false, true);
    t.add_column("START", true);
    t.add_column("DURATION", true);
    t.add_column("ARGUMENTS", false, true);
    t.add_column("RESULT", false, true);
    for (const Json& c : list) {
      const bool failed = member(c, "failed") == Json(true);
      t.add_row({{printable(field(c, "tool_name")), failed ? "red" : "", ""},
                 {offset_field(c, "start", trace_start()), "dim", ""},
                 {ms_field(c, "duration_ms"), "", ""},
                 {truncate_to_width(printable(field(c, "arguments")), kMaxCellWidth), "", ""},
                 {truncate_to_width(failed ? "✗ " + printable(field(c, "error", "failed")) : printable(field(c, "result")),
                                    kMaxCellWidth),
                  failed ? "red" : "", ""}});
    }
    t.render(ctx_.out, st_, ctx_.env.width);
  }

  void shields() {
    const Json& list = list_member(a_, "shields");
    if (list.empty()) return;
    section("Shields");
    Table t;
    t.add_column("PHASE");
    t.add_column("SHIELDS", false, true);
    t.add_column("DURATION", true);
    t.add_column("VERDICT", false, true);
    for (const Json& s : list) {
      std::string ids;
      for (const Json& id : list_member(s, "shield_ids")) {
        ids += (ids.empty() ? "" : ", ") + (id.is_string() ? id.get<std::string>() : id.dump());
      }
      std::string verdict = field(s, "verdict", "unknown");
      const bool violation = verdict == "violation";
      if (violation && member(s, "violation").is_object()) {
        verdict += ": " + field(s["violation"], "user_message", "") + " (" + field(s["violation"], "violation_level") + ")";
      }
      t.add_row({{field(s, "phase"), "", ""},
                 {printable(ids.empty() ? "-" : ids), "", ""},
                 {ms_field(s, "duration_ms"), "", ""},
                 {printable(verdict), violation ? "red" : "", ""}});
    }
    t.render(ctx_.out, st_, ctx_.env.width);
  }

  void tokens_and_timing() {
    section("Tokens and timing");
    const Json& tokens = member(a_, "tokens");
    ctx_.out << "  tokens   prompt " << field(tokens, "prompt") << ", completion " << field(tokens, "completion")
             << ", total " << field(tokens, "total") << '\n';
    const Json& timing = member(a_, "timing");
    ctx_.out << "  time     total " << ms_field(timing, "total_ms") << ": inference " << ms_field(timing, "inference_ms")
             << ", tools " << ms_field(timing, "tools_ms") << ", shields " << ms_field(timing, "shields_ms")
             << ", other " << ms_field(timing, "other_ms") << '\n';
  }

  void critical_path() {
    const Json& path = list_member(member(a_, "timing"), "critical_path");
    if (path.empty()) return;
    section("Critical path");
    Table t;
    t.add_column("SPAN", false, true);
    t.add_column("START", true);
    t.add_column("DURATION", true);
    t.add_column("SELF", true);
    for (const Json& e : path) {
      const Json& d = member(e, "depth");
      const size_t depth = d.is_number_unsigned() ? d.get<size_t>() : 0;
      t.add_row({{std::string(2 * std::min<size_t>(depth, 20), ' ') + printable(field(e, "name")), "", ""},
                 {offset_field(e, "start", trace_start()), "dim", ""},
                 {ms_field(e, "duration_ms"), "", ""},
                 {ms_field(e, "self_ms"), "", ""}});
    }
    t.render(ctx_.out, st_, ctx_.env.width);
  }

  void errors() {
    const Json& list = list_member(a_, "errors");
    if (list.empty()) return;
    section("Errors");
    for (const Json& e : list) {
      ctx_.out << "  " << st_.red("✗ " + printable(field(e, "name"))) << " " << st_.dim(field(e, "span_id")) << '\n';
      print_block(std::string(2 + kRoleWidth, ' '), field(e, "message", ""));
    }
  }

  Context& ctx_;
  const Style& st_;
  const Model& model_;
  uint32_t trace_;
  const Json& a_;
};

}  // namespace

int run_conversation(Context& ctx) {
  auto db = open_database(ctx, true);
  if (!db.is_ok()) return fail(ctx, db.status());
  const Model& model = *db->model;
  auto trace = resolve_trace(model, ctx.inv.positional, db->path);
  if (!trace.is_ok()) return fail(ctx, trace.status());
  auto analysis = analyze_conversation(model, *trace);
  if (!analysis.is_ok()) return fail(ctx, analysis.status());
  if (ctx.inv.json) print_json(ctx, *analysis);
  else ConversationPrinter(ctx, model, *trace, *analysis).print();
  return kExitOk;
}

}  // namespace tracedrop::cli
