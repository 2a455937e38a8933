// Queries with Llama Stack's telemetry API semantics, answered from the model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tracedrop/model.h"
#include "tracedrop/status.h"

namespace tracedrop {

enum class FilterOp { kEq, kNe, kGt, kLt };

// {key, op, value}: tests json_extract(attributes, '$.key') <op> value on one span, with
// SQLite's comparison rules (a missing key never matches, not even `ne`; booleans compare as
// 1/0; numbers sort before text).
// Keys: "a.b" and "arr[0]" are json paths ($.a.b, $.arr[0]); a quoted segment ("http.method")
// is one key; the whole key is first tried as a literal top-level key, so OpenTelemetry names
// with dots work. Values: JSON null never matches; arrays/objects compare as minified JSON
// text. Where SQLite would fail the whole query (unreadable attribute text) the span simply
// does not match; NaN reads as NULL and Infinity as a number (SQLite's JSON5 reading).
struct AttributeFilter {
  std::string key;
  FilterOp op = FilterOp::kEq;
  nlohmann::json value;
};

// Parses "eq"/"ne"/"gt"/"lt" (also "=", "!=", ">", "<").
std::optional<FilterOp> parse_filter_op(std::string_view text);
// Parses "key=value", "key!=value", "key>value", "key<value" (value: JSON if it parses, else
// the text as a string). For the CLI and the browser's filter box.
Result<AttributeFilter> parse_filter_expression(std::string_view text);

struct TraceQuery {
  std::vector<AttributeFilter> filters;  // all must hold on the same span
  // Fields of Trace: trace_id, root_span_id, start_time, end_time, plus duration, name,
  // service_name, span_count, error_count; "-field" for descending. Default: -start_time.
  std::vector<std::string> order_by;
  size_t limit = 100;  // SIZE_MAX for all
  size_t offset = 0;
  // false: only what Llama Stack's query could return (a traces row with a root_span_id and
  // spans). true: also NULL-root traces, span trace ids missing from `traces`, and traces rows
  // without spans; views flag them incomplete.
  bool include_incomplete = true;
};

// Indices of matching traces, ordered (ties by trace_id), then offset/limit applied.
// kInvalidArgument for an unknown order_by field (the message lists the valid ones) or an
// empty filter key.
Result<std::vector<uint32_t>> query_traces(const Model& model, const TraceQuery& query);

// Llama Stack API shapes (times as ISO UTC text, status lower case). kNotFound when absent.
// Trace also carries "incomplete": bool; its root_span_id is the stored one (null if NULL).
Result<nlohmann::json> get_trace(const Model& model, std::string_view trace_id);  // Trace
Result<nlohmann::json> get_span(const Model& model, std::string_view trace_id, std::string_view span_id);  // Span

struct SpanTreeQuery {
  std::string span_id;
  std::optional<std::vector<std::string>> attributes_to_return;  // only these keys (missing -> null)
  std::optional<int> max_depth;  // 1 = the span alone
};
// {span_id: SpanWithStatus} for the subtree, ordered by depth then start time.
// Note: nlohmann::json objects keep their keys sorted, so the order is only visible through
// span_subtree() below. kNotFound for an unknown span id.
Result<nlohmann::json> get_span_tree(const Model& model, const SpanTreeQuery& query);

// The spans of get_span_tree in its order (depth, then start time, then file order); the
// requested span has depth 1. max_depth < 1 behaves as 1 (Llama Stack always returns the span).
struct SpanTreeEntry {
  uint32_t span = 0;
  int depth = 1;
};
Result<std::vector<SpanTreeEntry>> span_subtree(const Model& model, const SpanTreeQuery& query);

// Spans (Span shape) of traces matching `filters`, from each trace's root subtree, that carry
// every attribute in attributes_to_return (present and not null), with only those attributes.
// An empty list keeps every span with all attributes (as Llama Stack). Traces newest first,
// spans in get_span_tree order; traces without any root are skipped.
Result<nlohmann::json> query_spans(const Model& model, const std::vector<AttributeFilter>& filters,
                                   const std::vector<std::string>& attributes_to_return,
                                   std::optional<int> max_depth);

enum class LabelOp { kEq, kNe, kRegex, kNotRegex };
struct LabelMatcher {
  std::string name;
  std::string value;
  LabelOp op = LabelOp::kEq;
};
struct MetricQuery {
  std::string metric_name;             // "prompt_tokens" or "metric.prompt_tokens"
  TimeNs start_time = 0;
  std::optional<TimeNs> end_time;      // default: now
  std::optional<std::string> granularity;  // "1m", "1h", "1d"; nullopt = one total ("instant")
  std::vector<LabelMatcher> label_matchers;
};
// QueryMetricsResponse: {"data": [{"metric", "labels": [{"name","value"}], "values":
// [{"timestamp": unix seconds, "value": sum, "unit"}]}]}, one series per unit.
// Details (bucket alignment, the total's timestamp = end_time, matchers on missing labels,
// series labels = the `=` matchers) are documented at the top of core/src/query/metrics.cpp.
// kInvalidArgument for a bad granularity, regex or empty metric name.
Result<nlohmann::json> query_metrics(const Model& model, const MetricQuery& query);

}  // namespace tracedrop
