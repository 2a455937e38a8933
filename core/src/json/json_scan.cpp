#include "json_scan.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "text/utf8.h"

#if defined(__SSE2__) && !defined(TRACEDROP_JSON_NO_SIMD)
#include <emmintrin.h>
#define TRACEDROP_JSON_SSE2 1
#include "json/string_block.h"
#endif

// Emscripten's libc++ lacks floating-point from_chars.
#if defined(__cpp_lib_to_chars) && !defined(TRACEDROP_JSON_NO_TO_CHARS)
#define TRACEDROP_JSON_FROM_CHARS_DOUBLE 1
#endif

namespace tracedrop::json {
namespace detail {
namespace {

const char* fail(ScanState& st, const char* at) {
  st.error = at;
  return nullptr;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

// High bit set in each byte of `x` that is '"', '\\' or < 0x20. Borrows can only mark bytes
// above a true hit, so the lowest marked byte is always exact.
uint64_t string_specials(uint64_t x) {
  const uint64_t q = x ^ (kOnes * '"');
  const uint64_t b = x ^ (kOnes * '\\');
  const uint64_t lt = (x - kOnes * 0x20) & ~x;
  return (((q - kOnes) & ~q) | ((b - kOnes) & ~b) | lt) & kHighs;
}

const char* find_special_swar(const char* p, const char* end) {
  while (end - p >= 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    if (const uint64_t m = string_specials(x)) return p + (__builtin_ctzll(m) >> 3);
    p += 8;
  }
  return p;
}
#else
const char* find_special_swar(const char* p, const char*) { return p; }
#endif

// First '"', '\\' or control byte at or after p, or end. (Measured on real attribute text,
// where a backslash comes every few bytes, SWAR beats a 16-byte SSE2 search here.)
const char* find_special(const char* p, const char* end) {
  p = find_special_swar(p, end);
  while (p != end) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20) return p;
    ++p;
  }
  return end;
}

#ifndef TRACEDROP_JSON_SSE2
// `p` is at a backslash. Returns the byte after the escape sequence.
const char* skip_escape(const char* p, const char* end, ScanState& st) {
  if (end - p < 2) return fail(st, end);
  switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
      return p + 2;
    case 'u':
      for (int i = 2; i < 6; ++i) {
        if (p + i == end) return fail(st, end);
        if (hex_value(p[i]) < 0) return fail(st, p + i);
      }
      return p + 6;
    default:
      return fail(st, p + 1);
  }
}

const char* skip_string_body(const char* p, const char* end, bool& escaped, ScanState& st) {
  for (;;) {
    p = find_special(p, end);
    if (p == end) return fail(st, end);
    if (*p == '"') return p + 1;
    if (*p != '\\') return fail(st, p);
    escaped = true;
    if (!(p = skip_escape(p, end, st))) return nullptr;
  }
}
#else
// String bodies are most of the bytes of attribute text: they are checked 64 bytes at a time
// with bit masks (json/string_block.h). The masks come from SSE2 here, or from AVX2 or
// AVX-512BW (json_scan_avx2.cpp, json_scan_avx512.cpp, each compiled for its instructions)
// when the CPU has them; chosen once, at start-up.

uint64_t movemask(__m128i v) { return static_cast<unsigned>(_mm_movemask_epi8(v)); }

__m128i bytes_equal(__m128i v, char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); }

// Bytes with lo <= v <= lo + width (unsigned).
__m128i bytes_in_range(__m128i v, char lo, char width) {
  const __m128i d = _mm_sub_epi8(v, _mm_set1_epi8(lo));
  return _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(width)), d);
}

