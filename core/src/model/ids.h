// Parsing stored id text into binary ids, and deriving stable ids for invalid ones.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace tracedrop {

namespace detail {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr uint64_t kHexOnes = 0x0101010101010101ull;
constexpr uint64_t kHexHighs = 0x8080808080808080ull;

// High bit of each byte b (all bytes < 0x80) with lo <= b <= hi.
constexpr uint64_t bytes_between(uint64_t x, unsigned lo, unsigned hi) {
  return (x + kHexOnes * (0x80 - lo)) & ~(x + kHexOnes * (0x7f - hi)) & kHexHighs;
}

// Eight hex digits (either case) in text order, as a 32-bit value; false if any byte is not
// one. Branch-free: one id costs a few dozen instructions instead of a branch per digit.
inline bool hex8(const char* p, uint64_t& out) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  if (x & kHexHighs) return false;
  const uint64_t digit = bytes_between(x, '0', '9');
  const uint64_t letter = bytes_between(x | kHexOnes * 0x20, 'a', 'f');  // 'A'-'F' folded
  if ((digit | letter) != kHexHighs) return false;
  uint64_t n = (x & kHexOnes * 0x0f) + ((x >> 6) & kHexOnes) * 9;  // a nibble per byte
  n = ((n << 4) | (n >> 8)) & 0x00ff00ff00ff00ffull;             // pairs, first digit high
  n = ((n << 8) | (n >> 16)) & 0x0000ffff0000ffffull;
  out = ((n << 16) | (n >> 32)) & 0xffffffffull;
  return true;
}
#endif
}  // namespace detail

// 16 hex digits (either case), not all zero.
inline bool parse_hex64(std::string_view text, uint64_t& out) {
  if (text.size() != 16) return false;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t hi = 0, lo = 0;
  if (!detail::hex8(text.data(), hi) || !detail::hex8(text.data() + 8, lo)) return false;
  const uint64_t v = (hi << 32) | lo;
#else
  uint64_t v = 0;
  for (char c : text) {
    uint64_t d;
    if (c >= '0' && c <= '9') d = static_cast<uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<uint64_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = static_cast<uint64_t>(c - 'A' + 10);
    else return false;
    v = (v << 4) | d;
  }
#endif
  out = v;
  return v != 0;
}

// 32 hex digits, not all zero.
inline bool parse_hex128(std::string_view text, uint64_t& hi, uint64_t& lo) {
  if (text.size() != 32) return false;
  uint64_t h = 0, l = 0;
  const bool hi_ok = parse_hex64(text.substr(0, 16), h) || text.substr(0, 16) == "0000000000000000";
  const bool lo_ok = parse_hex64(text.substr(16), l) || text.substr(16) == "0000000000000000";
  if (!hi_ok || !lo_ok || (h == 0 && l == 0)) return false;
  hi = h;
  lo = l;
  return true;
}

// FNV-1a 64 with a salt, never 0: a deterministic replacement for an invalid stored id.
inline uint64_t derived_id(std::string_view text, uint64_t salt) {
  uint64_t h = 1469598103934665603ULL ^ salt;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h ? h : 1;
}

}  // namespace tracedrop
