// The flat span-id map against std::unordered_map on random, clustered and colliding keys.
#include <catch2/catch.hpp>

#include <random>
#include <unordered_map>

#include "tracedrop/id_map.h"

using tracedrop::IdMap;

TEST_CASE("IdMap finds what was inserted and keeps the first value of a key", "[model][id_map]") {
  std::mt19937_64 rng(7);
  IdMap map;
  std::unordered_map<uint64_t, uint32_t> ref;
  std::vector<uint64_t> keys;
  for (uint32_t i = 0; i < 20000; ++i) {
    // Random keys, small sequential ones, and keys equal in their low 32 bits.
    uint64_t k = i % 3 == 0 ? rng() : i % 3 == 1 ? uint64_t{i} + 1 : (uint64_t{i} << 32) | 0xabcdu;
    if (i % 97 == 0 && !keys.empty()) k = keys[rng() % keys.size()];  // a duplicate
    keys.push_back(k);
    const uint32_t stored = map.insert(k, i);
    const auto [it, fresh] = ref.emplace(k, i);
    CHECK(stored == it->second);
    (void)fresh;
  }
  CHECK(map.size() == ref.size());
  size_t wrong = 0;
  for (const auto& [k, v] : ref)
    if (map.find(k) != v) ++wrong;
  CHECK(wrong == 0);
  CHECK(map.find(0) == IdMap::kNone);
  CHECK(map.insert(0, 5) == IdMap::kNone);
  size_t false_hits = 0;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t k = rng();
    if (ref.count(k) == 0 && map.find(k) != IdMap::kNone) ++false_hits;
  }
  CHECK(false_hits == 0);
  IdMap empty;
  CHECK(empty.find(42) == IdMap::kNone);
}

TEST_CASE("IndexMap finds indexes by the keys of their own array, the first index of a key kept", "[model][id_map]") {
  std::mt19937_64 rng(11);
  std::vector<uint64_t> keys;
  std::unordered_map<uint64_t, uint32_t> ref;
  for (uint32_t i = 0; i < 30000; ++i) {
    // Random keys, small sequential ones, keys equal in their low 32 bits, duplicates and 0.
    uint64_t k = i % 3 == 0 ? rng() : i % 3 == 1 ? uint64_t{i} + 1 : (uint64_t{i} << 32) | 0xabcdu;
    if (i % 97 == 0 && !keys.empty()) k = keys[rng() % keys.size()];
    if (i % 1001 == 0) k = 0;
    keys.push_back(k);
  }
  tracedrop::IndexMap map;
  map.reserve(100, keys.data());  // grows by rehashing past this
  for (uint32_t i = 0; i < keys.size(); ++i) {
    const uint32_t stored = map.insert(i, keys.data());
    if (keys[i] == 0) {
      CHECK(stored == tracedrop::IndexMap::kNone);
      continue;
    }
    const auto it = ref.emplace(keys[i], i).first;
    CHECK(stored == it->second);
  }
  CHECK(map.size() == ref.size());
  size_t wrong = 0;
  for (const auto& [k, v] : ref)
    if (map.find(k, keys.data()) != v) ++wrong;
  CHECK(wrong == 0);
  CHECK(map.find(0, keys.data()) == tracedrop::IndexMap::kNone);
  size_t false_hits = 0;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t k = rng();
    if (ref.count(k) == 0 && map.find(k, keys.data()) != tracedrop::IndexMap::kNone) ++false_hits;
  }
  CHECK(false_hits == 0);
  tracedrop::IndexMap empty;
  CHECK(empty.find(42, keys.data()) == tracedrop::IndexMap::kNone);
}