struct Sse2Masks {
  static StructureMasks structure(const char* p) {
    StructureMasks m;
    for (int i = 0; i < 4; ++i) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      m.quote |= movemask(bytes_equal(v, '"')) << (16 * i);
      m.backslash |= movemask(bytes_equal(v, '\\')) << (16 * i);
      m.control |= movemask(bytes_in_range(v, 0, 0x1f)) << (16 * i);
    }
    return m;
  }

  static uint64_t common_escapes(const char* p) {
    uint64_t m = 0;
    for (int i = 0; i < 4; ++i) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      const __m128i common = _mm_or_si128(_mm_or_si128(bytes_equal(v, '"'), bytes_equal(v, '\\')),
                                          _mm_or_si128(bytes_equal(v, 'n'), bytes_equal(v, 'u')));
      m |= movemask(common) << (16 * i);
    }
    return m;
  }

  static uint64_t allowed_escapes(const char* p) {
    uint64_t m = 0;
    for (int i = 0; i < 4; ++i) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      __m128i allowed = _mm_or_si128(_mm_or_si128(bytes_equal(v, '"'), bytes_equal(v, '\\')), bytes_equal(v, '/'));
      allowed = _mm_or_si128(allowed, _mm_or_si128(bytes_equal(v, 'b'), bytes_equal(v, 'f')));
      allowed = _mm_or_si128(allowed, _mm_or_si128(bytes_equal(v, 'n'), bytes_equal(v, 'r')));
      allowed = _mm_or_si128(allowed, _mm_or_si128(bytes_equal(v, 't'), bytes_equal(v, 'u')));
      m |= movemask(allowed) << (16 * i);
    }
    return m;
  }

  static HexMasks hex(const char* p) {
    HexMasks m;
    for (int i = 0; i < 4; ++i) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      const __m128i hex = _mm_or_si128(bytes_in_range(v, '0', 9),
                                       bytes_in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 5));
      m.u |= movemask(bytes_equal(v, 'u')) << (16 * i);
      m.hex |= movemask(hex) << (16 * i);
    }
    return m;
  }
};

const char* skip_string_body_sse2(const char* p, const char* end, bool& escaped, ScanState& st) {
  return skip_string_body_with<Sse2Masks>(p, end, escaped, st);
}

using SkipStringBody = const char* (*)(const char*, const char*, bool&, ScanState&);

SkipStringBody pick_string_scanner(StringScanner want) {
#if defined(TRACEDROP_JSON_AVX2)
  const bool avx2 = __builtin_cpu_supports("avx2");
  const bool avx512 = __builtin_cpu_supports("avx512bw");
  switch (want) {
    case StringScanner::kAuto: return avx512 ? skip_string_body_avx512 : avx2 ? skip_string_body_avx2 : skip_string_body_sse2;
    case StringScanner::kAvx512: return avx512 ? skip_string_body_avx512 : nullptr;
    case StringScanner::kAvx2: return avx2 ? skip_string_body_avx2 : nullptr;
    case StringScanner::kSse2: break;
  }
#else
  if (want == StringScanner::kAvx2 || want == StringScanner::kAvx512) return nullptr;
#endif
  return skip_string_body_sse2;
}

SkipStringBody g_skip_string_body = pick_string_scanner(StringScanner::kAuto);

const char* skip_string_body(const char* p, const char* end, bool& escaped, ScanState& st) {
  return g_skip_string_body(p, end, escaped, st);
}
#endif

// Returns the byte after `word` at p, reporting the first mismatching byte otherwise.
const char* skip_literal(const char* p, const char* end, std::string_view word, ScanState& st) {
  for (char c : word) {
    if (p == end) return fail(st, end);
    if (*p != c) return fail(st, p);
    ++p;
  }
  return p;
}

const char* skip_digits(const char* p, const char* end, ScanState& st) {
  if (p == end) return fail(st, end);
  if (!is_digit(*p)) return fail(st, p);
  while (p != end && is_digit(*p)) ++p;
  return p;
}

// JSON number grammar; a trailing non-delimiter is left for the caller to reject.
const char* skip_number(const char* p, const char* end, ScanState& st) {
  if (*p == '-') ++p;
  if (p != end && *p == '0') {
    ++p;
  } else if (!(p = skip_digits(p, end, st))) {
    return nullptr;
  }
  if (p != end && *p == '.' && !(p = skip_digits(p + 1, end, st))) return nullptr;
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p != end && (*p == '+' || *p == '-')) ++p;
    return skip_digits(p, end, st);
  }
  return p;
}

const char* skip_non_finite(const char* p, const char* end, std::string_view word, ScanState& st) {
  st.non_finite = true;
  return skip_literal(p, end, word, st);
}

