#include "export/span_export.h"

#include "model/ids.h"

namespace tracedrop {
namespace {

constexpr uint64_t kDuplicateSalt = 0x44555031;  // "DUP1"

// The export id of span `s`: its own id, except that a second row with an already-used id
// gets a derived one (ids must be unique within a trace).
std::string export_span_id(const Model& model, uint32_t s) {
  if (model.spans.flags[s] & kSpanDuplicateId) {
    return hex64(derived_id(model.span_id_text(s) + ":" + std::to_string(model.spans.rowid[s]), kDuplicateSalt));
  }
  return model.span_id_hex(s);
}

void add_note(SpanExport& out, std::string key, std::string text) {
  out.notes.push_back({std::move(key), std::move(text), false});
}

void describe_ids(const Model& model, uint32_t s, SpanExport& out) {
  const uint32_t flags = model.spans.flags[s];
  const TraceInfo& trace = model.traces[model.spans.trace[s]];
  out.trace_id = export_trace_id(model, model.spans.trace[s]);
  if (trace.bad_id) add_note(out, "tracedrop.original_trace_id", trace.id);
  out.span_id = export_span_id(model, s);
  if (flags & (kSpanBadSpanId | kSpanDuplicateId)) add_note(out, "tracedrop.original_span_id", model.span_id_text(s));

  out.parent_id.clear();
  out.parent_in_trace = false;
  const int32_t parent = model.spans.parent[s];
  if (parent >= 0) {
    out.parent_id = export_span_id(model, static_cast<uint32_t>(parent));
    out.parent_in_trace = true;
  } else if (flags & kSpanCycle) {
    // The stored parent closes a loop; exporting it would make the trace a cycle.
    add_note(out, "tracedrop.cut_parent_span_id", model.parent_id_text(s));
  } else if (model.spans.parent_id[s] != 0) {
    out.parent_id = hex64(model.spans.parent_id[s]);  // a remote or missing parent, kept as stored
  }
  if (flags & kSpanBadParentId) add_note(out, "tracedrop.original_parent_span_id", model.parent_id_text(s));
}

}  // namespace

std::string export_trace_id(const Model& model, uint32_t trace) {
  const TraceInfo& t = model.traces[trace];
  if (!t.bad_id) {
    std::string id = t.id;
    for (char& c : id)
      if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    return id;
  }
  return hex128(t.id_hi, t.id_lo);
}

Status describe_span(const Model& model, uint32_t s, const ExportOptions& options, std::string& scratch,
                     SpanExport& out) {
  auto text = model.span_attributes(s, scratch);
  if (!text.is_ok()) return text.status();
  describe_span_with(model, s, options, *text, out);
  return Status::ok();
}

void describe_span_with(const Model& model, uint32_t s, const ExportOptions& options, std::string_view text,
                        SpanExport& out) {
  out.notes.clear();
  out.status_message.clear();
  describe_ids(model, s, out);
  const uint32_t flags = model.spans.flags[s];
  if (!text.empty() && !read_attribute_entries(text, out.attributes)) {
    add_note(out, "tracedrop.raw_attributes", std::string(text));  // kept whole
  } else if (text.empty()) {
    out.attributes.clear();
  }
  if (flags & (kSpanNoEnd | kSpanBadStart)) out.notes.push_back({"tracedrop.incomplete", "", true});

  out.status = model.spans.status[s];
  for (const AttrEntry& e : out.attributes) {
    if (e.key == "error" && (flags & kSpanErrorAttribute)) {
      out.status_message = e.kind == AttrEntry::kString ? entry_string(e) : std::string(e.raw);
    }
  }
  if (options.error_attribute_as_status && (flags & kSpanErrorAttribute)) out.status = SpanStatus::kError;
  if (out.status != SpanStatus::kError) out.status_message.clear();
}

void event_entries(const Model& model, uint32_t e, std::vector<AttrEntry>& out) {
  out.clear();
  const std::string_view text = model.event_attributes(e);
  if (text.empty() || read_attribute_entries(text, out)) return;
  AttrEntry raw;
  raw.key = "tracedrop.raw_attributes";
  raw.kind = AttrEntry::kString;
  raw.decoded = true;
  raw.text = std::string(text);
  out.push_back(std::move(raw));
}

}  // namespace tracedrop
