// The in-memory model of a trace store, built once in one sequential pass per table.
// Columnar: spans, traces and events live in parallel arrays indexed by uint32_t.
// Everything except the SQLite file access (store.h) reads this model.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tracedrop/file_image.h"
#include "tracedrop/id_map.h"
#include "tracedrop/status.h"
#include "tracedrop/time.h"

namespace tracedrop {

class Store;

// OTLP codes: UNSET 0, OK 1, ERROR 2.
enum class SpanStatus : uint8_t { kUnset = 0, kOk = 1, kError = 2 };
// OTLP codes: INTERNAL 1, SERVER 2, CLIENT 3, PRODUCER 4, CONSUMER 5.
enum class SpanKind : uint8_t { kUnspecified = 0, kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };

const char* status_name(SpanStatus s);  // "OK", "ERROR", "UNSET"
const char* kind_name(SpanKind k);      // "INTERNAL", ... "UNSPECIFIED"

// What the loader noticed about one span. Never fatal: the span is kept.
enum SpanFlag : uint32_t {
  kSpanBadAttributes = 1u << 0,     // attributes text is not a JSON object (kept whole as text)
  kSpanNonJsonNumber = 1u << 1,     // attributes contain NaN/Infinity (Python json.dumps)
  kSpanErrorAttribute = 1u << 2,    // a top-level "error" attribute: a failure on an OK span
  kSpanDanglingParent = 1u << 3,    // parent_span_id names no span of this trace
  kSpanOrphan = 1u << 4,            // dangling parent and not the trace's root: an extra root
  kSpanDuplicateId = 1u << 5,       // an earlier row had the same span id; this one is unindexed
  kSpanCycle = 1u << 6,             // its parent chain loops back; the link was cut here
  kSpanBadStart = 1u << 7,          // start_time missing or unreadable (start set to end)
  kSpanNoEnd = 1u << 8,             // end_time missing or unreadable (end set to start)
  kSpanNaiveTime = 1u << 9,         // times without offset (pre-2025-03 files)
  kSpanNumericTime = 1u << 10,      // a time stored as a number
  kSpanBadSpanId = 1u << 11,        // span_id is not 16 hex digits (derived id used)
  kSpanBadParentId = 1u << 12,      // parent_span_id is not 16 hex digits
  kSpanEndBeforeStart = 1u << 13,   // end < start as stored (end set to start)
  kSpanWrongType = 1u << 14,        // a column held a value of the wrong SQLite type
  kSpanRemoteParent = 1u << 15,     // the trace root, whose parent is a remote (absent) span
  kSpanUnknownStatus = 1u << 16,    // status text not OK/ERROR/UNSET (read as UNSET)
  kSpanUnknownKind = 1u << 17,      // kind text not a known span kind (read as INTERNAL)
  kSpanMarkedRoot = 1u << 18,       // carries __root_span__/__local_root_span__ (informational)
};

// Why a trace is incomplete (0 = complete).
enum TraceIncomplete : uint32_t {
  kTraceNotInTable = 1u << 0,   // spans name a trace_id with no row in `traces`
  kTraceNullRoot = 1u << 1,     // traces.root_span_id is NULL (root never ended, or 2025-05/06 files)
  kTraceRootMissing = 1u << 2,  // root_span_id names a span that is not in the file
  kTraceHasOrphans = 1u << 3,   // some spans' parents are missing
  kTraceNoSpans = 1u << 4,      // a traces row without any span
  kTraceNoRoot = 1u << 5,       // no span could be taken as the root
};

struct TraceInfo {
  std::string id;                   // as stored
  uint64_t id_hi = 0, id_lo = 0;    // parsed 128-bit id (derived when the text is not valid hex)
  bool bad_id = false;
  uint32_t service = 0;             // string index: traces.service_name as stored ("" if NULL)
  int32_t root = -1;                // span index of the root, -1 if none
  bool root_span_id_null = true;    // traces.root_span_id was NULL (or no row)
  std::string stored_root_span_id;  // traces.root_span_id text
  TimeNs start = 0, end = 0;        // min start / max end over the spans (row times if no spans)
  bool has_created_at = false;
  TimeNs created_at = 0;
  uint32_t span_begin = 0, span_count = 0;  // range in Model::trace_spans (ordered by start)
  uint32_t error_count = 0;         // spans with ERROR status or an `error` attribute
  uint32_t orphan_count = 0;
  uint32_t incomplete = 0;          // TraceIncomplete bits
  bool in_table = false;
};

// Columns of all spans, in file (rowid) order.
struct SpanColumns {
  std::vector<uint64_t> id;         // binary span id (derived for bad ids)
  std::vector<uint64_t> parent_id;  // 0 when parent_span_id is NULL
  std::vector<uint32_t> trace;      // trace index
  std::vector<int32_t> parent;      // parent span index in the same trace, -1 for none
  std::vector<uint32_t> name;       // string index
  std::vector<TimeNs> start, end;
  std::vector<int64_t> rowid;
  std::vector<SpanStatus> status;
  std::vector<SpanKind> kind;
  std::vector<uint32_t> flags;      // SpanFlag bits
  // Attribute text when held in memory (empty otherwise): an offset into Model::arena_, or,
  // with kInImage set, into the file image (text read in place, never copied), or, with
  // kInChain set, the offset of the span's cell in the file image, its text continuing on
  // overflow pages (gathered when asked for).
  static constexpr uint64_t kInImage = uint64_t{1} << 63;
  static constexpr uint64_t kInChain = uint64_t{1} << 62;
  std::vector<uint64_t> attr_offset;
  std::vector<uint32_t> attr_len;
  size_t size() const { return id.size(); }
  // attribute_text: whether attr_offset and attr_len will be filled (text held in memory).
  void reserve(size_t n, bool attribute_text) {
    id.reserve(n), parent_id.reserve(n), trace.reserve(n), parent.reserve(n), name.reserve(n);
    start.reserve(n), end.reserve(n), rowid.reserve(n), status.reserve(n), kind.reserve(n);
    flags.reserve(n);
    if (attribute_text) attr_offset.reserve(n), attr_len.reserve(n);
  }
};

struct EventColumns {
  std::vector<uint32_t> span;      // span index
  std::vector<uint32_t> name;      // string index
  std::vector<TimeNs> time;
  std::vector<int64_t> rowid;
  std::vector<uint64_t> attr_offset;  // always in memory: arena offset or SpanColumns::kInImage | image offset
  std::vector<uint32_t> attr_len;
  std::vector<uint8_t> bad_attributes;  // 1 when not a JSON object
  // For `metric.*` events: the numeric `value` (NaN if absent), and string indices of
  // `unit` and `model_id` (0 = absent).
  std::vector<double> metric_value;
  std::vector<uint32_t> metric_unit;
  std::vector<uint32_t> metric_model;
  size_t size() const { return span.size(); }
  void reserve(size_t n) {
    span.reserve(n), name.reserve(n), time.reserve(n), rowid.reserve(n), attr_offset.reserve(n);
    attr_len.reserve(n), bad_attributes.reserve(n), metric_value.reserve(n), metric_unit.reserve(n);
    metric_model.reserve(n);
  }
};

// One kind of problem found while loading, with a count and a few examples.
struct Diagnostic {
  std::string code;      // stable: "orphan_spans", "bad_attributes", "wal_missing", ...
  std::string message;   // what it means for the user
  uint64_t count = 0;
  std::vector<std::string> examples;  // "span 1a2b... in trace 3c4d..." (at most 5)
};

enum class AttributeStorage : uint8_t {
  kInMemory,  // copy attribute text into the model (fast export/search; memory ~ file size)
  kOnDemand,  // keep only rowids; fetch text from the store when asked (big files, browser)
  kAuto,      // in memory below LoadOptions::in_memory_limit bytes of file, else on demand
};

struct LoadOptions {
  AttributeStorage attributes = AttributeStorage::kAuto;
  uint64_t in_memory_limit = 512ull << 20;
  int64_t naive_utc_offset_seconds = 0;  // how to read naive (offset-less) times
  // Called now and then with a fraction 0..1; return false to cancel (kCancelled).
  std::function<bool(double)> progress;
  // Check attribute text on a second thread while SQLite reads (native builds with more than
  // one core; the single-threaded wasm module has no threads and ignores this). The result is the same.
  bool threads = true;
  // Read the spans and span_events tables straight from the file's pages when the store has
  // the file as one block of memory (Store::image), keeping attribute text in place instead of
  // copying it. Anything the direct reader does not handle falls back to SQLite; the model is
  // the same either way.
  bool direct = true;
  // For a store without a file image (the browser's large files, opened through a VFS): a way
  // to read the file's bytes, n at `offset` into `out`, answering the count read (n unless the
  // file is shorter) or -1 with `error` set. The model is then built from one pass over the
  // file in slices of read_slice_bytes (every table from the same slices) instead of each
  // table's B-tree walked through SQLite a page at a time; what the pass does not handle falls
  // back to SQLite, and the model is the same either way.
  std::function<int64_t(uint64_t offset, size_t n, char* out, std::string& error)> read_file;
  // Three slices are held at once. In the browser 1 MiB slices read a 1 GB file as fast as 8 MiB
  // ones did, and the memory they take (3 MiB here, as much again in the slice reader) is part
  // of the page's peak.
  size_t read_slice_bytes = size_t{1} << 20;
  bool one_pass = true;  // false: read_file is not used (the tables are read through SQLite)
};

class Model {
 public:
  // Builds the model from an open store (one sequential pass over each table).
  // The store must outlive the model when attributes are kept on demand.
  static Result<std::unique_ptr<Model>> build(Store& store, const LoadOptions& options = {});