const char* skip_scalar(const char* p, const char* end, ValueType& type, ScanState& st) {
  bool escaped = false;
  switch (*p) {
    case '"': type = ValueType::kString; return skip_string(p, end, escaped, st);
    case 't': type = ValueType::kTrue; return skip_literal(p, end, "true", st);
    case 'f': type = ValueType::kFalse; return skip_literal(p, end, "false", st);
    case 'n': type = ValueType::kNull; return skip_literal(p, end, "null", st);
    case 'N': type = ValueType::kNonFinite; return skip_non_finite(p, end, "NaN", st);
    case 'I': type = ValueType::kNonFinite; return skip_non_finite(p, end, "Infinity", st);
    case '-':
      if (end - p >= 2 && p[1] == 'I') {
        type = ValueType::kNonFinite;
        return skip_non_finite(p, end, "-Infinity", st);
      }
      type = ValueType::kNumber;
      return skip_number(p, end, st);
    default:
      if (!is_digit(*p)) return fail(st, p);
      type = ValueType::kNumber;
      return skip_number(p, end, st);
  }
}

// `p` is where a member's key should start. Returns the start of its value.
const char* skip_key_colon(const char* p, const char* end, ScanState& st) {
  if (p == end) return fail(st, end);
  if (*p != '"') return fail(st, p);
  bool escaped = false;
  if (!(p = skip_string(p, end, escaped, st))) return nullptr;
  p = skip_ws(p, end);
  if (p == end) return fail(st, end);
  if (*p != ':') return fail(st, p);
  return skip_ws(p + 1, end);
}

// One bit per open container (set: object); kMaxDepth bounds it, so no allocation.
class KindStack {
 public:
  void push(bool is_object) {
    const auto word = static_cast<size_t>(size_ >> 6);
    const uint64_t bit = uint64_t{1} << (size_ & 63);
    words_[word] = is_object ? (words_[word] | bit) : (words_[word] & ~bit);
    ++size_;
  }
  void pop() { --size_; }
  bool top_is_object() const {
    const int i = size_ - 1;
    return (words_[static_cast<size_t>(i >> 6)] >> (i & 63)) & 1u;
  }
  int size() const { return size_; }

 private:
  uint64_t words_[kMaxDepth / 64] = {};
  int size_ = 0;
};

enum class Next { kValue, kDone, kError };
enum class Opened { kFailed, kEmpty, kEntered };

// `p` is at '{' or '['. An empty container is a finished value; otherwise p moves to the
// container's first value (past the first key and colon for objects).
Opened open_container(const char*& p, const char* end, int depth, KindStack& open, ScanState& st) {
  const bool is_object = *p == '{';
  if (depth + open.size() >= kMaxDepth) {
    fail(st, p);
    return Opened::kFailed;
  }
  p = skip_ws(p + 1, end);
  if (p != end && *p == (is_object ? '}' : ']')) {
    ++p;
    return Opened::kEmpty;
  }
  open.push(is_object);
  if (is_object && !(p = skip_key_colon(p, end, st))) return Opened::kFailed;
  return Opened::kEntered;
}

// After a value inside open containers: closes finished containers and moves to the next
// element (past the comma, and for objects past the key and colon).
Next after_value(const char*& p, const char* end, KindStack& open, ScanState& st) {
  while (open.size() != 0) {
    p = skip_ws(p, end);
    if (p == end) {
      fail(st, end);
      return Next::kError;
    }
    const bool is_object = open.top_is_object();
    if (*p == ',') {
      p = skip_ws(p + 1, end);
      if (is_object && !(p = skip_key_colon(p, end, st))) return Next::kError;
      return Next::kValue;
    }
    if (*p != (is_object ? '}' : ']')) {
      fail(st, p);
      return Next::kError;
    }
    ++p;
    open.pop();
  }
  return Next::kDone;
}

}  // namespace

const char* skip_string(const char* p, const char* end, bool& escaped, ScanState& st) {
  return skip_string_body(p + 1, end, escaped, st);
}

bool use_string_scanner(StringScanner which) {
#if defined(TRACEDROP_JSON_SSE2)
  const SkipStringBody fn = pick_string_scanner(which);
  if (!fn) return false;
  g_skip_string_body = fn;
  return true;
#else
  return which == StringScanner::kAuto;
#endif
}

const char* skip_value(const char* p, const char* end, int depth, ValueType& type, ScanState& st) {
  KindStack open;
  for (;;) {
    if (p == end) return fail(st, end);
    if (*p == '{' || *p == '[') {
      if (open.size() == 0) type = *p == '{' ? ValueType::kObject : ValueType::kArray;
      const Opened opened = open_container(p, end, depth, open, st);
      if (opened == Opened::kFailed) return nullptr;
      if (opened == Opened::kEntered) continue;
    } else {
      ValueType t;
      if (!(p = skip_scalar(p, end, t, st))) return nullptr;
      if (open.size() == 0) type = t;
    }
    switch (after_value(p, end, open, st)) {
      case Next::kValue: break;
      case Next::kDone: return p;
      case Next::kError: return nullptr;
    }
  }
}

