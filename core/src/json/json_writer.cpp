#include "json_writer.h"

#include <cassert>
#include <charconv>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__SSE2__) && !defined(TRACEDROP_JSON_NO_SIMD)
#include <emmintrin.h>
#define TRACEDROP_JSON_SSE2 1
#endif

#if defined(__cpp_lib_to_chars) && !defined(TRACEDROP_JSON_NO_TO_CHARS)
#define TRACEDROP_JSON_TO_CHARS_DOUBLE 1
#endif

namespace tracedrop::json {
namespace {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

// High bit set in each byte of `x` that needs attention: '"', '\\', < 0x20 or >= 0x80. Borrows
// can only mark bytes above a true hit, so the lowest marked byte is always exact.
uint64_t attention_bytes(uint64_t x) {
  const uint64_t q = x ^ (kOnes * '"');
  const uint64_t b = x ^ (kOnes * '\\');
  return (((q - kOnes) & ~q) | ((b - kOnes) & ~b) | (x - kOnes * 0x20) | x) & kHighs;
}

const char* find_attention_swar(const char* p, const char* end) {
  while (end - p >= 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    if (const uint64_t m = attention_bytes(x)) return p + (__builtin_ctzll(m) >> 3);
    p += 8;
  }
  return p;
}
#else
const char* find_attention_swar(const char* p, const char*) { return p; }
#endif

#ifdef TRACEDROP_JSON_SSE2
const char* find_attention_sse2(const char* p, const char* end) {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed compare: bytes >= 0x80 are negative, so this catches them with the controls.
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                     _mm_cmplt_epi8(v, space));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (mask) return p + __builtin_ctz(mask);
    p += 16;
  }
  return p;
}
#endif

const char* find_attention(const char* p, const char* end) {
#ifdef TRACEDROP_JSON_SSE2
  p = find_attention_sse2(p, end);
#endif
  p = find_attention_swar(p, end);
  while (p != end) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return p;
    ++p;
  }
  return end;
}

// Length of the well-formed UTF-8 sequence at p, or minus the length of its maximal ill-formed
// prefix (at least 1 byte), which becomes one U+FFFD as the Unicode standard recommends.
int utf8_sequence(const unsigned char* p, const unsigned char* end) {
  const unsigned c = p[0];
  unsigned lo = 0x80, hi = 0xBF;
  int n;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return -1;
  }
  for (int i = 1; i < n; ++i) {
    if (p + i == end || p[i] < lo || p[i] > hi) return -i;
    lo = 0x80;
    hi = 0xBF;
  }
  return n;
}

// (The pointer-pair overload of std::string::append goes through a slower generic path.)
void append_range(std::string& out, const char* begin, const char* end) {
  out.append(begin, static_cast<size_t>(end - begin));
}

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\n': out += "\\n"; return;
    case '\t': out += "\\t"; return;
    case '\r': out += "\\r"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out.append(esc, 6);
    }
  }
}

// Appends the escaped body; runs of bytes that need no change are copied in one piece.
void append_escaped_body(std::string& out, const char* p, const char* end) {
  const char* run = p;
  while ((p = find_attention(p, end)) != end) {
    const auto c = static_cast<unsigned char>(*p);
    int n = 0;
    if (c >= 0x80) {
      n = utf8_sequence(reinterpret_cast<const unsigned char*>(p), reinterpret_cast<const unsigned char*>(end));
      if (n > 0) {
        p += n;
        continue;
      }
    }
    append_range(out, run, p);
    if (n < 0) {
      out += "\xEF\xBF\xBD";
      p += -n;
    } else {
      append_escape(out, c);
      ++p;
    }
    run = p;
  }
  append_range(out, run, end);
}

#ifndef TRACEDROP_JSON_TO_CHARS_DOUBLE
// Without floating-point to_chars (Emscripten's libc++), the same text is derived from
// printf/strtod, which are exact in musl and glibc.

// |v| = d1.d2d3... * 10^exp10
struct Decimal {
  std::string digits;
  int exp10 = 0;
};

Decimal nearest_decimal(double v, int significant) {
  char sci[40];
  std::snprintf(sci, sizeof sci, "%.*e", significant - 1, std::fabs(v));
  Decimal d;
  const char* p = sci;
  for (; *p != 'e'; ++p) {
    if (*p != '.') d.digits += *p;
  }
  d.exp10 = std::atoi(p + 1);
  return d;
}

double read_back(const Decimal& d) {
  const std::string text = d.digits + "e" + std::to_string(d.exp10 - static_cast<int>(d.digits.size()) + 1);
  return std::strtod(text.c_str(), nullptr);
}

// The decimal one unit of the last digit above (step 1) or below (step -1).
Decimal step_last_digit(Decimal d, int step) {
  const char wrap_from = step > 0 ? '9' : '0';
  size_t i = d.digits.size();
  while (i > 0 && d.digits[i - 1] == wrap_from) d.digits[--i] = step > 0 ? '0' : '9';
  if (i > 0) {
    d.digits[i - 1] = static_cast<char>(d.digits[i - 1] + step);
    if (d.digits[0] != '0') return d;
    d.digits.erase(0, 1);  // 1000 - 1 = 0999: one digit fewer, so append a 9
    d.digits += '9';
    --d.exp10;
    return d;
  }
  d.digits.insert(0, 1, '1');  // 999 + 1 = 1000
  d.digits.pop_back();
  ++d.exp10;
  return d;
}

