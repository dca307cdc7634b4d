// The 4-byte mutex of Peeper's cores and routes: mutual exclusion under
// contention (a plain counter that ThreadSanitizer watches too), try_lock,
// and a waiter that went to sleep being woken by the unlock.
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/detail/small_mutex.hpp>

namespace {

using peeper::detail::small_mutex;

TEST(runtime_small_mutex, is_four_bytes) { EXPECT_EQ(sizeof(small_mutex), 4U); }

TEST(runtime_small_mutex, excludes_under_contention) {
  small_mutex m;
  long counter = 0;  // guarded by m, deliberately not atomic
  constexpr int threads = 4;
  constexpr int rounds = 50'000;
  std::vector<std::thread> all;
  for (int t = 0; t < threads; ++t) {
    all.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        std::lock_guard lock(m);
        const long seen = counter;
        if (i % 64 == 0) std::this_thread::yield();  // hold it a while: others must wait
        counter = seen + 1;
      }
    });
  }
  for (auto& t : all) t.join();
  EXPECT_EQ(counter, long{threads} * rounds);
}

TEST(runtime_small_mutex, try_lock_fails_while_held) {
  small_mutex m;
  ASSERT_TRUE(m.try_lock());
  bool other = true;
  std::thread([&] { other = m.try_lock(); }).join();
  EXPECT_FALSE(other);
  m.unlock();
  std::thread([&] {
    other = m.try_lock();
    if (other) m.unlock();
  }).join();
  EXPECT_TRUE(other);
}

TEST(runtime_small_mutex, a_blocked_locker_gets_it_after_unlock) {
  small_mutex m;
  m.lock();
  std::atomic<bool> trying{false};
  bool got = false;
  std::thread waiter([&] {
    trying = true;
    std::lock_guard lock(m);  // spins, then sleeps until the unlock below
    got = true;
  });
  while (!trying) std::this_thread::yield();
  m.unlock();
  waiter.join();  // returns only if the unlock woke it
  EXPECT_TRUE(got);
}

}  // namespace
