// `tracedrop show`: one trace as a header and a span tree drawn with box characters.
#include <algorithm>

#include "commands.h"
#include "database.h"
#include "tracedrop/views.h"

namespace tracedrop::cli {
namespace {

constexpr size_t kDetailWidthWhenUnknown = 200;  // value truncation when the width is unknown

struct Frame {
  uint32_t span;
  uint64_t depth;
  std::string prefix;  // the tree drawing inherited from the ancestors
  bool last;           // the last child of its parent
};

// One line of output: a span (aligned columns) or a detail under it (error, attribute, event).
struct Line {
  bool is_span = false;
  uint32_t span = 0;
  std::string left;    // tree drawing + name (span) or the whole text (detail)
  std::string prefix;  // detail: the tree drawing before the text
  std::string color;   // detail colour
  std::string hidden;  // span: children not shown because of --max-depth
};

std::string json_value_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_text(const Model& model, uint32_t s) {
  if (!(model.spans.flags[s] & kSpanErrorAttribute)) return "";
  auto attrs = span_attributes_json(model, s);
  if (!attrs.is_ok() || !attrs->is_object() || !attrs->contains("error")) return "";
  return json_value_text((*attrs)["error"]);
}

std::string span_flags(uint32_t flags) {
  std::string out;
  auto add = [&](uint32_t bit, const char* text) {
    if (flags & bit) out += std::string(out.empty() ? "" : " ") + "[" + text + "]";
  };
  add(kSpanOrphan, "orphan");
  add(kSpanRemoteParent, "remote parent");
  add(kSpanNoEnd, "no end");
  add(kSpanCycle, "cycle cut");
  add(kSpanDuplicateId, "duplicate id");
  return out;
}

class TreePrinter {
 public:
  TreePrinter(Context& ctx, const Model& model, uint32_t trace)
      : ctx_(ctx), model_(model), trace_(trace), max_depth_(ctx.inv.number("--max-depth", 0)),
        with_attributes_(ctx.inv.has("--attributes")) {}

  void print() {
    collect();
    render();
  }

 private:
  void collect() {
    std::vector<Frame> stack;
    const std::vector<uint32_t> roots = model_.trace_roots(trace_);
    for (size_t i = roots.size(); i-- > 0;) stack.push_back({roots[i], 0, "", true});
    while (!stack.empty()) {
      Frame f = std::move(stack.back());
      stack.pop_back();
      const bool root = f.depth == 0;
      const std::string lead = root ? "" : f.prefix + (f.last ? "└─ " : "├─ ");
      const std::string child_prefix = root ? "" : f.prefix + (f.last ? "   " : "│  ");
      const uint32_t children = model_.child_count(f.span);
      const bool show_children = children > 0 && (max_depth_ == 0 || f.depth + 1 < max_depth_);
      Line line;
      line.is_span = true;
      line.span = f.span;
      line.left = lead + printable(model_.span_name(f.span));
      if (children > 0 && !show_children) line.hidden = "(+" + std::to_string(children) + " below)";
      lines_.push_back(std::move(line));
      add_details(f.span, child_prefix + (show_children ? "│  " : "   "));
      if (!show_children) continue;
      const uint32_t* begin = model_.children_begin(f.span);
      for (uint32_t i = children; i-- > 0;) {
        stack.push_back({begin[i], f.depth + 1, child_prefix, i + 1 == children});
      }
    }
  }

  void add_detail(const std::string& prefix, const std::string& text, const std::string& color) {
    Line line;
    line.prefix = prefix;
    line.left = text;
    line.color = color;
    lines_.push_back(std::move(line));
  }

  void add_details(uint32_t s, const std::string& prefix) {
    if (model_.span_failed(s)) {
      const std::string error = error_text(model_, s);
      add_detail(prefix, error.empty() ? "status ERROR" : "error: " + printable(error), "red");
    }
    if (!with_attributes_) return;
    auto attrs = span_attributes_json(model_, s);
    if (!attrs.is_ok()) {
      add_detail(prefix, "attributes unavailable: " + attrs.status().message(), "yellow");
    } else if (attrs->is_object()) {
      for (auto it = attrs->begin(); it != attrs->end(); ++it) {
        add_detail(prefix, it.key() + ": " + printable(json_value_text(it.value())), "");
      }
    }
    const nlohmann::json events = span_events_json(model_, s);
    const uint32_t* e = model_.events_begin(s);
    for (size_t i = 0; i < events.size() && e + i < model_.events_end(s); ++i) {
      const double at = ns_to_ms(model_.events.time[e[i]] - model_.traces[trace_].start);
      std::string text = "event " + printable(model_.event_name(e[i])) + " +" + format_ms(at);
      if (events[i].contains("attributes")) text += " " + printable(json_value_text(events[i]["attributes"]));
      add_detail(prefix, text, "cyan");
    }
  }

