// `tracedrop list`: trace summaries, newest first, as a table or the trace_list_json array.
#include "commands.h"
#include "database.h"
#include "tracedrop/query.h"
#include "tracedrop/views.h"

namespace tracedrop::cli {
namespace {

// "--order-by -duration,name" and repeated options both give a list of fields.
std::vector<std::string> order_fields(const Invocation& inv) {
  std::vector<std::string> fields;
  for (const auto& value : inv.all("--order-by")) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string::npos) comma = value.size();
      std::string field = value.substr(start, comma - start);
      while (!field.empty() && field.front() == ' ') field.erase(0, 1);
      while (!field.empty() && field.back() == ' ') field.pop_back();
      if (!field.empty()) fields.push_back(field);
      start = comma + 1;
    }
  }
  return fields;
}

std::string flags_text(const Model& model, uint32_t t, bool details) {
  const TraceInfo& tr = model.traces[t];
  std::string flags = tr.error_count > 0 ? "!" : "";
  if (tr.incomplete) {
    if (!flags.empty()) flags += ' ';
    flags += "incomplete";
    if (details) {
      std::string reasons;
      for (const auto& r : trace_incomplete_names(tr.incomplete)) reasons += (reasons.empty() ? "" : ", ") + r;
      flags += " (" + reasons + ")";
    }
  }
  return flags;
}

void print_table(Context& ctx, const Model& model, const std::vector<uint32_t>& page, bool details) {
  Table table;
  table.add_column("START");
  table.add_column("TRACE ID");
  table.add_column("NAME", false, true);
  table.add_column("SPANS", true);
  table.add_column("ERRORS", true);
  table.add_column("DURATION", true);
  if (details) {
    table.add_column("SERVICE", false, true);
    table.add_column("ROOT SPAN");
  }
  table.add_column("FLAGS");
  for (uint32_t t : page) {
    const TraceInfo& tr = model.traces[t];
    std::vector<Table::Cell> row = {
        {format_utc(tr.start), "", ""},
        {printable(tr.id), "", ""},
        {printable(model.trace_name(t)), "", ""},
        {std::to_string(tr.span_count), "", ""},
        {std::to_string(tr.error_count), tr.error_count ? "red" : "", ""},
        {format_ms(ns_to_ms(tr.end - tr.start)), "", ""},
    };
    if (details) {
      row.push_back({printable(model.service_display(t)), "", ""});
      row.push_back({tr.root >= 0 ? model.span_id_text(static_cast<uint32_t>(tr.root)) : "-", "", ""});
    }
    row.push_back({flags_text(model, t, details), tr.incomplete ? "yellow" : "red", ""});
    table.add_row(std::move(row));
  }
  table.render(ctx.out, ctx.style, ctx.env.width);
}

}  // namespace

int run_list(Context& ctx) {
  TraceQuery query;
  for (const auto& text : ctx.inv.all("--filter")) {
    auto filter = parse_filter_expression(text);
    if (!filter.is_ok()) return usage_error(ctx, "invalid --filter '" + text + "': " + filter.status().message());
    query.filters.push_back(std::move(filter).value());
  }
  query.order_by = order_fields(ctx.inv);
  auto db = open_database(ctx, true);
  if (!db.is_ok()) return fail(ctx, db.status());
  const Model& model = *db->model;
  // The whole ordered match list, then the page: the footer can tell how many there are.
  query.limit = model.trace_count();
  query.offset = 0;
  auto matches = query_traces(model, query);
  if (!matches.is_ok()) return fail(ctx, matches.status());
  const size_t total = matches->size();
  const size_t offset = std::min<size_t>(ctx.inv.number("--offset", 0), total);
  const uint64_t limit = ctx.inv.number("--limit", 20);
  const size_t end = limit == 0 || limit >= total - offset ? total : offset + limit;
  const std::vector<uint32_t> page(matches->begin() + static_cast<std::ptrdiff_t>(offset),
                                   matches->begin() + static_cast<std::ptrdiff_t>(end));
  if (ctx.inv.json) {
    print_json(ctx, trace_list_json(model, page));
    return kExitOk;
  }
  if (page.empty()) {
    ctx.out << (total == 0 ? "no traces match\n" : "no traces after --offset " + std::to_string(offset) + "\n");
    return kExitOk;
  }
  print_table(ctx, model, page, ctx.inv.has("--details"));
  std::string footer = std::to_string(page.size()) + " of " + std::to_string(total) + " traces" +
                       (query.order_by.empty() ? ", newest first" : "");
  if (end < total) footer += "; --offset " + std::to_string(end) + " for more";
  ctx.out << ctx.style.dim(footer) << '\n';
  return kExitOk;
}

}  // namespace tracedrop::cli
