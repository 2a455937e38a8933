// `tracedrop stats`: totals, errors, durations per span name, tokens per model, diagnostics.
#include "commands.h"
#include "database.h"
#include "tracedrop/analysis.h"
#include "tracedrop/views.h"

namespace tracedrop::cli {
namespace {

std::string fixed1(double v) {
  std::string s = format_ms(v);
  return s.substr(0, s.size() - 3);  // drop " ms": the header says the unit
}

void print_totals(Context& ctx, const Stats& s) {
  const Style& st = ctx.style;
  auto row = [&](const char* label, const std::string& value) {
    ctx.out << st.bold(pad(label, 12)) << value << '\n';
  };
  row("Traces", std::to_string(s.traces) + (s.incomplete_traces ? " (" + std::to_string(s.incomplete_traces) + " incomplete)" : ""));
  row("Spans", std::to_string(s.spans) + (s.orphan_spans ? " (" + std::to_string(s.orphan_spans) + " orphans)" : ""));
  row("Events", std::to_string(s.events));
  std::string errors = std::to_string(s.errors);
  if (s.errors) {
    errors = st.red(errors) + " failed spans (ERROR status: " + std::to_string(s.error_status) +
             ", `error` attribute: " + std::to_string(s.error_attribute) + "; a span can have both)";
  }
  row("Errors", errors);
  if (s.has_time_range) row("Time range", format_utc(s.first_start) + " .. " + format_utc(s.last_end) + " UTC");
}

void print_by_name(Context& ctx, const Stats& s) {
  ctx.out << '\n' << ctx.style.bold("Spans by name") << " (durations in ms, most total time first)\n";
  Table table;
  table.add_column("NAME", false, true);
  for (const char* h : {"COUNT", "ERRORS", "MEAN", "P50", "P95", "MAX"}) table.add_column(h, true);
  for (const NameStats& n : s.by_name) {
    table.add_row({{printable(n.name), "", ""},
                   {std::to_string(n.count), "", ""},
                   {std::to_string(n.errors), n.errors ? "red" : "", ""},
                   {fixed1(n.mean_ms), "", ""},
                   {fixed1(n.p50_ms), "", ""},
                   {fixed1(n.p95_ms), "", ""},
                   {fixed1(n.max_ms), "", ""}});
  }
  table.render(ctx.out, ctx.style, ctx.env.width);
}

void print_tokens(Context& ctx, const Stats& s) {
  if (s.tokens_by_model.empty()) return;
  ctx.out << '\n' << ctx.style.bold("Tokens by model") << '\n';
  Table table;
  table.add_column("MODEL", false, true);
  for (const char* h : {"PROMPT", "COMPLETION", "TOTAL", "EVENTS"}) table.add_column(h, true);
  for (const auto& [model, t] : s.tokens_by_model) {
    table.add_row({{model.empty() ? "(no model_id)" : printable(model), "", ""},
                   {format_count(t.prompt), "", ""},
                   {format_count(t.completion), "", ""},
                   {format_count(t.total), "", ""},
                   {std::to_string(t.events), "", ""}});
  }
  table.render(ctx.out, ctx.style, ctx.env.width);
}

}  // namespace

// Diagnostics as a list: code, count, meaning, and a few examples (shared with `check`).
void print_diagnostics(Context& ctx, const std::vector<Diagnostic>& diagnostics) {
  if (diagnostics.empty()) return;
  ctx.out << '\n' << ctx.style.bold("Diagnostics") << '\n';
  for (const Diagnostic& d : diagnostics) {
    ctx.out << "  " << ctx.style.yellow(d.code) << " (" << d.count << "): " << printable(d.message) << '\n';
    for (const auto& e : d.examples) ctx.out << "      " << ctx.style.dim(printable(e)) << '\n';
  }
}

int run_stats(Context& ctx) {
  auto db = open_database(ctx, true);
  if (!db.is_ok()) return fail(ctx, db.status());
  const Model& model = *db->model;
  const Stats stats = compute_stats(model);
  if (ctx.inv.json) {
    print_json(ctx, stats_to_json(model, stats));
    return kExitOk;
  }
  print_totals(ctx, stats);
  print_by_name(ctx, stats);
  print_tokens(ctx, stats);
  print_diagnostics(ctx, model.diagnostics());
  return kExitOk;
}

}  // namespace tracedrop::cli
