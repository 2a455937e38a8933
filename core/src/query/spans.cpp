// get_trace, get_span, get_span_tree and query_spans: Llama Stack's API shapes, from the model.
#include <algorithm>

#include "json/json_scan.h"
#include "query/sql_value.h"
#include "tracedrop/query.h"
#include "tracedrop/views.h"

namespace tracedrop {
namespace {

const char* lower_status(SpanStatus s) {
  switch (s) {
    case SpanStatus::kOk: return "ok";
    case SpanStatus::kError: return "error";
    default: return "unset";
  }
}

nlohmann::json null_if_empty(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

// Only the requested keys, as json_object('k', json_extract(attributes, '$.k'), ...) gives
// them: a missing key (or unreadable attribute text) is null.
class AttributeSelection {
 public:
  static Result<AttributeSelection> compile(const std::vector<std::string>& keys) {
    AttributeSelection out;
    for (const std::string& k : keys) {
      auto path = query::parse_attribute_path(k);
      if (!path.is_ok()) return path.status();
      out.paths_.push_back(std::move(path).value());
    }
    return out;
  }

  Result<nlohmann::json> select(const Model& model, uint32_t span) const {
    const bool readable = !(model.spans.flags[span] & kSpanBadAttributes);
    auto text = readable ? model.span_attributes(span, buf_) : Result<std::string_view>(std::string_view());
    if (!text.is_ok()) return text.status();
    nlohmann::json out = nlohmann::json::object();
    for (const auto& path : paths_) {
      nlohmann::json& slot = out[path.literal];
      const auto member = query::find_path(text.value(), path);
      if (!member) continue;
      if (auto v = json::parse_lenient(member->value)) slot = std::move(*v);
    }
    return out;
  }

 private:
  std::vector<query::AttributePath> paths_;
  mutable std::string buf_;
};

// Span {span_id, trace_id, parent_span_id, name, start_time, end_time, attributes}.
nlohmann::json span_shape(const Model& model, uint32_t s, nlohmann::json attributes) {
  nlohmann::json j = nlohmann::json::object();
  j["span_id"] = model.span_id_text(s);
  j["trace_id"] = model.traces[model.spans.trace[s]].id;
  j["parent_span_id"] = null_if_empty(model.parent_id_text(s));
  j["name"] = std::string(model.span_name(s));
  j["start_time"] = format_iso_utc(model.spans.start[s]);
  j["end_time"] = format_iso_utc(model.spans.end[s]);
  j["attributes"] = std::move(attributes);
  return j;
}

Result<nlohmann::json> span_attributes_for(const Model& model, uint32_t s, const AttributeSelection* selection) {
  if (selection) return selection->select(model, s);
  return span_attributes_json(model, s);
}

// Whether every requested attribute is present and not null (Llama Stack's query_spans test).
bool has_all(const nlohmann::json& attributes, const std::vector<std::string>& keys) {
  for (const std::string& k : keys) {
    auto it = attributes.find(k);
    if (it == attributes.end() || it->is_null()) return false;
  }
  return true;
}

// Breadth first with an index into the output itself as the queue: no recursion. Then ordered
// by (depth, start, file order), as Llama Stack's ORDER BY depth, start_time.
std::vector<SpanTreeEntry> subtree_of(const Model& model, uint32_t start, std::optional<int> max_depth_opt) {
  const int max_depth = max_depth_opt ? std::max(*max_depth_opt, 1) : INT32_MAX;
  std::vector<SpanTreeEntry> out{{start, 1}};
  for (size_t i = 0; i < out.size(); ++i) {
    const SpanTreeEntry e = out[i];
    if (e.depth >= max_depth) continue;
    for (const uint32_t* c = model.children_begin(e.span); c != model.children_end(e.span); ++c)
      out.push_back({*c, e.depth + 1});
  }
  const SpanColumns& sc = model.spans;
  std::sort(out.begin(), out.end(), [&](const SpanTreeEntry& a, const SpanTreeEntry& b) {
    if (a.depth != b.depth) return a.depth < b.depth;
    if (sc.start[a.span] != sc.start[b.span]) return sc.start[a.span] < sc.start[b.span];
    return sc.rowid[a.span] < sc.rowid[b.span];
  });
  return out;
}

}  // namespace

Result<nlohmann::json> get_trace(const Model& model, std::string_view trace_id) {
  const auto t = model.find_trace(trace_id);
  if (!t) return Status(ErrorCode::kNotFound, "Trace " + std::string(trace_id) + " is not in this file.");
  const TraceInfo& tr = model.traces[*t];
  nlohmann::json j = nlohmann::json::object();
  j["trace_id"] = tr.id;
  j["root_span_id"] = tr.root_span_id_null ? nlohmann::json(nullptr) : nlohmann::json(tr.stored_root_span_id);
  j["start_time"] = format_iso_utc(tr.start);
  j["end_time"] = format_iso_utc(tr.end);
  j["incomplete"] = tr.incomplete != 0;
  return j;
}

Result<nlohmann::json> get_span(const Model& model, std::string_view trace_id, std::string_view span_id) {
  const auto s = model.find_span(span_id);
  const auto t = model.find_trace(trace_id);
  if (!s || !t || model.spans.trace[*s] != *t) {
    return Status(ErrorCode::kNotFound,
                  "Span " + std::string(span_id) + " of trace " + std::string(trace_id) + " is not in this file.");
  }
  auto attributes = span_attributes_json(model, *s);
  if (!attributes.is_ok()) return attributes.status();
  return span_shape(model, *s, std::move(attributes).value());
}

Result<std::vector<SpanTreeEntry>> span_subtree(const Model& model, const SpanTreeQuery& query) {
  const auto start = model.find_span(query.span_id);
  if (!start) return Status(ErrorCode::kNotFound, "Span " + query.span_id + " is not in this file.");
  return subtree_of(model, *start, query.max_depth);
}

Result<nlohmann::json> get_span_tree(const Model& model, const SpanTreeQuery& query) {
  auto entries = span_subtree(model, query);
  if (!entries.is_ok()) return entries.status();
  std::optional<AttributeSelection> selection;
  // As in Llama Stack, an empty list means "all attributes".
  if (query.attributes_to_return && !query.attributes_to_return->empty()) {
    auto sel = AttributeSelection::compile(*query.attributes_to_return);
    if (!sel.is_ok()) return sel.status();
    selection = std::move(sel).value();
  }
  nlohmann::json out = nlohmann::json::object();
  for (const SpanTreeEntry& e : entries.value()) {
    auto attributes = span_attributes_for(model, e.span, selection ? &*selection : nullptr);
    if (!attributes.is_ok()) return attributes.status();
    nlohmann::json j = span_shape(model, e.span, std::move(attributes).value());
    j["status"] = lower_status(model.spans.status[e.span]);
    out[model.span_id_text(e.span)] = std::move(j);
  }
  return out;
}

Result<nlohmann::json> query_spans(const Model& model, const std::vector<AttributeFilter>& filters,
                                   const std::vector<std::string>& attributes_to_return,
                                   std::optional<int> max_depth) {
  TraceQuery tq;
  tq.filters = filters;
  tq.limit = SIZE_MAX;
  auto traces = query_traces(model, tq);
  if (!traces.is_ok()) return traces.status();
  std::optional<AttributeSelection> selection;
  if (!attributes_to_return.empty()) {
    auto sel = AttributeSelection::compile(attributes_to_return);
    if (!sel.is_ok()) return sel.status();
    selection = std::move(sel).value();
  }
  nlohmann::json out = nlohmann::json::array();
  for (uint32_t t : traces.value()) {
    const int32_t root = model.traces[t].root;
    if (root < 0) continue;  // no span to start the tree from
    for (const SpanTreeEntry& e : subtree_of(model, static_cast<uint32_t>(root), max_depth)) {
      auto attributes = span_attributes_for(model, e.span, selection ? &*selection : nullptr);
      if (!attributes.is_ok()) return attributes.status();
      if (!has_all(attributes.value(), attributes_to_return)) continue;
      out.push_back(span_shape(model, e.span, std::move(attributes).value()));
    }
  }
  return out;
}

}  // namespace tracedrop
