#include "query/span_filter.h"

namespace tracedrop::query {

Result<SpanFilter> SpanFilter::compile(const std::vector<AttributeFilter>& filters) {
  SpanFilter out;
  out.filters_.reserve(filters.size());
  for (const AttributeFilter& f : filters) {
    auto path = parse_attribute_path(f.key);
    if (!path.is_ok()) return path.status();
    Compiled c;
    c.path = std::move(path).value();
    c.op = f.op;
    c.value = sql_value_of(f.value, c.text);
    c.value.text = {};
    out.filters_.push_back(std::move(c));
  }
  return out;
}

bool SpanFilter::holds(const Compiled& f, std::string_view attributes) const {
  // A NULL filter value never matches; skip the attribute scan.
  if (f.value.type == SqlValue::kNull) return false;
  const auto member = find_path(attributes, f.path);
  if (!member) return false;  // json_extract gives NULL: no comparison holds
  SqlValue rhs = f.value;
  if (rhs.type == SqlValue::kText) rhs.text = f.text;
  const auto c = sql_compare(sql_value_of(*member, scratch_), rhs);
  if (!c) return false;
  switch (f.op) {
    case FilterOp::kEq: return *c == 0;
    case FilterOp::kNe: return *c != 0;
    case FilterOp::kGt: return *c > 0;
    case FilterOp::kLt: return *c < 0;
  }
  return false;
}

Result<bool> SpanFilter::matches(const Model& model, uint32_t span) const {
  if (filters_.empty()) return true;
  // Text SQLite cannot read made Llama Stack's whole query fail; here the row just matches
  // nothing. The model validated every text once at load time.
  if (model.spans.flags[span] & kSpanBadAttributes) return false;
  auto attrs = model.span_attributes(span, attr_buf_);
  if (!attrs.is_ok()) return attrs.status();
  for (const Compiled& f : filters_) {
    if (!holds(f, attrs.value())) return false;
  }
  return true;
}

Result<bool> SpanFilter::matches_trace(const Model& model, uint32_t trace) const {
  if (filters_.empty()) return true;
  for (const uint32_t* p = model.trace_spans_begin(trace); p != model.trace_spans_end(trace); ++p) {
    auto m = matches(model, *p);
    if (!m.is_ok() || m.value()) return m;
  }
  return false;
}

}  // namespace tracedrop::query
