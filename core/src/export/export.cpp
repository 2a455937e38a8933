// Selection of traces and the export driver: renders batches of traces into buffers (on two
// threads natively), then hands them to the sink in order, so a trace that fails half-way is
// skipped whole and memory stays flat.
#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "export/span_export.h"
#include "export/writers.h"
#include "tracedrop/export.h"
#include "tracedrop/query.h"
#include "util/helper_thread.h"

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
  Prefetcher* prefetch;  // null when the attributes are in memory (or in the file image)
  std::string scratch;
  SpanExport span;
  std::vector<AttrEntry> entries;
  uint64_t spans = 0, events = 0;

  // Appends the trace's spans (comma-separated, `first` tells whether one precedes them).
  Status spans_into(std::string& out, uint32_t t, bool& first) {
    for (const uint32_t* p = model.trace_spans_begin(t); p != model.trace_spans_end(t); ++p) {
      if (const std::string_view* text = prefetch ? prefetch->text(t, *p) : nullptr) {
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

// The spans of consecutive traces (in write order), each trace's comma-separated spans one
// after the other in `bytes`.
struct Batch {
  struct Item {
    size_t end = 0;  // the trace's spans are bytes[previous item's end, end)
    bool ok = true;
    std::string error;  // why it is skipped, when !ok
    uint64_t spans = 0, events = 0;
  };
  size_t first = 0, count = 0;  // positions in the write order
  std::string bytes;
  std::vector<Item> items;
};

// Renders the traces' spans in batches, in write order. When the model can be read from two
// threads (attributes in memory or in the file image: no SQLite statement involved), a
// helper thread renders the batches ahead while this one writes and renders too, at most
// kWindow batches ahead of the writer, so memory stays bounded whatever the export's size.
class BatchRenderer {
 public:
  BatchRenderer(const Model& model, const ExportOptions& options, const std::vector<uint32_t>& order,
                bool threaded)
      : order_(order), main_{model, options, nullptr, {}, {}, {}, 0, 0}, helper_{model, options, nullptr, {}, {}, {}, 0, 0} {
    size_t spans = 0, start = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      spans += static_cast<size_t>(model.trace_spans_end(order[i]) - model.trace_spans_begin(order[i]));
      if (spans >= kBatchSpans || i + 1 == order.size()) {
        bounds_.push_back({start, i + 1 - start});
        start = i + 1;
        spans = 0;
      }
    }
    slots_.resize(bounds_.size());
    ready_.assign(bounds_.size(), false);
    if (!model.attributes_in_memory()) {
      prefetch_.reset(new Prefetcher(model, order));  // read ahead in file order, one thread
      main_.prefetch = prefetch_.get();
      threaded = false;
    }
    // Without a helper thread everything is rendered here.
    worker_.start(threaded && bounds_.size() > 1, [this] { worker_loop(); });
  }

  ~BatchRenderer() { worker_.stop(mu_, cv_, stop_); }

  BatchRenderer(const BatchRenderer&) = delete;
  BatchRenderer& operator=(const BatchRenderer&) = delete;

  // The next batch in order (valid until the following call), or nullptr after the last.
  const Batch* next() {
    std::unique_lock<std::mutex> lock(mu_);
    if (current_ != kNone) {
      slots_[current_].reset();  // written: its memory goes back
      consumed_ = current_ + 1;
      cv_.notify_all();
    }
    const size_t want = current_ == kNone ? 0 : current_ + 1;
    if (want >= bounds_.size()) return nullptr;
    current_ = want;
    while (!ready_[want]) {
      // Render what is due next (or, while the helper is on it, the next free batch).
      if (claimed_ < bounds_.size() && claimed_ < consumed_ + kWindow) {
        render_next(lock, main_);
      } else {
        cv_.wait(lock);
      }
    }
    return slots_[want].get();
  }

 private:
  static constexpr size_t kBatchSpans = 1024;
  static constexpr size_t kWindow = 4;
  static constexpr size_t kNone = SIZE_MAX;

  std::unique_ptr<Batch> render(size_t idx, TraceRender& r) const {
    std::unique_ptr<Batch> b(new Batch());
    b->first = bounds_[idx].first;
    b->count = bounds_[idx].second;
    b->items.resize(b->count);
    for (size_t i = 0; i < b->count; ++i) {
      Batch::Item& item = b->items[i];
      const size_t before = b->bytes.size();
      const uint64_t spans_before = r.spans, events_before = r.events;
      bool first = true;
      Status st = r.spans_into(b->bytes, order_[b->first + i], first);
      if (!st.is_ok()) {
        b->bytes.resize(before);
        item.ok = false;
        item.error = st.message();
      } else {
        item.spans = r.spans - spans_before;
        item.events = r.events - events_before;
      }
      item.end = b->bytes.size();
    }
    return b;
  }

  void worker_loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || claimed_ >= bounds_.size() || claimed_ < consumed_ + kWindow; });
      if (stop_ || claimed_ >= bounds_.size()) return;
      render_next(lock, helper_);
    }
  }

  // Claims the next batch and renders it with `r`, the lock released meanwhile.
  void render_next(std::unique_lock<std::mutex>& lock, TraceRender& r) {
    const size_t idx = claimed_++;
    lock.unlock();
    std::unique_ptr<Batch> b = render(idx, r);
    lock.lock();
    slots_[idx] = std::move(b);
    ready_[idx] = true;
    cv_.notify_all();
  }

  const std::vector<uint32_t>& order_;
  std::vector<std::pair<size_t, size_t>> bounds_;  // (first position, count) per batch
  std::unique_ptr<Prefetcher> prefetch_;
  TraceRender main_, helper_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Batch>> slots_;
  std::vector<bool> ready_;
  size_t claimed_ = 0;   // batches handed to a renderer so far
  size_t consumed_ = 0;  // batches written so far
  size_t current_ = kNone;
  bool stop_ = false;
  HelperThread worker_;  // stopped by the destructor, before the members its loop uses go
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
  // The order traces are written in: grouped by service for OTLP JSON (one ResourceSpans per
  // service, in order of first appearance), as given otherwise.
  const bool otlp = options.format == ExportFormat::kOtlpJson;
  std::vector<uint32_t> order;
  std::vector<std::string> services;       // OTLP JSON: per group
  std::vector<size_t> group_of_position;   // OTLP JSON: per position in `order`
  if (otlp) {
    std::map<std::string, size_t> group_of;
    std::vector<std::vector<uint32_t>> grouped;
    for (uint32_t t : traces) {
      auto [it, inserted] = group_of.emplace(model.service_display(t), grouped.size());
      if (inserted) {
        grouped.emplace_back();
        services.push_back(it->first);
      }
      grouped[it->second].push_back(t);
    }
    for (size_t g = 0; g < grouped.size(); ++g) {
      order.insert(order.end(), grouped[g].begin(), grouped[g].end());
      group_of_position.insert(group_of_position.end(), grouped[g].size(), g);
    }
  } else {
    order = traces;
  }
  BatchRenderer renderer(model, options, order, options.threads);
  uint64_t done = 0;
  size_t group = SIZE_MAX;    // OTLP JSON: the open ResourceSpans
  bool first_in_group = true;  // OTLP JSON: no span written in it yet
  bool first_trace = true;     // Jaeger: no trace written yet
  std::string frame;

  if (otlp) TRACEDROP_RETURN_IF_ERROR(sink.write("{\"resourceSpans\":["));
  if (options.format == ExportFormat::kJaegerJson) TRACEDROP_RETURN_IF_ERROR(sink.write("{\"data\":["));
  while (const Batch* b = renderer.next()) {
    size_t begin = 0;
    for (size_t i = 0; i < b->count; ++i) {
      const Batch::Item& item = b->items[i];
      const size_t pos = b->first + i;
      const uint32_t t = order[pos];
      const std::string_view body(b->bytes.data() + begin, item.end - begin);
      begin = item.end;
      frame.clear();
      if (otlp && group_of_position[pos] != group) {
        if (group != SIZE_MAX) {
          write_otlp_resource_close(frame);
          frame += ',';
        }
        group = group_of_position[pos];
        write_otlp_resource_open(frame, services[group]);
        first_in_group = true;
      }
      if (!item.ok) {
        summary.skipped.push_back({model.traces[t].id, item.error});
        if (!frame.empty()) TRACEDROP_RETURN_IF_ERROR(sink.write(frame));
      } else {
        ++summary.traces;
        summary.spans += item.spans;
        summary.events += item.events;
        if (otlp) {
          if (!first_in_group && !body.empty()) frame += ',';
          if (!body.empty()) first_in_group = false;
          TRACEDROP_RETURN_IF_ERROR(sink.write(frame));
          TRACEDROP_RETURN_IF_ERROR(sink.write(body));
        } else if (options.format == ExportFormat::kOtlpJsonLines) {
          frame = "{\"resourceSpans\":[";
          write_otlp_resource_open(frame, model.service_display(t));
          TRACEDROP_RETURN_IF_ERROR(sink.write(frame));
          TRACEDROP_RETURN_IF_ERROR(sink.write(body));
          frame.clear();
          write_otlp_resource_close(frame);
          frame += "]}\n";
          TRACEDROP_RETURN_IF_ERROR(sink.write(frame));
        } else {
          if (!first_trace) frame += ',';
          first_trace = false;
          write_jaeger_trace_open(frame, export_trace_id(model, t));
          TRACEDROP_RETURN_IF_ERROR(sink.write(frame));
          TRACEDROP_RETURN_IF_ERROR(sink.write(body));
          frame.clear();
          write_jaeger_trace_close(frame, model.service_display(t));
          TRACEDROP_RETURN_IF_ERROR(sink.write(frame));
        }
      }
      ++done;
      if (options.progress && !options.progress(done, traces.size())) {
        return Status(ErrorCode::kCancelled, "Export cancelled.");
      }
    }
  }
  if (otlp) {
    frame.clear();
    if (group != SIZE_MAX) write_otlp_resource_close(frame);
    frame += "]}";
    TRACEDROP_RETURN_IF_ERROR(sink.write(frame));
  }
  if (options.format == ExportFormat::kJaegerJson) TRACEDROP_RETURN_IF_ERROR(sink.write("]}"));
  summary.bytes = sink.bytes_written() - bytes_before;
  return summary;
}

}  // namespace tracedrop
