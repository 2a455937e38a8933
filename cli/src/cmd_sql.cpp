// `tracedrop sql`: one read-only statement through Store::run_sql, as a table or JSON.
#include <cmath>
#include <cstdio>
#include <limits>

#include "commands.h"
#include "database.h"
#include "tracedrop/views.h"

namespace tracedrop::cli {
namespace {

using Cell = SqlResult::Cell;

std::string real_text(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", d);
  std::string s = buf;
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";  // keep reals recognisable
  return s;
}

Table::Cell cell_display(const Cell& c) {
  switch (c.type) {
    case Cell::kNull: return {"NULL", "dim", ""};
    case Cell::kInteger: return {std::to_string(c.i), "", ""};
    case Cell::kReal: return {real_text(c.d), "", ""};
    case Cell::kText:
    case Cell::kBlob: break;
  }
  return {printable(c.s), "", ""};
}

// Numbers line up on the right when a column holds nothing else (NULLs aside).
bool numeric_column(const SqlResult& r, size_t col) {
  bool any = false;
  for (const auto& row : r.rows) {
    const auto type = row[col].type;
    if (type == Cell::kText || type == Cell::kBlob) return false;
    any = any || type != Cell::kNull;
  }
  return any;
}

void print_table(Context& ctx, const SqlResult& r) {
  Table table;
  for (size_t c = 0; c < r.columns.size(); ++c) {
    const bool numeric = numeric_column(r, c);
    table.add_column(printable(r.columns[c]), numeric, !numeric);
  }
  for (const auto& row : r.rows) {
    std::vector<Table::Cell> cells;
    for (const auto& c : row) cells.push_back(cell_display(c));
    table.add_row(std::move(cells));
  }
  if (!r.columns.empty()) table.render(ctx.out, ctx.style, ctx.env.width);
  ctx.out << ctx.style.dim("(" + std::to_string(r.rows.size()) + (r.rows.size() == 1 ? " row)" : " rows)")) << '\n';
  if (r.truncated) {
    ctx.out << ctx.style.yellow("only the first " + std::to_string(r.rows.size()) +
                                " rows are shown; raise --max-rows (0 = all) to see more")
            << '\n';
  }
}

}  // namespace

int run_sql(Context& ctx) {
  auto db = open_database(ctx, false);
  if (!db.is_ok()) return fail(ctx, db.status());
  const uint64_t max_rows = ctx.inv.number("--max-rows", 1000);
  const size_t keep = max_rows == 0 ? std::numeric_limits<size_t>::max() : static_cast<size_t>(max_rows);
  auto result = db->store->run_sql(ctx.inv.positional, keep);
  if (!result.is_ok()) return fail(ctx, result.status());
  if (ctx.inv.json) print_json(ctx, sql_result_json(*result));
  else print_table(ctx, *result);
  return kExitOk;
}

}  // namespace tracedrop::cli
