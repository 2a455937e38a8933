// The AVX2 masks of the string body check (json/string_block.h). This file alone is compiled
// with -mavx2 (core/CMakeLists.txt); json_scan.cpp calls into it only when the CPU has AVX2.
#if defined(__AVX2__) && !defined(TRACEDROP_JSON_NO_SIMD)
#include <immintrin.h>

#include "json/string_block.h"

namespace tracedrop::json::detail {
namespace {

uint64_t movemask(__m256i v) { return static_cast<uint32_t>(_mm256_movemask_epi8(v)); }

__m256i bytes_equal(__m256i v, char c) { return _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c)); }

// Bytes with lo <= v <= lo + width (unsigned).
__m256i bytes_in_range(__m256i v, char lo, char width) {
  const __m256i d = _mm256_sub_epi8(v, _mm256_set1_epi8(lo));
  return _mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8(width)), d);
}

__m256i load(const char* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

struct Avx2Masks {
  static StructureMasks structure(const char* p) {
    const __m256i lo = load(p), hi = load(p + 32);
    StructureMasks m;
    m.quote = movemask(bytes_equal(lo, '"')) | movemask(bytes_equal(hi, '"')) << 32;
    m.backslash = movemask(bytes_equal(lo, '\\')) | movemask(bytes_equal(hi, '\\')) << 32;
    m.control = movemask(bytes_in_range(lo, 0, 0x1f)) | movemask(bytes_in_range(hi, 0, 0x1f)) << 32;
    return m;
  }

  static uint64_t common_escapes(const char* p) {
    uint64_t m = 0;
    for (int i = 0; i < 2; ++i) {
      const __m256i v = load(p + 32 * i);
      const __m256i common = _mm256_or_si256(_mm256_or_si256(bytes_equal(v, '"'), bytes_equal(v, '\\')),
                                             _mm256_or_si256(bytes_equal(v, 'n'), bytes_equal(v, 'u')));
      m |= movemask(common) << (32 * i);
    }
    return m;
  }

  static uint64_t allowed_escapes(const char* p) {
    uint64_t m = 0;
    for (int i = 0; i < 2; ++i) {
      const __m256i v = load(p + 32 * i);
      __m256i allowed = _mm256_or_si256(_mm256_or_si256(bytes_equal(v, '"'), bytes_equal(v, '\\')), bytes_equal(v, '/'));
      allowed = _mm256_or_si256(allowed, _mm256_or_si256(bytes_equal(v, 'b'), bytes_equal(v, 'f')));
      allowed = _mm256_or_si256(allowed, _mm256_or_si256(bytes_equal(v, 'n'), bytes_equal(v, 'r')));
      allowed = _mm256_or_si256(allowed, _mm256_or_si256(bytes_equal(v, 't'), bytes_equal(v, 'u')));
      m |= movemask(allowed) << (32 * i);
    }
    return m;
  }

  static HexMasks hex(const char* p) {
    HexMasks m;
    for (int i = 0; i < 2; ++i) {
      const __m256i v = load(p + 32 * i);
      const __m256i hex = _mm256_or_si256(bytes_in_range(v, '0', 9),
                                          bytes_in_range(_mm256_or_si256(v, _mm256_set1_epi8(0x20)), 'a', 5));
      m.u |= movemask(bytes_equal(v, 'u')) << (32 * i);
      m.hex |= movemask(hex) << (32 * i);
    }
    return m;
  }
};

}  // namespace

const char* skip_string_body_avx2(const char* p, const char* end, bool& escaped, ScanState& st) {
  return skip_string_body_with<Avx2Masks>(p, end, escaped, st);
}

}  // namespace tracedrop::json::detail
#endif