ScanResult scan_failed(const char* begin, const ScanState& st) {
  ScanResult r;
  r.has_non_finite = st.non_finite;
  r.error_offset = static_cast<size_t>(st.error - begin);
  return r;
}

ScanResult scan_done(const char* begin, const char* p, const char* end, bool is_object, const ScanState& st) {
  p = skip_ws(p, end);
  if (p != end) return scan_failed(begin, ScanState{p, st.non_finite});
  return ScanResult{true, is_object, st.non_finite, 0};
}

}  // namespace detail

ScanResult validate(std::string_view text) {
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  detail::ScanState st;
  ValueType type = ValueType::kNull;
  const char* p = detail::skip_value(detail::skip_ws(begin, end), end, 0, type, st);
  if (!p) return detail::scan_failed(begin, st);
  return detail::scan_done(begin, p, end, type == ValueType::kObject, st);
}

// ---------------------------------------------------------------------------------------------
// Strings

namespace {

using text::append_utf8;

// The code unit of a "\uXXXX" at p, or -1.
int32_t read_u_escape(const char* p, const char* end) {
  if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return -1;
  int32_t v = 0;
  for (int i = 2; i < 6; ++i) {
    const int h = detail::hex_value(p[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

constexpr uint32_t kReplacement = 0xFFFD;

// `p` is at "\u". Appends the code point (joining a surrogate pair) and returns the byte after.
const char* decode_u_escape(const char* p, const char* end, int32_t unit, std::string& out) {
  if (unit >= 0xD800 && unit <= 0xDBFF) {
    const int32_t low = read_u_escape(p + 6, end);
    if (low >= 0xDC00 && low <= 0xDFFF) {
      append_utf8(out, 0x10000u + ((static_cast<uint32_t>(unit) - 0xD800u) << 10) + (static_cast<uint32_t>(low) - 0xDC00u));
      return p + 12;
    }
    append_utf8(out, kReplacement);
  } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
    append_utf8(out, kReplacement);
  } else {
    append_utf8(out, static_cast<uint32_t>(unit));
  }
  return p + 6;
}

char simple_escape(char c) {
  switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return 0;
  }
}

// `p` is at a backslash. Appends the decoded escape (the raw text if malformed).
const char* decode_escape(const char* p, const char* end, std::string& out, bool& ok) {
  if (end - p >= 2) {
    if (const char c = simple_escape(p[1])) {
      out += c;
      return p + 2;
    }
    const int32_t unit = read_u_escape(p, end);
    if (unit >= 0) return decode_u_escape(p, end, unit, out);
  }
  ok = false;
  out += '\\';
  return p + 1;
}

}  // namespace

bool append_decoded(std::string_view body, std::string& out) {
  const char* p = body.data();
  const char* const end = p + body.size();
  bool ok = true;
  while (p != end) {
    const char* q = detail::find_special(p, end);
    out.append(p, static_cast<size_t>(q - p));
    if (q == end) break;
    if (*q == '\\') {
      p = decode_escape(q, end, out, ok);
    } else {
      ok = false;  // an unescaped quote or control byte
      out += *q;
      p = q + 1;
    }
  }
  return ok;
}

bool decode_string(std::string_view quoted, std::string& out) {
  out.clear();
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') return false;
  return append_decoded(quoted.substr(1, quoted.size() - 2), out);
}

std::string decode_string(std::string_view quoted) {
  // Each quote is optional, so that the start of a truncated string still decodes.
  if (!quoted.empty() && quoted.front() == '"') quoted.remove_prefix(1);
  if (!quoted.empty() && quoted.back() == '"') quoted.remove_suffix(1);
  std::string out;
  append_decoded(quoted, out);
  return out;
}

namespace {

bool key_equals(const Member& m, std::string_view key, std::string& scratch) {
  if (!m.key_escaped) return m.key == key;
  // Escapes only ever shrink, so a shorter raw key cannot match.
  if (m.key.size() < key.size()) return false;
  scratch.clear();
  append_decoded(m.key, scratch);
  return scratch == key;
}

}  // namespace

std::optional<Member> find_member(std::string_view object_text, std::string_view key) {
  std::optional<Member> found;
  std::string scratch;
  const ScanResult r = scan_object(object_text, [&](const Member& m) {
    if (key_equals(m, key, scratch)) found = m;
  });
  if (!r.valid || !r.is_object) return std::nullopt;
  return found;
}

// ---------------------------------------------------------------------------------------------
// Numbers

bool parse_int64(std::string_view raw, int64_t& out) {
  const char* const end = raw.data() + raw.size();
  const char* digits = raw.data() + (!raw.empty() && raw.front() == '-' ? 1 : 0);
  if (digits == end || !detail::is_digit(*digits)) return false;
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(raw.data(), end, v);
  if (ec != std::errc() || ptr != end) return false;
  out = v;
  return true;
}

namespace {

bool parse_uint64(std::string_view raw, uint64_t& out) {
  const char* const end = raw.data() + raw.size();
  if (raw.empty() || !detail::is_digit(raw.front())) return false;
  const auto [ptr, ec] = std::from_chars(raw.data(), end, out);
  return ec == std::errc() && ptr == end;
}

bool is_json_number(std::string_view raw) {
  if (raw.empty()) return false;
  detail::ScanState st;
  const char* const end = raw.data() + raw.size();
  return detail::skip_number(raw.data(), end, st) == end;
}

#ifdef TRACEDROP_JSON_FROM_CHARS_DOUBLE
// Saturated: anything beyond a million is far outside the range of a double either way.
long exponent_value(std::string_view s) {
  const bool negative = s.front() == '-';
  if (s.front() == '-' || s.front() == '+') s.remove_prefix(1);
  long v = 0;
  for (char c : s) v = std::min(v * 10 + (c - '0'), 1000000L);
  return negative ? -v : v;
}

// Decimal exponent of the first significant digit: 2 for "123.4", -3 for "0.0012". It tells
// an out-of-range number's overflow (> 0) from its underflow.
long leading_exponent(std::string_view raw) {
  const size_t e_pos = raw.find_first_of("eE");
  const std::string_view mantissa = raw.substr(0, e_pos);
  const size_t point = std::min(mantissa.find('.'), mantissa.size());
  const size_t first = mantissa.find_first_of("123456789");
  if (first == std::string_view::npos) return 0;
  long exp10 = first < point ? static_cast<long>(point - first - 1) : -static_cast<long>(first - point);
  if (e_pos != std::string_view::npos) exp10 += exponent_value(raw.substr(e_pos + 1));
  return exp10;
}
#endif

bool parse_finite(std::string_view raw, double& out) {
#ifdef TRACEDROP_JSON_FROM_CHARS_DOUBLE
  const char* const end = raw.data() + raw.size();
  const auto [ptr, ec] = std::from_chars(raw.data(), end, out);
  if (ec == std::errc::result_out_of_range) {
    const double magnitude = leading_exponent(raw) > 0 ? std::numeric_limits<double>::infinity() : 0.0;
    out = raw.front() == '-' ? -magnitude : magnitude;
    return true;
  }
  return ec == std::errc() && ptr == end;
#else
  // Emscripten's strtod works in the "C" locale.
  const std::string copy(raw);
  out = std::strtod(copy.c_str(), nullptr);
  return true;
#endif
}

}  // namespace

bool parse_double(std::string_view raw, double& out) {
  if (raw == "NaN") {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (raw == "Infinity" || raw == "-Infinity") {
    out = raw.front() == '-' ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  return is_json_number(raw) && parse_finite(raw, out);
}

// ---------------------------------------------------------------------------------------------
// parse_lenient

namespace {

using nlohmann::json;

nlohmann::json number_value(std::string_view raw) {
  if (raw.find_first_of(".eE") == std::string_view::npos) {
    int64_t i = 0;
    if (parse_int64(raw, i)) return json(i);
    uint64_t u = 0;
    if (parse_uint64(raw, u)) return json(u);
  }
  double d = 0;
  parse_double(raw, d);
  return json(d);
}

// Builds the DOM with an explicit stack of open containers. Pointers into the DOM stay valid:
// while a container is open only its own contents change, never its parent's.
class LenientParser {
 public:
  LenientParser(const char* p, const char* end) : p_(p), end_(end) {}
  std::optional<json> run();

 private:
  using Opened = detail::Opened;
  struct Frame {
    json* node;
    bool is_object;
    std::string key;  // for objects: the key of the value being parsed
  };

  Opened open_container(bool is_object);
  bool scalar();
  bool read_key();
  detail::Next after_value();
  json* attach(json&& v);

  const char* p_;
  const char* const end_;
  std::vector<Frame> open_;
  json root_;
  detail::ScanState st_;
};

std::optional<json> LenientParser::run() {
  p_ = detail::skip_ws(p_, end_);
  for (;;) {
    if (p_ == end_) return std::nullopt;
    if (*p_ == '{' || *p_ == '[') {
      const Opened opened = open_container(*p_ == '{');
      if (opened == Opened::kFailed) return std::nullopt;
      if (opened == Opened::kEntered) continue;
    } else if (!scalar()) {
      return std::nullopt;
    }
    const detail::Next next = after_value();
    if (next == detail::Next::kError) return std::nullopt;
    if (next == detail::Next::kDone) break;
  }
  if (detail::skip_ws(p_, end_) != end_) return std::nullopt;
  return std::move(root_);
}

// An empty container is a finished value; otherwise p_ moves to its first value.
LenientParser::Opened LenientParser::open_container(bool is_object) {
  if (open_.size() >= static_cast<size_t>(kMaxDepth)) return Opened::kFailed;
  json* node = attach(is_object ? json::object() : json::array());
  p_ = detail::skip_ws(p_ + 1, end_);
  if (p_ != end_ && *p_ == (is_object ? '}' : ']')) {
    ++p_;
    return Opened::kEmpty;
  }
  open_.push_back(Frame{node, is_object, {}});
  if (is_object && !read_key()) return Opened::kFailed;
  return Opened::kEntered;
}

bool LenientParser::scalar() {
  const char* const start = p_;
  ValueType type;
  if (!(p_ = detail::skip_scalar(p_, end_, type, st_))) return false;
  const std::string_view raw(start, static_cast<size_t>(p_ - start));
  switch (type) {
    case ValueType::kString: {
      json v(json::value_t::string);
      append_decoded(raw.substr(1, raw.size() - 2), v.get_ref<std::string&>());
      attach(std::move(v));
      break;
    }
    case ValueType::kTrue: attach(json(true)); break;
    case ValueType::kFalse: attach(json(false)); break;
    case ValueType::kNull: attach(json(nullptr)); break;
    default: attach(number_value(raw)); break;
  }
  return true;
}

// p_ is where a key should start; moves p_ to the member's value.
bool LenientParser::read_key() {
  if (p_ == end_ || *p_ != '"') return false;
  bool escaped = false;
  const char* const after = detail::skip_string(p_, end_, escaped, st_);
  if (!after) return false;
  const std::string_view body(p_ + 1, static_cast<size_t>(after - p_ - 2));
  std::string& key = open_.back().key;
  key.clear();
  append_decoded(body, key);
  p_ = detail::skip_ws(after, end_);
  if (p_ == end_ || *p_ != ':') return false;
  p_ = detail::skip_ws(p_ + 1, end_);
  return true;
}

detail::Next LenientParser::after_value() {
  while (!open_.empty()) {
    p_ = detail::skip_ws(p_, end_);
    if (p_ == end_) return detail::Next::kError;
    const bool is_object = open_.back().is_object;
    if (*p_ == ',') {
      p_ = detail::skip_ws(p_ + 1, end_);
      if (is_object && !read_key()) return detail::Next::kError;
      return detail::Next::kValue;
    }
    if (*p_ != (is_object ? '}' : ']')) return detail::Next::kError;
    ++p_;
    open_.pop_back();
  }
  return detail::Next::kDone;
}

json* LenientParser::attach(json&& v) {
  if (open_.empty()) {
    root_ = std::move(v);
    return &root_;
  }
  Frame& top = open_.back();
  if (top.is_object) {
    json& slot = (*top.node)[top.key];
    slot = std::move(v);
    return &slot;
  }
  top.node->push_back(std::move(v));
  return &top.node->back();
}

}  // namespace

std::optional<nlohmann::json> parse_lenient(std::string_view text) {
  return LenientParser(text.data(), text.data() + text.size()).run();
}

}  // namespace tracedrop::json
