// Exporters: OTLP JSON (one ExportTraceServiceRequest, optionally gzip), OTLP JSON Lines
// (one request per trace per line) and Jaeger JSON ({"data": [...]}). They stream into a Sink
// as they go, so memory does not grow with the size of the export.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tracedrop/model.h"
#include "tracedrop/query.h"
#include "tracedrop/status.h"

namespace tracedrop {

enum class ExportFormat { kOtlpJson, kOtlpJsonLines, kJaegerJson };

// "otlp-json", "otlp-jsonl", "jaeger" (also "otlp", "jsonl", "jaeger-json").
std::optional<ExportFormat> parse_export_format(std::string_view text);
const char* export_format_name(ExportFormat format);

// Where export bytes go. write() may be called with many small pieces; close() flushes.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status write(std::string_view bytes) = 0;
  virtual Status close() = 0;
  uint64_t bytes_written() const { return bytes_; }

 protected:
  uint64_t bytes_ = 0;
};

// Collects everything in a string (tests, small exports).
class StringSink : public Sink {
 public:
  Status write(std::string_view bytes) override;
  Status close() override { return Status::ok(); }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

// Hands bytes to a callback in chunks of about `chunk_size` (the browser's transferable buffers).
class ChunkSink : public Sink {
 public:
  using Callback = std::function<Status(std::string_view chunk)>;
  ChunkSink(Callback callback, size_t chunk_size = 1 << 20);
  Status write(std::string_view bytes) override;
  Status close() override;

 private:
  Callback callback_;
  size_t chunk_size_;
  std::string buffer_;
};

// Writes to a temporary file beside `path` and renames it into place on commit(); a failed or
// abandoned export never leaves a truncated file under the requested name.
class FileSink : public Sink {
 public:
  static Result<std::unique_ptr<FileSink>> create(const std::string& path);
  ~FileSink() override;
  Status write(std::string_view bytes) override;
  Status close() override;   // flushes and closes the temporary file
  Status commit();           // close() if needed, then rename into place
  const std::string& path() const { return path_; }

 private:
  FileSink() = default;
  std::string path_, temp_path_;
  void* file_ = nullptr;  // FILE*
  std::string buffer_;
  bool committed_ = false;
};

// Compresses into another sink as gzip (one gzip member), streaming. The input is deflated
// in 1 MiB blocks, each primed with the 32 KiB before it and ended on a byte boundary (as pigz
// does), so natively blocks are compressed on two threads at once and written in order; the
// bytes are the same with or without the second thread. Memory stays bounded (a few blocks).
// `level` 1 (the default) is tracedrop's own fast deflate encoder; 0 and 2-9 are zlib's levels.
class GzipSink : public Sink {
 public:
  static Result<std::unique_ptr<GzipSink>> create(Sink& inner, int level = 1, bool threads = true);
  ~GzipSink() override;
  Status write(std::string_view bytes) override;
  Status close() override;  // finishes the gzip stream and closes the inner sink

 private:
  struct Impl;
  explicit GzipSink(Sink& inner);
  Sink& inner_;
  std::unique_ptr<Impl> impl_;
  bool finished_ = false;
};

// Which traces to export. Empty/unset fields select everything.
struct ExportSelection {
  std::vector<std::string> trace_ids;         // --trace ID (repeatable)
  std::optional<TimeNs> since, until;         // trace start within [since, until)
  std::optional<double> days;                 // started within the last N days before `now`
  TimeNs now = 0;                             // for `days` (caller passes the clock)
  std::vector<AttributeFilter> filters;       // query_traces semantics
  bool conversations_only = false;            // only traces that look like conversations
  size_t limit = 0;                           // 0 = no limit; newest first
};

// Indices of the selected traces, newest first. Unknown --trace ids are an error.
Result<std::vector<uint32_t>> select_traces(const Model& model, const ExportSelection& selection);

struct ExportOptions {
  ExportFormat format = ExportFormat::kOtlpJson;
  // Llama Stack writes failures as an `error` attribute on OK spans. By default the stored
  // status is kept (the viewer still flags them); true exports such spans with ERROR status.
  bool error_attribute_as_status = false;
  // Called after each trace with (traces done, total); return false to cancel (kCancelled).
  std::function<bool(uint64_t, uint64_t)> progress;
  // Render spans on a second thread as well (natively, when the model's attributes are in
  // memory or in the file image). The bytes written are the same either way.
  bool threads = true;
};

struct SkippedTrace {
  std::string trace_id;
  std::string reason;
};

struct ExportSummary {
  uint64_t traces = 0, spans = 0, events = 0, bytes = 0;
  std::vector<SkippedTrace> skipped;
};

// Writes the traces to the sink (the sink is not closed). A trace that cannot be exported
// (its attribute rows cannot be read) is skipped and listed; the rest are written.
Result<ExportSummary> export_traces(const Model& model, const std::vector<uint32_t>& traces,
                                    const ExportOptions& options, Sink& sink);

}  // namespace tracedrop
