#include "text/fold.h"

#include <algorithm>
#include <array>

#include "text/utf8.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#define TRACEDROP_TEXT_SSE2 1
#endif

namespace tracedrop::text {
namespace {

// Every folded letter lies below U+0800 (one- and two-byte UTF-8), so one small table does.
constexpr uint32_t kTableSize = 0x800;
using FoldTable = std::array<uint16_t, kTableSize>;

void set_offset(FoldTable& t, uint32_t lo, uint32_t hi, int32_t delta) {
  for (uint32_t u = lo; u <= hi; ++u) t[u] = static_cast<uint16_t>(static_cast<int32_t>(u) + delta);
}

// Alternating capital/small pairs starting with a capital at `lo`.
void set_pairs(FoldTable& t, uint32_t lo, uint32_t hi) {
  for (uint32_t u = lo; u + 1 <= hi; u += 2) t[u] = static_cast<uint16_t>(u + 1);
}

FoldTable build_table() {
  FoldTable t{};
  for (uint32_t u = 0; u < kTableSize; ++u) t[u] = static_cast<uint16_t>(u);
  set_offset(t, 'A', 'Z', 32);
  // Latin-1: À..Ö, Ø..Þ (× U+00D7 is not a letter; ß has no single-letter capital here).
  set_offset(t, 0xC0, 0xD6, 32);
  set_offset(t, 0xD8, 0xDE, 32);
  // Latin Extended-A. U+0130 (İ) would fold to ASCII 'i' and U+0131/0138/0149/017F have no
  // capital partner in this scheme: left alone.
  set_pairs(t, 0x100, 0x12F);
  set_pairs(t, 0x132, 0x137);
  set_pairs(t, 0x139, 0x148);
  set_pairs(t, 0x14A, 0x177);
  t[0x178] = 0xFF;  // Ÿ -> ÿ
  set_pairs(t, 0x179, 0x17E);
  // Latin Extended-B: the regular runs (Romanian Ș/Ț among them).
  set_pairs(t, 0x200, 0x21F);
  set_pairs(t, 0x222, 0x233);
  // Greek, with the accented capitals and final sigma folded to sigma.
  t[0x386] = 0x3AC;
  set_offset(t, 0x388, 0x38A, 37);
  t[0x38C] = 0x3CC;
  set_offset(t, 0x38E, 0x38F, 63);
  set_offset(t, 0x391, 0x3A1, 32);
  set_offset(t, 0x3A3, 0x3AB, 32);
  t[0x3C2] = 0x3C3;
  // Cyrillic.
  set_offset(t, 0x400, 0x40F, 80);
  set_offset(t, 0x410, 0x42F, 32);
  set_pairs(t, 0x460, 0x481);
  set_pairs(t, 0x48A, 0x4BF);
  t[0x4C0] = 0x4CF;
  set_pairs(t, 0x4C1, 0x4CE);
  set_pairs(t, 0x4D0, 0x52F);
  // Armenian.
  set_offset(t, 0x531, 0x556, 48);
  return t;
}

const FoldTable& table() {
  static const FoldTable t = build_table();
  return t;
}

// Lower-case ASCII as a 256-entry table: the folding loop runs over whole attribute values.
const std::array<char, 256>& ascii_table() {
  static const std::array<char, 256> t = [] {
    std::array<char, 256> a{};
    for (int i = 0; i < 256; ++i) a[static_cast<size_t>(i)] = ascii_lower(static_cast<char>(i));
    return a;
  }();
  return t;
}

bool equal_ci_at(const char* p, std::string_view lower_needle) {
  for (size_t i = 0; i < lower_needle.size(); ++i)
    if (ascii_lower(p[i]) != lower_needle[i]) return false;
  return true;
}

// Candidate test shared by both loops: (h | 0x20) == (n | 0x20) holds for every byte pair
// that is equal ignoring ASCII case (and for a few others, which the full compare rejects).
inline bool loose_eq(char h, char n) { return (h | 0x20) == (n | 0x20); }

size_t find_scalar(const char* base, size_t from, size_t to_exclusive, std::string_view needle) {
  const char first = needle.front(), last = needle.back();
  const size_t m = needle.size();
  for (size_t i = from; i < to_exclusive; ++i) {
    if (loose_eq(base[i], first) && loose_eq(base[i + m - 1], last) && equal_ci_at(base + i, needle)) return i;
  }
  return std::string_view::npos;
}

bool any_at(std::string_view hay, size_t i, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (hay.size() - i >= p.size() && equal_ci_at(hay.data() + i, p)) return true;
  }
  return false;
}

}  // namespace

uint32_t fold_code_point(uint32_t cp) { return cp < kTableSize ? table()[cp] : cp; }