  // --- sizes
  uint32_t span_count() const { return static_cast<uint32_t>(spans.size()); }
  uint32_t trace_count() const { return static_cast<uint32_t>(traces.size()); }
  uint32_t event_count() const { return static_cast<uint32_t>(events.size()); }

  // --- strings
  std::string_view str(uint32_t index) const { return strings_[index]; }
  // Index of an interned string, or UINT32_MAX when it never occurs.
  uint32_t find_string(std::string_view s) const;

  // --- spans
  std::string_view span_name(uint32_t s) const { return str(spans.name[s]); }
  // Span id as stored (16 hex digits normally; the raw text for bad ids).
  std::string span_id_text(uint32_t s) const;
  // Parent span id as stored, "" when NULL.
  std::string parent_id_text(uint32_t s) const;
  // Export id: 16 lowercase hex digits of spans.id[s].
  std::string span_id_hex(uint32_t s) const;
  int64_t duration_ns(uint32_t s) const { return spans.end[s] - spans.start[s]; }
  bool span_failed(uint32_t s) const {
    return spans.status[s] == SpanStatus::kError || (spans.flags[s] & kSpanErrorAttribute) != 0;
  }
  // Raw attribute JSON text. Uses `scratch` when the text has to be fetched from the store.
  // An empty view means no attributes (NULL/empty column).
  Result<std::string_view> span_attributes(uint32_t s, std::string& scratch) const;
  // Attribute texts of many spans at once: texts[i] belongs to spans[i]. On demand, they are
  // read in file order in one transaction, many times faster than one span_attributes() each.
  struct AttributeTexts {
    std::vector<std::string_view> texts;
    std::vector<uint8_t> found;  // 0 where the span's row is no longer in the file
    std::string bytes;  // backing store when read on demand
  };
  Status span_attributes_batch(const std::vector<uint32_t>& span_list, AttributeTexts& out) const;
  // Children of a span, ordered by start time.
  const uint32_t* children_begin(uint32_t s) const { return child_list_.data() + child_offset_[s]; }
  const uint32_t* children_end(uint32_t s) const { return child_list_.data() + child_offset_[s + 1]; }
  uint32_t child_count(uint32_t s) const { return child_offset_[s + 1] - child_offset_[s]; }
  // Events of a span, ordered by time (indices into `events`).
  const uint32_t* events_begin(uint32_t s) const { return span_event_list_.data() + span_event_offset_[s]; }
  const uint32_t* events_end(uint32_t s) const { return span_event_list_.data() + span_event_offset_[s + 1]; }
  // Span index by id text (16 hex, case-insensitive, or the raw text of a bad id).
  std::optional<uint32_t> find_span(std::string_view span_id) const;

