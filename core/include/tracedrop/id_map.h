// Maps from 64-bit ids to indexes: open addressing with linear probing in one flat array. Span
// ids are looked up once per span and once per parent link while a model is built; node-based
// hash maps spent most of that time on allocation and pointer chasing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tracedrop {

// What IdMap and IndexMap share: the table's size for n keys at most two thirds full, whether
// one more key needs a bigger table, and the bucket of a key.
namespace id_table {
inline size_t capacity_for(size_t n) {
  size_t cap = 16;
  while (2 * cap < 3 * n) cap <<= 1;
  return cap;
}
inline bool full(size_t size, size_t capacity) { return 3 * (size + 1) > 2 * capacity; }
inline size_t bucket(uint64_t key, size_t mask) {
  // Ids are random already, but a derived or hand-written one may not be: mix the bits.
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  return static_cast<size_t>(key) & mask;
}
}  // namespace id_table

class IdMap {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Sizes the table for `n` keys at most two thirds full.
  void reserve(size_t n) {
    const size_t cap = id_table::capacity_for(n);
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
    if (id_table::full(size_, slots_.size())) rehash(slots_.empty() ? 16 : 2 * slots_.size());
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

  size_t bucket(uint64_t key) const { return id_table::bucket(key, mask_); }

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

// IdMap's lookups for keys that are already held in an array of their own (the spans' id
// column): each slot holds only an index into it, 4 bytes instead of IdMap's 16, so the span
// index of a 1 GB file takes 4 MiB instead of 16 (in the browser the module's memory never
// shrinks: its peak is what the page keeps). Every call is given the array; the key of index
// v is keys[v], and it must stay so for every index inserted.
class IndexMap {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Sizes the table for `n` keys at most two thirds full (keys: as in insert()).
  void reserve(size_t n, const uint64_t* keys) {
    const size_t cap = id_table::capacity_for(n);
    if (cap > slots_.size()) rehash(cap, keys);
  }

  // The index whose key is `key`, or kNone. Key 0 is never stored.
  uint32_t find(uint64_t key, const uint64_t* keys) const {
    if (key == 0 || slots_.empty()) return kNone;
    for (size_t i = bucket(key);; i = (i + 1) & mask_) {
      const uint32_t s = slots_[i];
      if (s == 0) return kNone;
      if (keys[s - 1] == key) return s - 1;
    }
  }

  // Stores index `value` (whose key is keys[value]) unless its key is present; returns the
  // index now stored for that key (kNone for key 0, which is never stored).
  uint32_t insert(uint32_t value, const uint64_t* keys) {
    if (value == kNone) return kNone;
    const uint64_t key = keys[value];
    if (key == 0) return kNone;
    if (id_table::full(size_, slots_.size())) rehash(slots_.empty() ? 16 : 2 * slots_.size(), keys);
    for (size_t i = bucket(key);; i = (i + 1) & mask_) {
      uint32_t& s = slots_[i];
      if (s == 0) {
        s = value + 1;
        ++size_;
        return value;
      }
      if (keys[s - 1] == key) return s - 1;
    }
  }

  size_t size() const { return size_; }

 private:
  size_t bucket(uint64_t key) const { return id_table::bucket(key, mask_); }

  void rehash(size_t cap, const uint64_t* keys) {
    std::vector<uint32_t> old;
    old.swap(slots_);
    slots_.assign(cap, 0);
    mask_ = cap - 1;
    size_ = 0;
    for (const uint32_t s : old)
      if (s != 0) insert(s - 1, keys);
  }

  std::vector<uint32_t> slots_;  // index + 1; 0 = empty
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace tracedrop
