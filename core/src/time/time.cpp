#include "tracedrop/time.h"

#include "time/time_parse.h"

#include <cmath>
#include <cstdio>

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

bool parse_fixed(std::string_view text, int64_t naive_utc_offset_seconds, ParsedTime& out) {
  const size_t n = text.size();
  if (n != 32 && n != 26) return false;
  const char* t = text.data();
  bool ok = true;
  for (size_t i = 0; i < n; ++i) {
    const char c = t[i], want = kFixedPattern[i];
    if (want == 'd') ok &= static_cast<unsigned char>(c - '0') < 10;
    else if (want == 'T') ok &= c == 'T' || c == 't' || c == ' ';
    else if (want == '+') ok &= c == '+' || c == '-';
    else ok &= c == want;
  }
  if (!ok) return false;
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
  // Years 0000-9999 with offsets of under a day stay well inside integer nanoseconds except
  // near the ends of the range, which the general parser checks.
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
