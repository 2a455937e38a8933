// query_traces and the filter syntax. Attribute filters follow Llama Stack's SQL
// (json_extract on one span, SQLite comparison rules: see sql_value.h); the answer comes from
// the model, never from per-trace SQL.
#include "tracedrop/query.h"

#include <algorithm>
#include <cctype>

#include "query/span_filter.h"

namespace tracedrop {
namespace {

enum class OrderField { kTraceId, kRootSpanId, kStartTime, kEndTime, kDuration, kName, kServiceName, kSpanCount, kErrorCount };

struct OrderKey {
  OrderField field;
  bool descending;
};

struct FieldName {
  const char* name;
  OrderField field;
};

constexpr FieldName kOrderFields[] = {
    {"trace_id", OrderField::kTraceId},     {"root_span_id", OrderField::kRootSpanId},
    {"start_time", OrderField::kStartTime}, {"end_time", OrderField::kEndTime},
    {"duration", OrderField::kDuration},    {"name", OrderField::kName},
    {"service_name", OrderField::kServiceName}, {"span_count", OrderField::kSpanCount},
    {"error_count", OrderField::kErrorCount},
};

std::string valid_order_fields() {
  std::string out;
  for (const auto& f : kOrderFields) {
    if (!out.empty()) out += ", ";
    out += f.name;
  }
  return out;
}

Result<std::vector<OrderKey>> parse_order_by(const std::vector<std::string>& order_by) {
  std::vector<OrderKey> keys;
  if (order_by.empty()) keys.push_back({OrderField::kStartTime, true});
  for (const std::string& item : order_by) {
    std::string_view name = item;
    const bool descending = !name.empty() && name[0] == '-';
    if (!name.empty() && (name[0] == '-' || name[0] == '+')) name.remove_prefix(1);
    const FieldName* found = nullptr;
    for (const auto& f : kOrderFields)
      if (name == f.name) found = &f;
    if (!found) {
      return Status(ErrorCode::kInvalidArgument, "Unknown order_by field '" + item + "'. Valid fields: " +
                                                     valid_order_fields() + " (prefix with '-' for descending).");
    }
    keys.push_back({found->field, descending});
  }
  return keys;
}

template <typename T>
int three_way(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// Sort keys of the candidate traces, computed once (service names and root ids are strings).
class TraceOrder {
 public:
  TraceOrder(const Model& model, std::vector<OrderKey> keys) : m_(model), keys_(std::move(keys)) {
    for (const OrderKey& k : keys_) {
      if (k.field == OrderField::kServiceName) need_service_ = true;
    }
    if (need_service_) {
      service_.resize(model.trace_count());
      for (uint32_t t = 0; t < model.trace_count(); ++t) service_[t] = model.service_display(t);
    }
  }

  bool operator()(uint32_t a, uint32_t b) const {
    for (const OrderKey& k : keys_) {
      const int c = compare(k.field, a, b);
      if (c != 0) return k.descending ? c > 0 : c < 0;
    }
    return m_.traces[a].id < m_.traces[b].id;  // deterministic ties
  }

 private:
  int compare(OrderField f, uint32_t a, uint32_t b) const {
    const TraceInfo& x = m_.traces[a];
    const TraceInfo& y = m_.traces[b];
    switch (f) {
      case OrderField::kTraceId: return three_way(x.id, y.id);
      case OrderField::kRootSpanId: return compare_root_ids(x, y);
      case OrderField::kStartTime: return three_way(x.start, y.start);
      case OrderField::kEndTime: return three_way(x.end, y.end);
      case OrderField::kDuration: return three_way(x.end - x.start, y.end - y.start);
      case OrderField::kName: return three_way(m_.trace_name(a), m_.trace_name(b));
      case OrderField::kServiceName: return three_way(service_[a], service_[b]);
      case OrderField::kSpanCount: return three_way(x.span_count, y.span_count);
      case OrderField::kErrorCount: return three_way(x.error_count, y.error_count);
    }
    return 0;
  }

  // The stored traces.root_span_id; NULL sorts first, as SQLite sorts it.
  static int compare_root_ids(const TraceInfo& x, const TraceInfo& y) {
    const bool xn = x.root_span_id_null, yn = y.root_span_id_null;
    if (xn || yn) return three_way(!xn, !yn);
    return three_way(x.stored_root_span_id, y.stored_root_span_id);
  }

  const Model& m_;
  std::vector<OrderKey> keys_;
  bool need_service_ = false;
  std::vector<std::string> service_;
};

// What Llama Stack's query could return at all: a traces row (the join), with spans, and a
// root_span_id (`WHERE root_span_id IS NOT NULL`).
bool llama_stack_visible(const TraceInfo& t) { return t.in_table && !t.root_span_id_null && t.span_count > 0; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<FilterOp> parse_filter_op(std::string_view text) {
  if (text == "eq" || text == "=" || text == "==") return FilterOp::kEq;
  if (text == "ne" || text == "!=") return FilterOp::kNe;
  if (text == "gt" || text == ">") return FilterOp::kGt;
  if (text == "lt" || text == "<") return FilterOp::kLt;
  return std::nullopt;
}

Result<AttributeFilter> parse_filter_expression(std::string_view text) {
  // The first operator character ends the key: "a!=b" is (a, !=, b), "a=b=c" is (a, =, "b=c").
  const size_t at = text.find_first_of("=!<>");
  const bool bang = at != std::string_view::npos && text[at] == '!';
  if (at == std::string_view::npos || (bang && text.substr(at, 2) != "!=")) {
    return Status(ErrorCode::kInvalidArgument, "Cannot read the filter '" + std::string(text) +
                                                   "': write key=value, key!=value, key>value or key<value.");
  }
  AttributeFilter f;
  f.key = std::string(trim(text.substr(0, at)));
  if (f.key.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "The filter '" + std::string(text) + "' has no attribute name before the operator.");
  }
  const size_t op_len = bang ? 2 : 1;
  if (!bang && text[at] != '=' && text.substr(at + 1, 1) == "=") {
    return Status(ErrorCode::kInvalidArgument, "The filter '" + std::string(text) +
                                                   "' uses >= or <=; only =, !=, > and < exist (as in Llama Stack).");
  }
  f.op = *parse_filter_op(text.substr(at, op_len));
  const std::string_view value = trim(text.substr(at + op_len));
  // JSON when it parses (42, true, "quoted", 1.5), else the text itself as a string.
  nlohmann::json parsed = nlohmann::json::parse(value.begin(), value.end(), nullptr, false);
  f.value = parsed.is_discarded() ? nlohmann::json(std::string(value)) : std::move(parsed);
  return f;
}

Result<std::vector<uint32_t>> query_traces(const Model& model, const TraceQuery& query) {
  auto keys = parse_order_by(query.order_by);
  if (!keys.is_ok()) return keys.status();
  auto filter = query::SpanFilter::compile(query.filters);
  if (!filter.is_ok()) return filter.status();

  std::vector<uint32_t> matched;
  for (uint32_t t = 0; t < model.trace_count(); ++t) {
    if (!query.include_incomplete && !llama_stack_visible(model.traces[t])) continue;
    // Spans in start order: the root, which carries the request-level attributes (session_id,
    // agent_id, ...), is tested first.
    auto m = filter->matches_trace(model, t);
    if (!m.is_ok()) return m.status();
    if (m.value()) matched.push_back(t);
  }

  const TraceOrder order(model, std::move(keys).value());
  const size_t offset = std::min(query.offset, matched.size());
  const size_t wanted = std::min(matched.size() - offset, query.limit);
  const auto stop = matched.begin() + static_cast<std::ptrdiff_t>(offset + wanted);
  // Only the first offset+limit traces need sorting: a page of a big file stays cheap.
  std::partial_sort(matched.begin(), stop, matched.end(), order);
  matched.erase(stop, matched.end());
  matched.erase(matched.begin(), matched.begin() + static_cast<std::ptrdiff_t>(offset));
  return matched;
}

}  // namespace tracedrop