std::vector<uint32_t> unfold_code_point(uint32_t cp) {
  std::vector<uint32_t> out;
  if (fold_code_point(cp) == cp) out.push_back(cp);
  if (cp >= kTableSize) return out;
  const FoldTable& t = table();
  for (uint32_t u = 0; u < kTableSize; ++u)
    if (u != cp && t[u] == cp) out.push_back(u);
  return out;
}

void fold_utf8(std::string_view in, std::string& out) {
  out.assign(in.data(), in.size());
  const std::array<char, 256>& ascii = ascii_table();
  const FoldTable& t = table();
  for (size_t i = 0; i < out.size(); ++i) {
    const auto b0 = static_cast<unsigned char>(out[i]);
    if (b0 < 0x80) {
      out[i] = ascii[b0];
    } else if (b0 >= 0xC2 && b0 <= 0xDF && i + 1 < out.size() && is_continuation(static_cast<unsigned char>(out[i + 1]))) {
      const uint32_t cp = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(out[i + 1]) & 0x3Fu);
      const uint32_t f = t[cp];
      out[i] = static_cast<char>(0xC0 | (f >> 6));
      out[i + 1] = static_cast<char>(0x80 | (f & 0x3F));
      ++i;
    }
  }
}

size_t find_ascii_ci(std::string_view haystack, std::string_view lower_needle) {
  const size_t m = lower_needle.size();
  if (m == 0) return 0;
  if (haystack.size() < m) return std::string_view::npos;
  const char* base = haystack.data();
  const size_t last_start = haystack.size() - m;  // inclusive
  size_t i = 0;
#ifdef TRACEDROP_TEXT_SSE2
  // Test 16 start positions at once on the first and last needle byte (Muła's "generic SIMD"
  // substring search), then confirm each candidate with a full compare.
  const __m128i case_bit = _mm_set1_epi8(0x20);
  const __m128i first = _mm_set1_epi8(static_cast<char>(lower_needle.front() | 0x20));
  const __m128i last = _mm_set1_epi8(static_cast<char>(lower_needle.back() | 0x20));
  for (; i + 16 <= last_start + 1; i += 16) {
    const __m128i a = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i)), case_bit);
    const __m128i b = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i + m - 1)), case_bit);
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last))));
    while (mask) {
      const auto bit = static_cast<unsigned>(__builtin_ctz(mask));
      if (equal_ci_at(base + i + bit, lower_needle)) return i + bit;
      mask &= mask - 1;
    }
  }
#endif
  return find_scalar(base, i, last_start + 1, lower_needle);
}

size_t find_any_ascii_ci(std::string_view haystack, const std::vector<std::string>& lower_patterns) {
  if (lower_patterns.empty()) return std::string_view::npos;
  if (lower_patterns.size() == 1) return find_ascii_ci(haystack, lower_patterns.front());
  size_t longest = 0;
  for (const auto& p : lower_patterns) {
    if (p.empty()) return 0;
    longest = std::max(longest, p.size());
  }
  size_t i = 0;
#ifdef TRACEDROP_TEXT_SSE2
  // As in find_ascii_ci, with the candidate masks of all patterns OR-ed together.
  struct Probe {
    __m128i first, last;
    size_t last_offset;
  };
  std::vector<Probe> probes;
  std::vector<std::array<size_t, 3>> keys;  // patterns alike in first, last and length share a probe
  for (const auto& p : lower_patterns) {
    const std::array<size_t, 3> key{static_cast<unsigned char>(p.front() | 0x20),
                                    static_cast<unsigned char>(p.back() | 0x20), p.size() - 1};
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    keys.push_back(key);
    probes.push_back({_mm_set1_epi8(static_cast<char>(p.front() | 0x20)), _mm_set1_epi8(static_cast<char>(p.back() | 0x20)),
                      p.size() - 1});
  }
  const __m128i case_bit = _mm_set1_epi8(0x20);
  const char* base = haystack.data();
  for (; i + longest + 15 <= haystack.size(); i += 16) {
    const __m128i a = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i)), case_bit);
    __m128i hits = _mm_setzero_si128();
    for (const Probe& pr : probes) {
      const __m128i b = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i + pr.last_offset)), case_bit);
      hits = _mm_or_si128(hits, _mm_and_si128(_mm_cmpeq_epi8(a, pr.first), _mm_cmpeq_epi8(b, pr.last)));
    }
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
    while (mask) {
      const size_t at = i + static_cast<unsigned>(__builtin_ctz(mask));
      if (any_at(haystack, at, lower_patterns)) return at;
      mask &= mask - 1;
    }
  }
#endif
  for (; i < haystack.size(); ++i) {
    if (any_at(haystack, i, lower_patterns)) return i;
  }
  return std::string_view::npos;
}

}  // namespace tracedrop::text
