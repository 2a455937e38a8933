// Parsing stored id text into binary ids, and deriving stable ids for invalid ones.
#pragma once

#include <cstdint>
#include <string_view>

namespace tracedrop {

// 16 hex digits (either case), not all zero.
inline bool parse_hex64(std::string_view text, uint64_t& out) {
  if (text.size() != 16) return false;
  uint64_t v = 0;
  for (char c : text) {
    uint64_t d;
    if (c >= '0' && c <= '9') d = static_cast<uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<uint64_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = static_cast<uint64_t>(c - 'A' + 10);
    else return false;
    v = (v << 4) | d;
  }
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
