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

// The first position at or after `from` holding a byte >= 0x80 or a backslash followed by
// "ud"/"uD" (where a surrogate escape can start), or npos.
size_t next_candidate(std::string_view s, size_t from) {
  const char* base = s.data();
  size_t i = from;
#if defined(__SSE2__)
  const __m128i backslash = _mm_set1_epi8('\\'), u = _mm_set1_epi8('u'), d = _mm_set1_epi8('d');
  const __m128i lower = _mm_set1_epi8(0x20);
  for (; i + 18 <= s.size(); i += 16) {
    const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i));
    const __m128i v1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i + 1));
    const __m128i v2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i + 2));
    const __m128i esc = _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(v0, backslash), _mm_cmpeq_epi8(v1, u)),
                                      _mm_cmpeq_epi8(_mm_or_si128(v2, lower), d));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(esc, v0)));  // v0: high bits
    if (mask) return i + static_cast<size_t>(__builtin_ctz(mask));
  }
#endif
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(base[i]);
    if (c >= 0x80) return i;
    if (c == '\\' && i + 2 < s.size() && base[i + 1] == 'u' && (base[i + 2] == 'd' || base[i + 2] == 'D')) return i;
  }
  return std::string_view::npos;
}

// True when the quoted JSON string can be copied to the output as it is: ASCII only (Python
// writes every other character as an escape) and every \uD800-\uDFFF escape part of a
// well-formed pair (a lone one must become U+FFFD). Pairs, emoji above all, stay escaped.
// Only the candidate places are looked at; whether a backslash starts an escape follows from
// the run of backslashes before it (they pair up from its start).
bool copyable_string(std::string_view quoted) {
  size_t i = 0;
  while ((i = next_candidate(quoted, i)) != std::string_view::npos) {
    if (static_cast<unsigned char>(quoted[i]) >= 0x80) return false;
    size_t run = 0;
    while (run < i && quoted[i - run - 1] == '\\') ++run;
    if (run % 2 == 1) {  // this backslash is itself escaped: "ud" is text
      i += 1;
      continue;
    }
    const int unit = u_escape_unit(quoted, i);
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      const int low = u_escape_unit(quoted, i + 6);
      if (low < 0xDC00 || low > 0xDFFF) return false;
      i += 12;  // both escapes
    } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
      return false;
    } else {
      i += 1;  // \uD000-\uD7FF, or not a complete escape (the scan rejected those already)
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
    e.key_in_text = m.key;
    if (m.key_escaped) {
      e.key_escaped = true;
      e.key_decoded = json::decode_string("\"" + std::string(m.key) + "\"");
    }
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
      for (size_t j = i + 1; j < out.size() && !repeated; ++j) repeated = out[i].key() == out[j].key();
    if (!repeated) return true;
  }
  if (out.size() > 1) {
    std::unordered_map<std::string_view, size_t> last;
    for (size_t i = 0; i < out.size(); ++i) last[out[i].key()] = i;
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
