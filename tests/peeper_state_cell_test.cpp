// Where an instance's core keeps its committed state: which cell a state
// type gets, that each gives back what was stored, and that a reader racing
// the one writer never sees a torn state (TSan watches the sequence lock).
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "peeper/server/detail/state_cell.hpp"

namespace state_cell_test {

using peeper::detail::small_mutex;
using peeper::detail::state_cell;
using peeper::detail::state_cell_kind;
using peeper::detail::state_cell_kind_of;

struct six_bytes {
  std::uint16_t a, b, c;
  bool operator==(const six_bytes&) const = default;
};
struct pair_of_ints {  // 8 bytes: stored and loaded whole, so its halves always match
  std::int32_t first, second;
};
struct forty_eight {  // six equal words while untorn
  std::array<std::uint64_t, 6> w;
};
struct twelve_bytes {
  std::int32_t a, b, c;
  bool operator==(const twelve_bytes&) const = default;
};
struct alignas(16) over_aligned {
  std::uint64_t a;
};

static_assert(state_cell_kind_of<int>() == state_cell_kind::word);
static_assert(state_cell_kind_of<long>() == state_cell_kind::word);
static_assert(state_cell_kind_of<double>() == state_cell_kind::word);
static_assert(state_cell_kind_of<six_bytes>() == state_cell_kind::word);
static_assert(state_cell_kind_of<twelve_bytes>() == state_cell_kind::sequence);
static_assert(state_cell_kind_of<forty_eight>() == state_cell_kind::sequence);
static_assert(state_cell_kind_of<std::array<char, 64>>() == state_cell_kind::sequence);
static_assert(state_cell_kind_of<std::array<char, 65>>() == state_cell_kind::locked);
static_assert(state_cell_kind_of<over_aligned>() == state_cell_kind::locked);
static_assert(state_cell_kind_of<std::string>() == state_cell_kind::locked);
static_assert(sizeof(state_cell<int>) == sizeof(int),
              "an int state costs an idle instance nothing");

template <class State>
void expect_round_trip(State first, State second) {
  small_mutex m;
  state_cell<State> cell(first);
  EXPECT_EQ(cell.load(m), first);
  cell.store(second, m);
  EXPECT_EQ(cell.load(m), second);
}

TEST(StateCell, EachKindGivesBackWhatWasStored) {
  expect_round_trip(-7, 42);
  expect_round_trip(1.5, -2.25);
  expect_round_trip(six_bytes{1, 2, 3}, six_bytes{65535, 0, 9});
  expect_round_trip(twelve_bytes{1, 2, 3}, twelve_bytes{-1, -2, -3});
  expect_round_trip(std::string("saved"), std::string(1000, 'x'));
  expect_round_trip(std::map<int, std::string>{{1, "a"}}, std::map<int, std::string>{});
}

TEST(StateCell, ALockedCellUpdatesInPlace) {
  small_mutex m;
  state_cell<std::vector<int>> cell(std::vector<int>{1, 2});
  cell.update([](std::vector<int>& saved) { saved.push_back(3); }, m);
  EXPECT_EQ(cell.load(m), (std::vector<int>{1, 2, 3}));
}

TEST(StateCell, EveryKindUpdatesThroughAFunction) {
  small_mutex m;
  state_cell<int> word(1);
  word.update([](int& v) { v += 41; }, m);
  EXPECT_EQ(word.load(m), 42);
  state_cell<twelve_bytes> sequence(twelve_bytes{1, 2, 3});
  sequence.update([](twelve_bytes& v) { v.c = 30; }, m);
  EXPECT_EQ(sequence.load(m), (twelve_bytes{1, 2, 30}));
}

// One writer stores ever larger untorn values; readers on other threads check
// that every value they load is untorn and none goes back in time.
template <class State, class Make, class Check>
void race_one_writer(Make make, Check check) {
  constexpr std::uint64_t writes = 200'000;
  constexpr std::uint64_t min_loads = 100'000;
  small_mutex m;
  state_cell<State> cell(make(0));
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> backwards{0};
  std::atomic<std::uint64_t> loads{0};
  auto reader = [&] {
    std::uint64_t last = 0;
    while (!done.load(std::memory_order_acquire)) {
      std::uint64_t seen = 0;
      if (!check(cell.load(m), seen)) ++torn;
      if (seen < last) ++backwards;
      last = seen;
      loads.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::thread r1(reader);
  std::thread r2(reader);
  // Until the readers have loaded many times while writes went on.
  std::uint64_t written = 0;
  while (written < writes || loads.load(std::memory_order_relaxed) < min_loads) {
    cell.store(make(++written), m);
  }
  done.store(true, std::memory_order_release);
  r1.join();
  r2.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(backwards.load(), 0);
  std::uint64_t last = 0;
  EXPECT_TRUE(check(cell.load(m), last));
  EXPECT_EQ(last, written);
}

TEST(StateCell, ASequenceLockedStateIsNeverTorn) {
  race_one_writer<forty_eight>(
      [](std::uint64_t i) {
        forty_eight s{};
        s.w.fill(i);
        return s;
      },
      [](const forty_eight& s, std::uint64_t& value) {
        value = s.w[0];
        for (std::uint64_t x : s.w)
          if (x != value) return false;
        return true;
      });
}

TEST(StateCell, AWordStateIsNeverTorn) {
  race_one_writer<pair_of_ints>(
      [](std::uint64_t i) {
        return pair_of_ints{static_cast<std::int32_t>(i), -static_cast<std::int32_t>(i)};
      },
      [](const pair_of_ints& s, std::uint64_t& value) {
        value = static_cast<std::uint64_t>(s.first);
        return s.second == -s.first;
      });
}

}  // namespace state_cell_test
