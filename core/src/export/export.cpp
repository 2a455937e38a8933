// Selection of traces and the export driver: renders each trace into a small buffer, then
// hands it to the sink, so a trace that fails half-way is skipped whole and memory stays flat.
#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "export/span_export.h"
#include "export/writers.h"
#include "tracedrop/export.h"
#include "tracedrop/query.h"

namespace tracedrop {
namespace {

constexpr int64_t kNsPerDay = 86400LL * 1000000000LL;

// What the old exporter called a conversation: agent turns and chat completions.
bool looks_like_conversation(const Model& model, uint32_t t) {
  for (const uint32_t* p = model.trace_spans_begin(t); p != model.trace_spans_end(t); ++p) {
    const std::string_view name = model.span_name(*p);
    if (name == "create_agent_turn" || name == "inference" || name == "/alpha/agents/turn/create" ||
        name.find("chat/completions") != std::string_view::npos ||
        name.find("chat_completion") != std::string_view::npos || name.find("/turn") != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// When attributes are kept on demand, reads them ahead for the next traces to export, a batch
// at a time in file order (one read per span would seek the file for every span).
class Prefetcher {
 public:
  Prefetcher(const Model& model, std::vector<uint32_t> order) : model_(model), order_(std::move(order)) {}

  // The attribute text of span `s` of trace `t` when it was read ahead, else nullptr (then the
  // caller reads it alone, and a failure is that trace's own).
  const std::string_view* text(uint32_t t, uint32_t s) {
    if (model_.attributes_in_memory()) return nullptr;
    if (trace_ != t) load_from(t);
    auto it = where_.find(s);
    return it == where_.end() ? nullptr : &texts_.texts[it->second];
  }

 private:
  static constexpr size_t kBatchSpans = 8192;

  void load_from(uint32_t t) {
    trace_ = t;
    if (window_.count(t)) return;
    while (next_ < order_.size() && order_[next_] != t) ++next_;  // traces come in order
    if (next_ == order_.size()) next_ = 0;  // out of order after all: start over
    window_.clear();
    where_.clear();
    std::vector<uint32_t> spans;
    for (size_t i = next_; i < order_.size() && spans.size() < kBatchSpans; ++i) {
      window_.insert(order_[i]);
      spans.insert(spans.end(), model_.trace_spans_begin(order_[i]), model_.trace_spans_end(order_[i]));
    }
    if (!model_.span_attributes_batch(spans, texts_).is_ok()) return;  // each span read alone
    for (size_t i = 0; i < spans.size(); ++i)
      if (texts_.found[i]) where_[spans[i]] = i;
  }

  const Model& model_;
  std::vector<uint32_t> order_;
  size_t next_ = 0;
  uint32_t trace_ = UINT32_MAX;
  std::unordered_set<uint32_t> window_;
  std::unordered_map<uint32_t, size_t> where_;
  Model::AttributeTexts texts_;
};

struct TraceRender {
  const Model& model;
  const ExportOptions& options;
  Prefetcher& prefetch;
  std::string scratch;
  SpanExport span;
  std::vector<AttrEntry> entries;
  uint64_t spans = 0, events = 0;

  // Appends the trace's spans (comma-separated, `first` tells whether one precedes them).
  Status spans_into(std::string& out, uint32_t t, bool& first) {
    for (const uint32_t* p = model.trace_spans_begin(t); p != model.trace_spans_end(t); ++p) {
      if (const std::string_view* text = prefetch.text(t, *p)) {
        describe_span_with(model, *p, options, *text, span);
      } else {
        TRACEDROP_RETURN_IF_ERROR(describe_span(model, *p, options, scratch, span));
      }
      if (!first) out += ',';
      first = false;
      if (options.format == ExportFormat::kJaegerJson) write_jaeger_span(out, model, *p, span, entries);
      else write_otlp_span(out, model, *p, span, entries);
      ++spans;
      events += static_cast<uint64_t>(model.events_end(*p) - model.events_begin(*p));
    }
    return Status::ok();
  }
};

}  // namespace

std::optional<ExportFormat> parse_export_format(std::string_view text) {
  if (text == "otlp-json" || text == "otlp" || text == "json") return ExportFormat::kOtlpJson;
  if (text == "otlp-jsonl" || text == "jsonl" || text == "otlp-json-lines") return ExportFormat::kOtlpJsonLines;
  if (text == "jaeger" || text == "jaeger-json") return ExportFormat::kJaegerJson;
  return std::nullopt;
}

const char* export_format_name(ExportFormat format) {
  switch (format) {
    case ExportFormat::kOtlpJson: return "otlp-json";
    case ExportFormat::kOtlpJsonLines: return "otlp-jsonl";
    case ExportFormat::kJaegerJson: return "jaeger";
  }
  return "?";
}

Result<std::vector<uint32_t>> select_traces(const Model& model, const ExportSelection& sel) {
  TraceQuery q;
  q.filters = sel.filters;
  q.limit = SIZE_MAX;
  auto all = query_traces(model, q);  // newest first
  if (!all.is_ok()) return all.status();
  std::vector<bool> wanted;
  if (!sel.trace_ids.empty()) {
    wanted.assign(model.trace_count(), false);
    for (const auto& id : sel.trace_ids) {
      auto t = model.find_trace(id);
      if (!t) {
        return Status(ErrorCode::kNotFound, "no trace with id " + id + " (use `tracedrop list` to see trace ids)");
      }
      wanted[*t] = true;
    }
  }
  std::optional<TimeNs> since = sel.since;
  if (sel.days) {
    const TimeNs from = sel.now - static_cast<TimeNs>(*sel.days * static_cast<double>(kNsPerDay));
    since = since ? std::max(*since, from) : from;
  }
  std::vector<uint32_t> out;
  for (uint32_t t : *all) {
    const TraceInfo& tr = model.traces[t];
    if (!wanted.empty() && !wanted[t]) continue;
    if (since && tr.start < *since) continue;
    if (sel.until && tr.start >= *sel.until) continue;
    if (sel.conversations_only && !looks_like_conversation(model, t)) continue;
    out.push_back(t);
    if (sel.limit && out.size() >= sel.limit) break;
  }
  return out;
}

Result<ExportSummary> export_traces(const Model& model, const std::vector<uint32_t>& traces,
                                    const ExportOptions& options, Sink& sink) {
  ExportSummary summary;
  const uint64_t bytes_before = sink.bytes_written();
  // The order traces are written in: grouped by service for OTLP JSON, as given otherwise.
  std::vector<uint32_t> order;
  if (options.format == ExportFormat::kOtlpJson) {
    std::map<std::string, size_t> group_of;
    std::vector<std::vector<uint32_t>> grouped;
    for (uint32_t t : traces) {
      auto [it, inserted] = group_of.emplace(model.service_display(t), grouped.size());
      if (inserted) grouped.emplace_back();
      grouped[it->second].push_back(t);
    }
    for (const auto& g : grouped) order.insert(order.end(), g.begin(), g.end());
  } else {
    order = traces;
  }
  Prefetcher prefetch(model, std::move(order));
  TraceRender render{model, options, prefetch, {}, {}, {}, 0, 0};
  std::string buf;
  uint64_t done = 0;
  auto step = [&]() -> Status {
    ++done;
    if (options.progress && !options.progress(done, traces.size())) {
      return Status(ErrorCode::kCancelled, "Export cancelled.");
    }
    return Status::ok();
  };
  // Renders one trace with `render_fn`; on failure the trace is listed as skipped.
  auto render_trace = [&](uint32_t t, auto&& render_fn) -> bool {
    buf.clear();
    const uint64_t spans_before = render.spans, events_before = render.events;
    Status st = render_fn();
    if (!st.is_ok()) {
      render.spans = spans_before;
      render.events = events_before;
      summary.skipped.push_back({model.traces[t].id, st.message()});
      return false;
    }
    ++summary.traces;
    return true;
  };

  if (options.format == ExportFormat::kOtlpJson) {
    // One ResourceSpans per service, in order of first appearance.
    std::vector<std::pair<std::string, std::vector<uint32_t>>> groups;
    std::map<std::string, size_t> group_of;
    for (uint32_t t : traces) {
      const std::string service = model.service_display(t);
      auto [it, inserted] = group_of.emplace(service, groups.size());
      if (inserted) groups.push_back({service, {}});
      groups[it->second].second.push_back(t);
    }
    TRACEDROP_RETURN_IF_ERROR(sink.write("{\"resourceSpans\":["));
    for (size_t g = 0; g < groups.size(); ++g) {
      std::string head = g ? "," : "";
      write_otlp_resource_open(head, groups[g].first);
      TRACEDROP_RETURN_IF_ERROR(sink.write(head));
      bool first = true;
      for (uint32_t t : groups[g].second) {
        bool first_copy = first;
        if (render_trace(t, [&] { return render.spans_into(buf, t, first_copy); })) {
          first = first_copy;
          TRACEDROP_RETURN_IF_ERROR(sink.write(buf));
        }
        TRACEDROP_RETURN_IF_ERROR(step());
      }
      std::string tail;
      write_otlp_resource_close(tail);
      TRACEDROP_RETURN_IF_ERROR(sink.write(tail));
    }
    TRACEDROP_RETURN_IF_ERROR(sink.write("]}"));
  } else if (options.format == ExportFormat::kOtlpJsonLines) {
    for (uint32_t t : traces) {
      const bool ok = render_trace(t, [&] {
        buf = "{\"resourceSpans\":[";
        write_otlp_resource_open(buf, model.service_display(t));
        bool first = true;
        TRACEDROP_RETURN_IF_ERROR(render.spans_into(buf, t, first));
        write_otlp_resource_close(buf);
        buf += "]}\n";
        return Status::ok();
      });
      if (ok) TRACEDROP_RETURN_IF_ERROR(sink.write(buf));
      TRACEDROP_RETURN_IF_ERROR(step());
    }
  } else {
    TRACEDROP_RETURN_IF_ERROR(sink.write("{\"data\":["));
    bool first_trace = true;
    for (uint32_t t : traces) {
      const bool ok = render_trace(t, [&] {
        if (!first_trace) buf += ',';
        write_jaeger_trace_open(buf, export_trace_id(model, t));
        bool first = true;
        TRACEDROP_RETURN_IF_ERROR(render.spans_into(buf, t, first));
        write_jaeger_trace_close(buf, model.service_display(t));
        return Status::ok();
      });
      if (ok) {
        first_trace = false;
        TRACEDROP_RETURN_IF_ERROR(sink.write(buf));
      }
      TRACEDROP_RETURN_IF_ERROR(step());
    }
    TRACEDROP_RETURN_IF_ERROR(sink.write("]}"));
  }
  summary.spans = render.spans;
  summary.events = render.events;
  summary.bytes = sink.bytes_written() - bytes_before;
  return summary;
}

}  // namespace tracedrop
