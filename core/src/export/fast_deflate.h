// A fast deflate encoder (RFC 1951) for gzip exports at level 1: a greedy LZ77 matcher with a
// one-entry hash table that skips ahead faster through text without matches, and dynamic
// Huffman blocks. Export JSON repeats itself so much that this keeps up with the JSON writer,
// where zlib's fastest level deflates it at about a fifth of that speed; the output is a little
// larger than zlib level 1's. Any inflater reads it (tests check with zlib's).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tracedrop {

// Appends `input` compressed as raw deflate blocks to `out`. `history` is up to 32 KiB of the
// bytes just before `input` (matches may reach into it; the caller's earlier blocks hold it).
// With `last` the final block is marked final; otherwise the output ends on a byte boundary
// with an empty stored block (what zlib's Z_SYNC_FLUSH writes), so the next call's blocks
// simply follow.
void fast_deflate(std::string_view history, std::string_view input, bool last, std::string& out);

namespace detail {
// Huffman code lengths (at most `limit` bits) of `n` symbols with frequencies `freq` into
// `len`: 0 for a symbol of frequency 0; at least two symbols get a code (a lone one gets a
// partner), and the code is always complete, as inflaters expect.
void huffman_code_lengths(const uint32_t* freq, int n, int limit, uint8_t* len);
}  // namespace detail

// The same, keeping its buffers (the joined history and input, the hash table, the symbols)
// from one call to the next: for a stream compressed a block at a time.
class FastDeflater {
 public:
  void run(std::string_view history, std::string_view input, bool last, std::string& out);

 private:
  std::string joined_;
  std::vector<uint32_t> table_;
  std::vector<uint32_t> tokens_;
};

}  // namespace tracedrop
