// Parsing of stored id text (core/src/model/ids.h) against a plain digit-by-digit reference.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>

#include "model/ids.h"

namespace {

bool reference_hex64(const std::string& text, uint64_t& out) {
  if (text.size() != 16) return false;
  uint64_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  out = v;
  return v != 0;
}

void same_as_reference(const std::string& text) {
  uint64_t a = 0, b = 0;
  const bool ra = tracedrop::parse_hex64(text, a);
  const bool rb = reference_hex64(text, b);
  INFO("text " << text);
  REQUIRE(ra == rb);
  if (ra) REQUIRE(a == b);
}

}  // namespace

TEST_CASE("parse_hex64 reads 16 hex digits of either case, and nothing else", "[ids]") {
  uint64_t v = 0;
  CHECK(tracedrop::parse_hex64("0123456789abcdef", v));
  CHECK(v == 0x0123456789abcdefull);
  CHECK(tracedrop::parse_hex64("FEDCBA9876543210", v));
  CHECK(v == 0xfedcba9876543210ull);
  CHECK(tracedrop::parse_hex64("00000000000000aB", v));
  CHECK(v == 0xab);
  CHECK_FALSE(tracedrop::parse_hex64("0000000000000000", v));  // all zero: invalid
  CHECK_FALSE(tracedrop::parse_hex64("0123456789abcde", v));   // 15 digits
  CHECK_FALSE(tracedrop::parse_hex64("0123456789abcdef0", v));
  CHECK_FALSE(tracedrop::parse_hex64("", v));
  // Every byte value at every position of an otherwise valid id.
  const std::string base = "0123456789abcdef";
  for (size_t pos = 0; pos < 16; ++pos) {
    for (int c = 0; c < 256; ++c) {
      std::string t = base;
      t[pos] = static_cast<char>(c);
      same_as_reference(t);
    }
  }
  // Random ids in mixed case, and random bytes near the hex characters.
  std::mt19937_64 rng(3);
  const std::string near = "0123456789abcdefABCDEF/:@G`g \x10\x19\x41\x46\x61\x66\xb0\xe1";
  for (int i = 0; i < 20000; ++i) {
    std::string t(16, '0');
    for (char& c : t) c = near[rng() % (i % 2 ? 22 : near.size())];
    same_as_reference(t);
  }
}

TEST_CASE("parse_hex128 reads 32 hex digits with either half zero, not both", "[ids]") {
  uint64_t hi = 0, lo = 0;
  CHECK(tracedrop::parse_hex128("0123456789abcdefFEDCBA9876543210", hi, lo));
  CHECK(hi == 0x0123456789abcdefull);
  CHECK(lo == 0xfedcba9876543210ull);
  CHECK(tracedrop::parse_hex128("00000000000000000000000000000001", hi, lo));
  CHECK(hi == 0);
  CHECK(lo == 1);
  CHECK(tracedrop::parse_hex128("10000000000000000000000000000000", hi, lo));
  CHECK(lo == 0);
  CHECK_FALSE(tracedrop::parse_hex128("00000000000000000000000000000000", hi, lo));
  CHECK_FALSE(tracedrop::parse_hex128("0123456789abcdefFEDCBA987654321g", hi, lo));
  CHECK_FALSE(tracedrop::parse_hex128("0123456789abcdef", hi, lo));
}