  // --- traces
  // Spans of a trace ordered by start time.
  const uint32_t* trace_spans_begin(uint32_t t) const { return trace_spans_.data() + traces[t].span_begin; }
  const uint32_t* trace_spans_end(uint32_t t) const { return trace_spans_begin(t) + traces[t].span_count; }
  // Roots of a trace to show: the root first, then orphans and other parentless spans.
  std::vector<uint32_t> trace_roots(uint32_t t) const;
  std::optional<uint32_t> find_trace(std::string_view trace_id) const;
  // Service name for display/export: "llama-stack" when empty or invisible (U+200B default).
  std::string service_display(uint32_t t) const;
  // Name shown for a trace: the root span's name, else the earliest span's name.
  std::string_view trace_name(uint32_t t) const;

  // --- events
  std::string_view event_name(uint32_t e) const { return str(events.name[e]); }
  std::string_view event_attributes(uint32_t e) const { return held_text(events.attr_offset[e], events.attr_len[e]); }

  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  bool attributes_in_memory() const { return attrs_in_memory_; }
  // Whether the spans and events were read straight from the file's pages (LoadOptions::direct),
  // with attribute text kept in place in the file image.
  bool reads_in_place() const { return image_ != nullptr; }
  // Whether the tables were read in one pass over the file's bytes (LoadOptions::read_file).
  bool read_in_one_pass() const { return one_pass_; }
  Store* store() const { return store_; }
  bool has_span_events_table() const { return has_events_table_; }

