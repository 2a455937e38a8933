// OTLP JSON: the protobuf JSON encoding of an ExportTraceServiceRequest. lowerCamelCase keys,
// hex ids, integer enums, 64-bit integers as decimal strings, typed AnyValues.
#include "export/writers.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "json/json_writer.h"

namespace tracedrop {
namespace {

void write_double_value(json::Writer& w, double d) {
  w.key("doubleValue");
  if (std::isnan(d)) w.string("NaN");
  else if (std::isinf(d)) w.string(d > 0 ? "Infinity" : "-Infinity");
  else w.number(d);
}

// Writes an AnyValue for a parsed JSON value with an explicit task stack, so the writer's depth
// never depends on the data.
void write_json_any(json::Writer& w, const nlohmann::json& root) {
  enum class Step { kValue, kKeyValue, kCloseKeyValue, kCloseContainer };
  struct Task {
    Step step;
    const nlohmann::json* value;
    const std::string* key;
  };
  std::vector<Task> tasks{{Step::kValue, &root, nullptr}};
  while (!tasks.empty()) {
    const Task t = tasks.back();
    tasks.pop_back();
    if (t.step == Step::kCloseKeyValue) {
      w.end_object();
      continue;
    }
    if (t.step == Step::kCloseContainer) {
      w.end_array();
      w.end_object();
      w.end_object();
      continue;
    }
    if (t.step == Step::kKeyValue) {
      w.begin_object();
      w.key("key");
      w.string(*t.key);
      w.key("value");
      tasks.push_back({Step::kCloseKeyValue, nullptr, nullptr});
    }
    const nlohmann::json& v = *t.value;
    w.begin_object();
    switch (v.type()) {
      case nlohmann::json::value_t::string:
        w.key("stringValue");
        w.string(v.get_ref<const std::string&>());
        break;
      case nlohmann::json::value_t::boolean:
        w.key("boolValue");
        w.boolean(v.get<bool>());
        break;
      case nlohmann::json::value_t::number_integer:
        w.key("intValue");
        w.int64_as_string(v.get<int64_t>());
        break;
      case nlohmann::json::value_t::number_unsigned:
      case nlohmann::json::value_t::number_float:
        write_double_value(w, v.get<double>());
        break;
      case nlohmann::json::value_t::array:
      case nlohmann::json::value_t::object: {
        w.key(v.is_array() ? "arrayValue" : "kvlistValue");
        w.begin_object();
        w.key("values");
        w.begin_array();
        tasks.push_back({Step::kCloseContainer, nullptr, nullptr});
        const size_t first = tasks.size();
        for (auto it = v.begin(); it != v.end(); ++it) {
          if (v.is_array()) tasks.push_back({Step::kValue, &*it, nullptr});
          else tasks.push_back({Step::kKeyValue, &*it, &it.key()});
        }
        std::reverse(tasks.begin() + static_cast<std::ptrdiff_t>(first), tasks.end());
        continue;  // the AnyValue is closed by kCloseContainer
      }
      default:  // null: an empty AnyValue
        break;
    }
    w.end_object();
  }
}

void write_entry_value(json::Writer& w, const AttrEntry& e) {
  switch (e.kind) {
    case AttrEntry::kString:
      w.begin_object();
      w.key("stringValue");
      if (e.decoded) w.string(e.text);
      else w.raw(e.raw);
      w.end_object();
      return;
    case AttrEntry::kInt:
      w.begin_object();
      w.key("intValue");
      w.string(e.raw);  // the stored digits: a decimal string, as OTLP/JSON wants
      w.end_object();
      return;
    case AttrEntry::kDouble:
      w.begin_object();
      w.key("doubleValue");
      w.raw(e.raw);  // JSON number text as stored (no float round trip)
      w.end_object();
      return;
    case AttrEntry::kNonFinite:
      w.begin_object();
      w.key("doubleValue");
      w.string(e.raw);
      w.end_object();
      return;
    case AttrEntry::kBool:
      w.begin_object();
      w.key("boolValue");
      w.boolean(e.boolean);
      w.end_object();
      return;
    case AttrEntry::kComplex:
      write_json_any(w, entry_complex(e));
      return;
    case AttrEntry::kNull:
      w.begin_object();
      w.end_object();
      return;
  }
}

void write_key_values(json::Writer& w, const std::vector<AttrEntry>& entries, const std::vector<ExportNote>* notes) {
  w.begin_array();
  for (const AttrEntry& e : entries) {
    w.begin_object();
    w.key("key");
    w.string(e.key());
    w.key("value");
    write_entry_value(w, e);
    w.end_object();
  }
  if (notes) {
    for (const ExportNote& n : *notes) {
      w.begin_object();
      w.key("key");
      w.string(n.key);
      w.key("value");
      w.begin_object();
      if (n.is_bool) {
        w.key("boolValue");
        w.boolean(true);
      } else {
        w.key("stringValue");
        w.string(n.text);
      }
      w.end_object();
      w.end_object();
    }
  }
  w.end_array();
}

}  // namespace

void write_otlp_resource_open(std::string& out, const std::string& service) {
  out += "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":";
  json::append_escaped_string(out, service);
  out += "}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"llama_stack\"},\"spans\":[";
}

void write_otlp_resource_close(std::string& out) { out += "]}]}"; }

void write_otlp_span(std::string& out, const Model& model, uint32_t s, const SpanExport& x,
                     std::vector<AttrEntry>& scratch_entries) {
  json::Writer w(out);
  w.begin_object();
  w.key("traceId");
  w.string(x.trace_id);
  w.key("spanId");
  w.string(x.span_id);
  if (!x.parent_id.empty()) {
    w.key("parentSpanId");
    w.string(x.parent_id);
  }
  w.key("name");
  w.string(model.span_name(s));
  w.key("kind");
  w.int64(static_cast<int64_t>(model.spans.kind[s]));
  w.key("startTimeUnixNano");
  w.int64_as_string(model.spans.start[s]);
  w.key("endTimeUnixNano");
  w.int64_as_string(model.spans.end[s]);
  w.key("attributes");
  write_key_values(w, x.attributes, &x.notes);
  w.key("events");
  w.begin_array();
  for (const uint32_t* e = model.events_begin(s); e != model.events_end(s); ++e) {
    w.begin_object();
    w.key("timeUnixNano");
    w.int64_as_string(model.events.time[*e]);
    w.key("name");
    w.string(model.event_name(*e));
    w.key("attributes");
    event_entries(model, *e, scratch_entries);
    write_key_values(w, scratch_entries, nullptr);
    w.end_object();
  }
  w.end_array();
  w.key("status");
  w.begin_object();
  w.key("code");
  w.int64(static_cast<int64_t>(x.status));
  if (!x.status_message.empty()) {
    w.key("message");
    w.string(x.status_message);
  }
  w.end_object();
  w.end_object();
}

}  // namespace tracedrop
