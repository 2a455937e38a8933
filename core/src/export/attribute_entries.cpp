#include "export/attribute_entries.h"

#include <unordered_map>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "json/json_scan.h"

namespace tracedrop {
namespace {

// The UTF-16 unit of the \uXXXX escape at p (p[0] == '\\', p[1] == 'u'), or -1.
int u_escape_unit(std::string_view s, size_t p) {
  if (p + 6 > s.size() || s[p] != '\\' || s[p + 1] != 'u') return -1;
  int v = 0;
  for (size_t i = p + 2; i < p + 6; ++i) {
    const char c = s[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

#if defined(__SSE2__)
// Whether the text may hold a byte >= 0x80 or a "\\u" followed by d/D (a surrogate escape, or
// an escaped backslash before "ud": the exact check below sorts that out). Strings are most of
// the bytes of attribute text and almost never hold either, so 16 bytes are ruled out at once.
bool may_need_exact_check(std::string_view s) {
  const char* p = s.data();
  const char* end = p + s.size();
  unsigned carry = 0;  // bit 0: the previous block ended with a backslash; bit 1: with "\\u"
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const unsigned high = static_cast<unsigned>(_mm_movemask_epi8(v));
    const unsigned bs = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
    const unsigned u = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('u'))));
    const __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
    const unsigned d = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(lower, _mm_set1_epi8('d'))));
    const unsigned bs_u = ((bs << 1) | (carry & 1)) & u;  // 'u' right after a backslash
    if (high || (((bs_u << 1) | (carry >> 1)) & d)) return true;
    carry = ((bs >> 15) & 1) | (((bs_u >> 15) & 1) << 1);
    p += 16;
  }
  // The tail, and a "\\u" cut at the block edge, byte by byte.
  const char* q = p - (p - s.data() >= 2 ? 2 : p - s.data());
  for (; q < end; ++q) {
    if (static_cast<unsigned char>(*q) >= 0x80) return true;
    if (*q == '\\' && end - q >= 3 && q[1] == 'u' && (q[2] == 'd' || q[2] == 'D')) return true;
  }
  return false;
}
#else
bool may_need_exact_check(std::string_view) { return true; }
#endif

// True when the quoted JSON string can be copied to the output as it is: ASCII only (Python
// writes every other character as an escape) and every \uD800-\uDFFF escape part of a
// well-formed pair (a lone one must become U+FFFD). Pairs, emoji above all, stay escaped.
bool copyable_string(std::string_view quoted) {
  if (!may_need_exact_check(quoted)) return true;
  for (size_t i = 0; i < quoted.size(); ++i) {
    const auto c = static_cast<unsigned char>(quoted[i]);
    if (c >= 0x80) return false;
    if (c != '\\') continue;
    const int unit = u_escape_unit(quoted, i);
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      const int low = u_escape_unit(quoted, i + 6);
      if (low < 0xDC00 || low > 0xDFFF) return false;
      i += 11;  // both escapes
    } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
      return false;
    } else {
      ++i;  // skip the escaped character
    }
  }
  return true;
}

void fill_value(const json::Member& m, AttrEntry& e) {
  e.raw = m.value;
  switch (m.type) {
    case json::ValueType::kString:
      e.kind = AttrEntry::kString;
      if (!copyable_string(m.value)) {
        e.decoded = true;
        e.text = json::decode_string(m.value);
      }
      break;
    case json::ValueType::kNumber: {
      int64_t i = 0;
      e.kind = json::parse_int64(m.value, i) ? AttrEntry::kInt : AttrEntry::kDouble;
      break;
    }
    case json::ValueType::kNonFinite:
      e.kind = AttrEntry::kNonFinite;
      e.raw = m.value[0] == 'N' ? "NaN" : (m.value[0] == '-' ? "-Infinity" : "Infinity");
      break;
    case json::ValueType::kTrue:
    case json::ValueType::kFalse:
      e.kind = AttrEntry::kBool;
      e.boolean = m.type == json::ValueType::kTrue;
      break;
    case json::ValueType::kArray:
    case json::ValueType::kObject:
      e.kind = AttrEntry::kComplex;
      break;
    case json::ValueType::kNull:
      e.kind = AttrEntry::kNull;
      break;
  }
}

}  // namespace

bool read_attribute_entries(std::string_view object_text, std::vector<AttrEntry>& out) {
  out.clear();
  const json::ScanResult r = json::scan_object(object_text, [&](const json::Member& m) {
    AttrEntry e;
    e.key = m.key_escaped ? json::decode_string("\"" + std::string(m.key) + "\"") : std::string(m.key);
    fill_value(m, e);
    out.push_back(std::move(e));
  });
  if (!r.valid || !r.is_object) {
    out.clear();
    return false;
  }
  // Keys are unique in what Python writes; other writers may repeat one: keep the last value.
  if (out.size() > 1 && out.size() <= 16) {
    // Few keys (the usual case): compare them pairwise, without a hash table.
    bool repeated = false;
    for (size_t i = 0; i < out.size() && !repeated; ++i)
      for (size_t j = i + 1; j < out.size() && !repeated; ++j) repeated = out[i].key == out[j].key;
    if (!repeated) return true;
  }
  if (out.size() > 1) {
    std::unordered_map<std::string_view, size_t> last;
    for (size_t i = 0; i < out.size(); ++i) last[out[i].key] = i;
    if (last.size() != out.size()) {
      std::vector<bool> keep(out.size());
      for (const auto& kv : last) keep[kv.second] = true;
      std::vector<AttrEntry> unique;
      for (size_t i = 0; i < out.size(); ++i)
        if (keep[i]) unique.push_back(std::move(out[i]));
      out.swap(unique);
    }
  }
  return true;
}

std::string entry_string(const AttrEntry& e) {
  return e.decoded ? e.text : json::decode_string(e.raw);
}

nlohmann::json entry_complex(const AttrEntry& e) {
  auto parsed = json::parse_lenient(e.raw);
  return parsed ? *parsed : nlohmann::json();
}

}  // namespace tracedrop
