// The JSON shapes other tools read (CLI --json, the browser): a contract, kept stable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tracedrop/model.h"
#include "tracedrop/search.h"
#include "tracedrop/store.h"

namespace tracedrop {

// One trace summary: {trace_id, root_span_id, name, service, start, end, duration_ms,
// span_count, error_count, incomplete, incomplete_reasons}. root_span_id is the root the model
// uses (found even when traces.root_span_id is NULL), null when there is none; times are ISO
// UTC with 6 fraction digits; incomplete_reasons are trace_incomplete_names().
// Strings are as stored (possibly ill-formed UTF-8): dump with error_handler_t::replace.
nlohmann::json trace_summary_json(const Model& model, uint32_t trace);
nlohmann::json trace_list_json(const Model& model, const std::vector<uint32_t>& traces);

// {trace_id, spans: N, tree: [node]}, node = {span_id, parent_span_id, name, start, end,
// duration_ms, status, kind, attributes, events, flags, children: [node]} (orphans as extra roots).
// Built without recursion.
Result<nlohmann::json> trace_tree_json(const Model& model, uint32_t trace);
// The same document as compact JSON text, written without recursion. Prefer it for output:
// nlohmann's dump() recurses once per nesting level, so dumping the tree of a very deep trace
// can overflow the stack. Keys in sorted order, as nlohmann writes them.
Result<std::string> trace_tree_json_text(const Model& model, uint32_t trace);

// [{trace_id, span_id, name, field, snippet}]
nlohmann::json search_hits_json(const Model& model, const std::vector<SearchHit>& hits);

// `tracedrop sql --json`: {columns, rows: [[cell]], truncated}; integers, finite reals, text
// and blobs as text, NaN/Infinity and NULL as null.
nlohmann::json sql_result_json(const SqlResult& result);

// A span's attributes as a JSON object (lenient parse; unreadable text -> {"_raw": text}).
Result<nlohmann::json> span_attributes_json(const Model& model, uint32_t span);
// [{name, time, attributes}] for a span's events.
nlohmann::json span_events_json(const Model& model, uint32_t span);
// Names of the SpanFlag bits set ("orphan", "error_attribute", ...).
std::vector<std::string> span_flag_names(uint32_t flags);
std::vector<std::string> trace_incomplete_names(uint32_t bits);

// Milliseconds from nanoseconds, rounded to microseconds (3 decimals).
double ns_to_ms(int64_t ns);

}  // namespace tracedrop
