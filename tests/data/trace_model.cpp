#include "trace_model.h"

#include <cstring>

namespace tracedrop::testdata::detail {

uint64_t Rng::next() {
  state_ += 0x9E3779B97F4A7C15ULL;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t Rng::below(uint64_t n) {
  // The modulo bias is below 2^-40 for the ranges we use: irrelevant for test data.
  return next() % n;
}

int64_t Rng::range(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  const auto span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int64_t>(below(span));
}

double Rng::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

std::string Rng::hex(size_t digits) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s(digits, '0');
  uint64_t bits = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (i % 16 == 0) bits = next();
    s[i] = kDigits[bits & 0xF];
    bits >>= 4;
  }
  return s;
}

std::string Rng::uuid4() {
  std::string h = hex(32);
  h[12] = '4';
  h[16] = "89ab"[below(4)];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
         h.substr(20);
}

namespace {

struct Civil {
  int64_t year;
  unsigned month, day, hour, minute, second, micro;
};

// Howard Hinnant's days-to-civil, valid for the whole proleptic Gregorian calendar.
Civil to_civil(int64_t epoch_us) {
  int64_t secs = epoch_us / kMicrosPerSecond;
  int64_t micro = epoch_us % kMicrosPerSecond;
  if (micro < 0) {
    micro += kMicrosPerSecond;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  Civil c{};
  c.year = yoe + era * 400 + (m <= 2 ? 1 : 0);
  c.month = static_cast<unsigned>(m);
  c.day = static_cast<unsigned>(d);
  c.hour = static_cast<unsigned>(rem / 3600);
  c.minute = static_cast<unsigned>((rem % 3600) / 60);
  c.second = static_cast<unsigned>(rem % 60);
  c.micro = static_cast<unsigned>(micro);
  return c;
}

}  // namespace

namespace {

// Writes `value` as exactly `width` decimal digits at p (no snprintf: this runs per cell).
char* put_digits(char* p, uint64_t value, int width) {
  for (int k = width - 1; k >= 0; --k) {
    p[k] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return p + width;
}

// "YYYY-MM-DD<sep>HH:MM:SS" (years 0..9999).
char* put_date_time(char* p, const Civil& c, char sep) {
  p = put_digits(p, static_cast<uint64_t>(c.year), 4);
  *p++ = '-';
  p = put_digits(p, c.month, 2);
  *p++ = '-';
  p = put_digits(p, c.day, 2);
  *p++ = sep;
  p = put_digits(p, c.hour, 2);
  *p++ = ':';
  p = put_digits(p, c.minute, 2);
  *p++ = ':';
  return put_digits(p, c.second, 2);
}

}  // namespace

std::string iso_time(int64_t epoch_us, bool naive) {
  // Legacy files hold the server's local time; our legacy server ran at UTC+2 (CEST).
  const Civil c = to_civil(naive ? epoch_us + 2 * 3600 * kMicrosPerSecond : epoch_us);
  char buf[40];
  char* p = put_date_time(buf, c, 'T');
  if (c.micro != 0) {
    *p++ = '.';
    p = put_digits(p, c.micro, 6);
  }
  if (!naive) {
    std::memcpy(p, "+00:00", 6);
    p += 6;
  }
  return std::string(buf, static_cast<size_t>(p - buf));
}

std::string sqlite_timestamp(int64_t epoch_us) {
  char buf[24];
  const char* end = put_date_time(buf, to_civil(epoch_us), ' ');
  return std::string(buf, static_cast<size_t>(end - buf));
}

TraceBuilder::TraceBuilder(Rng& rng, int64_t start_us, double snap_p, bool deterministic)
    : rng_(rng), now_us_(start_us), snap_p_(snap_p), deterministic_(deterministic) {
  spans_.reserve(32);
}

TraceBuilder::Id TraceBuilder::begin(std::string name, Id parent) {
  SpanRec s;
  s.span_id = rng_.hex(16);
  s.name = std::move(name);
  s.start_us = now_us_;
  if (parent != kNoParent) {
    s.parent_id = spans_[parent].span_id;
    s.has_parent = true;
    s.depth = spans_[parent].depth + 1;
  }
  spans_.push_back(std::move(s));
  return spans_.size() - 1;
}

void TraceBuilder::end(Id id, Attrs attrs, bool ttl) {
  SpanRec& s = spans_[id];
  // Zero-length spans get a microsecond. A parent ending at the same time as its last child
  // still sorts after it: ties are broken by the end sequence.
  if (now_us_ <= s.start_us) now_us_ = s.start_us + 1;
  s.end_us = now_us_;
  s.seq = next_seq_++;
  for (const auto& f : attrs) {
    if (f.first == "error") s.has_error_attr = true;
  }
  if (ttl) attrs.emplace_back("__ttl__", PyValue::integer(604800));
  s.attributes = json_dumps(attrs);
}

void TraceBuilder::add_event(Id id, EventRec event) { spans_[id].events.push_back(std::move(event)); }

void TraceBuilder::advance(int64_t lo_us, int64_t hi_us) {
  if (deterministic_) {
    now_us_ += lo_us;
    return;
  }
  const int64_t next = now_us_ + rng_.range(lo_us, hi_us);
  const int64_t whole = next - next % kMicrosPerSecond;
  if (!rng_.chance(snap_p_)) {
    now_us_ = next;
  } else if (whole > now_us_) {
    now_us_ = whole;  // back to a whole second inside the interval: the clock stays monotonic
  } else {
    now_us_ = snap_up_ ? whole + kMicrosPerSecond : next;
  }
}

}  // namespace tracedrop::testdata::detail
