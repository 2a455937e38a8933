// `tracedrop check` (alias `info`): open and load the file, then summarise what was found.
// Problems in the data are reported, not failures: the exit code stays 0.
#include "commands.h"
#include "database.h"
#include "tracedrop/analysis.h"

namespace tracedrop::cli {
namespace {


uint64_t traces_not_in_table(const Model& model) {
  uint64_t n = 0;
  for (const auto& t : model.traces) n += t.in_table ? 0 : 1;
  return n;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + printable(s);
  return out;
}

nlohmann::json check_json(const OpenDatabase& db, const Stats& stats) {
  const Model& model = *db.model;
  const SchemaInfo& schema = db.store->schema();
  nlohmann::json warnings = nlohmann::json::array();
  for (const auto& w : db.store->warnings()) warnings.push_back({{"code", w.code}, {"message", w.message}});
  nlohmann::json diagnostics = nlohmann::json::array();
  for (const auto& d : model.diagnostics()) {
    diagnostics.push_back({{"code", d.code}, {"message", d.message}, {"count", d.count}, {"examples", d.examples}});
  }
  return {{"path", db.path},
          {"size_bytes", db.store->file_size()},
          {"attributes", model.reads_in_place() ? "in_place" : model.attributes_in_memory() ? "in_memory" : "on_demand"},
          {"traces", stats.traces},
          {"traces_not_in_table", traces_not_in_table(model)},
          {"incomplete_traces", stats.incomplete_traces},
          {"spans", stats.spans},
          {"events", stats.events},
          {"errors", stats.errors},
          {"orphan_spans", stats.orphan_spans},
          {"first_start", stats.has_time_range ? nlohmann::json(format_iso_utc(stats.first_start)) : nlohmann::json()},
          {"last_end", stats.has_time_range ? nlohmann::json(format_iso_utc(stats.last_end)) : nlohmann::json()},
          {"schema",
           {{"has_span_events", schema.has_span_events},
            {"extra_tables", schema.extra_tables},
            {"extra_columns", schema.extra_columns},
            {"missing_columns", schema.missing_columns}}},
          {"warnings", std::move(warnings)},
          {"diagnostics", std::move(diagnostics)}};
}

void print_summary(Context& ctx, const OpenDatabase& db, const Stats& stats) {
  const Model& model = *db.model;
  const Style& st = ctx.style;
  auto row = [&](const char* label, const std::string& value) {
    ctx.out << st.bold(pad(label, 13)) << value << '\n';
  };
  row("File", printable(db.path));
  row("Size", format_size(db.store->file_size()));
  std::string traces = std::to_string(stats.traces);
  const uint64_t missing_rows = traces_not_in_table(model);
  if (missing_rows || stats.incomplete_traces) {
    traces += " (" + std::to_string(stats.incomplete_traces) + " incomplete, " + std::to_string(missing_rows) +
              " without a traces row)";
  }
  row("Traces", traces);
  row("Spans", std::to_string(stats.spans) + " (" + std::to_string(stats.errors) + " failed, " +
                   std::to_string(stats.orphan_spans) + " orphans)");
  row("Events", std::to_string(stats.events));
  if (stats.has_time_range) {
    row("Time range", format_utc(stats.first_start) + " .. " + format_utc(stats.last_end) + " UTC (last " +
                          format_age(ctx.env.now - stats.last_end) + " ago)");
  }
  row("Attributes", model.reads_in_place()         ? "read in place from the file's pages (not copied)"
                    : model.attributes_in_memory() ? "held in memory"
                                                   : "read from the file on demand (large file)");
}

void print_schema(Context& ctx, const SchemaInfo& schema) {
  ctx.out << '\n' << ctx.style.bold("Schema") << '\n';
  bool any = false;
  auto note = [&](const std::string& text) {
    ctx.out << "  " << text << '\n';
    any = true;
  };
  if (!schema.has_span_events) note("no span_events table: no events, logs or token counts");
  if (!schema.extra_tables.empty()) note("extra tables: " + join(schema.extra_tables));
  if (!schema.extra_columns.empty()) note("extra columns: " + join(schema.extra_columns));
  if (!schema.missing_columns.empty()) note("missing columns: " + join(schema.missing_columns));
  if (!any) note("as Llama Stack creates it");
}

void print_warnings(Context& ctx, const Store& store) {
  if (store.warnings().empty()) return;
  ctx.out << '\n' << ctx.style.bold("Warnings") << '\n';
  for (const auto& w : store.warnings()) {
    ctx.out << "  " << ctx.style.yellow(w.code) << ": " << printable(w.message) << '\n';
  }
}

// Times without an offset are read as UTC unless the user says where the writer was.
void print_naive_time_tip(Context& ctx, const std::vector<Diagnostic>& diagnostics) {
  if (ctx.inv.naive_tz) return;
  for (const auto& d : diagnostics) {
    if (d.code == "naive_times") {
      ctx.out << '\n'
              << "tip: " << d.count
              << " spans have times without a UTC offset and were read as UTC; if the machine that "
                 "wrote them was elsewhere, pass --naive-tz OFFSET (e.g. --naive-tz +02:00).\n";
    }
  }
}

}  // namespace

int run_check(Context& ctx) {
  auto db = open_database(ctx, true);
  if (!db.is_ok()) return fail(ctx, db.status());
  const Stats stats = compute_stats(*db->model);
  if (ctx.inv.json) {
    print_json(ctx, check_json(*db, stats));
    return kExitOk;
  }
  print_summary(ctx, *db, stats);
  print_schema(ctx, db->store->schema());
  print_warnings(ctx, *db->store);
  // The model repeats the store's warnings as diagnostics; they were just printed.
  std::vector<Diagnostic> diagnostics;
  for (const auto& d : db->model->diagnostics()) {
    bool is_warning = false;
    for (const auto& w : db->store->warnings()) is_warning = is_warning || w.code == d.code;
    if (!is_warning) diagnostics.push_back(d);
  }
  print_diagnostics(ctx, diagnostics);
  const size_t kinds = diagnostics.size() + db->store->warnings().size();
  print_naive_time_tip(ctx, diagnostics);
  ctx.out << '\n'
          << (kinds == 0 ? ctx.style.green("No problems found.")
                         : std::to_string(kinds) + " kind" + (kinds == 1 ? "" : "s") +
                               " of irregularity noted above; everything readable was loaded.")
          << '\n';
  return kExitOk;
}

}  // namespace tracedrop::cli