// The shortest decimal that reads back as |v|, the nearest one among those. For normal numbers
// the nearest 15-digit decimal finds any of at most 15 digits (a double is more precise than
// that); subnormals are less precise and need every length. Next to a power of two the numbers
// reading back as v lie lopsidedly around it, so a 16-digit one may exist beside the nearest.
Decimal shortest_decimal(double v) {
  const double magnitude = std::fabs(v);
  for (int significant = magnitude < DBL_MIN ? 1 : 15; significant < 17; ++significant) {
    const Decimal d = nearest_decimal(v, significant);
    const double back = read_back(d);
    if (back == magnitude) return d;
    if (significant != 16) continue;
    const Decimal other = step_last_digit(d, back < magnitude ? 1 : -1);
    if (read_back(other) == magnitude) return other;
  }
  return nearest_decimal(v, 17);
}

// Lays the decimal out as std::to_chars(double) does: fixed or scientific, whichever is
// shorter, fixed on a tie; a fixed integer shows the exact value's digits.
size_t layout_shortest(double v, Decimal d, char* out) {
  while (d.digits.size() > 1 && d.digits.back() == '0') d.digits.pop_back();
  const auto k = static_cast<int>(d.digits.size());
  std::string fixed;
  if (d.exp10 >= k - 1) {
    char exact[400];
    std::snprintf(exact, sizeof exact, "%.0f", std::fabs(v));
    fixed = exact;
  } else if (d.exp10 >= 0) {
    fixed = d.digits;
    fixed.insert(static_cast<size_t>(d.exp10 + 1), 1, '.');
  } else {
    fixed = "0." + std::string(static_cast<size_t>(-d.exp10 - 1), '0') + d.digits;
  }
  std::string sci = d.digits.substr(0, 1);
  if (k > 1) sci += "." + d.digits.substr(1);
  char exp_text[16];
  std::snprintf(exp_text, sizeof exp_text, "e%c%02d", d.exp10 < 0 ? '-' : '+', std::abs(d.exp10));
  sci += exp_text;
  const std::string& best = sci.size() < fixed.size() ? sci : fixed;
  size_t n = 0;
  if (std::signbit(v)) out[n++] = '-';
  std::memcpy(out + n, best.data(), best.size());
  return n + best.size();
}

size_t format_double_fallback(double v, char* out) { return layout_shortest(v, shortest_decimal(v), out); }
#endif

// `out` holds at least 32 bytes.
size_t format_double(double v, char* out) {
#ifdef TRACEDROP_JSON_TO_CHARS_DOUBLE
  return static_cast<size_t>(std::to_chars(out, out + 32, v).ptr - out);
#else
  return format_double_fallback(v, out);
#endif
}

}  // namespace

void append_escaped_string(std::string& out, std::string_view utf8) {
  out += '"';
  append_escaped_body(out, utf8.data(), utf8.data() + utf8.size());
  out += '"';
}

Writer::Writer() : out_(&owned_) {}

Writer::Writer(std::string& out) : out_(&out) {}

void Writer::before_value() {
  assert(open_.empty() || open_.back() == '[' || after_key_);
  if (after_key_) {
    after_key_ = false;
  } else if (need_comma_) {
    *out_ += ',';
  }
  need_comma_ = true;
}

void Writer::open(char bracket) {
  before_value();
  *out_ += bracket;
  open_ += bracket;
  need_comma_ = false;
}

void Writer::close(char bracket) {
  assert(!open_.empty() && open_.back() == (bracket == '}' ? '{' : '[') && !after_key_);
  *out_ += bracket;
  open_.pop_back();
  need_comma_ = true;
}

void Writer::begin_object() { open('{'); }
void Writer::end_object() { close('}'); }
void Writer::begin_array() { open('['); }
void Writer::end_array() { close(']'); }

void Writer::key(std::string_view k) {
  assert(!open_.empty() && open_.back() == '{' && !after_key_);
  if (need_comma_) *out_ += ',';
  append_escaped_string(*out_, k);
  *out_ += ':';
  after_key_ = true;
}

void Writer::string(std::string_view utf8) {
  before_value();
  append_escaped_string(*out_, utf8);
}

void Writer::raw(std::string_view json_text) {
  before_value();
  out_->append(json_text);
}

void Writer::int64(int64_t v) {
  before_value();
  char buf[24];
  append_range(*out_, buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void Writer::uint64(uint64_t v) {
  before_value();
  char buf[24];
  append_range(*out_, buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void Writer::boolean(bool v) {
  before_value();
  out_->append(v ? "true" : "false");
}

void Writer::null() {
  before_value();
  out_->append("null");
}

void Writer::number(double v) {
  if (!std::isfinite(v)) return null();
  before_value();
  char buf[32];
  out_->append(buf, format_double(v, buf));
}

void Writer::int64_as_string(int64_t v) {
  before_value();
  char buf[24];
  *out_ += '"';
  append_range(*out_, buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  *out_ += '"';
}

}  // namespace tracedrop::json
