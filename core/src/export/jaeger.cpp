// Jaeger JSON, as Jaeger UI's "JSON File" upload and /api/traces use it: microsecond times,
// typed tags, CHILD_OF references, one process per trace.
#include <cmath>

#include "export/writers.h"
#include "json/json_scan.h"
#include "json/json_writer.h"

namespace tracedrop {
namespace {

constexpr int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1: exact in JavaScript

void tag_open(json::Writer& w, std::string_view key, const char* type) {
  w.begin_object();
  w.key("key");
  w.string(key);
  w.key("type");
  w.string(type);
  w.key("value");
}

void write_string_tag(json::Writer& w, std::string_view key, std::string_view value) {
  tag_open(w, key, "string");
  w.string(value);
  w.end_object();
}

// Llama Stack's `error` attribute (a message) would clash with Jaeger's boolean `error` tag,
// which the UI uses to mark failed spans; the message goes under `error.message`.
std::string_view tag_key(const AttrEntry& e) { return e.key() == "error" ? std::string_view("error.message") : e.key(); }

void write_entry_tag(json::Writer& w, const AttrEntry& e) {
  const std::string_view key = tag_key(e);
  switch (e.kind) {
    case AttrEntry::kString:
      tag_open(w, key, "string");
      if (e.decoded) w.string(e.text);
      else w.raw(e.raw);
      break;
    case AttrEntry::kInt: {
      int64_t v = 0;
      json::parse_int64(e.raw, v);
      tag_open(w, key, "int64");
      if (v > kMaxSafeInteger || v < -kMaxSafeInteger) w.string(e.raw);  // JSON readers lose precision
      else w.int64(v);
      break;
    }
    case AttrEntry::kDouble:
      tag_open(w, key, "float64");
      w.raw(e.raw);
      break;
    case AttrEntry::kNonFinite:
      tag_open(w, key, "string");  // float64 tags must hold a JSON number
      w.string(e.raw);
      break;
    case AttrEntry::kBool:
      tag_open(w, key, "bool");
      w.boolean(e.boolean);
      break;
    case AttrEntry::kComplex:
      tag_open(w, key, "string");
      w.string(entry_complex(e).dump());
      break;
    case AttrEntry::kNull:
      tag_open(w, key, "string");
      w.string("null");
      break;
  }
  w.end_object();
}

const char* kind_tag(SpanKind k) {
  switch (k) {
    case SpanKind::kServer: return "server";
    case SpanKind::kClient: return "client";
    case SpanKind::kProducer: return "producer";
    case SpanKind::kConsumer: return "consumer";
    default: return "internal";
  }
}

}  // namespace

void write_jaeger_trace_open(std::string& out, const std::string& trace_id) {
  out += "{\"traceID\":\"";
  out += trace_id;
  out += "\",\"spans\":[";
}

void write_jaeger_trace_close(std::string& out, const std::string& service) {
  out += "],\"processes\":{\"p1\":{\"serviceName\":";
  json::append_escaped_string(out, service);
  out += ",\"tags\":[]}},\"warnings\":null}";
}

void write_jaeger_span(std::string& out, const Model& model, uint32_t s, const SpanExport& x,
                       std::vector<AttrEntry>& scratch_entries) {
  json::Writer w(out);
  const int64_t start_us = model.spans.start[s] / 1000;
  const int64_t end_us = model.spans.end[s] / 1000;
  w.begin_object();
  w.key("traceID");
  w.string(x.trace_id);
  w.key("spanID");
  w.string(x.span_id);
  w.key("operationName");
  w.string(model.span_name(s).empty() ? std::string_view("(unnamed)") : model.span_name(s));
  w.key("references");
  w.begin_array();
  if (x.parent_in_trace) {
    w.begin_object();
    w.key("refType");
    w.string("CHILD_OF");
    w.key("traceID");
    w.string(x.trace_id);
    w.key("spanID");
    w.string(x.parent_id);
    w.end_object();
  }
  w.end_array();
  w.key("startTime");
  w.int64(start_us);
  w.key("duration");
  w.int64(end_us - start_us);
  w.key("tags");
  w.begin_array();
  for (const AttrEntry& e : x.attributes) write_entry_tag(w, e);
  for (const ExportNote& n : x.notes) {
    if (n.is_bool) {
      tag_open(w, n.key, "bool");
      w.boolean(true);
      w.end_object();
    } else {
      write_string_tag(w, n.key, n.text);
    }
  }
  // A parent that is not in the file (remote or lost) cannot be a reference: Jaeger would
  // mark the trace incomplete and strict readers reject it. The id is kept as a tag.
  if (!x.parent_in_trace && !x.parent_id.empty()) write_string_tag(w, "tracedrop.parent_span_id", x.parent_id);
  write_string_tag(w, "span.kind", kind_tag(model.spans.kind[s]));
  if (x.status != SpanStatus::kUnset) write_string_tag(w, "otel.status_code", status_name(x.status));
  if (!x.status_message.empty()) write_string_tag(w, "otel.status_description", x.status_message);
  if (x.status == SpanStatus::kError || model.span_failed(s)) {
    tag_open(w, "error", "bool");
    w.boolean(true);
    w.end_object();
  }
  w.end_array();
  w.key("logs");
  w.begin_array();
  for (const uint32_t* e = model.events_begin(s); e != model.events_end(s); ++e) {
    w.begin_object();
    w.key("timestamp");
    w.int64(model.events.time[*e] / 1000);
    w.key("fields");
    w.begin_array();
    write_string_tag(w, "event", model.event_name(*e));
    event_entries(model, *e, scratch_entries);
    for (const AttrEntry& a : scratch_entries) write_entry_tag(w, a);
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.key("processID");
  w.string("p1");
  w.key("warnings");
  w.null();
  w.key("flags");
  w.int64(1);
  w.end_object();
}

}  // namespace tracedrop
