// What both exporters need to know about one span: its export ids, its attributes as typed
// entries, its status after the error-attribute option, and the notes tracedrop adds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "export/attribute_entries.h"
#include "tracedrop/export.h"
#include "tracedrop/model.h"

namespace tracedrop {

// Extra attributes tracedrop adds so nothing stored is lost (documented in docs/export.md).
struct ExportNote {
  std::string key;
  std::string text;   // string value, unless is_bool
  bool is_bool = false;
};

struct SpanExport {
  std::string trace_id;   // 32 hex
  std::string span_id;    // 16 hex
  std::string parent_id;  // 16 hex, or "" for none
  bool parent_in_trace = false;  // the parent is exported in the same trace
  std::vector<AttrEntry> attributes;
  std::vector<ExportNote> notes;
  SpanStatus status = SpanStatus::kUnset;
  std::string status_message;  // the `error` attribute's text, when there is one
};

// Export ids of a trace: the stored id when valid, else the derived one.
std::string export_trace_id(const Model& model, uint32_t trace);

// Fills `out` for span `s`. Fails only when the attribute text cannot be read from the store.
Status describe_span(const Model& model, uint32_t s, const ExportOptions& options, std::string& scratch,
                     SpanExport& out);
// The same with the span's attribute text already read.
void describe_span_with(const Model& model, uint32_t s, const ExportOptions& options, std::string_view text,
                        SpanExport& out);

// Typed entries of an event's attributes; unreadable text becomes one "raw" string entry.
void event_entries(const Model& model, uint32_t e, std::vector<AttrEntry>& out);

}  // namespace tracedrop
