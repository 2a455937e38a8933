// Internal building blocks of the generator: the PRNG, time text, the in-memory span and
// event records, and TraceBuilder (a time cursor that opens and closes spans in order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "pyvalue.h"

namespace tracedrop::testdata::detail {

constexpr int64_t kMicrosPerMs = 1000;
constexpr int64_t kMicrosPerSecond = 1000000;

// splitmix64: tiny, fast, and the same sequence on every platform (std::mt19937 would be too,
// but its distributions are not, so we do our own range mapping).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  uint64_t below(uint64_t n);              // [0, n), n > 0
  int64_t range(int64_t lo, int64_t hi);   // [lo, hi]
  double unit();                           // [0, 1)
  bool chance(double p) { return unit() < p; }
  std::string hex(size_t digits);          // lowercase hex
  std::string uuid4();
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[static_cast<size_t>(below(v.size()))]; }

 private:
  uint64_t state_;
};

// `2025-06-02T08:00:57.620527+00:00`, without the fraction when the microsecond is 0 (Python's
// datetime.isoformat). naive: the legacy form, local time (UTC+2) without an offset.
std::string iso_time(int64_t epoch_us, bool naive);
// SQLite CURRENT_TIMESTAMP form: `2025-06-02 08:00:57` (UTC).
std::string sqlite_timestamp(int64_t epoch_us);
// 2025-06-02T08:00:00Z as microseconds since the epoch.
constexpr int64_t kTimelineStartUs = 1748851200LL * kMicrosPerSecond;

struct EventRec {
  enum class Kind : uint8_t { kLog, kPromptTokens, kCompletionTokens, kTotalTokens };
  Kind kind = Kind::kLog;
  std::string name;
  int64_t ts_us = 0;
  std::string attributes;
  std::string model_id;  // metric events: for the token tally
  uint64_t value = 0;
};

struct SpanRec {
  std::string span_id;
  std::string parent_id;
  bool has_parent = false;
  std::string name;
  int64_t start_us = 0;
  int64_t end_us = 0;  // also the write order key, even when the row's end is NULL
  std::string attributes;
  std::string status = "OK";
  std::string kind = "INTERNAL";
  std::vector<EventRec> events;
  bool is_root = false;          // carries __root_span__: sets traces.root_span_id
  bool has_error_attr = false;   // attributes hold an "error" key
  uint32_t depth = 1;            // root = 1
  uint64_t seq = 0;              // order in which spans ended (tie-break)

  // How the row deviates from what Llama Stack writes (quirk cases).
  enum class Dangling : uint8_t { kNo, kRemoteRoot, kOrphan };
  enum class AttrCell : uint8_t { kJson, kBadJson, kNan, kBlob, kInteger };
  Dangling dangling = Dangling::kNo;
  AttrCell attr_cell = AttrCell::kJson;
  bool start_epoch_int = false;  // start_time as INTEGER epoch seconds
  bool end_epoch_real = false;   // end_time as REAL epoch seconds
  bool null_end = false;         // end_time NULL
  bool cycle = false;            // part of a parent cycle
  bool write_twice = false;      // duplicate row (no-PK variant)
  bool omit = false;             // never written (a root that never ended)
};

// Per-trace facts shared by its pending spans; the writer keeps the tally fields.
struct TraceInfo {
  std::string trace_id;
  std::string service_name;
  bool naive = false;
  bool write_trace_row = true;
  bool force_null_root = false;
  bool bad_ids = false;
  size_t remaining = 0;     // spans not yet written
  bool root_set = false;    // root_span_id became non-NULL
};

struct TraceRec {
  std::shared_ptr<TraceInfo> info;
  std::vector<SpanRec> spans;
};

// Opens and closes spans against a moving clock. Children are opened after their parent
// and closed before it, so the end order is the order Llama Stack writes rows in.
class TraceBuilder {
 public:
  using Id = size_t;
  static constexpr Id kNoParent = std::numeric_limits<size_t>::max();

  // snap_p: chance that an advance stops on a whole second (the time then has no fraction).
  // deterministic: advance() always takes the lower bound and never snaps (fixed cases).
  TraceBuilder(Rng& rng, int64_t start_us, double snap_p, bool deterministic);

  Id begin(std::string name, Id parent);
  // Closes the span at now() with these attributes (json.dumps), `__ttl__` appended if ttl.
  void end(Id id, Attrs attrs, bool ttl = true);
  void add_event(Id id, EventRec event);

  void advance(int64_t lo_us, int64_t hi_us);
  // Coarse clock: a snapping advance that crosses no whole second jumps up to the next one.
  void set_snap_up(bool on) { snap_up_ = on; }
  void step() { advance(40, 600); }  // the few hundred microseconds between two calls
  int64_t now() const { return now_us_; }
  void set_now(int64_t us) { now_us_ = us; }

  SpanRec& span(Id id) { return spans_[id]; }
  Rng& rng() { return rng_; }
  bool deterministic() const { return deterministic_; }
  std::vector<SpanRec> take() { return std::move(spans_); }

 private:
  Rng& rng_;
  int64_t now_us_;
  double snap_p_;
  bool deterministic_;
  bool snap_up_ = false;
  uint64_t next_seq_ = 0;
  std::vector<SpanRec> spans_;
};

}  // namespace tracedrop::testdata::detail
