// The level-1 deflate encoder (export/fast_deflate): whatever it is given, zlib's inflater reads
// back exactly the input, from one call or from a stream of calls each primed with the bytes
// before it; and its Huffman codes stay within their length limits and complete.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "export/fast_deflate.h"

using namespace tracedrop;

namespace {

// Inflates a raw deflate stream; `complete` says whether it ended with a final block.
std::string inflate_raw(const std::string& z, bool& complete) {
  z_stream s{};
  REQUIRE(inflateInit2(&s, -15) == Z_OK);
  std::string out(z.size() * 4 + 1024, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
  s.avail_in = static_cast<uInt>(z.size());
  size_t have = 0;
  int rc = Z_OK;
  for (;;) {
    if (have == out.size()) out.resize(out.size() * 2);
    s.next_out = reinterpret_cast<Bytef*>(&out[have]);
    s.avail_out = static_cast<uInt>(out.size() - have);
    rc = inflate(&s, Z_NO_FLUSH);
    have = out.size() - s.avail_out;
    if (rc != Z_OK || (s.avail_in == 0 && s.avail_out != 0)) break;
  }
  complete = rc == Z_STREAM_END && s.avail_in == 0;
  inflateEnd(&s);
  out.resize(have);
  return out;
}

// `input` deflated in pieces of `piece` bytes, each primed with the 32 KiB before it.
std::string deflate_in_pieces(const std::string& input, size_t piece) {
  std::string out;
  FastDeflater d;
  size_t at = 0;
  do {
    const size_t n = std::min(piece, input.size() - at);
    const size_t from = at >= 32768 ? at - 32768 : 0;
    const bool last = at + n == input.size();
    d.run(std::string_view(input).substr(from, at - from), std::string_view(input).substr(at, n), last, out);
    at += n;
  } while (at < input.size());
  return out;
}

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// JSON-like text: repeated structure, varying numbers and ids, some long runs.
std::string json_like(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s;
  while (s.size() < n) {
    s += "{\"traceId\":\"" + std::to_string(rng()) + "\",\"name\":\"span " + std::to_string(rng() % 40) +
         "\",\"startTimeUnixNano\":\"" + std::to_string(rng() % 100000000000ull) + "\"},";
    if (rng() % 40 == 0) s += std::string(rng() % 1000, static_cast<char>('a' + rng() % 26));
    if (rng() % 60 == 0) s += random_bytes(rng() % 300, rng());
  }
  s.resize(n);
  return s;
}

}  // namespace

TEST_CASE("fast deflate: zlib reads back every kind of input", "[export][deflate]") {
  std::vector<std::pair<std::string, std::string>> inputs = {
      {"empty", ""},
      {"one byte", "x"},
      {"seven bytes", "abcdefg"},
      {"eight bytes", "abcdefgh"},
      {"one byte repeated (distance 1, longest matches)", std::string(100000, 'a')},
      {"two bytes alternating", std::string(5000, 'a') + std::string(5000, 'b') + std::string(70000, 'a')},
      {"random (nothing to match)", random_bytes(300000, 1)},
      {"every byte value", [] {
         std::string s;
         for (int r = 0; r < 40; ++r)
           for (int c = 0; c < 256; ++c) s.push_back(static_cast<char>((c * 7 + r) & 0xff));
         return s;
       }()},
      {"JSON-like, several Huffman blocks in one call", json_like(3 << 20, 2)},
      {"a repeat exactly 32 KiB back and further", [] {
         std::string s = random_bytes(40000, 3);
         s += s.substr(40000 - 32768, 5000);  // distance 32768, the largest
         s += s.substr(0, 5000);              // too far back: must not be used
         return s;
       }()},
  };
  for (const auto& [name, input] : inputs) {
    INFO(name << " (" << input.size() << " bytes)");
    std::string out;
    fast_deflate({}, input, true, out);
    bool complete = false;
    const bool same = inflate_raw(out, complete) == input;
    CHECK(same);
    CHECK(complete);
    if (input.size() >= 100000 && name.find("random") == std::string::npos) CHECK(out.size() < input.size() / 3);
    if (name.find("random") != std::string::npos) CHECK(out.size() < input.size() + input.size() / 50 + 64);
  }
}

TEST_CASE("fast deflate: a stream of primed pieces reads back as the whole", "[export][deflate]") {
  const std::string input = json_like(2500000, 4);
  std::string one;
  fast_deflate({}, input, true, one);
  for (const size_t piece : {size_t{1}, size_t{7}, size_t{4096}, size_t{65536}, size_t{1} << 20, input.size()}) {
    INFO("pieces of " << piece << " bytes");
    // Tiny pieces over a shorter input (each piece is a block of its own, and each call
    // clears the 128 KiB hash table).
    const std::string whole = piece == 1 ? input.substr(0, 3000) : piece == 7 ? input.substr(0, 40000) : input;
    const std::string out = deflate_in_pieces(whole, piece);
    bool complete = false;
    const bool same = inflate_raw(out, complete) == whole;
    CHECK(same);
    CHECK(complete);
  }
  // Matches reach into the history: primed, a repeat of it compresses to almost nothing.
  const std::string history = random_bytes(32768, 5);
  std::string primed, unprimed;
  fast_deflate(history, history, true, primed);
  fast_deflate({}, history, true, unprimed);
  CHECK(primed.size() < 1000);
  CHECK(unprimed.size() > 30000);
  // Not the last piece: ends on a byte boundary with an empty stored block, and is no final
  // block by itself.
  std::string partial;
  fast_deflate({}, "hello, hello, hello, hello", false, partial);
  REQUIRE(partial.size() >= 4);
  CHECK(partial.substr(partial.size() - 4) == std::string("\x00\x00\xff\xff", 4));
  bool complete = true;
  CHECK(inflate_raw(partial, complete) == "hello, hello, hello, hello");
  CHECK_FALSE(complete);
}

TEST_CASE("fast deflate: Huffman code lengths within their limit and complete", "[export][deflate]") {
  // Kraft's sum of a complete code is exactly 1: sum of 2^(limit - len) == 2^limit.
  auto check = [](const std::vector<uint32_t>& freq, int limit) {
    std::vector<uint8_t> len(freq.size(), 0);
    detail::huffman_code_lengths(freq.data(), static_cast<int>(freq.size()), limit, len.data());
    uint64_t kraft = 0;
    int coded = 0;
    for (size_t s = 0; s < freq.size(); ++s) {
      CHECK(len[s] <= limit);
      if (freq[s]) CHECK(len[s] > 0);
      if (len[s]) {
        kraft += uint64_t{1} << (limit - len[s]);
        ++coded;
      }
    }
    CHECK(coded >= 2);
    CHECK(kraft == uint64_t{1} << limit);
  };
  // Fibonacci frequencies make the deepest trees: 30 symbols would need 29 bits unlimited.
  std::vector<uint32_t> fib(30);
  fib[0] = fib[1] = 1;
  for (size_t i = 2; i < fib.size(); ++i) fib[i] = fib[i - 1] + fib[i - 2];
  check(fib, 15);
  check(std::vector<uint32_t>(fib.begin(), fib.begin() + 19), 7);  // the code length code's limit
  check(std::vector<uint32_t>(286, 0), 15);                       // nothing used: two codes
  std::vector<uint32_t> lone(286, 0);
  lone[256] = 1;  // an empty block: the end-of-block symbol alone
  check(lone, 15);
  std::vector<uint32_t> first(30, 0);
  first[0] = 9;
  check(first, 15);
  std::mt19937_64 rng(6);
  for (int round = 0; round < 200; ++round) {
    std::vector<uint32_t> freq(286);
    for (auto& f : freq) f = rng() % 3 == 0 ? 0 : static_cast<uint32_t>(rng() % (1u << (rng() % 24)));
    check(freq, 15);
  }
}