  SpanColumns spans;
  EventColumns events;
  std::vector<TraceInfo> traces;

 private:
  friend class ModelBuilder;
  Model() = default;

  // Gathers the attribute text of span s from its overflow pages (SpanColumns::kInChain).
  Status chain_text(uint32_t s, std::string& out) const;
  // Text kept by the model: in the arena, or in the file image (SpanColumns::kInImage).
  std::string_view held_text(uint64_t offset, uint32_t len) const {
    if (offset & SpanColumns::kInImage) return std::string_view(image_->data() + (offset & ~SpanColumns::kInImage), len);
    return std::string_view(arena_.data() + offset, len);
  }

  Store* store_ = nullptr;
  std::shared_ptr<const FileImage> image_;  // when attribute text is read in place
  int attr_field_ = -1;  // record field of spans.attributes (for kInChain texts)
  bool attrs_in_memory_ = true;
  bool one_pass_ = false;
  bool has_events_table_ = true;
  std::deque<std::string> strings_;  // index 0 is ""; a deque keeps views into it stable
  std::unordered_map<std::string_view, uint32_t> string_index_;
  std::string arena_;  // attribute texts (spans when in memory; events always)
  IndexMap span_by_id_;  // valid span ids only, keyed by spans.id
  std::unordered_map<uint32_t, std::string> bad_span_id_text_;    // span index -> stored text
  std::unordered_map<uint32_t, std::string> bad_parent_id_text_;  // span index -> stored text
  std::unordered_map<std::string, uint32_t> span_by_bad_id_;       // stored text -> span index
  std::unordered_map<std::string, uint32_t> trace_by_id_;
  std::vector<uint32_t> trace_spans_;
  std::vector<uint32_t> child_offset_, child_list_;
  std::vector<uint32_t> span_event_offset_, span_event_list_;
  std::vector<Diagnostic> diagnostics_;
};

// Lower-case 16-hex text of a 64-bit id; 32-hex for a 128-bit id.
std::string hex64(uint64_t v);
// hex64(v) appended to `out` (no allocation when `out` has room: a string reused span after span).
void append_hex64(std::string& out, uint64_t v);
std::string hex128(uint64_t hi, uint64_t lo);

}  // namespace tracedrop