  void render() {
    size_t left_width = 0, duration_width = 0, offset_width = 0;
    for (const auto& l : lines_) {
      if (!l.is_span) continue;
      left_width = std::max(left_width, display_width(l.left));
      duration_width = std::max(duration_width, duration(l.span).size());
      offset_width = std::max(offset_width, offset(l.span).size());
    }
    if (ctx_.env.width > 0) {
      const size_t room = static_cast<size_t>(ctx_.env.width);
      const size_t fixed = duration_width + offset_width + 8;
      left_width = std::min(left_width, room > fixed + 20 ? room - fixed : 20);
    }
    for (const auto& l : lines_) {
      if (l.is_span) print_span_line(l, left_width, duration_width, offset_width);
      else print_detail_line(l);
    }
  }

  std::string duration(uint32_t s) const { return format_ms(ns_to_ms(model_.duration_ns(s))); }
  std::string offset(uint32_t s) const {
    return "+" + format_ms(ns_to_ms(model_.spans.start[s] - model_.traces[trace_].start));
  }

  void print_span_line(const Line& l, size_t left_width, size_t duration_width, size_t offset_width) {
    const Style& st = ctx_.style;
    const bool failed = model_.span_failed(l.span);
    const std::string left = truncate_to_width(l.left, left_width);
    const size_t used = display_width(left);
    std::string text = (failed ? st.red(left) : left) + std::string(used < left_width ? left_width - used : 0, ' ');
    text += "  " + pad(duration(l.span), duration_width, true) + "  " +
            st.dim(pad(offset(l.span), offset_width, true));
    if (failed) text += "  " + st.red("✗");
    const std::string flags = span_flags(model_.spans.flags[l.span]);
    if (!flags.empty()) text += "  " + st.yellow(flags);
    if (!l.hidden.empty()) text += "  " + st.dim(l.hidden);
    ctx_.out << text << '\n';
  }

  void print_detail_line(const Line& l) {
    const size_t prefix_width = display_width(l.prefix);
    size_t room = kDetailWidthWhenUnknown;
    if (ctx_.env.width > 0) {
      const auto w = static_cast<size_t>(ctx_.env.width);
      room = w > prefix_width + 20 ? w - prefix_width : 20;
    }
    ctx_.out << l.prefix << ctx_.style.paint(l.color, truncate_to_width(l.left, room)) << '\n';
  }

  Context& ctx_;
  const Model& model_;
  uint32_t trace_;
  uint64_t max_depth_;
  bool with_attributes_;
  std::vector<Line> lines_;
};

void print_header(Context& ctx, const Model& model, uint32_t t) {
  const TraceInfo& tr = model.traces[t];
  const Style& st = ctx.style;
  auto row = [&](const char* label, const std::string& value) {
    ctx.out << st.bold(pad(label, 11)) << value << '\n';
  };
  row("Trace", printable(tr.id));
  row("Name", printable(model.trace_name(t)));
  row("Service", printable(model.service_display(t)));
  row("Start", format_utc(tr.start, true) + " UTC");
  row("Duration", format_ms(ns_to_ms(tr.end - tr.start)));
  row("Spans", std::to_string(tr.span_count));
  row("Errors", tr.error_count ? st.red(std::to_string(tr.error_count)) : "0");
  if (tr.incomplete) {
    std::string reasons;
    for (const auto& r : trace_incomplete_names(tr.incomplete)) reasons += (reasons.empty() ? "" : ", ") + r;
    row("Incomplete", st.yellow(reasons));
  }
  ctx.out << '\n';
}

// Drops the children below --max-depth from the JSON tree (iteratively: trees can be deep).
void prune_tree(nlohmann::json& doc, uint64_t max_depth) {
  if (max_depth == 0 || !doc.contains("tree")) return;
  std::vector<std::pair<nlohmann::json*, uint64_t>> stack;
  for (auto& node : doc["tree"]) stack.push_back({&node, 1});
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->contains("children")) continue;
    if (depth >= max_depth) {
      (*node)["children"] = nlohmann::json::array();
      continue;
    }
    for (auto& child : (*node)["children"]) stack.push_back({&child, depth + 1});
  }
}

}  // namespace

int run_show(Context& ctx) {
  auto db = open_database(ctx, true);
  if (!db.is_ok()) return fail(ctx, db.status());
  const Model& model = *db->model;
  auto trace = resolve_trace(model, ctx.inv.positional, db->path);
  if (!trace.is_ok()) return fail(ctx, trace.status());
  if (ctx.inv.json) {
    auto doc = trace_tree_json(model, *trace);
    if (!doc.is_ok()) return fail(ctx, doc.status());
    prune_tree(*doc, ctx.inv.number("--max-depth", 0));
    print_json(ctx, *doc);
    return kExitOk;
  }
  print_header(ctx, model, *trace);
  if (model.traces[*trace].span_count == 0) {
    ctx.out << "(this trace has no spans in the file)\n";
    return kExitOk;
  }
  TreePrinter(ctx, model, *trace).print();
  return kExitOk;
}

}  // namespace tracedrop::cli
