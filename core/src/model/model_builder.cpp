// Builds the Model from a Store: one sequential scan of `traces`, `spans` and `span_events`
// (the schema has no index on spans.trace_id, so nothing here ever queries per trace), then
// links and checks everything in memory. No recursion: trees are walked with explicit loops.
#include <sqlite3.h>
#if defined(__linux__) && !defined(__EMSCRIPTEN__)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <deque>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <unordered_map>

#include "json/json_scan.h"
#include "model/attribute_scan.h"
#include "model/ids.h"
#include "store/sqlite_util.h"
#include "store/table_scan.h"
#include "tracedrop/model.h"
#include "tracedrop/store.h"
#include "util/helper_thread.h"

namespace tracedrop {
namespace {

constexpr uint64_t kSpanIdSalt = 0x5350414e;   // "SPAN"
constexpr uint64_t kTraceIdSalt = 0x54524143;  // "TRAC"
constexpr size_t kMaxExamples = 5;

// SELECT list entry for a column that may be absent from a tolerated schema variant.
std::string col(const SchemaInfo& schema, const std::string& table, const std::string& name) {
  const std::string full = table + "." + name;
  for (const auto& m : schema.missing_columns)
    if (m == full) return "NULL";
  return name;
}

// Case-insensitive comparison with an upper-case literal (lengths first: most rows differ).
template <size_t N>
bool ieq(std::string_view a, const char (&b)[N]) {
  if (a.size() != N - 1) return false;
  for (size_t i = 0; i < N - 1; ++i) {
    char c = a[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != b[i]) return false;
  }
  return true;
}

struct TimeValue {
  bool ok = false;
  TimeNs ns = 0;
  uint32_t flags = 0;  // kSpanNaiveTime / kSpanNumericTime / kSpanWrongType
};

// A row being read through SQLite, with the accessors of DirectRow (store/table_scan.h), so
// the same code reads rows from either.
struct SqliteRow {
  sqlite3_stmt* s;
  int64_t rowid() const { return sqlite3_column_int64(s, 0); }
  int type(int i) const { return sqlite3_column_type(s, i); }
  std::string_view text(int i) const { return column_view(s, i); }
  int64_t int64(int i) const { return sqlite3_column_int64(s, i); }
  double real(int i) const { return sqlite3_column_double(s, i); }
  bool in_image(int) const { return false; }
  bool in_chain(int) const { return false; }
  uint32_t length(int i) const { return static_cast<uint32_t>(sqlite3_column_bytes(s, i)); }
  uint64_t cell_offset() const { return 0; }
};

template <typename Row>
TimeValue read_time(const Row& r, int i, int64_t naive_offset) {
  TimeValue out;
  switch (r.type(i)) {
    case SQLITE_TEXT: {
      auto parsed = parse_timestamp(r.text(i), naive_offset);
      if (parsed) {
        out.ok = true;
        out.ns = parsed->ns;
        if (parsed->form == TimeForm::kNaive) out.flags |= kSpanNaiveTime;
      }
      break;
    }
    case SQLITE_INTEGER:
    case SQLITE_FLOAT: {
      auto ns = time_from_number(r.real(i));
      out.flags |= kSpanNumericTime | kSpanWrongType;
      if (ns) {
        out.ok = true;
        out.ns = *ns;
      }
      break;
    }
    case SQLITE_BLOB:
      out.flags |= kSpanWrongType;
      break;
    default:
      break;
  }
  return out;
}

// Asks the kernel to back a large buffer with 2 MiB pages: filling the attribute arena page
// fault by page fault (and zeroing each 4 KiB page) cost a tenth of the build. Only a hint;
// nothing depends on it.
void advise_huge_pages(char* data, size_t size) {
#if defined(__linux__) && !defined(__EMSCRIPTEN__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const auto begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const auto end = (reinterpret_cast<uintptr_t>(data) + size) & ~(kHuge - 1);
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)size;
#endif
}

// Holds a read transaction (the shared lock) while the model is built.
class ReadTransaction {
 public:
  explicit ReadTransaction(sqlite3* db) : db_(db) {
    open_ = sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~ReadTransaction() {
    if (open_) sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace

class ModelBuilder {
 public:
  ModelBuilder(Store& store, const LoadOptions& options) : store_(store), options_(options), m_(new Model()) {}
  ~ModelBuilder() { join_events_early(true); }
  ModelBuilder(const ModelBuilder&) = delete;
  ModelBuilder& operator=(const ModelBuilder&) = delete;

  Result<std::unique_ptr<Model>> run() {
    m_->store_ = &store_;
    m_->has_events_table_ = store_.schema().has_span_events;
    use_direct_ = options_.direct && store_.image() != nullptr;
    if (use_direct_) m_->image_ = store_.image();
    bool in_memory = options_.attributes == AttributeStorage::kInMemory;
    // Text read in place costs no memory of the process's own, whatever the file's size.
    if (options_.attributes == AttributeStorage::kAuto)
      in_memory = use_direct_ || store_.file_size() <= options_.in_memory_limit;
    m_->attrs_in_memory_ = in_memory;
    // One read transaction around the whole build: every table is read from the same state
    // of the file even if a writer is at work on it.
    ReadTransaction txn(store_.db());
    // The attribute text never exceeds the file: reserving it up front avoids the repeated
    // doubling copies that dominated the build (measured: 44% of it on a 10,000-trace file).
    // Read in place, only values that spill onto overflow pages are copied (natively the
    // reservation is address space only: pages are touched as text arrives; in the browser
    // it would be real memory, so there the arena grows as needed).
#if defined(__EMSCRIPTEN__)
    if (in_memory && !use_direct_) {
#else
    if (in_memory) {
#endif
      m_->arena_.reserve(static_cast<size_t>(store_.file_size()));
      advise_huge_pages(m_->arena_.data(), m_->arena_.capacity());
    }
    intern("");
    for (const auto& w : store_.warnings()) add_diag(w.code, w.message, "");

    TRACEDROP_RETURN_IF_ERROR(estimate_rows());
    const bool one_pass = !use_direct_ && options_.read_file && options_.one_pass;
    if (one_pass) {
      TRACEDROP_RETURN_IF_ERROR(sweep_tables());  // events included
    } else {
      start_split();
      start_events_early();
      TRACEDROP_RETURN_IF_ERROR(load_traces());
      TRACEDROP_RETURN_IF_ERROR(load_spans());
    }
    // The parent links and the per-trace lists need only the spans; the events' commit and
    // their per-span lists need only the span index: natively they run side by side (a helper
    // thread and this one). Cycle diagnostics wait for the events' (the order one thread gives).
    index_span_ids();
    HelperThread links;
    auto link = [this] {
      link_parents();
      cut_cycles();
      group_by_trace();
    };
    const bool events_now = !one_pass && m_->has_events_table_;
    const bool linked_apart = events_now && links.start(options_.threads, link);
    if (events_now) {
      const Status st = load_events();
      if (st.is_ok()) build_event_index();
      links.join();
      TRACEDROP_RETURN_IF_ERROR(st);
    } else {
      build_event_index();
    }
    if (!linked_apart) link();
    for (const uint32_t s : cycle_cuts_)
      add_diag("parent_cycles", "spans whose parent chain loops back on itself (the loop was cut)", span_example(s));
    choose_roots();
    build_children();
    finish_diagnostics();
    if (!report(1.0)) return Status(ErrorCode::kCancelled, "Loading was cancelled.");
    return std::move(m_);
  }

 private:
  // ---------------------------------------------------------------- helpers
  // The index of `s` in `strings` (a deque keeps the index's views stable), added if new.
  static uint32_t intern_in(std::deque<std::string>& strings, std::unordered_map<std::string_view, uint32_t>& index,
                            std::string_view s) {
    auto it = index.find(s);
    if (it != index.end()) return it->second;
    const auto i = static_cast<uint32_t>(strings.size());
    strings.emplace_back(s);
    index.emplace(std::string_view(strings.back()), i);
    return i;
  }

  uint32_t intern(std::string_view s) { return intern_in(m_->strings_, m_->string_index_, s); }

  // intern() for the span name of every row: files hold a few dozen distinct names, so a small
  // table keyed by the length and the first and last 8 bytes answers almost every row without
  // hashing the whole name.
  static constexpr int kNameCacheBits = 7;
  using NameCache = std::array<uint32_t, size_t{1} << kNameCacheBits>;
  static NameCache empty_name_cache() {
    NameCache a{};
    a.fill(UINT32_MAX);
    return a;
  }
  static size_t name_slot(std::string_view s) {
    uint64_t head = 0, tail = 0;
    const size_t n = s.size();
    if (n >= 8) {
      std::memcpy(&head, s.data(), 8);
      std::memcpy(&tail, s.data() + n - 8, 8);
    } else if (n > 0) {
      std::memcpy(&head, s.data(), n);
    }
    constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
    return static_cast<size_t>(((head ^ (tail * kMul) ^ n) * kMul) >> (64 - kNameCacheBits));
  }

  static uint32_t intern_cached(NameCache& cache, std::deque<std::string>& strings,
                                std::unordered_map<std::string_view, uint32_t>& index, std::string_view s) {
    const size_t slot = name_slot(s);
    const uint32_t cached = cache[slot];
    if (cached != UINT32_MAX && strings[cached] == s) return cached;
    return cache[slot] = intern_in(strings, index, s);
  }

  uint32_t intern_name(std::string_view s) { return intern_cached(name_cache_, m_->strings_, m_->string_index_, s); }

  Diagnostic& diag(const std::string& code, const std::string& message) {
    for (auto& d : m_->diagnostics_)
      if (d.code == code) return d;
    m_->diagnostics_.push_back({code, message, 0, {}});
    return m_->diagnostics_.back();
  }

  void add_diag(const std::string& code, const std::string& message, const std::string& example) {
    Diagnostic& d = diag(code, message);
    ++d.count;
    if (!example.empty() && d.examples.size() < kMaxExamples) d.examples.push_back(example);
  }

  std::string span_example(uint32_t s) const {
    return "span " + m_->span_id_text(s) + " in trace " + m_->traces[m_->spans.trace[s]].id;
  }

  bool report(double fraction) { return !options_.progress || options_.progress(fraction); }

  // Rough row counts (max rowid) so progress can be reported during the scans.
  Status estimate_rows() {
    auto max_rowid = [&](const char* table, int64_t& out) {
      return for_each_row(store_.db(), std::string("SELECT max(rowid) FROM ") + table, store_.display_name(),
                          [&](sqlite3_stmt* s) {
                            out = sqlite3_column_int64(s, 0);
                            return false;
                          });
    };
    TRACEDROP_RETURN_IF_ERROR(max_rowid("spans", max_span_rowid_));
    if (m_->has_events_table_) TRACEDROP_RETURN_IF_ERROR(max_rowid("span_events", max_event_rowid_));
    return Status::ok();
  }

  // Trace ids that are valid hex are found by their value (checked against the text, since
  // "ABC..." and "abc..." are different traces); anything else by the text itself.
  static uint64_t trace_key(uint64_t hi, uint64_t lo) {
    const uint64_t k = (hi ^ (lo * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
    return k ? k : 1;
  }

  // The traces of the model, or those a SpanPart met, with their indexes.
  struct TraceTable {
    std::vector<TraceInfo>& traces;
    std::unordered_map<std::string, uint32_t>& by_text;
    IdMap& by_value;
    uint32_t& last;
    std::string& key;
  };

  static uint32_t find_trace(TraceTable t, std::string_view id_text, bool create_if_missing) {
    if (t.last != UINT32_MAX && t.traces[t.last].id == id_text) return t.last;
    uint64_t hi = 0, lo = 0;
    const bool hex = parse_hex128(id_text, hi, lo);
    if (hex) {
      const uint32_t found = t.by_value.find(trace_key(hi, lo));
      if (found != IdMap::kNone && t.traces[found].id == id_text) return t.last = found;
    }
    t.key.assign(id_text.data(), id_text.size());
    auto it = t.by_text.find(t.key);
    if (it != t.by_text.end()) return t.last = it->second;
    if (!create_if_missing) return UINT32_MAX;
    const auto index = static_cast<uint32_t>(t.traces.size());
    TraceInfo info;
    info.id = t.key;
    if (hex) {
      info.id_hi = hi;
      info.id_lo = lo;
      t.by_value.insert(trace_key(hi, lo), index);
    } else {
      info.bad_id = true;
      info.id_hi = derived_id(id_text, kTraceIdSalt);
      info.id_lo = derived_id(id_text, kTraceIdSalt + 1);
    }
    t.traces.push_back(std::move(info));
    t.by_text.emplace(t.key, index);
    return t.last = index;
  }

  uint32_t trace_index(std::string_view id_text, bool create_if_missing) {
    return find_trace({m_->traces, m_->trace_by_id_, trace_by_value_, last_trace_, key_}, id_text, create_if_missing);
  }

  // ---------------------------------------------------------------- traces table
  std::vector<std::string> trace_columns() const {
    const SchemaInfo& sc = store_.schema();
    return {"rowid", "trace_id", col(sc, "traces", "service_name"), col(sc, "traces", "root_span_id"),
            col(sc, "traces", "start_time"), col(sc, "traces", "end_time"), col(sc, "traces", "created_at")};
  }

  Status load_traces() {
    return scan("traces", trace_columns(), [&](const auto& row) { return add_trace_row(row); });
  }

  // One row of the traces table (load_traces, sweep_tables).
  template <typename Row>
  bool add_trace_row(const Row& row) {
    std::string_view id = row.text(1);
    const bool fresh = trace_index(id, false) == UINT32_MAX;
    TraceInfo& t = m_->traces[trace_index(id, true)];
    if (!fresh) add_diag("duplicate_trace_rows", "trace ids that appear in more than one traces row (the first row is used)", "trace " + t.id);
    if (!fresh) return true;
    t.in_table = true;
    t.service = intern(row.text(2));
    t.root_span_id_null = row.type(3) == SQLITE_NULL;
    t.stored_root_span_id = std::string(row.text(3));
    const TimeValue st = read_time(row, 4, options_.naive_utc_offset_seconds);
    const TimeValue en = read_time(row, 5, options_.naive_utc_offset_seconds);
    if (st.ok) t.start = st.ns;
    if (en.ok) t.end = en.ns;
    // created_at is SQLite CURRENT_TIMESTAMP: always UTC, whatever the span times are.
    const TimeValue cr = read_time(row, 6, 0);
    t.has_created_at = cr.ok;
    if (cr.ok) t.created_at = cr.ns;
    return true;
  }

  // ---------------------------------------------------------------- spans table
  // Reads a table through the direct page reader when allowed, else through SQLite. A direct
  // scan that meets something it does not handle stops the whole build (kFallBack): the
  // builder is run again without it, so a model never mixes half of each.
  // `lazy_column`: a column whose long values stay on their overflow pages (DirectRow::in_chain).
  template <typename Fn>
  Status scan(const char* table, const std::vector<std::string>& columns, Fn&& fn, int lazy_column = -1) {
    if (use_direct_) {
      TableLayout layout;
      std::string why;
      if (resolve_table_layout(store_.db(), table, columns, layout, why)) {
        layout.lazy_column = lazy_column;
        if (lazy_column >= 0) {
          m_->attr_field_ = layout.sources[static_cast<size_t>(lazy_column)];
          if (scanner_) scanner_->set_chain_source(store_.image().get(), m_->attr_field_);
        }
        const ScanOutcome o = scan_table(*store_.image(), layout, [&](const DirectRow& r) { return fn(r); }, why);
        if (o != ScanOutcome::kUnsupported) return Status::ok();
      }
      fallback_reason_ = std::string(table) + ": " + why;
      return Status(ErrorCode::kInternal, "direct scan not possible: " + fallback_reason_);
    }
    std::string sql = "SELECT ";
    for (size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + columns[i];
    sql += std::string(" FROM ") + table;
    return for_each_row(store_.db(), sql, store_.display_name(), [&](sqlite3_stmt* s) { return fn(SqliteRow{s}); });
  }

  std::vector<std::string> span_columns() const {
    const SchemaInfo& sc = store_.schema();
    return {"rowid", "span_id", "trace_id", col(sc, "spans", "parent_span_id"), col(sc, "spans", "name"),
            col(sc, "spans", "start_time"), col(sc, "spans", "end_time"), col(sc, "spans", "attributes"),
            col(sc, "spans", "status"), col(sc, "spans", "kind")};
  }

  Status load_spans() {
    const std::vector<std::string> columns = span_columns();
    uint64_t rows = 0;
    bool cancelled = false;
    // The largest rowid is the row count in a table that was only appended to (a guess that
    // only sizes the columns; a huge rowid in a small table is not trusted beyond 16M rows).
    m_->spans.reserve(estimated_spans(1.0), m_->attrs_in_memory_);
    if (split_) return load_split();
    AttributeScanner scanner(&m_->arena_, options_.threads);
    scanner_ = &scanner;
    Status st = scan("spans", columns, [&](const auto& r) {
      add_span_row(r, ModelTarget{*this});
      if ((++rows & 0x3fff) == 0 && max_span_rowid_ > 0) {
        const double f = static_cast<double>(r.rowid()) / static_cast<double>(max_span_rowid_);
        if (!report(0.85 * std::min(f, 1.0))) {
          cancelled = true;
          return false;
        }
      }
      return true;
    }, m_->attrs_in_memory_ ? 7 : -1);
    scanner.finish(m_->spans.flags);
    scanner_ = nullptr;
    if (cancelled) return Status(ErrorCode::kCancelled, "Loading was cancelled.");
    return st;
  }

  // Where add_span_row puts what it reads: the model itself (ModelTarget), or a SpanPart: a run
  // of the spans table read on the helper thread (or the whole table in the one pass) with
  // traces, names, bad ids and copied text kept apart, appended to the model afterwards
  // (append_part).
  struct SpanPart {
    SpanColumns spans;
    std::vector<TraceInfo> traces;  // as met in this part: id, id_hi, id_lo, bad_id
    std::unordered_map<std::string, uint32_t> trace_by_text;
    IdMap trace_by_value;
    uint32_t last_trace = UINT32_MAX;
    std::string key;
    std::deque<std::string> names;
    std::unordered_map<std::string_view, uint32_t> name_index;
    NameCache name_cache = empty_name_cache();
    std::vector<std::pair<uint32_t, std::string>> bad_span_ids, bad_parent_ids;  // part index, text
    std::string arena;
    AttributeScanner* scanner = nullptr;
  };

  struct ModelTarget {
    ModelBuilder& b;
    SpanColumns& spans() { return b.m_->spans; }
    uint32_t trace(std::string_view text) { return b.trace_index(text, true); }
    uint32_t name(std::string_view text) { return b.intern_name(text); }
    void bad_span_id(uint32_t index, std::string text) {
      b.m_->span_by_bad_id_.emplace(text, index);
      b.m_->bad_span_id_text_.emplace(index, std::move(text));
    }
    void bad_parent_id(uint32_t index, std::string text) { b.m_->bad_parent_id_text_.emplace(index, std::move(text)); }
    std::string& arena() { return b.m_->arena_; }
    AttributeScanner& scanner() { return *b.scanner_; }
  };

  struct PartTarget {
    SpanPart& p;
    SpanColumns& spans() { return p.spans; }
    uint32_t trace(std::string_view text) {
      return find_trace({p.traces, p.trace_by_text, p.trace_by_value, p.last_trace, p.key}, text, true);
    }
    uint32_t name(std::string_view text) { return intern_cached(p.name_cache, p.names, p.name_index, text); }
    void bad_span_id(uint32_t index, std::string text) { p.bad_span_ids.emplace_back(index, std::move(text)); }
    void bad_parent_id(uint32_t index, std::string text) { p.bad_parent_ids.emplace_back(index, std::move(text)); }
    std::string& arena() { return p.arena; }
    AttributeScanner& scanner() { return *p.scanner; }
  };

  // The spans table read on two threads, shared out as it is read: this thread takes the root
  // page's children one at a time from the front, into the model itself (load_split); the
  // helper (started first, before the traces table is read) takes runs from the back, each a
  // quarter of what is left, each into a SpanPart of its own, appended in order at the end.
  // Whichever thread is slowed (by the traces table, the events thread, a busy neighbour)
  // simply takes less, so both end within one child of each other. Each thread checks its own
  // attribute text.
  struct SplitSpans {
    struct Block {
      SpanPart part;
      std::unique_ptr<AttributeScanner> scanner;
    };
    TableLayout layout;
    uint32_t children = 0;
    // The children not yet taken: [front, back), front in the low 32 bits, back in the high.
    std::atomic<uint64_t> left{0};
    std::vector<std::unique_ptr<Block>> blocks;  // the helper's, from the back: last rows first
    std::atomic<bool> stop{false};
    ScanOutcome outcome = ScanOutcome::kDone;
    std::string why;
    HelperThread thread;
    ~SplitSpans() {
      stop = true;  // on an early return the helper is told to end before it is joined
      thread.join();
    }
    static uint64_t pack(uint32_t front, uint32_t back) { return (uint64_t{back} << 32) | front; }
    // This thread's next child, if the helper has not taken it.
    bool take_front(uint32_t child) {
      uint64_t v = left.load(std::memory_order_acquire);
      for (;;) {
        const auto front = static_cast<uint32_t>(v), back = static_cast<uint32_t>(v >> 32);
        if (front != child || front >= back) return false;
        if (left.compare_exchange_weak(v, pack(front + 1, back), std::memory_order_acq_rel)) return true;
      }
    }
    // The helper's next run [first, end) from the back; false when nothing is left.
    bool take_back(TablePart& run) {
      uint64_t v = left.load(std::memory_order_acquire);
      for (;;) {
        const auto front = static_cast<uint32_t>(v), back = static_cast<uint32_t>(v >> 32);
        if (front >= back) return false;
        const uint32_t first = back - std::max<uint32_t>(1, (back - front) / 4);
        if (left.compare_exchange_weak(v, pack(front, first), std::memory_order_acq_rel)) {
          run.first_child = first, run.end_child = back;
          return true;
        }
      }
    }
    // Children taken so far by either thread (for progress).
    uint32_t taken() const {
      const uint64_t v = left.load(std::memory_order_relaxed);
      return static_cast<uint32_t>(v) + (children - static_cast<uint32_t>(v >> 32));
    }
  };

  // Rows of `share` of the spans table, from its largest rowid (see load_spans), for sizing.
  size_t estimated_spans(double share) const {
    return static_cast<size_t>(std::clamp<double>(static_cast<double>(max_span_rowid_) * share, 0, double(1 << 24)));
  }

  // Starts the helper on the back of the spans table when it can be read directly on two threads.
  void start_split() {
    if (!use_direct_ || !options_.threads) return;
    auto h = std::make_unique<SplitSpans>();
    std::string why;
    if (!resolve_table_layout(store_.db(), "spans", span_columns(), h->layout, why)) return;  // load_spans says why
    h->layout.lazy_column = m_->attrs_in_memory_ ? 7 : -1;
    h->children = root_children(*store_.image(), h->layout);
    if (h->children < 2) return;
    h->left = SplitSpans::pack(0, h->children);
    if (h->layout.lazy_column >= 0) m_->attr_field_ = h->layout.sources[static_cast<size_t>(h->layout.lazy_column)];
    SplitSpans* raw = h.get();
    if (!h->thread.start(true, [this, raw] { read_back(*raw); })) return;  // no helper thread: one pass
    split_ = std::move(h);
  }

  // The helper's side of SplitSpans: runs from the back, each into a Block of its own.
  void read_back(SplitSpans& h) {
    TablePart run;
    while (h.outcome == ScanOutcome::kDone && !h.stop.load(std::memory_order_relaxed) && h.take_back(run)) {
      auto block = std::make_unique<SplitSpans::Block>();
      block->part.spans.reserve(estimated_spans(double(run.end_child - run.first_child) / double(h.children)),
                                m_->attrs_in_memory_);
      block->scanner = std::make_unique<AttributeScanner>(&block->part.arena, false);
      if (h.layout.lazy_column >= 0) block->scanner->set_chain_source(store_.image().get(), m_->attr_field_);
      block->part.scanner = block->scanner.get();
      SpanPart& part = block->part;
      h.outcome = scan_table(*store_.image(), h.layout, [&](const DirectRow& r) {
        if (h.stop.load(std::memory_order_relaxed)) return false;
        add_span_row(r, PartTarget{part});
        return true;
      }, h.why, &run);
      block->scanner->finish(part.spans.flags);
      h.blocks.push_back(std::move(block));
    }
  }

  Status load_split() {
    std::unique_ptr<SplitSpans> h = std::move(split_);
    AttributeScanner scanner(&m_->arena_, false);
    if (h->layout.lazy_column >= 0) scanner.set_chain_source(store_.image().get(), m_->attr_field_);
    scanner_ = &scanner;
    uint64_t rows = 0;
    bool cancelled = false;
    std::string why;
    // Each child's rows are indexed before the next is taken: work done here while the helper
    // reads is work the shared-out table balances, not work left for after it.
    TablePart front{0, h->children, [this, &h](uint32_t child) {
      index_span_ids();
      return h->take_front(child);
    }};
    const ScanOutcome o = scan_table(*store_.image(), h->layout, [&](const DirectRow& r) {
      add_span_row(r, ModelTarget{*this});
      if ((++rows & 0x3fff) == 0) {
        if (!report(0.85 * static_cast<double>(h->taken()) / static_cast<double>(h->children))) {
          cancelled = true;
          return false;
        }
      }
      return true;
    }, why, &front);
    if (o != ScanOutcome::kDone || cancelled) h->stop = true;
    scanner.finish(m_->spans.flags);
    scanner_ = nullptr;
    if (o == ScanOutcome::kDone && !cancelled) index_span_ids();
    h->thread.join();
    if (cancelled) return Status(ErrorCode::kCancelled, "Loading was cancelled.");
    if (o == ScanOutcome::kUnsupported || h->outcome == ScanOutcome::kUnsupported) {
      fallback_reason_ = "spans: " + (o == ScanOutcome::kUnsupported ? why : h->why);
      return Status(ErrorCode::kInternal, "direct scan not possible: " + fallback_reason_);
    }
    for (auto it = h->blocks.rbegin(); it != h->blocks.rend(); ++it) append_part((*it)->part);
    return Status::ok();
  }

  // Appends the rows of a SpanPart: its traces and names looked up (or added, in the order the
  // part met them: the order one pass would have added them in), copied text and bad ids moved
  // to the model's indexes.
  void append_part(SpanPart& part) {
    SpanColumns& c = m_->spans;
    const auto base = static_cast<uint32_t>(c.size());
    std::vector<uint32_t> trace_map(part.traces.size()), name_map(part.names.size());
    for (size_t i = 0; i < part.traces.size(); ++i) trace_map[i] = trace_index(part.traces[i].id, true);
    for (size_t i = 0; i < part.names.size(); ++i) name_map[i] = intern(part.names[i]);
    const uint64_t arena_base = m_->arena_.size();
    if (base == 0) {
      // The whole table was read into the part (sweep_tables): take its columns and text over
      // instead of copying them (the copy would double the memory the spans take for a while).
      if (arena_base == 0) m_->arena_.swap(part.arena);
      else m_->arena_.append(part.arena);
      SpanColumns& own = part.spans;
      c.id.swap(own.id), c.parent_id.swap(own.parent_id), c.parent.swap(own.parent), c.start.swap(own.start);
      c.end.swap(own.end), c.rowid.swap(own.rowid), c.status.swap(own.status), c.kind.swap(own.kind);
      c.flags.swap(own.flags), c.attr_len.swap(own.attr_len), c.trace.swap(own.trace), c.name.swap(own.name);
      c.attr_offset.swap(own.attr_offset);
      for (uint32_t& t : c.trace) t = trace_map[t];
      for (uint32_t& n : c.name) n = name_map[n];
      if (arena_base != 0)
        for (uint64_t& off : c.attr_offset)
          if ((off & (SpanColumns::kInImage | SpanColumns::kInChain)) == 0) off += arena_base;
    } else {
      append_columns(part, trace_map, name_map, arena_base);
    }
    for (auto& [i, text] : part.bad_span_ids) {
      m_->span_by_bad_id_.emplace(text, base + i);
      m_->bad_span_id_text_.emplace(base + i, std::move(text));
    }
    for (auto& [i, text] : part.bad_parent_ids) m_->bad_parent_id_text_.emplace(base + i, std::move(text));
  }

  // append_part's copy of the part's columns after the model's own.
  void append_columns(SpanPart& part, const std::vector<uint32_t>& trace_map, const std::vector<uint32_t>& name_map,
                      uint64_t arena_base) {
    SpanColumns& c = m_->spans;
    const SpanColumns& q = part.spans;
    m_->arena_.append(part.arena);
    c.reserve(c.size() + q.size(), m_->attrs_in_memory_);
    c.id.insert(c.id.end(), q.id.begin(), q.id.end());
    c.parent_id.insert(c.parent_id.end(), q.parent_id.begin(), q.parent_id.end());
    c.parent.insert(c.parent.end(), q.parent.begin(), q.parent.end());
    c.start.insert(c.start.end(), q.start.begin(), q.start.end());
    c.end.insert(c.end.end(), q.end.begin(), q.end.end());
    c.rowid.insert(c.rowid.end(), q.rowid.begin(), q.rowid.end());
    c.status.insert(c.status.end(), q.status.begin(), q.status.end());
    c.kind.insert(c.kind.end(), q.kind.begin(), q.kind.end());
    c.flags.insert(c.flags.end(), q.flags.begin(), q.flags.end());
    c.attr_len.insert(c.attr_len.end(), q.attr_len.begin(), q.attr_len.end());
    for (size_t i = 0; i < q.size(); ++i) {
      c.trace.push_back(trace_map[q.trace[i]]);
      c.name.push_back(name_map[q.name[i]]);
    }
    // Without attributes in memory there are no offsets at all (attr_offset stays empty).
    for (const uint64_t off : q.attr_offset) {
      const bool in_file = (off & (SpanColumns::kInImage | SpanColumns::kInChain)) != 0;
      c.attr_offset.push_back(in_file ? off : off + arena_base);
    }
  }

  template <typename Row, typename Target>
  void add_span_row(const Row& r, Target&& out) {
    SpanColumns& c = out.spans();
    const auto index = static_cast<uint32_t>(c.size());
    uint32_t flags = 0;

    // Ids. A non-text id (an INTEGER, say) is read through its text form.
    if (r.type(1) != SQLITE_TEXT) flags |= kSpanWrongType;
    std::string_view id_text = r.text(1);
    uint64_t id = 0;
    if (!parse_hex64(id_text, id)) {
      flags |= kSpanBadSpanId;
      std::string text = r.type(1) == SQLITE_NULL ? "rowid:" + std::to_string(r.rowid()) : std::string(id_text);
      id = derived_id(text, kSpanIdSalt);
      out.bad_span_id(index, std::move(text));
    }
    if (r.type(2) != SQLITE_TEXT) flags |= kSpanWrongType;
    const uint32_t trace = out.trace(r.text(2));

    uint64_t parent_id = 0;
    if (r.type(3) != SQLITE_NULL) {
      std::string_view p = r.text(3);
      if (!parse_hex64(p, parent_id)) {
        if (p.empty()) {
          parent_id = 0;  // an empty string means "no parent", like NULL
        } else {
          flags |= kSpanBadParentId;
          parent_id = derived_id(p, kSpanIdSalt);
          out.bad_parent_id(index, std::string(p));
        }
      }
    }

    const uint32_t name = out.name(r.text(4));
    const TimeValue start = read_time(r, 5, options_.naive_utc_offset_seconds);
    const TimeValue end = read_time(r, 6, options_.naive_utc_offset_seconds);
    flags |= start.flags | end.flags;
    TimeNs start_ns = start.ns, end_ns = end.ns;
    if (!start.ok && !end.ok) {
      flags |= kSpanBadStart | kSpanNoEnd;
      start_ns = end_ns = 0;
    } else if (!start.ok) {
      flags |= kSpanBadStart;
      start_ns = end_ns;
    } else if (!end.ok) {
      flags |= kSpanNoEnd;
      end_ns = start_ns;
    } else if (end_ns < start_ns) {
      flags |= kSpanEndBeforeStart;
      end_ns = start_ns;
    }

    flags |= read_attributes(r, 7, index, c, out.arena(), out.scanner());
    flags |= read_status_kind(r, c);

    c.id.push_back(id);
    c.parent_id.push_back(parent_id);
    c.trace.push_back(trace);
    c.parent.push_back(-1);
    c.name.push_back(name);
    c.start.push_back(start_ns);
    c.end.push_back(end_ns);
    c.rowid.push_back(r.rowid());
    c.flags.push_back(flags);
  }

  // Keeps text of the model: in place when it lies in the file image, else copied to the
  // arena. Returns the offset (with SpanColumns::kInImage for in place).
  template <typename Row>
  uint64_t hold_text(const Row& r, int i, std::string_view text, std::string& arena, AttributeScanner& scanner) {
    if (r.in_image(i)) return SpanColumns::kInImage | static_cast<uint64_t>(text.data() - store_.image()->data());
    if (arena.size() + text.size() > arena.capacity()) {
      // Batches being checked point into the arena: it must not move while they are.
      scanner.wait();
    }
    const uint64_t offset = arena.size();
    arena.append(text.data(), text.size());
    return offset;
  }

  // Hands the attribute text to the scanner (validity, NaN, `error`, root markers) and keeps
  // it when attributes are kept in memory.
  template <typename Row>
  uint32_t read_attributes(const Row& r, int i, uint32_t index, SpanColumns& c, std::string& arena,
                           AttributeScanner& scanner) {
    uint32_t flags = 0;
    const int type = r.type(i);
    std::string_view text;
    if (type == SQLITE_BLOB) flags |= kSpanWrongType;
    if (type != SQLITE_NULL) {
      if (type != SQLITE_TEXT && type != SQLITE_BLOB) flags |= kSpanWrongType;
      text = r.text(i);
    }
    if (r.in_chain(i)) {
      // Long text that continues on overflow pages stays there; read when asked for.
      c.attr_offset.push_back(SpanColumns::kInChain | r.cell_offset());
      c.attr_len.push_back(r.length(i));
      scanner.add_in_chain(index, r.cell_offset(), r.length(i));
    } else if (m_->attrs_in_memory_) {
      const uint64_t offset = hold_text(r, i, text, arena, scanner);
      c.attr_offset.push_back(offset);
      c.attr_len.push_back(static_cast<uint32_t>(text.size()));
      if (offset & SpanColumns::kInImage) scanner.add_in_place(index, text);
      else scanner.add_in_arena(index, offset, c.attr_len.back());
    } else {
      scanner.add_copy(index, text);
    }
    return flags;
  }

  template <typename Row>
  uint32_t read_status_kind(const Row& r, SpanColumns& c) {
    uint32_t flags = 0;
    std::string_view st = r.text(8);
    SpanStatus status = SpanStatus::kUnset;
    if (ieq(st, "OK")) status = SpanStatus::kOk;
    else if (ieq(st, "ERROR")) status = SpanStatus::kError;
    else if (!st.empty() && !ieq(st, "UNSET")) flags |= kSpanUnknownStatus;
    c.status.push_back(status);

    std::string_view k = r.text(9);
    SpanKind kind = SpanKind::kInternal;
    if (ieq(k, "SERVER")) kind = SpanKind::kServer;
    else if (ieq(k, "CLIENT")) kind = SpanKind::kClient;
    else if (ieq(k, "PRODUCER")) kind = SpanKind::kProducer;
    else if (ieq(k, "CONSUMER")) kind = SpanKind::kConsumer;
    else if (!k.empty() && !ieq(k, "INTERNAL")) flags |= kSpanUnknownKind;
    c.kind.push_back(kind);
    return flags;
  }

  // ---------------------------------------------------------------- one ordered pass
  // A store without a file image (the browser's large files, read through the file VFS) whose
  // bytes can be read (LoadOptions::read_file): the three tables are read from one pass over
  // the file in large slices (PageSweep) instead of three walks of their B-trees through
  // SQLite, each a page at a time. Traces go straight into the model (no span has been added
  // yet, so the traces table comes first, as in load_traces); spans into a SpanPart appended at
  // the end (traces and names in the order met, as in one pass); events are parsed and
  // committed once span ids are indexed. Anything PageSweep does not handle falls back to SQLite.
  Status sweep_tables() {
    const uint64_t size = store_.file_size();
    std::vector<PageSweep::Table> tables(m_->has_events_table_ ? 3 : 2);
    std::string why;
    const bool resolved =
        resolve_table_layout(store_.db(), "traces", trace_columns(), tables[0].layout, why) &&
        resolve_table_layout(store_.db(), "spans", span_columns(), tables[1].layout, why) &&
        (!m_->has_events_table_ || resolve_table_layout(store_.db(), "span_events", event_columns(), tables[2].layout, why));
    if (!resolved) {
      fallback_reason_ = "one pass: " + why;
      return Status(ErrorCode::kInternal, "one pass not possible: " + fallback_reason_);
    }
    SpanPart part;
    part.spans.reserve(estimated_spans(1.0), m_->attrs_in_memory_);
    part.arena.swap(m_->arena_);  // its reservation, if any (append_part takes it back)
    AttributeScanner scanner(&part.arena, false);
    part.scanner = &scanner;
    reserve_early_events(true);
    bool cancelled = false;
    uint64_t rows = 0, offset = 0;
    tables[0].fn = [&](const DirectRow& r) { return add_trace_row(r); };
    tables[1].fn = [&](const DirectRow& r) {
      add_span_row(r, PartTarget{part});
      if ((++rows & 0x3fff) == 0 && !report(0.85 * static_cast<double>(offset) / static_cast<double>(size))) {
        cancelled = true;
        return false;
      }
      return true;
    };
    if (m_->has_events_table_) {
      tables[2].fn = [&](const DirectRow& r) {
        early_parsed_.emplace_back();
        parse_event(r, early_parsed_.back(), early_strings_);
        return true;
      };
    }
    auto sweep_owner = std::make_unique<PageSweep>(std::move(tables), size, options_.read_slice_bytes);
    PageSweep& sweep = *sweep_owner;
    sweep.set_read_file(&options_.read_file);  // for overflow chains that reach past the slices at hand
    ScanOutcome o = ScanOutcome::kDone;
    std::string error;
    while (offset < size && o == ScanOutcome::kDone) {
      const auto n = static_cast<size_t>(std::min<uint64_t>(sweep.slice_bytes(), size - offset));
      const int64_t got = options_.read_file(offset, n, sweep.buffer(), error);
      if (got < 0) return Status(ErrorCode::kIoError, store_.display_name() + " could not be read: " + error);
      if (static_cast<uint64_t>(got) != n) {
        return Status(ErrorCode::kIoError, store_.display_name() + " changed while it was being read (it is shorter "
                                           "than when it was opened). Open it again once nothing writes to it.");
      }
      o = sweep.feed(n, why);
      offset += n;
      if (o == ScanOutcome::kDone && !report(0.85 * static_cast<double>(offset) / static_cast<double>(size)))
        cancelled = true, o = ScanOutcome::kStopped;
    }
    if (o == ScanOutcome::kDone) o = sweep.finish(why);
    // Its slices freed before the span index and links are built (in wasm the memory's peak
    // is its size for good).
    sweep_owner.reset();
    scanner.finish(part.spans.flags);
    if (cancelled) return Status(ErrorCode::kCancelled, "Loading was cancelled.");
    if (o != ScanOutcome::kDone) {
      fallback_reason_ = "one pass: " + why;
      return Status(ErrorCode::kInternal, "one pass not possible: " + fallback_reason_);
    }
    append_part(part);
    m_->one_pass_ = true;
    if (m_->has_events_table_) {
      index_span_ids();
      commit_parsed_events();
    }
    if (!report(0.95)) return Status(ErrorCode::kCancelled, "Loading was cancelled.");
    return Status::ok();
  }

  // ---------------------------------------------------------------- span_events table
  // Events are parsed (ParsedEvent: nothing of the model touched) and then committed, which
  // needs the span index. Natively with pages read directly, the parsing runs on a thread of
  // its own while the spans table is read (start_events_early), and only the commit is left.
  // Event names, units and models are few: they are numbered as they are parsed (by a small
  // table of the parser's own) and interned into the model once per distinct string.
  struct EventStrings {
    std::vector<std::string> list;
    uint32_t add(std::string_view s) {
      const auto linear = std::min<size_t>(list.size(), kMaxLinear);
      for (uint32_t i = 0; i < linear; ++i)
        if (list[i] == s) return i;
      if (list.size() >= kMaxLinear) {
        auto it = index.find(std::string(s));
        if (it != index.end()) return it->second;
      }
      const auto i = static_cast<uint32_t>(list.size());
      if (i >= kMaxLinear) index.emplace(std::string(s), i);
      list.emplace_back(s);
      return i;
    }
    // A linear search is fastest for the handful of names real files have; past that a map.
    static constexpr uint32_t kMaxLinear = 16;
    std::unordered_map<std::string, uint32_t> index;
    // The events' span id text, and their attribute text not read in place, one after the
    // other (no allocation per event; the attribute text becomes the model's arena as a whole).
    std::string span_ids, attr_text;
  };

  // Ordered so that it packs (64 bytes: one is held for every event until the commit).
  struct ParsedEvent {
    int64_t rowid = 0;
    uint64_t span_text_off = 0;  // in EventStrings::span_ids
    // SpanColumns::kInImage | offset in the file image, or the offset in EventStrings::attr_text
    uint64_t attr_at = 0;
    TimeNs time_ns = 0;  // when time_ok
    double metric_value = std::nan("");
    uint32_t span_text_len = 0;
    uint32_t name = 0;  // in EventStrings
    uint32_t attr_len = 0;
    uint32_t metric_unit = 0, metric_model = 0;  // in EventStrings
    bool time_ok = false;
    bool bad_attributes = false;
    bool has_unit = false, has_model = false;
  };
  static_assert(sizeof(ParsedEvent) <= 64, "ParsedEvent no longer packs");

  template <typename Row>
  void parse_event(const Row& r, ParsedEvent& e, EventStrings& strings) const {
    e.rowid = r.rowid();
    const std::string_view span = r.text(1);
    e.span_text_off = strings.span_ids.size();
    e.span_text_len = static_cast<uint32_t>(span.size());
    strings.span_ids.append(span);
    const std::string_view name = r.text(2);
    e.name = strings.add(name);
    const TimeValue time = read_time(r, 3, options_.naive_utc_offset_seconds);
    e.time_ok = time.ok;
    e.time_ns = time.ns;
    const std::string_view attrs = r.text(4);
    e.attr_len = static_cast<uint32_t>(attrs.size());
    if (r.in_image(4)) {
      e.attr_at = SpanColumns::kInImage | static_cast<uint64_t>(attrs.data() - store_.image()->data());
    } else {
      e.attr_at = strings.attr_text.size();
      strings.attr_text.append(attrs);
    }
    e.metric_value = std::nan("");
    e.has_unit = e.has_model = false;
    const bool metric = name.rfind("metric.", 0) == 0;
    // A string value without escapes is its text between the quotes.
    auto text_of = [&](std::string_view raw) -> uint32_t {
      const std::string_view inner = raw.substr(1, raw.size() - 2);
      if (inner.find('\\') == std::string_view::npos) return strings.add(inner);
      return strings.add(json::decode_string(raw));
    };
    json::ScanResult scanned = json::scan_object(attrs, [&](const json::Member& mem) {
      if (!metric || mem.key_escaped) return true;
      if (mem.key == "value" && (mem.type == json::ValueType::kNumber || mem.type == json::ValueType::kNonFinite)) {
        json::parse_double(mem.value, e.metric_value);
      } else if (mem.key == "unit" && mem.type == json::ValueType::kString) {
        e.metric_unit = text_of(mem.value);
        e.has_unit = true;
      } else if (mem.key == "model_id" && mem.type == json::ValueType::kString) {
        e.metric_model = text_of(mem.value);
        e.has_model = true;
      }
      return true;
    });
    e.bad_attributes = !attrs.empty() && (!scanned.valid || !scanned.is_object);
  }

  // The columns read from span_events.
  std::vector<std::string> event_columns() const {
    const SchemaInfo& sc = store_.schema();
    return {"rowid", "span_id", col(sc, "span_events", "name"), col(sc, "span_events", "timestamp"),
            col(sc, "span_events", "attributes")};
  }

  // The events parsed ahead, their span id text and (`text_too`: none of it in place) their
  // attribute text, reserved from the largest rowid instead of grown by doubling: each doubling
  // leaves the old copy behind, memory that was touched, and in the browser the wasm memory's
  // peak stays its size for good (the 1 GB file's event text: 11.3 MiB, grown to 16 MiB with an
  // 8 MiB hole behind; reserved, the module's touched memory after the open is 81.8 MiB instead
  // of 84.9). Reserved beyond what is used costs address space only: those pages are never
  // touched.
  void reserve_early_events(bool text_too) {
    const auto rows = static_cast<size_t>(std::clamp<int64_t>(max_event_rowid_, 0, kMaxEventReserve));
    early_parsed_.reserve(rows);
    early_strings_.span_ids.reserve(rows * kEventSpanIdBytes);
    if (text_too)
      early_strings_.attr_text.reserve(static_cast<size_t>(std::min<uint64_t>(uint64_t{rows} * kEventTextBytes, store_.file_size())));
  }
  static constexpr size_t kEventSpanIdBytes = 16;  // Llama Stack's span ids: 16 hex digits
  static constexpr size_t kEventTextBytes = 128;   // a metric event's attributes: 60-100 bytes

  // Starts parsing span_events on a thread of its own (pages read directly, natively, with
  // threads allowed); load_events() then commits what it parsed.
  void start_events_early() {
    if (!use_direct_ || !options_.threads || !m_->has_events_table_) return;
    if (!resolve_table_layout(store_.db(), "span_events", event_columns(), early_layout_, early_events_why_)) {
      early_events_why_ = "span_events: " + early_events_why_;
      early_events_unsupported_ = true;
      return;
    }
    // Without a helper thread, load_events() parses them itself.
    reserve_early_events(false);  // their attribute text is read in place
    early_events_.start(true, [this] {
      std::string why;
      const ScanOutcome o = scan_table(*store_.image(), early_layout_, [&](const DirectRow& r) {
        if (early_stop_.load(std::memory_order_relaxed)) return false;
        early_parsed_.emplace_back();
        parse_event(r, early_parsed_.back(), early_strings_);
        return true;
      }, why);
      if (o == ScanOutcome::kUnsupported) {
        early_events_unsupported_ = true;
        early_events_why_ = "span_events: " + why;
      }
    });
  }

  // Waits for the early parse (if one runs); `stop` asks it to end first.
  void join_events_early(bool stop) {
    if (!early_events_.running()) return;
    if (stop) early_stop_ = true;
    early_events_.join();
  }

  Status load_events() {
    index_span_ids();
    // (running() first: the flag is the thread's until it is joined.)
    if (early_events_.running() || early_events_unsupported_) {
      join_events_early(false);
      if (early_events_unsupported_) {
        fallback_reason_ = early_events_why_;
        return Status(ErrorCode::kInternal, "direct scan not possible: " + fallback_reason_);
      }
      commit_parsed_events();
      if (!report(0.95)) return Status(ErrorCode::kCancelled, "Loading was cancelled.");
      return Status::ok();
    }
    uint64_t rows = 0;
    bool cancelled = false;
    ParsedEvent e;
    EventStrings strings;
    std::vector<uint32_t> interned;
    Status st = scan("span_events", event_columns(), [&](const auto& r) {
      strings.span_ids.clear();
      strings.attr_text.clear();
      parse_event(r, e, strings);
      for (size_t i = interned.size(); i < strings.list.size(); ++i) interned.push_back(intern(strings.list[i]));
      commit_event(e, interned, strings, kAppendText);
      if ((++rows & 0xffff) == 0 && max_event_rowid_ > 0) {
        const double f = static_cast<double>(r.rowid()) / static_cast<double>(max_event_rowid_);
        if (!report(0.85 + 0.1 * std::min(f, 1.0))) {
          cancelled = true;
          return false;
        }
      }
      return true;
    });
    if (cancelled) return Status(ErrorCode::kCancelled, "Loading was cancelled.");
    return st;
  }

  // Commits the events parsed ahead (early_parsed_: by the early thread or the one pass), once
  // span ids are indexed, and frees them.
  void commit_parsed_events() {
    const std::vector<uint32_t> interned = intern_all(early_strings_);
    // Sized once, and the text moved rather than copied where it can be: growing by doubling,
    // or copying, would for a moment hold the text twice (the peak of the whole build in the
    // browser, whose memory never shrinks).
    m_->events.reserve(m_->events.size() + early_parsed_.size());
    std::string& text = early_strings_.attr_text;
    uint64_t text_at = m_->arena_.size();
    if (m_->arena_.empty()) {
      m_->arena_.swap(text);
    } else {
      m_->arena_.reserve(m_->arena_.size() + text.size());
      m_->arena_.append(text);
    }
    std::string().swap(text);
    for (const ParsedEvent& e : early_parsed_) commit_event(e, interned, early_strings_, text_at);
    std::vector<ParsedEvent>().swap(early_parsed_);
    std::string().swap(early_strings_.span_ids);
  }

  // Span id -> index; the first row with an id wins, later duplicates are flagged. Rows are
  // indexed in order, from where the last call stopped (the first half of a table read on two
  // threads is indexed while the second is still being read).
  void index_span_ids() {
    SpanColumns& c = m_->spans;
    if (ids_indexed_ == 0)
      m_->span_by_id_.reserve(std::max(c.size(), estimated_spans(1.0)), c.id.data());
    for (auto i = static_cast<uint32_t>(ids_indexed_); i < c.size(); ++i) {
      if (c.flags[i] & kSpanBadSpanId) continue;
      if (m_->span_by_id_.insert(i, c.id.data()) != i) {
        c.flags[i] |= kSpanDuplicateId;
        add_diag("duplicate_span_ids", "span ids that occur more than once (only the first row is linked to)",
                 span_example(i));
      }
    }
    ids_indexed_ = c.size();
  }


  std::optional<uint32_t> lookup_span(std::string_view text) const {
    uint64_t id = 0;
    if (parse_hex64(text, id)) {
      const uint32_t found = m_->span_by_id_.find(id, m_->spans.id.data());
      if (found != IndexMap::kNone) return found;
      return std::nullopt;
    }
    auto it = m_->span_by_bad_id_.find(std::string(text));
    if (it != m_->span_by_bad_id_.end()) return it->second;
    return std::nullopt;
  }

  std::vector<uint32_t> intern_all(const EventStrings& strings) {
    std::vector<uint32_t> out;
    out.reserve(strings.list.size());
    for (const auto& s : strings.list) out.push_back(intern(s));
    return out;
  }

  // `interned`: the model's string index of each of the parser's EventStrings. `text_at`: where
  // the parser's attr_text starts in the arena, or kAppendText: the event's text is appended.
  static constexpr uint64_t kAppendText = UINT64_MAX;
  void commit_event(const ParsedEvent& p, const std::vector<uint32_t>& interned, const EventStrings& strings,
                    uint64_t text_at) {
    const std::string_view span_text =
        std::string_view(strings.span_ids).substr(static_cast<size_t>(p.span_text_off), p.span_text_len);
    auto span = lookup_span(span_text);
    if (!span) {
      add_diag("events_without_span", "events whose span is not in the file (not shown)",
               "event " + std::to_string(p.rowid) + " of span " + std::string(span_text));
      return;
    }
    EventColumns& e = m_->events;
    e.span.push_back(*span);
    e.name.push_back(interned[p.name]);
    e.time.push_back(p.time_ok ? p.time_ns : m_->spans.end[*span]);
    e.rowid.push_back(p.rowid);
    if (p.attr_at & SpanColumns::kInImage) {
      e.attr_offset.push_back(p.attr_at);
    } else if (text_at == kAppendText) {
      e.attr_offset.push_back(m_->arena_.size());
      m_->arena_.append(strings.attr_text, static_cast<size_t>(p.attr_at), p.attr_len);
    } else {
      e.attr_offset.push_back(text_at + p.attr_at);
    }
    e.attr_len.push_back(p.attr_len);
    e.bad_attributes.push_back(p.bad_attributes ? 1 : 0);
    if (p.bad_attributes) add_diag("bad_event_attributes", "events whose attributes are not a JSON object (kept as text)",
                                   "event " + std::to_string(p.rowid));
    e.metric_value.push_back(p.metric_value);
    e.metric_unit.push_back(p.has_unit ? interned[p.metric_unit] : 0);
    e.metric_model.push_back(p.has_model ? interned[p.metric_model] : 0);
  }

  // ---------------------------------------------------------------- linking
  // Runs beside load_events (see run()): touches only the spans, and notes the spans whose
  // cycle it cut in cycle_cuts_ (reported afterwards, after the events' diagnostics).
  void link_parents() {
    SpanColumns& c = m_->spans;
    for (uint32_t i = 0; i < c.size(); ++i) {
      if (c.parent_id[i] == 0) continue;
      std::optional<uint32_t> p;
      if (c.flags[i] & kSpanBadParentId) {
        auto it = m_->span_by_bad_id_.find(m_->bad_parent_id_text_[i]);
        if (it != m_->span_by_bad_id_.end()) p = it->second;
      } else {
        const uint32_t found = m_->span_by_id_.find(c.parent_id[i], c.id.data());
        if (found != IndexMap::kNone) p = found;
      }
      if (p && *p != i && c.trace[*p] == c.trace[i]) {
        c.parent[i] = static_cast<int32_t>(*p);
      } else if (p && *p == i) {
        c.flags[i] |= kSpanCycle;
        cycle_cuts_.push_back(i);
      } else {
        c.flags[i] |= kSpanDanglingParent;
      }
    }
  }

  // Follows parent links with an explicit walk; a chain that returns to a span on the current
  // walk is a cycle, cut at the span where it closed.
  void cut_cycles() {
    SpanColumns& c = m_->spans;
    std::vector<uint8_t> state(c.size(), 0);  // 0 new, 1 on current walk, 2 done
    std::vector<uint32_t> walk;
    for (uint32_t start = 0; start < c.size(); ++start) {
      if (state[start]) continue;
      walk.clear();
      uint32_t cur = start;
      while (true) {
        state[cur] = 1;
        walk.push_back(cur);
        const int32_t p = c.parent[cur];
        if (p < 0 || state[static_cast<uint32_t>(p)] == 2) break;
        if (state[static_cast<uint32_t>(p)] == 1) {
          c.parent[cur] = -1;
          c.flags[cur] |= kSpanCycle;
          cycle_cuts_.push_back(cur);
          break;
        }
        cur = static_cast<uint32_t>(p);
      }
      for (uint32_t s : walk) state[s] = 2;
    }
  }

  // Per-trace span lists ordered by (start, rowid), and trace time ranges.
  void group_by_trace() {
    SpanColumns& c = m_->spans;
    auto& traces = m_->traces;
    std::vector<uint32_t> count(traces.size() + 1, 0);
    for (uint32_t i = 0; i < c.size(); ++i) ++count[c.trace[i] + 1];
    std::partial_sum(count.begin(), count.end(), count.begin());
    m_->trace_spans_.resize(c.size());
    std::vector<uint32_t> fill(count.begin(), count.end() - 1);
    for (uint32_t i = 0; i < c.size(); ++i) m_->trace_spans_[fill[c.trace[i]]++] = i;
    for (uint32_t t = 0; t < traces.size(); ++t) {
      TraceInfo& tr = traces[t];
      tr.span_begin = count[t];
      tr.span_count = count[t + 1] - count[t];
      auto b = m_->trace_spans_.begin() + static_cast<std::ptrdiff_t>(count[t]),
           e = m_->trace_spans_.begin() + static_cast<std::ptrdiff_t>(count[t + 1]);
      std::sort(b, e, [&](uint32_t x, uint32_t y) {
        return c.start[x] != c.start[y] ? c.start[x] < c.start[y] : c.rowid[x] < c.rowid[y];
      });
      if (tr.span_count == 0) continue;
      TimeNs lo = c.start[*b], hi = c.end[*b];
      for (auto it = b; it != e; ++it) {
        hi = std::max(hi, c.end[*it]);
        if (m_->span_failed(*it)) ++tr.error_count;
      }
      tr.start = lo;
      tr.end = hi;
    }
  }

  void choose_roots() {
    SpanColumns& c = m_->spans;
    for (uint32_t t = 0; t < m_->traces.size(); ++t) {
      TraceInfo& tr = m_->traces[t];
      if (!tr.in_table) tr.incomplete |= kTraceNotInTable;
      if (tr.in_table && tr.root_span_id_null) tr.incomplete |= kTraceNullRoot;
      if (tr.span_count == 0) {
        tr.incomplete |= kTraceNoSpans;
        continue;
      }
      if (tr.in_table && !tr.root_span_id_null) {
        auto r = lookup_span(tr.stored_root_span_id);
        if (r && c.trace[*r] == t) tr.root = static_cast<int32_t>(*r);
        else tr.incomplete |= kTraceRootMissing;
      }
      if (tr.root < 0) tr.root = guess_root(t);
      if (tr.root < 0) tr.incomplete |= kTraceNoRoot;
      for (const uint32_t* p = m_->trace_spans_begin(t); p != m_->trace_spans_end(t); ++p) {
        const uint32_t s = *p;
        if (c.parent[s] >= 0 || !(c.flags[s] & kSpanDanglingParent)) continue;
        if (static_cast<int32_t>(s) == tr.root) {
          c.flags[s] |= kSpanRemoteParent;
        } else {
          c.flags[s] |= kSpanOrphan;
          ++tr.orphan_count;
          add_diag("orphan_spans", "spans whose parent is not in the file (shown as extra roots of their trace)",
                   span_example(s));
        }
      }
      if (tr.orphan_count) tr.incomplete |= kTraceHasOrphans;
      if (tr.root >= 0 && (c.flags[static_cast<uint32_t>(tr.root)] & kSpanDanglingParent)) {
        add_diag("remote_parents", "trace roots whose parent is a remote span (W3C traceparent), not in the file",
                 span_example(static_cast<uint32_t>(tr.root)));
      }
    }
  }

  // Without a usable root_span_id: a span marked as the local root, else the earliest span
  // without a parent, else the only span whose parent is missing.
  int32_t guess_root(uint32_t t) const {
    const SpanColumns& c = m_->spans;
    int32_t marked = -1, null_parent = -1, dangling = -1;
    int dangling_count = 0;
    for (const uint32_t* p = m_->trace_spans_begin(t); p != m_->trace_spans_end(t); ++p) {
      const uint32_t s = *p;
      if (c.parent[s] >= 0) continue;
      if ((c.flags[s] & kSpanMarkedRoot) && marked < 0) marked = static_cast<int32_t>(s);
      if (c.parent_id[s] == 0 && null_parent < 0) null_parent = static_cast<int32_t>(s);
      if (c.flags[s] & kSpanDanglingParent) {
        ++dangling_count;
        if (dangling < 0) dangling = static_cast<int32_t>(s);
      }
    }
    if (marked >= 0) return marked;
    if (null_parent >= 0) return null_parent;
    return dangling_count == 1 ? dangling : -1;
  }

  void build_children() {
    const SpanColumns& c = m_->spans;
    auto& offset = m_->child_offset_;
    offset.assign(c.size() + 1, 0);
    for (uint32_t i = 0; i < c.size(); ++i)
      if (c.parent[i] >= 0) ++offset[static_cast<uint32_t>(c.parent[i]) + 1];
    std::partial_sum(offset.begin(), offset.end(), offset.begin());
    m_->child_list_.resize(offset.back());
    std::vector<uint32_t> fill(offset.begin(), offset.end() - 1);
    // Visiting spans in per-trace start order fills each child list already sorted.
    for (uint32_t s : m_->trace_spans_)
      if (c.parent[s] >= 0) m_->child_list_[fill[static_cast<uint32_t>(c.parent[s])]++] = s;
  }

  void build_event_index() {
    const EventColumns& e = m_->events;
    auto& offset = m_->span_event_offset_;
    offset.assign(m_->spans.size() + 1, 0);
    for (uint32_t i = 0; i < e.size(); ++i) ++offset[e.span[i] + 1];
    std::partial_sum(offset.begin(), offset.end(), offset.begin());
    m_->span_event_list_.resize(e.size());
    std::vector<uint32_t> fill(offset.begin(), offset.end() - 1);
    for (uint32_t i = 0; i < e.size(); ++i) m_->span_event_list_[fill[e.span[i]]++] = i;
    for (uint32_t s = 0; s < m_->spans.size(); ++s) {
      auto b = m_->span_event_list_.begin() + static_cast<std::ptrdiff_t>(offset[s]),
           en = m_->span_event_list_.begin() + static_cast<std::ptrdiff_t>(offset[s + 1]);
      if (en - b > 1) {
        std::stable_sort(b, en, [&](uint32_t x, uint32_t y) { return e.time[x] < e.time[y]; });
      }
    }
  }

  void finish_diagnostics() {
    struct FlagDiag {
      uint32_t flag;
      const char* code;
      const char* message;
    };
    static const FlagDiag kFlagDiags[] = {
        {kSpanBadAttributes, "bad_attributes", "spans whose attributes are not valid JSON (kept whole as text)"},
        {kSpanNonJsonNumber, "non_json_numbers", "spans whose attributes contain NaN or Infinity (read as numbers)"},
        {kSpanBadStart, "bad_start_time", "spans without a readable start_time (start set to end)"},
        {kSpanNoEnd, "no_end_time", "spans without a readable end_time (end set to start; still running or cut short)"},
        {kSpanEndBeforeStart, "end_before_start", "spans whose end_time is before their start_time (end set to start)"},
        {kSpanNumericTime, "numeric_times", "times stored as numbers instead of ISO text (read as Unix epoch)"},
        {kSpanBadSpanId, "bad_span_ids", "span ids that are not 16 hex digits (a derived id is used for export)"},
        {kSpanBadParentId, "bad_parent_ids", "parent_span_id values that are not 16 hex digits"},
        {kSpanWrongType, "wrong_types", "span rows with a value of the wrong SQLite type"},
        {kSpanUnknownStatus, "unknown_status", "spans whose status is not OK/ERROR/UNSET (read as UNSET)"},
        {kSpanUnknownKind, "unknown_kind", "spans whose kind is not a known span kind (read as INTERNAL)"},
        {kSpanNaiveTime, "naive_times", "spans with times without a UTC offset (older files; read as UTC unless told otherwise)"},
    };
    const SpanColumns& c = m_->spans;
    for (uint32_t s = 0; s < c.size(); ++s) {
      if (!c.flags[s]) continue;
      for (const auto& fd : kFlagDiags)
        if (c.flags[s] & fd.flag) add_diag(fd.code, fd.message, span_example(s));
    }
    for (const auto& t : m_->traces) {
      if (t.incomplete & kTraceNullRoot)
        add_diag("null_root_traces", "traces whose root_span_id is NULL (root unfinished, or written mid-May to late June 2025)", "trace " + t.id);
      if (t.incomplete & kTraceNotInTable)
        add_diag("traces_not_in_table", "trace ids used by spans but missing from the traces table", "trace " + t.id);
      if (t.incomplete & kTraceNoSpans)
        add_diag("traces_without_spans", "traces rows without any span", "trace " + t.id);
    }
  }

  Store& store_;
  const LoadOptions& options_;
  std::unique_ptr<Model> m_;
  int64_t max_span_rowid_ = 0, max_event_rowid_ = 0;
  uint32_t last_trace_ = UINT32_MAX;
  IdMap trace_by_value_;  // trace_key() of valid hex trace ids -> trace
  NameCache name_cache_ = empty_name_cache();
  std::string key_;
  size_t ids_indexed_ = 0;  // spans indexed by index_span_ids so far
  std::vector<uint32_t> cycle_cuts_;  // spans whose parent link was cut to end a cycle, in order
  std::unique_ptr<SplitSpans> split_;  // the spans table shared with the helper, while it reads
  bool use_direct_ = false;

 public:
  std::string fallback_reason_;  // why the direct page reader gave up (empty when it did not)
  AttributeScanner* scanner_ = nullptr;  // set while the spans table is read
  // span_events parsed on a thread of its own (start_events_early).
  HelperThread early_events_;
  std::atomic<bool> early_stop_{false};
  TableLayout early_layout_;
  std::vector<ParsedEvent> early_parsed_;      // the thread's until joined
  EventStrings early_strings_;                 // the thread's until joined
  // Rows reserved for the early parse at most (the estimate is the largest rowid).
  static constexpr int64_t kMaxEventReserve = int64_t{1} << 22;
  bool early_events_unsupported_ = false;      // the thread's until joined
  std::string early_events_why_;               // the thread's until joined
};

Result<std::unique_ptr<Model>> Model::build(Store& store, const LoadOptions& options) {
  {
    ModelBuilder builder(store, options);
    auto result = builder.run();
    if (builder.fallback_reason_.empty()) return result;
  }
  // The direct page reader met something it does not handle (fallback_reason_ says what):
  // read everything through SQLite instead.
  LoadOptions through_sqlite = options;
  through_sqlite.direct = false;
  through_sqlite.read_file = nullptr;
  ModelBuilder builder(store, through_sqlite);
  return builder.run();
}

}  // namespace tracedrop
