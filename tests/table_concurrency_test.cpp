// Tables under concurrent readers and writers, on a threaded runtime and on
// plain threads: bounded stress tests (a few hundred thousand operations)
// meant to run clean under ThreadSanitizer. Completion is awaited with
// latches and joins, never with sleeps.
#include <atomic>
#include <cstdint>
#include <latch>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/process.hpp>
#include <peeper/table/detail/rw_lock.hpp>
#include <peeper/table/make_table.hpp>

namespace {

using peeper::table_access;
using peeper::table_kind;
using peeper::table_options;

struct stop {};

// Makes a table inside a fresh idle process of a threaded runtime.
template <class K, class V>
struct owned_table {
  explicit owned_table(table_options options) {
    std::latch made(1);
    owner = peeper::spawn(rt, [&, options]() -> peeper::task<> {
      t = peeper::make_table<K, V>(options);
      made.count_down();
      co_await peeper::receive<stop>();
    });
    made.wait();
  }
  ~owned_table() { peeper::send(owner, stop{}); }
  owned_table(const owned_table&) = delete;
  owned_table& operator=(const owned_table&) = delete;

  peeper::runtime rt{peeper::runtime_options{.threads = 2}};
  peeper::pid owner;
  peeper::table<K, V> t;
};

constexpr int stable_keys = 512;
constexpr int counter_ops = 20'000;  // per writer
constexpr int reader_ops = 40'000;   // per reader

// Two writer processes increment counters and churn other keys while two
// plain threads read; the counters must add up and stable keys never vanish.
void stress_counters(table_options options) {
  owned_table<int, std::int64_t> o(options);
  auto& t = o.t;
  for (int k = 0; k < stable_keys; ++k) t.insert(k, 0);

  std::latch writers_done(2);
  for (int w = 0; w < 2; ++w) {
    peeper::spawn(o.rt, [&t, &writers_done, w] {
      for (int i = 0; i < counter_ops; ++i) {
        t.update_counter(i % stable_keys, 1);
        const int churn = 100'000 + w * 10'000 + i % 1000;
        if (i % 2 == 0) {
          t.insert(churn, i);
        } else {
          t.erase(churn - 1);
        }
      }
      writers_done.count_down();
    });
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&t, &failures, r] {
      std::vector<std::int64_t> last(stable_keys, 0);
      for (int i = 0; i < reader_ops; ++i) {
        const int k = (i * 7 + r) % stable_keys;
        auto v = t.find(k);
        // Counters only grow, so one reader's successive reads never go down.
        if (!v || *v < last[static_cast<std::size_t>(k)]) failures.fetch_add(1);
        if (v) last[static_cast<std::size_t>(k)] = *v;
        if (i % 4096 == 0) (void)t.size();
        (void)t.member(100'000 + i % 1000);
      }
    });
  }
  for (auto& r : readers) r.join();
  writers_done.wait();
  EXPECT_EQ(failures.load(), 0);
  std::int64_t sum = 0;
  for (int k = 0; k < stable_keys; ++k) sum += *t.find(k);
  EXPECT_EQ(sum, 2 * counter_ops);
}

TEST(table_concurrency, sharded_set_counters) {
  stress_counters({.kind = table_kind::set, .access = table_access::public_});
}
TEST(table_concurrency, sharded_set_with_reader_slots) {
  stress_counters(
      {.kind = table_kind::set, .access = table_access::public_, .read_concurrency = true});
}
TEST(table_concurrency, one_shard_set) {
  stress_counters(
      {.kind = table_kind::set, .access = table_access::public_, .write_concurrency = false});
}
TEST(table_concurrency, ordered_set_counters) {
  stress_counters({.kind = table_kind::ordered_set, .access = table_access::public_});
}
TEST(table_concurrency, ordered_set_with_reader_slots) {
  stress_counters(
      {.kind = table_kind::ordered_set, .access = table_access::public_, .read_concurrency = true});
}

// A batch insert is seen whole: two keys written together always agree.
TEST(table_concurrency, batch_inserts_are_atomic) {
  owned_table<int, int> o({.kind = table_kind::set, .access = table_access::public_});
  auto& t = o.t;
  constexpr int pairs = 64;
  constexpr int rounds = 2'000;
  t.insert(std::vector<std::pair<int, int>>{});
  for (int j = 0; j < pairs; ++j) t.insert({{j, 0}, {1000 + j, 0}});
  std::thread writer([&] {
    for (int i = 1; i <= rounds; ++i) {
      const int j = i % pairs;
      t.insert({{j, i}, {1000 + j, i}});
    }
  });
  int torn = 0;
  for (int s = 0; s < 200; ++s) {
    std::map<int, int> snapshot;
    for (auto& [k, v] : t.to_list()) snapshot[k] = v;
    for (int j = 0; j < pairs; ++j) {
      if (snapshot[j] != snapshot[1000 + j]) ++torn;
    }
  }
  writer.join();
  EXPECT_EQ(torn, 0);
}

