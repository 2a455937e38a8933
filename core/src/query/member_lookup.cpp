#include "query/member_lookup.h"

#include <algorithm>
#include <cstring>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#define TRACEDROP_QUERY_SSE2 1
#endif

namespace tracedrop::query {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

const char* skip_ws(const char* p, const char* end) {
  while (p != end && is_ws(*p)) ++p;
  return p;
}

// `p` at an opening quote: the byte after the closing quote, or nullptr. A quote closes the
// string when an even number of backslashes precede it.
const char* skip_string(const char* p, const char* end) {
  const char* q = p + 1;
  while (q < end) {
    q = static_cast<const char*>(std::memchr(q, '"', static_cast<size_t>(end - q)));
    if (!q) return nullptr;
    const char* b = q;
    while (b > p + 1 && b[-1] == '\\') --b;
    if (((q - b) & 1) == 0) return q + 1;
    ++q;
  }
  return nullptr;
}

// `p` at '{' or '[': the byte after the matching bracket, or nullptr.
const char* skip_container(const char* p, const char* end) {
  size_t depth = 0;
  while (p < end) {
    const char c = *p;
    if (c == '"') {
      p = skip_string(p, end);
      if (!p) return nullptr;
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') {
      if (depth == 0) return nullptr;
      if (--depth == 0) return p + 1;
    }
    ++p;
  }
  return nullptr;
}

json::ValueType type_of(const char* p, const char* end) {
  switch (*p) {
    case '"': return json::ValueType::kString;
    case '{': return json::ValueType::kObject;
    case '[': return json::ValueType::kArray;
    case 't': return json::ValueType::kTrue;
    case 'f': return json::ValueType::kFalse;
    case 'n': return json::ValueType::kNull;
    case 'N':
    case 'I': return json::ValueType::kNonFinite;
    case '-': return (p + 1 != end && (p[1] == 'I' || p[1] == 'N')) ? json::ValueType::kNonFinite : json::ValueType::kNumber;
    default: return json::ValueType::kNumber;
  }
}

// `p` at the first byte of a value: the byte after it, or nullptr.
const char* skip_value(const char* p, const char* end) {
  if (*p == '"') return skip_string(p, end);
  if (*p == '{' || *p == '[') return skip_container(p, end);
  const char* q = p;
  while (q != end && *q != ',' && *q != '}' && *q != ']' && !is_ws(*q)) ++q;
  return q == p ? nullptr : q;
}

bool key_equals(std::string_view raw_key, std::string_view key, std::string& scratch) {
  if (raw_key.find('\\') == std::string_view::npos) return raw_key == key;
  scratch.clear();
  json::append_decoded(raw_key, scratch);
  return scratch == key;
}

bool plain_key(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  return true;
}

bool quoted_at(std::string_view text, size_t pos, size_t len) {
  return pos > 0 && pos + len < text.size() && text[pos - 1] == '"' && text[pos + len] == '"';
}

bool ascii_escape_at(std::string_view text, size_t pos) {
  if (pos + 1 >= text.size()) return false;
  if (text[pos + 1] == '/') return true;
  return text[pos + 1] == 'u' && pos + 4 < text.size() && text[pos + 2] == '0' && text[pos + 3] == '0' &&
         text[pos + 4] >= '2' && text[pos + 4] <= '7';
}

bool key_at(std::string_view text, size_t pos, std::string_view key) {
  return text.compare(pos, key.size(), key) == 0 && quoted_at(text, pos, key.size());
}

// One pass over the text for either a quoted `key` or an escaped printable ASCII character
// ("\/" or "\u00XX", XX in 20..7F). SSE2: 16 positions at a time, key candidates where its
// first and last bytes match (Mula's generic SIMD search), escape candidates where a backslash
// is followed by 'u' or '/'.
bool key_or_ascii_escape(std::string_view text, std::string_view key) {
  const size_t n = key.size();
  size_t i = 0;
#ifdef TRACEDROP_QUERY_SSE2
  const size_t reach = std::max<size_t>(n - 1, 4);
  const __m128i first = _mm_set1_epi8(key[0]);
  const __m128i last = _mm_set1_epi8(key[n - 1]);
  auto load = [&](size_t at) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + at)); };
  auto eq = [](__m128i x, char ch) { return _mm_cmpeq_epi8(x, _mm_set1_epi8(ch)); };
  for (; i + reach + 16 <= text.size(); i += 16) {
    const __m128i a = load(i);
    const __m128i key_hit = _mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(load(i + n - 1), last));
    // Escapes are tested whole here ("\\u00" then 2..7) so that the frequent \uXXXX escapes
    // of non-ASCII text cost nothing.
    const __m128i c = load(i + 1);
    const __m128i f = load(i + 4);
    const __m128i f_ok = _mm_and_si128(_mm_cmpgt_epi8(f, _mm_set1_epi8('1')), _mm_cmplt_epi8(f, _mm_set1_epi8('8')));
    const __m128i u_esc = _mm_and_si128(_mm_and_si128(eq(c, 'u'), eq(load(i + 2), '0')), _mm_and_si128(eq(load(i + 3), '0'), f_ok));
    const __m128i esc_hit = _mm_and_si128(eq(a, '\\'), _mm_or_si128(u_esc, eq(c, '/')));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(key_hit, esc_hit)));
    while (mask) {
      const size_t pos = i + static_cast<size_t>(__builtin_ctz(mask));
      if (key_at(text, pos, key) || (text[pos] == '\\' && ascii_escape_at(text, pos))) return true;
      mask &= mask - 1;
    }
  }
