// The 64-byte block check of JSON string bodies shared by the SSE2, AVX2 and AVX-512 scanners.
//
// Attribute text is mostly string bodies, and Python's output is dense with escapes (nested
// JSON as \"...\", non-ASCII as \uXXXX), so a body is checked 64 bytes at a time with bit
// masks, without a branch per escape (the technique of simdjson). `Masks` gives the bit masks
// of one block; everything else is plain integer work. Everything here has internal linkage:
// each instruction set's translation unit gets its own copy, compiled for it.
#pragma once

#include <cstdint>
#include <cstring>

#include "json/json_scan.h"

namespace tracedrop::json::detail {

// The AVX2 and AVX-512BW body scanners (json_scan_avx2.cpp, json_scan_avx512.cpp); only
// called when the CPU has the instructions.
const char* skip_string_body_avx2(const char* p, const char* end, bool& escaped, ScanState& st);
const char* skip_string_body_avx512(const char* p, const char* end, bool& escaped, ScanState& st);

namespace {

struct StructureMasks {
  uint64_t quote = 0, backslash = 0, control = 0;
};

struct HexMasks {
  uint64_t u = 0, hex = 0;
};

inline const char* string_fail(ScanState& st, const char* at) {
  st.error = at;
  return nullptr;
}

// Bad bytes among the escapes of a block: a disallowed escaped character, or a \u not followed
// by four hex digits (which may spill into the next block through `hex_carry`). Python writes
// only \" \\ \n and \uXXXX (plus \t \r \b \f, rarer): the full set of allowed escapes is
// checked only for blocks with some other escape.
template <typename Masks>
uint64_t bad_escapes(const char* p, uint64_t escaped, uint64_t& hex_carry) {
  uint64_t bad = 0;
  if (escaped & ~Masks::common_escapes(p)) bad = escaped & ~Masks::allowed_escapes(p);
  const HexMasks h = Masks::hex(p);
  const uint64_t u = escaped & h.u;
  const uint64_t need_hex = (u << 1) | (u << 2) | (u << 3) | (u << 4) | hex_carry;
  hex_carry = (u >> 63) | (u >> 62) | (u >> 61) | (u >> 60);
  return bad | (need_hex & ~h.hex);
}

// Bits of the characters escaped by a backslash (escaped backslashes included). `carry` says
// whether the first character of the block is escaped, and receives the same for the next one.
// Runs of backslashes alternate escaper/escaped; the addition finds the runs of odd length.
inline uint64_t find_escaped(uint64_t backslash, uint64_t& carry) {
  constexpr uint64_t kEvenBits = 0x5555555555555555ull;
  backslash &= ~carry;
  const uint64_t follows_escape = (backslash << 1) | carry;
  const uint64_t odd_starts = backslash & ~kEvenBits & ~follows_escape;
  uint64_t even_start_runs = 0;
  carry = __builtin_add_overflow(odd_starts, backslash, &even_start_runs) ? 1 : 0;
  return (kEvenBits ^ (even_start_runs << 1)) & follows_escape;
}

struct StringCarry {
  uint64_t escaped = 0;  // the next block's first character is escaped
  uint64_t hex = 0;      // positions in the next block that must be hex digits of a \u escape
  bool any_escape = false;
};

enum class BlockEnd { kMore, kClosed, kBad };

// Checks one 64-byte block of a string body; `pos` receives the closing quote or the bad byte.
template <typename Masks>
BlockEnd scan_string_block(const char* p, StringCarry& carry, int& pos) {
  const StructureMasks s = Masks::structure(p);
  uint64_t escaped = 0, bad = s.control;
  if (s.backslash | carry.escaped | carry.hex) escaped = find_escaped(s.backslash, carry.escaped);
  const uint64_t closing = s.quote & ~escaped;
  const uint64_t upto = closing ? closing ^ (closing - 1) : ~uint64_t{0};  // through the quote
  if (escaped | carry.hex) bad |= bad_escapes<Masks>(p, escaped, carry.hex);
  carry.any_escape |= (s.backslash & upto) != 0;
  bad &= upto;
  if (bad) {
    pos = __builtin_ctzll(bad);
    return BlockEnd::kBad;
  }
  pos = closing ? __builtin_ctzll(closing) : 64;
  return closing ? BlockEnd::kClosed : BlockEnd::kMore;
}

// `p` is after the opening quote. The last partial block is copied into a zeroed buffer: a
// zero byte is a control character, so running into the padding reads as the end of text.
template <typename Masks>
const char* skip_string_body_with(const char* p, const char* end, bool& escaped, ScanState& st) {
  StringCarry carry;
  int pos = 0;
  BlockEnd r = BlockEnd::kMore;
  for (; end - p >= 64; p += 64) {
    if ((r = scan_string_block<Masks>(p, carry, pos)) != BlockEnd::kMore) break;
  }
  if (r == BlockEnd::kMore) {
    char tail[64] = {};
    std::memcpy(tail, p, static_cast<size_t>(end - p));
    r = scan_string_block<Masks>(tail, carry, pos);
  }
  escaped = escaped || carry.any_escape;
  if (p + pos >= end) return string_fail(st, end);
  if (r == BlockEnd::kBad) return string_fail(st, p + pos);
  return p + pos + 1;
}

}  // namespace
}  // namespace tracedrop::json::detail
