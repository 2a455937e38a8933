#include "export/fast_deflate.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

namespace tracedrop {
namespace {

constexpr size_t kWindow = 32768;        // deflate's largest distance
constexpr size_t kMaxMatch = 258;
constexpr int kHashBits = 15;
constexpr size_t kBlockTokens = 1 << 16;  // symbols per Huffman block
constexpr int kLitLenSymbols = 286, kDistSymbols = 30, kCodeLenSymbols = 19;

// RFC 1951 3.2.5: length codes 257..285 and distance codes 0..29, their bases and extra bits.
constexpr uint16_t kLenBase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                   31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr uint8_t kLenExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr uint16_t kDistBase[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
                                    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr uint8_t kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
// The order code length code lengths are sent in (3.2.7).
constexpr uint8_t kCodeLenOrder[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

// Symbol of every match length (3..258) and distance (1..32768), looked up once.
struct SymbolTables {
  uint8_t len_sym[kMaxMatch + 1] = {};
  uint8_t dist_sym[kWindow + 1] = {};
  SymbolTables() {
    for (int s = 0; s < 29; ++s) {
      const int end = s + 1 < 29 ? kLenBase[s + 1] : 259;
      for (int l = kLenBase[s]; l < end && l <= static_cast<int>(kMaxMatch); ++l) len_sym[l] = static_cast<uint8_t>(s);
    }
    len_sym[258] = 28;  // 258 has a code of its own (285), not 284 with extra bits 31
    for (int s = 0; s < 30; ++s) {
      const int end = s + 1 < 30 ? kDistBase[s + 1] : static_cast<int>(kWindow) + 1;
      for (int d = kDistBase[s]; d < end; ++d) dist_sym[d] = static_cast<uint8_t>(s);
    }
  }
};
const SymbolTables& tables() {
  static const SymbolTables t;
  return t;
}

uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
// Matches start with kMinMatch equal bytes, found by a hash of them.
constexpr size_t kMinMatch = 6;
uint32_t hash_at(const unsigned char* p) {
  return static_cast<uint32_t>(((load64(p) << 16) * 0x9E3779B97F4A7C15ull) >> (64 - kHashBits));
}

}  // namespace

namespace detail {

// Frequencies are flattened (halved, kept non-zero) until the tree fits the limit.
void huffman_code_lengths(const uint32_t* freq_in, int n, int limit, uint8_t* len) {
  std::vector<uint32_t> freq(freq_in, freq_in + n);
  std::vector<int> syms;
  std::vector<uint64_t> weight;
  std::vector<int> parent, depth;
  for (;;) {
    std::fill(len, len + n, uint8_t{0});
    syms.clear();
    for (int s = 0; s < n; ++s)
      if (freq[static_cast<size_t>(s)]) syms.push_back(s);
    if (syms.size() < 2) {
      const int only = syms.empty() ? 0 : syms[0];
      len[only] = 1;
      len[only == 0 ? 1 : 0] = 1;
      return;
    }
    const size_t m = syms.size();
    weight.assign(2 * m, 0);
    parent.assign(2 * m, -1);
    depth.assign(2 * m, 0);
    using Node = std::pair<uint64_t, int>;
    std::priority_queue<Node, std::vector<Node>, std::greater<Node>> heap;
    for (size_t k = 0; k < m; ++k) {
      weight[k] = freq[static_cast<size_t>(syms[k])];
      heap.push({weight[k], static_cast<int>(k)});
    }
    int next = static_cast<int>(m);
    while (heap.size() > 1) {
      const Node a = heap.top();
      heap.pop();
      const Node b = heap.top();
      heap.pop();
      weight[static_cast<size_t>(next)] = a.first + b.first;
      parent[static_cast<size_t>(a.second)] = next;
      parent[static_cast<size_t>(b.second)] = next;
      heap.push({a.first + b.first, next});
      ++next;
    }
    // A parent is always made after its children: depths from the root down.
    int deepest = 0;
    for (int v = next - 2; v >= 0; --v) {
      depth[static_cast<size_t>(v)] = depth[static_cast<size_t>(parent[static_cast<size_t>(v)])] + 1;
      if (v < static_cast<int>(m)) deepest = std::max(deepest, depth[static_cast<size_t>(v)]);
    }
    if (deepest <= limit) {
      for (size_t k = 0; k < m; ++k) len[syms[k]] = static_cast<uint8_t>(depth[k]);
      return;
    }
    for (uint32_t& f : freq)
      if (f) f = (f >> 1) | 1;
  }
}

}  // namespace detail

namespace {

using detail::huffman_code_lengths;

// Canonical codes (3.2.2), bit-reversed: deflate sends Huffman codes most significant bit first
// into a stream that is otherwise filled from the least significant bit.
void canonical_codes(const uint8_t* len, int n, uint16_t* code) {
  uint16_t count[16] = {}, next[16] = {};
  for (int s = 0; s < n; ++s) ++count[len[s]];
  count[0] = 0;
  uint16_t c = 0;
  for (int bits = 1; bits < 16; ++bits) {
    c = static_cast<uint16_t>((c + count[bits - 1]) << 1);
    next[bits] = c;
  }
  for (int s = 0; s < n; ++s) {
    if (!len[s]) continue;
    uint16_t v = next[len[s]]++, r = 0;
    for (int b = 0; b < len[s]; ++b, v = static_cast<uint16_t>(v >> 1)) r = static_cast<uint16_t>((r << 1) | (v & 1));
    code[s] = r;
  }
}

class BitWriter {
 public:
  explicit BitWriter(std::string& out) : out_(out) {}
  void put(uint32_t bits, int n) {
    buf_ |= uint64_t{bits} << count_;
    count_ += n;
    if (count_ >= 32) {
      const auto word = static_cast<uint32_t>(buf_);
      unsigned char b[4] = {static_cast<unsigned char>(word), static_cast<unsigned char>(word >> 8),
                            static_cast<unsigned char>(word >> 16), static_cast<unsigned char>(word >> 24)};
      out_.append(reinterpret_cast<const char*>(b), 4);
      buf_ >>= 32;
      count_ -= 32;
    }
  }
  // Pads with zero bits to the next byte boundary and writes what is pending.
  void align() {
    while (count_ > 0) {
      out_.push_back(static_cast<char>(buf_ & 0xff));
      buf_ >>= 8;
      count_ -= 8;
    }
    buf_ = 0;
    count_ = 0;
  }

 private:
  std::string& out_;
  uint64_t buf_ = 0;
  int count_ = 0;
};

// Collects literals and matches, and writes them as dynamic Huffman blocks.
class BlockWriter {
 public:
  BlockWriter(std::string& out, std::vector<uint32_t>& tokens) : bits_(out), tokens_(tokens) {
    tokens_.clear();
    tokens_.reserve(kBlockTokens + kMaxMatch);
  }

  void literals(const unsigned char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      tokens_.push_back(p[i]);
      ++lit_freq_[p[i]];
    }
    if (tokens_.size() >= kBlockTokens) flush(false);
  }
  void match(uint32_t len, uint32_t dist) {
    tokens_.push_back(0x80000000u | (len << 16) | dist);
    ++lit_freq_[257 + tables().len_sym[len]];
    ++dist_freq_[tables().dist_sym[dist]];
    if (tokens_.size() >= kBlockTokens) flush(false);
  }

  // Writes what is collected: as the final block with `last`; otherwise, at the end of the
  // input, followed by an empty stored block that ends the output on a byte boundary.
  void finish(bool last) {
    if (last || !tokens_.empty()) flush(last);
    if (last) {
      bits_.align();
      return;
    }
    bits_.put(0, 3);  // not final, stored
    bits_.align();
    bits_.put(0x0000, 16);
    bits_.put(0xffff, 16);
  }

 private:
  void flush(bool last) {
    lit_freq_[256] = 1;  // end of block
    uint8_t lit_len[kLitLenSymbols], dist_len[kDistSymbols];
    uint16_t lit_code[kLitLenSymbols] = {}, dist_code[kDistSymbols] = {};
    huffman_code_lengths(lit_freq_, kLitLenSymbols, 15, lit_len);
    huffman_code_lengths(dist_freq_, kDistSymbols, 15, dist_len);
    canonical_codes(lit_len, kLitLenSymbols, lit_code);
    canonical_codes(dist_len, kDistSymbols, dist_code);
    int nlit = kLitLenSymbols, ndist = kDistSymbols;
    while (nlit > 257 && !lit_len[nlit - 1]) --nlit;
    while (ndist > 1 && !dist_len[ndist - 1]) --ndist;

    // The code lengths of both codes, run-length coded with symbols 16, 17 and 18 (3.2.7).
    uint8_t all[kLitLenSymbols + kDistSymbols];
    std::memcpy(all, lit_len, static_cast<size_t>(nlit));
    std::memcpy(all + nlit, dist_len, static_cast<size_t>(ndist));
    const int total = nlit + ndist;
    struct Rle {
      uint8_t sym, extra_bits, extra;
    };
    std::vector<Rle> rle;
    uint32_t cl_freq[kCodeLenSymbols] = {};
    auto emit = [&](uint8_t sym, uint8_t extra_bits, uint8_t extra) {
      rle.push_back({sym, extra_bits, extra});
      ++cl_freq[sym];
    };
    for (int i = 0; i < total;) {
      const uint8_t cur = all[i];
      int run = 1;
      while (i + run < total && all[i + run] == cur) ++run;
      i += run;
      if (cur == 0) {
        while (run >= 11) {
          const int r = std::min(run, 138);
          emit(18, 7, static_cast<uint8_t>(r - 11));
          run -= r;
        }
        if (run >= 3) {
          emit(17, 3, static_cast<uint8_t>(run - 3));
          run = 0;
        }
      } else {
        emit(cur, 0, 0);
        --run;
        while (run >= 3) {
          const int r = std::min(run, 6);
          emit(16, 2, static_cast<uint8_t>(r - 3));
          run -= r;
        }
      }
      for (; run > 0; --run) emit(cur, 0, 0);
    }
    uint8_t cl_len[kCodeLenSymbols];
    uint16_t cl_code[kCodeLenSymbols] = {};
    huffman_code_lengths(cl_freq, kCodeLenSymbols, 7, cl_len);
    canonical_codes(cl_len, kCodeLenSymbols, cl_code);
    int ncl = kCodeLenSymbols;
    while (ncl > 4 && !cl_len[kCodeLenOrder[ncl - 1]]) --ncl;

    bits_.put(last ? 1 : 0, 1);
    bits_.put(2, 2);  // dynamic Huffman codes
    bits_.put(static_cast<uint32_t>(nlit - 257), 5);
    bits_.put(static_cast<uint32_t>(ndist - 1), 5);
    bits_.put(static_cast<uint32_t>(ncl - 4), 4);
    for (int i = 0; i < ncl; ++i) bits_.put(cl_len[kCodeLenOrder[i]], 3);
    for (const Rle& r : rle) {
      bits_.put(cl_code[r.sym], cl_len[r.sym]);
      if (r.extra_bits) bits_.put(r.extra, r.extra_bits);
    }
    const SymbolTables& t = tables();
    for (const uint32_t tok : tokens_) {
      if (!(tok & 0x80000000u)) {
        bits_.put(lit_code[tok], lit_len[tok]);
        continue;
      }
      const uint32_t len = (tok >> 16) & 0x1ff, dist = tok & 0xffff;
      const uint8_t ls = t.len_sym[len], ds = t.dist_sym[dist];
      bits_.put(lit_code[257 + ls], lit_len[257 + ls]);
      if (kLenExtra[ls]) bits_.put(len - kLenBase[ls], kLenExtra[ls]);
      bits_.put(dist_code[ds], dist_len[ds]);
      if (kDistExtra[ds]) bits_.put(dist - kDistBase[ds], kDistExtra[ds]);
    }
    bits_.put(lit_code[256], lit_len[256]);
    tokens_.clear();
    std::fill(std::begin(lit_freq_), std::end(lit_freq_), 0u);
    std::fill(std::begin(dist_freq_), std::end(dist_freq_), 0u);
  }

  BitWriter bits_;
  std::vector<uint32_t>& tokens_;  // a byte, or 1 << 31 | length << 16 | distance
  uint32_t lit_freq_[kLitLenSymbols] = {};
  uint32_t dist_freq_[kDistSymbols] = {};
};

}  // namespace

void fast_deflate(std::string_view history, std::string_view input, bool last, std::string& out) {
  FastDeflater().run(history, input, last, out);
}

void FastDeflater::run(std::string_view history, std::string_view input, bool last, std::string& out) {
  if (history.size() > kWindow) history.remove_prefix(history.size() - kWindow);
  joined_.assign(history.data(), history.size());
  joined_.append(input.data(), input.size());
  const auto* b = reinterpret_cast<const unsigned char*>(joined_.data());
  const size_t n = joined_.size(), start = history.size();
  out.reserve(out.size() + input.size() / 4 + 64);
  BlockWriter w(out, tokens_);
  std::vector<uint32_t>& table = table_;  // position + 1 of the last 4 bytes with each hash
  table.assign(size_t{1} << kHashBits, 0);
  for (size_t p = 0; p + 8 <= start; ++p) table[hash_at(b + p)] = static_cast<uint32_t>(p + 1);

  size_t i = start, lit = start;
  uint32_t misses = 0;
  while (i + 8 <= n) {
    uint32_t& slot = table[hash_at(b + i)];
    const size_t cand = slot;
    slot = static_cast<uint32_t>(i + 1);
    if (cand && i - (cand - 1) <= kWindow && ((load64(b + cand - 1) ^ load64(b + i)) << 16) == 0) {
      const size_t c = cand - 1, max_len = std::min(kMaxMatch, n - i);
      size_t len = kMinMatch;
      for (;;) {
        if (len + 8 > max_len) {
          while (len < max_len && b[c + len] == b[i + len]) ++len;
          break;
        }
        const uint64_t x = load64(b + c + len) ^ load64(b + i + len);
        if (x) {
          len += static_cast<size_t>(__builtin_ctzll(x)) / 8;
          break;
        }
        len += 8;
      }
      w.literals(b + lit, i - lit);
      w.match(static_cast<uint32_t>(len), static_cast<uint32_t>(i - c));
      i += len;
      lit = i;
      misses = 0;
      // The end of the match is a likely start of the next one elsewhere.
      if (i + 6 <= n) table[hash_at(b + i - 2)] = static_cast<uint32_t>(i - 1);
      continue;
    }
    // Through text without matches, ever larger steps (its bytes go out as literals).
    i += 1 + (misses++ >> 6);
  }
  w.literals(b + lit, n - lit);
  w.finish(last);
}

}  // namespace tracedrop