#endif
  for (; i < text.size(); ++i) {
    if (text[i] == key[0] && key_at(text, i, key)) return true;
    if (text[i] == '\\' && ascii_escape_at(text, i)) return true;
  }
  return false;
}

}  // namespace

bool may_hold_key(std::string_view text, std::string_view key) {
  return !plain_key(key) || key_or_ascii_escape(text, key);
}

std::optional<json::Member> first_member(std::string_view object_text, std::string_view key) {
  const char* end = object_text.data() + object_text.size();
  const char* p = skip_ws(object_text.data(), end);
  if (p == end || *p != '{') return std::nullopt;
  // Walking the members skips every value; big texts (requests, model outputs) make that
  // the cost of a query. Most spans lack most keys: a fast byte search settles those.
  if (object_text.size() > 256 && !may_hold_key(object_text, key)) return std::nullopt;
  std::string scratch;
  p = skip_ws(p + 1, end);
  while (p != end && *p == '"') {
    const char* key_end = skip_string(p, end);
    if (!key_end) return std::nullopt;
    const std::string_view raw_key(p + 1, static_cast<size_t>(key_end - p - 2));
    p = skip_ws(key_end, end);
    if (p == end || *p != ':') return std::nullopt;
    p = skip_ws(p + 1, end);
    if (p == end) return std::nullopt;
    const char* value_end = skip_value(p, end);
    if (!value_end) return std::nullopt;
    if (key_equals(raw_key, key, scratch)) {
      return json::Member{raw_key, raw_key.find('\\') != std::string_view::npos,
                          std::string_view(p, static_cast<size_t>(value_end - p)), type_of(p, end)};
    }
    p = skip_ws(value_end, end);
    if (p == end || *p != ',') return std::nullopt;
    p = skip_ws(p + 1, end);
  }
  return std::nullopt;
}

std::optional<json::Member> array_element(std::string_view array_text, size_t n) {
  const char* end = array_text.data() + array_text.size();
  const char* p = skip_ws(array_text.data(), end);
  if (p == end || *p != '[') return std::nullopt;
  p = skip_ws(p + 1, end);
  for (size_t k = 0; p != end && *p != ']'; ++k) {
    const char* q = skip_value(p, end);
    if (!q) return std::nullopt;
    if (k == n) return json::Member{{}, false, std::string_view(p, static_cast<size_t>(q - p)), type_of(p, end)};
    p = skip_ws(q, end);
    if (p == end || *p != ',') return std::nullopt;
    p = skip_ws(p + 1, end);
  }
  return std::nullopt;
}

}  // namespace tracedrop::query
