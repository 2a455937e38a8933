// The AVX-512BW masks of the string body check (json/string_block.h): one 64-byte load and a
// compare straight into a 64-bit mask per byte class. This file alone is compiled with
// -mavx512bw (core/CMakeLists.txt); json_scan.cpp calls into it only when the CPU has it.
#if defined(__AVX512BW__) && !defined(TRACEDROP_JSON_NO_SIMD)
#include <immintrin.h>

#include "json/string_block.h"

namespace tracedrop::json::detail {
namespace {

__m512i load(const char* p) { return _mm512_loadu_si512(static_cast<const void*>(p)); }

uint64_t equal(__m512i v, char c) { return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c)); }

// Bytes with lo <= v <= lo + width (unsigned).
uint64_t in_range(__m512i v, char lo, char width) {
  return _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8(lo)), _mm512_set1_epi8(width));
}

struct Avx512Masks {
  static StructureMasks structure(const char* p) {
    const __m512i v = load(p);
    StructureMasks m;
    m.quote = equal(v, '"');
    m.backslash = equal(v, '\\');
    m.control = in_range(v, 0, 0x1f);
    return m;
  }

  static uint64_t common_escapes(const char* p) {
    const __m512i v = load(p);
    return equal(v, '"') | equal(v, '\\') | equal(v, 'n') | equal(v, 'u');
  }

  static uint64_t allowed_escapes(const char* p) {
    const __m512i v = load(p);
    return equal(v, '"') | equal(v, '\\') | equal(v, '/') | equal(v, 'b') | equal(v, 'f') | equal(v, 'n') |
           equal(v, 'r') | equal(v, 't') | equal(v, 'u');
  }

  static HexMasks hex(const char* p) {
    const __m512i v = load(p);
    HexMasks m;
    m.u = equal(v, 'u');
    m.hex = in_range(v, '0', 9) | in_range(_mm512_or_si512(v, _mm512_set1_epi8(0x20)), 'a', 5);
    return m;
  }
};

}  // namespace

const char* skip_string_body_avx512(const char* p, const char* end, bool& escaped, ScanState& st) {
  return skip_string_body_with<Avx512Masks>(p, end, escaped, st);
}

}  // namespace tracedrop::json::detail
#endif
