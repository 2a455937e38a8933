// The JSON shapes of the CLI's --json output and the browser: read the model, never the file.
// Trees are built and written with explicit stacks: a chain of spans 100,000 deep is data,
// not a reason to overflow the call stack.
#include "tracedrop/views.h"

#include <cmath>
#include <cstdlib>

#include "json/json_scan.h"
#include "json/json_writer.h"

namespace tracedrop {
namespace {

struct FlagName {
  uint32_t bit;
  const char* name;
};

constexpr FlagName kSpanFlagNames[] = {
    {kSpanBadAttributes, "bad_attributes"},
    {kSpanNonJsonNumber, "non_json_number"},
    {kSpanErrorAttribute, "error_attribute"},
    {kSpanDanglingParent, "dangling_parent"},
    {kSpanOrphan, "orphan"},
    {kSpanDuplicateId, "duplicate_id"},
    {kSpanCycle, "cycle"},
    {kSpanBadStart, "bad_start"},
    {kSpanNoEnd, "no_end"},
    {kSpanNaiveTime, "naive_time"},
    {kSpanNumericTime, "numeric_time"},
    {kSpanBadSpanId, "bad_span_id"},
    {kSpanBadParentId, "bad_parent_id"},
    {kSpanEndBeforeStart, "end_before_start"},
    {kSpanWrongType, "wrong_type"},
    {kSpanRemoteParent, "remote_parent"},
    {kSpanUnknownStatus, "unknown_status"},
    {kSpanUnknownKind, "unknown_kind"},
    {kSpanMarkedRoot, "marked_root"},
};

constexpr FlagName kTraceIncompleteNames[] = {
    {kTraceNotInTable, "not_in_table"},  {kTraceNullRoot, "null_root"}, {kTraceRootMissing, "root_missing"},
    {kTraceHasOrphans, "has_orphans"},   {kTraceNoSpans, "no_spans"},   {kTraceNoRoot, "no_root"},
};

template <size_t N>
std::vector<std::string> names_of(uint32_t bits, const FlagName (&table)[N]) {
  std::vector<std::string> out;
  for (const FlagName& f : table)
    if (bits & f.bit) out.emplace_back(f.name);
  return out;
}

// Attribute text as an object: {} when empty, {"_raw": text} when it is not a JSON object.
nlohmann::json attributes_object(std::string_view text) {
  if (text.empty()) return nlohmann::json::object();
  auto parsed = json::parse_lenient(text);
  if (parsed && parsed->is_object()) return std::move(*parsed);
  return nlohmann::json{{"_raw", std::string(text)}};
}

nlohmann::json null_if_empty(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

// Compact text of a shallow value (attributes: nesting is bounded by the JSON scanner), with
// ill-formed UTF-8 replaced so that dumping never throws.
std::string dump_safe(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// Pre-order of a trace's tree: roots in Model::trace_roots order, children in start order.
std::vector<uint32_t> tree_preorder(const Model& model, uint32_t trace) {
  std::vector<uint32_t> order, stack;
  order.reserve(model.traces[trace].span_count);
  const std::vector<uint32_t> roots = model.trace_roots(trace);
  stack.assign(roots.rbegin(), roots.rend());
  while (!stack.empty()) {
    const uint32_t s = stack.back();
    stack.pop_back();
    order.push_back(s);
    for (const uint32_t* c = model.children_end(s); c != model.children_begin(s);) stack.push_back(*--c);
  }
  return order;
}

// A node without its children.
Result<nlohmann::json> node_json(const Model& model, uint32_t s) {
  auto attributes = span_attributes_json(model, s);
  if (!attributes.is_ok()) return attributes.status();
  nlohmann::json n = nlohmann::json::object();
  n["span_id"] = model.span_id_text(s);
  n["parent_span_id"] = null_if_empty(model.parent_id_text(s));
  n["name"] = std::string(model.span_name(s));
  n["start"] = format_iso_utc(model.spans.start[s]);
  n["end"] = format_iso_utc(model.spans.end[s]);
  n["duration_ms"] = ns_to_ms(model.duration_ns(s));
  n["status"] = status_name(model.spans.status[s]);
  n["kind"] = kind_name(model.spans.kind[s]);
  n["attributes"] = std::move(attributes).value();
  n["events"] = span_events_json(model, s);
  n["flags"] = span_flag_names(model.spans.flags[s]);
  return n;
}

// Writes the fields of node_json (same order as nlohmann's sorted keys, up to "children").
Status write_node_head(const Model& model, uint32_t s, json::Writer& w) {
  auto attributes = span_attributes_json(model, s);
  if (!attributes.is_ok()) return attributes.status();
  w.begin_object();
  w.key("attributes");
  w.raw(dump_safe(attributes.value()));
  w.key("duration_ms");
  w.number(ns_to_ms(model.duration_ns(s)));
  w.key("end");
  w.string(format_iso_utc(model.spans.end[s]));
  w.key("events");
  w.raw(dump_safe(span_events_json(model, s)));
  w.key("flags");
  w.begin_array();
  for (const std::string& f : span_flag_names(model.spans.flags[s])) w.string(f);
  w.end_array();
  w.key("kind");
  w.string(kind_name(model.spans.kind[s]));
  w.key("name");
  w.string(model.span_name(s));
  w.key("parent_span_id");
  const std::string parent = model.parent_id_text(s);
  if (parent.empty()) w.null();
  else w.string(parent);
  w.key("span_id");
  w.string(model.span_id_text(s));
  w.key("start");
  w.string(format_iso_utc(model.spans.start[s]));
  w.key("status");
  w.string(status_name(model.spans.status[s]));
  w.key("children");
  w.begin_array();
  return Status::ok();
}

}  // namespace

double ns_to_ms(int64_t ns) {
  // Round to whole microseconds (half away from zero), then scale: 3 exact-looking decimals.
  const int64_t us = ns >= 0 ? (ns + 500) / 1000 : -((-(ns + 1) + 501) / 1000);
  return static_cast<double>(us) / 1000.0;
}

std::vector<std::string> span_flag_names(uint32_t flags) { return names_of(flags, kSpanFlagNames); }

std::vector<std::string> trace_incomplete_names(uint32_t bits) { return names_of(bits, kTraceIncompleteNames); }

Result<nlohmann::json> span_attributes_json(const Model& model, uint32_t span) {
  std::string scratch;
  auto text = model.span_attributes(span, scratch);
  if (!text.is_ok()) return text.status();
  return attributes_object(text.value());
}

nlohmann::json span_events_json(const Model& model, uint32_t span) {
  nlohmann::json out = nlohmann::json::array();
  for (const uint32_t* e = model.events_begin(span); e != model.events_end(span); ++e) {
    out.push_back({{"name", std::string(model.event_name(*e))},
                   {"time", format_iso_utc(model.events.time[*e])},
                   {"attributes", attributes_object(model.event_attributes(*e))}});
  }
  return out;
}

nlohmann::json trace_summary_json(const Model& model, uint32_t trace) {
  const TraceInfo& t = model.traces[trace];
  nlohmann::json j = nlohmann::json::object();
  j["trace_id"] = t.id;
  j["root_span_id"] = t.root >= 0 ? nlohmann::json(model.span_id_text(static_cast<uint32_t>(t.root))) : nlohmann::json(nullptr);
  j["name"] = std::string(model.trace_name(trace));
  j["service"] = model.service_display(trace);
  j["start"] = format_iso_utc(t.start);
  j["end"] = format_iso_utc(t.end);
  j["duration_ms"] = ns_to_ms(t.end - t.start);
  j["span_count"] = t.span_count;
  j["error_count"] = t.error_count;
  j["incomplete"] = t.incomplete != 0;
  j["incomplete_reasons"] = trace_incomplete_names(t.incomplete);
  return j;
}

nlohmann::json trace_list_json(const Model& model, const std::vector<uint32_t>& traces) {
  nlohmann::json out = nlohmann::json::array();
  for (uint32_t t : traces) out.push_back(trace_summary_json(model, t));
  return out;
}

Result<nlohmann::json> trace_tree_json(const Model& model, uint32_t trace) {
  const std::vector<uint32_t> order = tree_preorder(model, trace);
  // In reverse pre-order every node comes after its whole subtree: its children's nodes are
  // then the top entries of `done`, first child on top.
  std::vector<nlohmann::json> done;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    auto node = node_json(model, *it);
    if (!node.is_ok()) return node.status();
    nlohmann::json children = nlohmann::json::array();
    for (uint32_t k = model.child_count(*it); k > 0; --k) {
      children.push_back(std::move(done.back()));
      done.pop_back();
    }
    node.value()["children"] = std::move(children);
    done.push_back(std::move(node).value());
  }
  nlohmann::json tree = nlohmann::json::array();
  for (auto it = done.rbegin(); it != done.rend(); ++it) tree.push_back(std::move(*it));
  return nlohmann::json{{"trace_id", model.traces[trace].id}, {"spans", model.traces[trace].span_count}, {"tree", std::move(tree)}};
}

Result<std::string> trace_tree_json_text(const Model& model, uint32_t trace) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.key("spans");
  w.uint64(model.traces[trace].span_count);
  w.key("trace_id");
  w.string(model.traces[trace].id);
  w.key("tree");
  w.begin_array();
  // Open nodes, each with the position of the next child to write.
  struct Frame {
    const uint32_t* next;
    const uint32_t* end;
  };
  const std::vector<uint32_t> roots = model.trace_roots(trace);
  std::vector<Frame> stack{{roots.data(), roots.data() + roots.size()}};
  while (true) {
    Frame& top = stack.back();
    if (top.next == top.end) {
      stack.pop_back();
      if (stack.empty()) break;
      w.end_array();  // children
      w.end_object();
      continue;
    }
    const uint32_t s = *top.next++;
    TRACEDROP_RETURN_IF_ERROR(write_node_head(model, s, w));
    stack.push_back({model.children_begin(s), model.children_end(s)});
  }
  w.end_array();
  w.end_object();
  return out;
}

nlohmann::json search_hits_json(const Model& model, const std::vector<SearchHit>& hits) {
  nlohmann::json out = nlohmann::json::array();
  for (const SearchHit& h : hits) {
    out.push_back({{"trace_id", model.traces[model.spans.trace[h.span]].id},
                   {"span_id", model.span_id_text(h.span)},
                   {"name", std::string(model.span_name(h.span))},
                   {"field", h.field},
                   {"snippet", h.snippet}});
  }
  return out;
}

nlohmann::json sql_result_json(const SqlResult& result) {
  using Cell = SqlResult::Cell;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : result.rows) {
    nlohmann::json cells = nlohmann::json::array();
    for (const Cell& c : row) {
      switch (c.type) {
        case Cell::kInteger: cells.push_back(c.i); break;
        case Cell::kReal: cells.push_back(std::isfinite(c.d) ? nlohmann::json(c.d) : nlohmann::json(nullptr)); break;
        case Cell::kText:
        case Cell::kBlob: cells.push_back(c.s); break;
        case Cell::kNull: cells.push_back(nullptr); break;
      }
    }
    rows.push_back(std::move(cells));
  }
  return {{"columns", result.columns}, {"rows", std::move(rows)}, {"truncated", result.truncated}};
}

}  // namespace tracedrop
