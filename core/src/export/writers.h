// The format writers behind export_traces(): each renders one span (or the frame around a
// group of spans) into a string buffer.
#pragma once

#include <string>
#include <vector>

#include "export/span_export.h"
#include "tracedrop/model.h"

namespace tracedrop {

// OTLP JSON: {"resource":{...},"scopeSpans":[{"scope":{...},"spans":[ ... ]}]}
void write_otlp_resource_open(std::string& out, const std::string& service);
void write_otlp_resource_close(std::string& out);
void write_otlp_span(std::string& out, const Model& model, uint32_t s, const SpanExport& x,
                     std::vector<AttrEntry>& scratch_entries);

// Jaeger JSON: {"traceID":..,"spans":[ ... ],"processes":{"p1":{...}},"warnings":null}
void write_jaeger_trace_open(std::string& out, const std::string& trace_id);
void write_jaeger_trace_close(std::string& out, const std::string& service);
void write_jaeger_span(std::string& out, const Model& model, uint32_t s, const SpanExport& x,
                       std::vector<AttrEntry>& scratch_entries);

}  // namespace tracedrop
