// The container of a process's links and monitors against std::map as the
// reference: random inserts and erases across the size where the hash index
// is built (removal moves the last entry into the hole, which the index must
// follow), lookups by key, and iteration over exactly the live entries.
// Entry types one word wide (pids) keep a lone entry in the list's own word:
// the same checks run across that boundary.
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/detail/relation_list.hpp>

namespace {

using entry = std::pair<std::uint64_t, int>;
using list = peeper::detail::relation_list<entry, std::uint64_t, peeper::detail::first_key>;

template <class List>
void expect_same(List& l, const std::map<std::uint64_t, int>& ref) {
  ASSERT_EQ(l.size(), ref.size());
  std::map<std::uint64_t, int> seen;
  for (const auto& [k, v] : l) EXPECT_TRUE(seen.emplace(k, v).second) << "duplicate key " << k;
  EXPECT_EQ(seen, ref);
  for (const auto& [k, v] : ref) {
    auto* it = l.find(k);
    ASSERT_NE(it, l.end()) << k;
    EXPECT_EQ(it->second, v);
  }
}

// Random inserts and erases over `keys` distinct keys, checked against std::map.
template <class List>
void check_against_reference(std::uint64_t keys, unsigned seed) {
  std::mt19937 rng(seed);
  List l;
  std::map<std::uint64_t, int> ref;
  for (int i = 0; i < 20'000; ++i) {
    const std::uint64_t k = rng() % keys;
    if (rng() % 3 != 0) {
      const bool added = l.insert({k, i});
      EXPECT_EQ(added, ref.emplace(k, i).second);
    } else if (rng() % 2 == 0) {
      EXPECT_EQ(l.erase(k), ref.erase(k));
    } else if (auto* it = l.find(k); it != l.end()) {
      l.erase(it);
      ref.erase(k);
    } else {
      EXPECT_FALSE(ref.contains(k));
    }
    EXPECT_EQ(l.contains(k), ref.contains(k));
    if (i % 1000 == 0) expect_same(l, ref);
  }
  expect_same(l, ref);
}

TEST(runtime_relation_list, matches_a_reference_map_small_and_large) {
  // Key spaces below, around and far above the index threshold.
  for (std::uint64_t keys : {8U, 20U, 40U, 3000U}) check_against_reference<list>(keys, 11);
}

// A hash with four values: every key of the index shares one of four probe
// runs, so removals shift long runs. One value puts its keys' home at the
// last slot, whatever the index's size: its run wraps around into the run of
// the keys whose home is slot 0.
constexpr std::uint64_t inverse(std::uint64_t m) {  // of an odd m, modulo 2^64
  std::uint64_t x = m;                              // right in 3 bits; each step doubles them
  for (int i = 0; i < 5; ++i) x *= 2 - m * x;
  return x;
}
struct four_values_hash {
  static constexpr std::uint64_t last_slot = ~std::uint64_t{0} * inverse(list::hash_multiplier);
  std::size_t operator()(std::uint64_t k) const noexcept {
    return k % 4 == 0 ? last_slot : k % 4 - 1;  // last slot, 0 (slot 0), 1, 2
  }
};
using colliding_list = peeper::detail::relation_list<entry, std::uint64_t,
                                                     peeper::detail::first_key, four_values_hash>;

TEST(runtime_relation_list, keys_with_colliding_hashes_stay_reachable) {
  for (std::uint64_t keys : {20U, 40U, 300U}) check_against_reference<colliding_list>(keys, 5);
}

TEST(runtime_relation_list, emptying_a_large_list_and_filling_it_again) {
  list l;
  for (std::uint64_t k = 0; k < 100; ++k) EXPECT_TRUE(l.insert({k, static_cast<int>(k)}));
  EXPECT_FALSE(l.insert({42, 0}));
  for (std::uint64_t k = 0; k < 100; k += 2) EXPECT_EQ(l.erase(k), 1U);
  for (std::uint64_t k = 0; k < 100; ++k) EXPECT_EQ(l.contains(k), k % 2 == 1) << k;
  while (!l.empty()) l.erase(l.begin());
  EXPECT_EQ(l.find(1), l.end());
  EXPECT_TRUE(l.insert({1, 7}));
  ASSERT_NE(l.find(1), l.end());
  EXPECT_EQ(l.find(1)->second, 7);
}

// Entries that own something (pids do): each is destroyed exactly once,
// through growth, removal by moving the last entry, and the list's end.
TEST(runtime_relation_list, owning_entries_are_released_once) {
  using owning = std::pair<std::uint64_t, std::shared_ptr<int>>;
  auto probe = std::make_shared<int>(0);
  {
    peeper::detail::relation_list<owning, std::uint64_t, peeper::detail::first_key> l;
    for (std::uint64_t k = 0; k < 40; ++k) EXPECT_TRUE(l.insert({k, probe}));
    EXPECT_EQ(probe.use_count(), 41);
    for (std::uint64_t k = 0; k < 40; k += 3) EXPECT_EQ(l.erase(k), 1U);
    EXPECT_EQ(probe.use_count(), 1 + static_cast<long>(l.size()));
    while (!l.empty()) l.erase(l.begin());
    EXPECT_EQ(probe.use_count(), 1);
    EXPECT_EQ(l.begin(), l.end());
    for (std::uint64_t k = 0; k < 5; ++k) EXPECT_TRUE(l.insert({k, probe}));
    EXPECT_EQ(probe.use_count(), 6);
    decltype(l) moved = std::move(l);
    EXPECT_TRUE(l.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_EQ(moved.size(), 5U);
  }
  EXPECT_EQ(probe.use_count(), 1);
}

// A one-word entry type that counts its live objects, standing for pid.
struct counted {
  static inline int live = 0;
  counted() { ++live; }
  counted(const counted&) = delete;
  counted& operator=(const counted&) = delete;
  ~counted() { --live; }
};
using word_entry = std::unique_ptr<counted>;
struct address_key {
  const counted* operator()(const word_entry& p) const noexcept { return p.get(); }
};

}  // namespace

template <>
inline constexpr bool peeper::detail::single_word_entry<word_entry> = true;

namespace {

using word_list = peeper::detail::relation_list<word_entry, const counted*, address_key>;

TEST(runtime_relation_list, a_lone_word_entry_lives_in_the_list_and_moves_to_a_block) {
  std::mt19937 rng(5);
  {
    word_list l;
    std::set<const counted*> ref;
    for (int i = 0; i < 5000; ++i) {
      if (ref.empty() || rng() % 2 == 0) {  // sizes stay mostly between 0 and 3
        auto p = std::make_unique<counted>();
        ref.insert(p.get());
        EXPECT_TRUE(l.insert(std::move(p)));
      } else {
        const auto* victim = *std::next(ref.begin(), static_cast<long>(rng() % ref.size()));
        ref.erase(victim);
        if (rng() % 2 == 0) {
          EXPECT_EQ(l.erase(victim), 1U);
        } else {
          l.erase(l.find(victim));
        }
      }
      if (ref.size() > 3) {  // back to empty now and then: the word holds one again
        while (!l.empty()) l.erase(l.begin());
        ref.clear();
      }
      ASSERT_EQ(l.size(), ref.size());
      ASSERT_EQ(counted::live, static_cast<int>(ref.size()));
      std::set<const counted*> seen;
      for (const auto& p : l) seen.insert(p.get());
      ASSERT_EQ(seen, ref);
    }
    word_list moved = std::move(l);
    EXPECT_TRUE(l.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_EQ(moved.size(), ref.size());
    word_list one;
    EXPECT_TRUE(one.insert(std::make_unique<counted>()));
    const counted* lone = one.begin()->get();
    word_list other = std::move(one);
    EXPECT_TRUE(one.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
    ASSERT_EQ(other.size(), 1U);
    EXPECT_TRUE(other.contains(lone));
  }
  EXPECT_EQ(counted::live, 0);
}

// An empty entry (all bits zero) cannot live in the word: it goes in a block.
TEST(runtime_relation_list, an_empty_word_entry_is_kept_in_a_block) {
  word_list l;
  EXPECT_TRUE(l.insert(nullptr));
  EXPECT_EQ(l.size(), 1U);
  EXPECT_TRUE(l.contains(nullptr));
  EXPECT_FALSE(l.insert(nullptr));
  EXPECT_TRUE(l.insert(std::make_unique<counted>()));
  EXPECT_EQ(l.size(), 2U);
  EXPECT_EQ(l.erase(static_cast<const counted*>(nullptr)), 1U);
  EXPECT_EQ(l.size(), 1U);
  l.clear();
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(counted::live, 0);
}

}  // namespace
