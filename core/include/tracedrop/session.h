// One open trace store and its model, answering requests given as JSON text with JSON text.
// This is the surface the browser's wasm bridge binds and the shared behaviour cases run
// (tests/cases): both call these functions, so native and wasm answers can be compared byte
// for byte. JSON answers are printed as the CLI's --json prints them (2-space indent, invalid
// UTF-8 replaced, a final newline), except the trace tree (compact, see trace_tree()).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tracedrop/export.h"
#include "tracedrop/model.h"
#include "tracedrop/status.h"
#include "tracedrop/store.h"

namespace tracedrop {

// JSON text exactly as `tracedrop ... --json` prints it.
std::string cli_json_text(const nlohmann::json& value);

// Reads the JSON options of Session::open: {"attributes": "auto"|"memory"|"on-demand",
// "naive_tz": "+02:00"}. Empty text means defaults.
Result<LoadOptions> parse_open_options(std::string_view options_json);

class Session {
 public:
  // Builds the model of an opened store. `load.progress` may cancel.
  static Result<std::unique_ptr<Session>> open(std::unique_ptr<Store> store, const LoadOptions& load);

  const Store& store() const { return *store_; }
  const Model& model() const { return *model_; }

  // {name, file_size, traces, spans, events, attributes_in_memory, warnings: [{code, message}]}
  std::string summary() const;

  // The `list --json` array. Options: {filters: ["key=value" | {key, op, value}], order_by:
  // ["-duration", ...], limit (default 20, 0 = all), offset}.
  Result<std::string> trace_list(std::string_view options_json) const;
  // trace_tree_json_text (compact: a very deep tree cannot overflow the stack while printing).
  Result<std::string> trace_tree(std::string_view trace_id) const;
  // {span: get_span shape, flags: [...], events: [...]}.
  Result<std::string> span(std::string_view span_id) const;
  // The `search --json` array; limit 0 = all.
  Result<std::string> search(std::string_view text, size_t limit,
                             const std::function<bool(double)>& progress = {}) const;
  // The `stats --json` document.
  Result<std::string> stats() const;
  // The `conversation --json` document.
  Result<std::string> conversation(std::string_view trace_id) const;
  // Llama Stack's query_traces: {attribute_filters, order_by, limit (default 100), offset,
  // include_incomplete} -> {"data": [Trace]}.
  Result<std::string> query_traces(std::string_view request_json) const;
  // {attribute_filters, attributes_to_return, max_depth} -> query_spans' list.
  Result<std::string> query_spans(std::string_view request_json) const;
  // {metric_name, start_time, end_time (unix seconds or ISO text), granularity,
  // label_matchers: [{name, value, operator: "="|"!="|"=~"|"!~"}]} -> QueryMetricsResponse.
  Result<std::string> query_metrics(std::string_view request_json) const;
  // The `sql --json` document for one read-only statement (max_rows 0 = all).
  Result<std::string> sql(std::string_view statement, size_t max_rows);
  // Streams an export into `sink` and closes it. Request: {format, gzip, trace_ids, since,
  // until (ISO text), days, now (ISO text, for days), filters, conversations_only, limit,
  // error_attribute_as_status}. Answers the summary {format, traces, spans, events, bytes,
  // skipped: [{trace_id, reason}]} (bytes: what reached `sink`, compressed when gzip).
  Result<std::string> export_traces(std::string_view request_json, Sink& sink,
                                    const std::function<bool(uint64_t, uint64_t)>& progress = {}) const;

  // A trace by exact id (any case) or by a unique prefix of at least 6 characters.
  Result<uint32_t> resolve_trace(std::string_view id) const;

 private:
  Session() = default;
  std::unique_ptr<Store> store_;  // declared first: the model may read attributes through it
  std::unique_ptr<Model> model_;
};

}  // namespace tracedrop
