// `tracedrop search`: spans whose name, attributes or events contain a text.
#include "commands.h"
#include "database.h"
#include "tracedrop/search.h"
#include "tracedrop/views.h"

namespace tracedrop::cli {

int run_search(Context& ctx) {
  auto db = open_database(ctx, true);
  if (!db.is_ok()) return fail(ctx, db.status());
  const Model& model = *db->model;
  const std::string& text = ctx.inv.positional;
  SearchOptions options;
  const uint64_t limit = ctx.inv.number("--limit", 10);
  options.limit = limit == 0 ? model.span_count() : static_cast<size_t>(limit);
  auto hits = search(model, text, options);
  if (!hits.is_ok()) return fail(ctx, hits.status());
  if (ctx.inv.json) {
    print_json(ctx, search_hits_json(model, *hits));
    return kExitOk;
  }
  if (hits->empty()) {
    ctx.out << "no span matches \"" << printable(text) << "\"\n";
    return kExitOk;
  }
  Table table;
  table.add_column("TRACE ID");
  table.add_column("SPAN ID");
  table.add_column("NAME", false, true);
  table.add_column("FIELD", false, true);
  table.add_column("SNIPPET", false, true);
  for (const SearchHit& hit : *hits) {
    const uint32_t t = model.spans.trace[hit.span];
    table.add_row({{printable(model.traces[t].id), "", ""},
                   {printable(model.span_id_text(hit.span)), "", ""},
                   {printable(model.span_name(hit.span)), "", ""},
                   {printable(hit.field), "dim", ""},
                   {printable(hit.snippet), "", printable(text)}});
  }
  table.render(ctx.out, ctx.style, ctx.env.width);
  std::string footer = std::to_string(hits->size()) + (hits->size() == 1 ? " matching span" : " matching spans");
  if (hits->size() == options.limit) footer += " (the limit; --limit N shows more)";
  ctx.out << ctx.style.dim(footer) << '\n';
  return kExitOk;
}

}  // namespace tracedrop::cli
