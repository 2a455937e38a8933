#include "tracedrop/time.h"

#include "time/time_parse.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace tracedrop {
namespace {

constexpr int64_t kNsPerSec = 1000000000LL;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at text[pos]; advances pos.
bool read_digits(std::string_view text, size_t& pos, size_t n, int64_t& out) {
  if (pos + n > text.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (!is_digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

// Fraction after '.': 1..9 digits used, further digits ignored (truncated).
bool read_fraction(std::string_view text, size_t& pos, int64_t& ns) {
  size_t digits = 0;
  int64_t v = 0;
  while (pos < text.size() && is_digit(text[pos])) {
    if (digits < 9) v = v * 10 + (text[pos] - '0');
    ++digits;
    ++pos;
  }
  if (digits == 0) return false;
  for (size_t i = digits; i < 9; ++i) v *= 10;
  ns = v;
  return true;
}

// "Z", "+HH:MM", "+HHMM", "+HH"; returns seconds east of UTC.
bool read_offset(std::string_view text, size_t& pos, int64_t& seconds, bool& zulu) {
  zulu = false;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
    seconds = 0;
    zulu = true;
    return true;
  }
  if (text[pos] != '+' && text[pos] != '-') return false;
  const int64_t sign = text[pos] == '-' ? -1 : 1;
  ++pos;
  int64_t hh = 0, mm = 0;
  if (!read_digits(text, pos, 2, hh)) return false;
  if (pos < text.size()) {
    if (text[pos] == ':') ++pos;
    if (!read_digits(text, pos, 2, mm)) return false;
  }
  if (hh > 23 || mm > 59) return false;
  seconds = sign * (hh * 3600 + mm * 60);
  return true;
}

unsigned days_in_month(int64_t y, int64_t m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return (m == 2 && leap) ? 29u : kDays[m - 1];
}

}  // namespace

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's algorithm: exact for the proleptic Gregorian calendar.
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t mp = (static_cast<int64_t>(m) + 9) % 12;
  const int64_t doy = (153 * mp + 2) / 5 + static_cast<int64_t>(d) - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

namespace {

// The two forms nearly every row holds, as Python's isoformat() writes them:
// "YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM" (32 bytes) and the naive "YYYY-MM-DDTHH:MM:SS.ffffff" (26),
// read at fixed positions. Anything else (or a field out of range) goes to the general parser,
// which gives the same answer for these forms, only more slowly.
constexpr char kFixedPattern[] = "dddd-dd-ddTdd:dd:dd.dddddd+dd:dd";

int64_t two(const char* p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

// Bytes of chunk `c` (8 bytes of the pattern) where the pattern holds `what` ('d' for the
// digits), as a mask of 0xff bytes; `value` gives the pattern's own bytes there instead.
constexpr uint64_t pattern_mask(size_t c, char what, bool value) {
  uint64_t m = 0;
  for (size_t i = 0; i < 8; ++i) {
    const char p = kFixedPattern[c * 8 + i];
    if (p == what) m |= (value ? static_cast<uint64_t>(static_cast<unsigned char>(p)) : uint64_t{0xff}) << (8 * i);
  }
  return m;
}

// Fixed separators of the pattern ('-', ':', '.') in chunk `c`: their mask and their bytes.
constexpr uint64_t separator_mask(size_t c) {
  return pattern_mask(c, '-', false) | pattern_mask(c, ':', false) | pattern_mask(c, '.', false);
}
constexpr uint64_t separator_bytes(size_t c) {
  return pattern_mask(c, '-', true) | pattern_mask(c, ':', true) | pattern_mask(c, '.', true);
}

constexpr uint64_t kDigitMask[4] = {pattern_mask(0, 'd', false), pattern_mask(1, 'd', false),
                                    pattern_mask(2, 'd', false), pattern_mask(3, 'd', false)};
constexpr uint64_t kSeparatorMask[4] = {separator_mask(0), separator_mask(1), separator_mask(2), separator_mask(3)};
constexpr uint64_t kSeparatorBytes[4] = {separator_bytes(0), separator_bytes(1), separator_bytes(2),
                                         separator_bytes(3)};

bool parse_fixed(std::string_view text, int64_t naive_utc_offset_seconds, ParsedTime& out) {
  const size_t n = text.size();
  if (n != 32 && n != 26) return false;
  // Eight bytes at a time: separators compared at once, the other bytes set to '0' where the
  // pattern has no digit and then tested as digits together (no byte can carry into the next:
  // after the xor with '0' every byte of a digit is at most 9).
  char buf[32];
  if (n == 32) {
    std::memcpy(buf, text.data(), 32);
  } else {
    std::memcpy(buf, text.data(), 26);
    std::memcpy(buf + 26, "+00:00", 6);  // not read for naive times; keeps the checks uniform
  }
  constexpr uint64_t kZeros = 0x3030303030303030ull, kHigh = 0xf0f0f0f0f0f0f0f0ull, kSix = 0x0606060606060606ull;
  uint64_t bad = 0;
  for (size_t c = 0; c < 4; ++c) {
    uint64_t x;
    std::memcpy(&x, buf + 8 * c, 8);
    const uint64_t digits = kDigitMask[c];
    bad |= (x & kSeparatorMask[c]) ^ kSeparatorBytes[c];
    const uint64_t v = ((x & digits) | (kZeros & ~digits)) ^ kZeros;
    bad |= (v & kHigh) | ((v + kSix) & kHigh);
  }
  const char* t = buf;
  if (bad || !(t[10] == 'T' || t[10] == 't' || t[10] == ' ') || !(t[26] == '+' || t[26] == '-')) return false;
  const int64_t y = two(t) * 100 + two(t + 2), mo = two(t + 5), d = two(t + 8), h = two(t + 11),
                mi = two(t + 14), s = two(t + 17);
  const int64_t frac = (two(t + 20) * 10000 + two(t + 22) * 100 + two(t + 24)) * 1000;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60) return false;
  int64_t offset = naive_utc_offset_seconds;
  out.form = TimeForm::kNaive;
  if (n == 32) {
    const int64_t hh = two(t + 27), mm = two(t + 30);
    if (hh > 23 || mm > 59) return false;
    offset = (t[26] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    out.form = TimeForm::kOffset;
  }
  const int64_t secs =
      days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + s - offset;
  // Within 9e9 s of the epoch (about 1685 to 2255) nanoseconds cannot overflow; times beyond
  // are left to the general parser, which checks.
  if (secs <= -9000000000LL || secs >= 9000000000LL) return false;
  out.ns = secs * kNsPerSec + frac;
  return true;
}

}  // namespace

std::optional<ParsedTime> parse_timestamp(std::string_view text, int64_t naive_utc_offset_seconds) {
  ParsedTime fixed;
  if (parse_fixed(text, naive_utc_offset_seconds, fixed)) return fixed;
  return detail::parse_timestamp_general(text, naive_utc_offset_seconds);
}

namespace detail {

std::optional<ParsedTime> parse_timestamp_general(std::string_view text, int64_t naive_utc_offset_seconds) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  size_t pos = 0;
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, frac = 0;
  if (!read_digits(text, pos, 4, y) || pos >= text.size() || text[pos++] != '-') return std::nullopt;
  if (!read_digits(text, pos, 2, mo) || pos >= text.size() || text[pos++] != '-') return std::nullopt;
  if (!read_digits(text, pos, 2, d) || pos >= text.size()) return std::nullopt;
  char sep = text[pos++];
  if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
  if (!read_digits(text, pos, 2, h) || pos >= text.size() || text[pos++] != ':') return std::nullopt;
  if (!read_digits(text, pos, 2, mi)) return std::nullopt;
  if (pos < text.size() && text[pos] == ':') {
    ++pos;
    if (!read_digits(text, pos, 2, s)) return std::nullopt;
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      ++pos;
      if (!read_fraction(text, pos, frac)) return std::nullopt;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  ParsedTime out;
  int64_t offset = 0;
  if (pos == text.size()) {
    out.form = TimeForm::kNaive;
    offset = naive_utc_offset_seconds;
  } else {
    bool zulu = false;
    if (!read_offset(text, pos, offset, zulu) || pos != text.size()) return std::nullopt;
    out.form = zulu ? TimeForm::kZulu : TimeForm::kOffset;
  }
  const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset;
  // Integer nanoseconds reach from 1677 to 2262; a time outside is unreadable, not wrapped.
  int64_t ns = 0;
  if (__builtin_mul_overflow(secs, kNsPerSec, &ns) || __builtin_add_overflow(ns, frac, &ns)) return std::nullopt;
  out.ns = ns;
  return out;
}

}  // namespace detail

std::optional<TimeNs> time_from_number(double value) {
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  // Thresholds: seconds up to year ~5138, then ms, µs, ns.
  double ns;
  if (value < 1e11) {
    ns = value * 1e9;
  } else if (value < 1e14) {
    ns = value * 1e6;
  } else if (value < 1e17) {
    ns = value * 1e3;
  } else {
    ns = value;
  }
  if (ns >= 9.2e18) return std::nullopt;
  return static_cast<TimeNs>(std::llround(ns));
}

std::string format_iso_utc(TimeNs ns, int fraction_digits) {
  int64_t secs = ns / kNsPerSec;
  int64_t rem = ns % kNsPerSec;
  if (rem < 0) {
    rem += kNsPerSec;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  // civil_from_days (Hinnant).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld",
                        static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                        static_cast<long long>(sod / 3600), static_cast<long long>(sod / 60 % 60),
                        static_cast<long long>(sod % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (fraction_digits > 0) {
    if (fraction_digits > 9) fraction_digits = 9;
    char frac[16];
    std::snprintf(frac, sizeof frac, "%09lld", static_cast<long long>(rem));
    out += '.';
    out.append(frac, static_cast<size_t>(fraction_digits));
  }
  out += 'Z';
  return out;
}

std::optional<int64_t> parse_utc_offset(std::string_view text) {
  if (text == "Z" || text == "z" || text == "UTC" || text == "utc") return 0;
  if (text.size() < 2 || (text[0] != '+' && text[0] != '-')) return std::nullopt;
  const int64_t sign = text[0] == '-' ? -1 : 1;
  size_t pos = 1;
  int64_t hh = 0, mm = 0;
  size_t hdigits = (text.size() >= 3 && is_digit(text[2])) ? 2 : 1;
  if (!read_digits(text, pos, hdigits, hh)) return std::nullopt;
  if (pos < text.size()) {
    if (text[pos] == ':') ++pos;
    if (!read_digits(text, pos, 2, mm) || pos != text.size()) return std::nullopt;
  }
  if (hh > 18 || mm > 59) return std::nullopt;
  return sign * (hh * 3600 + mm * 60);
}

}  // namespace tracedrop