// first/next on an ordered_set while others insert and erase: every key
// present throughout is seen, once, in order.
TEST(table_concurrency, ordered_traversal_sees_every_stable_key) {
  owned_table<int, int> o(
      {.kind = table_kind::ordered_set, .access = table_access::public_, .read_concurrency = true});
  auto& t = o.t;
  constexpr int keys = 400;
  for (int k = 0; k < keys; k += 2) t.insert(k, k);  // even keys stay throughout
  std::atomic<bool> done{false};
  std::thread churn([&] {
    for (int i = 0; !done.load(std::memory_order_relaxed) && i < 200'000; ++i) {
      const int odd = (i * 2 + 1) % keys;
      if (i % 2 == 0) {
        t.insert(odd, i);
      } else {
        t.erase(odd);
      }
    }
  });
  int walks_ok = 0;
  for (int walk = 0; walk < 30; ++walk) {
    std::vector<int> evens;
    int previous = -1;
    bool ordered = true;
    for (auto k = t.first(); k; k = t.next(*k)) {
      ordered = ordered && *k > previous;
      previous = *k;
      if (*k % 2 == 0) evens.push_back(*k);
    }
    bool all = evens.size() == keys / 2;
    for (std::size_t i = 0; all && i < evens.size(); ++i) all = evens[i] == static_cast<int>(2 * i);
    if (ordered && all) ++walks_ok;
  }
  done = true;
  churn.join();
  EXPECT_EQ(walks_ok, 30);
}

// Readers of a protected table never fail while its owner dies and the heir
// takes over.
TEST(table_concurrency, reads_continue_through_a_hand_over) {
  peeper::runtime rt{peeper::runtime_options{.threads = 2}};
  std::atomic<bool> inherited{false};
  std::latch heir_ready(1);
  peeper::pid heir = peeper::spawn(rt, [&]() -> peeper::task<> {
    heir_ready.count_down();
    auto got = co_await peeper::receive<peeper::table_transfer>();
    auto t = peeper::table_cast<int, int>(got->table);
    t.insert(2, 2);  // the heir owns it now: a protected table is its to write
    inherited = true;
    co_await peeper::receive<stop>();
  });
  heir_ready.wait();
  std::latch made(1);
  peeper::table<int, int> t;
  peeper::pid owner = peeper::spawn(rt, [&]() -> peeper::task<> {
    t = peeper::make_table<int, int>({.access = table_access::protected_, .heir = {heir, {}}});
    t.insert(1, 1);
    made.count_down();
    co_await peeper::receive<stop>();
  });
  made.wait();
  std::atomic<int> failures{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      long after = 0;
      while (after < 2'000) {
        try {
          if (t.find(1) != 1) failures.fetch_add(1);
        } catch (...) {
          failures.fetch_add(1);
        }
        reads.fetch_add(1, std::memory_order_relaxed);
        if (inherited.load()) ++after;
      }
    });
  }
  peeper::exit(owner, peeper::exit_reason::kill());
  for (auto& r : readers) r.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(t.owner(), heir);
  EXPECT_EQ(t.find(2), 2);
  peeper::send(heir, stop{});
}

// The reader-slot lock itself: a writer keeps two plain ints equal; readers
// must never see them differ (and TSan must see the ordering).
TEST(table_concurrency, reader_slot_lock_excludes_writers) {
  peeper::detail::rw_lock lock;
  lock.use_reader_slots();
  int a = 0;
  int b = 0;
  std::atomic<int> torn{0};
  std::thread writer([&] {
    for (int i = 0; i < 20'000; ++i) {
      peeper::detail::write_guard g(lock);
      ++a;
      ++b;
    }
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      for (int i = 0; i < 50'000; ++i) {
        peeper::detail::read_guard g(lock);
        if (a != b) torn.fetch_add(1);
      }
    });
  }
  writer.join();
  for (auto& r : readers) r.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(a, 20'000);
}

}  // namespace
