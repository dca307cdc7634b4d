// The open-addressing map inside hash-table shards, against std::map as the
// reference: random inserts, overwrites and erases (backward-shift deletion
// must keep every probe sequence whole), and iteration by position.
#include <map>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/table/detail/flat_map.hpp>

namespace {

using peeper::detail::flat_map;

TEST(table_flat_map, matches_a_reference_map_under_random_operations) {
  flat_map<long, long> m;
  std::map<long, long> ref;
  std::mt19937 rng(7);
  for (int i = 0; i < 200'000; ++i) {
    // Small key space: many collisions, erases and re-inserts.
    const long k = static_cast<long>(rng() % 3000) * (i % 3 == 0 ? 1024 : 1);
    switch (rng() % 4) {
      case 0:
      case 1:
        m.insert_or_assign(k, i);
        ref[k] = i;
        break;
      case 2:
        EXPECT_EQ(m.erase(k), ref.erase(k) > 0);
        break;
      default: {
        auto taken = m.take(k);
        auto it = ref.find(k);
        ASSERT_EQ(taken.has_value(), it != ref.end());
        if (taken) {
          EXPECT_EQ(*taken, it->second);
          ref.erase(it);
        }
      }
    }
    if (i % 10'000 == 0) {
      ASSERT_EQ(m.size(), ref.size());
      for (const auto& [rk, rv] : ref) {
        const auto* e = m.find(rk);
        ASSERT_NE(e, nullptr);
        EXPECT_EQ(e->second, rv);
      }
    }
  }
  std::map<long, long> walked;
  for (auto p = m.next_position(0); p != flat_map<long, long>::npos; p = m.next_position(p + 1)) {
    walked.insert(m.at(p));
  }
  EXPECT_EQ(walked, ref);
}

TEST(table_flat_map, try_emplace_move_and_clear) {
  flat_map<int, std::vector<int>> m;
  auto [e, fresh] = m.try_emplace(1);
  EXPECT_TRUE(fresh);
  e->second.push_back(5);
  EXPECT_FALSE(m.try_emplace(1).second);
  EXPECT_EQ(m.find(1)->second, std::vector<int>{5});
  flat_map<int, std::vector<int>> moved(std::move(m));
  EXPECT_EQ(moved.size(), 1U);
  EXPECT_EQ(m.size(), 0U);  // NOLINT(bugprone-use-after-move): a moved-from map is empty
  EXPECT_EQ(m.find(1), nullptr);
  moved.clear();
  EXPECT_TRUE(moved.empty());
  EXPECT_FALSE(moved.contains(1));
  moved.insert_or_assign(2, {});
  EXPECT_TRUE(moved.contains(2));
}

}  // namespace
