// The container of a process's links and monitors against std::map as the
// reference: random inserts and erases across the size where the hash index
// is built (removal moves the last entry into the hole, which the index must
// follow), lookups by key, and iteration over exactly the live entries.
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <utility>

#include <gtest/gtest.h>

#include <peeper/runtime/detail/relation_list.hpp>

namespace {

using entry = std::pair<std::uint64_t, int>;
using list = peeper::detail::relation_list<entry, std::uint64_t, peeper::detail::first_key>;

void expect_same(list& l, const std::map<std::uint64_t, int>& ref) {
  ASSERT_EQ(l.size(), ref.size());
  std::map<std::uint64_t, int> seen;
  for (const auto& [k, v] : l) EXPECT_TRUE(seen.emplace(k, v).second) << "duplicate key " << k;
  EXPECT_EQ(seen, ref);
  for (const auto& [k, v] : ref) {
    auto it = l.find(k);
    ASSERT_NE(it, l.end()) << k;
    EXPECT_EQ(it->second, v);
  }
}

TEST(runtime_relation_list, matches_a_reference_map_small_and_large) {
  std::mt19937 rng(11);
  // Key spaces below, around and far above the index threshold.
  for (std::uint64_t keys : {8U, 20U, 40U, 3000U}) {
    list l;
    std::map<std::uint64_t, int> ref;
    for (int i = 0; i < 20'000; ++i) {
      const std::uint64_t k = rng() % keys;
      if (rng() % 3 != 0) {
        const bool added = l.insert({k, i});
        EXPECT_EQ(added, ref.emplace(k, i).second);
      } else if (rng() % 2 == 0) {
        EXPECT_EQ(l.erase(k), ref.erase(k));
      } else if (auto it = l.find(k); it != l.end()) {
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

}  // namespace
