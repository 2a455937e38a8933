// A map from 64-bit span ids to span indexes: open addressing with linear probing in one flat
// array. Span ids are looked up once per span and once per parent link while a model is built;
// node-based hash maps spent most of that time on allocation and pointer chasing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tracedrop {

class IdMap {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Sizes the table for `n` keys at most two thirds full.
  void reserve(size_t n) {
    size_t cap = 16;
    while (2 * cap < 3 * n) cap <<= 1;
    if (cap > slots_.size()) rehash(cap);
  }

  // The value stored for `key`, or kNone. Key 0 is never stored (it marks an empty slot; no
  // valid or derived span id is 0).
  uint32_t find(uint64_t key) const {
    if (key == 0 || slots_.empty()) return kNone;
    for (size_t i = bucket(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return s.value;
      if (s.key == 0) return kNone;
    }
  }

  // Stores key -> value unless the key is present; returns the value now stored for it.
  uint32_t insert(uint64_t key, uint32_t value) {
    if (key == 0) return kNone;
    if (3 * (size_ + 1) > 2 * slots_.size()) rehash(slots_.empty() ? 16 : 2 * slots_.size());
    for (size_t i = bucket(key);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == key) return s.value;
      if (s.key == 0) {
        s.key = key;
        s.value = value;
        ++size_;
        return value;
      }
    }
  }

  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t value = 0;
  };

  size_t bucket(uint64_t key) const {
    // Ids are random already, but a derived or hand-written one may not be: mix the bits.
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return static_cast<size_t>(key) & mask_;
  }

  void rehash(size_t cap) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    size_ = 0;
    for (const Slot& s : old)
      if (s.key != 0) insert(s.key, s.value);
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace tracedrop
