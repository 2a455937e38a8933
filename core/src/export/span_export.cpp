#include "export/span_export.h"

#include "model/ids.h"

namespace tracedrop {
namespace {

constexpr uint64_t kDuplicateSalt = 0x44555031;  // "DUP1"

// hex64(v) into `out`, its earlier capacity reused (export_traces renders every span's ids
// into the same strings: no allocation per span).
void assign_hex64(std::string& out, uint64_t v) {
  out.clear();
  append_hex64(out, v);
}

// The export id of span `s` into `out`: its own id, except that a second row with an
// already-used id gets a derived one (ids must be unique within a trace).
void assign_export_span_id(const Model& model, uint32_t s, std::string& out) {
  if (model.spans.flags[s] & kSpanDuplicateId) {
    assign_hex64(out, derived_id(model.span_id_text(s) + ":" + std::to_string(model.spans.rowid[s]), kDuplicateSalt));
  } else {
    assign_hex64(out, model.spans.id[s]);
  }
}

// export_trace_id into `out`, its capacity reused.
void assign_export_trace_id(const Model& model, uint32_t trace, std::string& out) {
  const TraceInfo& t = model.traces[trace];
  if (t.bad_id) {  // hex128(hi, lo)
    assign_hex64(out, t.id_hi);
    append_hex64(out, t.id_lo);
    return;
  }
  out.assign(t.id);
  for (char& c : out)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
}

void add_note(SpanExport& out, std::string key, std::string text) {
  out.notes.push_back({std::move(key), std::move(text), false});
}

void describe_ids(const Model& model, uint32_t s, SpanExport& out) {
  const uint32_t flags = model.spans.flags[s];
  const TraceInfo& trace = model.traces[model.spans.trace[s]];
  assign_export_trace_id(model, model.spans.trace[s], out.trace_id);
  if (trace.bad_id) add_note(out, "tracedrop.original_trace_id", trace.id);
  assign_export_span_id(model, s, out.span_id);
  if (flags & (kSpanBadSpanId | kSpanDuplicateId)) add_note(out, "tracedrop.original_span_id", model.span_id_text(s));

  out.parent_id.clear();
  out.parent_in_trace = false;
  const int32_t parent = model.spans.parent[s];
  if (parent >= 0) {
    assign_export_span_id(model, static_cast<uint32_t>(parent), out.parent_id);
    out.parent_in_trace = true;
  } else if (flags & kSpanCycle) {
    // The stored parent closes a loop; exporting it would make the trace a cycle.
    add_note(out, "tracedrop.cut_parent_span_id", model.parent_id_text(s));
  } else if (model.spans.parent_id[s] != 0) {
    assign_hex64(out.parent_id, model.spans.parent_id[s]);  // a remote or missing parent, kept as stored
  }
  if (flags & kSpanBadParentId) add_note(out, "tracedrop.original_parent_span_id", model.parent_id_text(s));
}

}  // namespace

std::string export_trace_id(const Model& model, uint32_t trace) {
  std::string id;
  assign_export_trace_id(model, trace, id);
  return id;
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
    if (e.key() == "error" && (flags & kSpanErrorAttribute)) {
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
  raw.key_in_text = "tracedrop.raw_attributes";
  raw.kind = AttrEntry::kString;
  raw.decoded = true;
  raw.text = std::string(text);
  out.push_back(std::move(raw));
}

}  // namespace tracedrop
