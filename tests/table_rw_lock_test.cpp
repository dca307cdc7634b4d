// The tables' reader-writer lock in plain mode (one word: a writer bit and
// a reader count), under contention: writers exclude readers and each other,
// readers share, and waiters that sleep are woken. Plain threads; meant for
// the tsan preset as much as for the others.
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/table/detail/rw_lock.hpp>

namespace table_rw_lock_test {

using peeper::detail::read_guard;
using peeper::detail::rw_lock;
using peeper::detail::write_guard;

// Two writers keep two plain ints equal; readers must never see them differ.
TEST(table_rw_lock, writers_exclude_readers_and_each_other) {
  rw_lock lock;
  int a = 0;
  int b = 0;
  std::atomic<int> torn{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20'000; ++i) {
        write_guard g(lock);
        ++a;
        ++b;
      }
    });
  }
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50'000; ++i) {
        read_guard g(lock);
        if (a != b) torn.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(a, 40'000);
  EXPECT_EQ(b, 40'000);
}

// Readers hold the lock together: a reader that holds it sees another reader
// take it too (a writer-style lock would deadlock here).
TEST(table_rw_lock, readers_share_it) {
  rw_lock lock;
  std::atomic<bool> first_in{false};
  std::atomic<bool> second_done{false};
  std::thread first([&] {
    read_guard g(lock);
    first_in = true;
    while (!second_done) std::this_thread::yield();
  });
  while (!first_in) std::this_thread::yield();
  std::thread second([&] {
    read_guard g(lock);
    second_done = true;
  });
  second.join();
  first.join();
  EXPECT_TRUE(second_done);
}

// A writer that waits long enough to sleep is woken by the last reader, and
// readers that arrive while it waits or writes sleep until it is done.
TEST(table_rw_lock, sleeping_waiters_are_woken) {
  rw_lock lock;
  int value = 0;
  std::atomic<bool> reader_in{false};
  std::atomic<bool> release_reader{false};
  std::thread reader([&] {
    read_guard g(lock);
    reader_in = true;
    while (!release_reader) std::this_thread::yield();  // the writer gives up spinning meanwhile
  });
  while (!reader_in) std::this_thread::yield();
  std::atomic<bool> written{false};
  std::thread writer([&] {
    write_guard g(lock);
    value = 1;
    written = true;
  });
  std::vector<std::thread> late;
  std::atomic<int> late_reads{0};
  for (int i = 0; i < 4; ++i) {
    late.emplace_back([&] {
      read_guard g(lock);
      late_reads.fetch_add(1);
    });
  }
  release_reader = true;
  reader.join();
  writer.join();
  for (auto& t : late) t.join();
  // Nobody hung (a lost wake-up would hang a join above), and everyone got in.
  EXPECT_TRUE(written);
  EXPECT_EQ(value, 1);
  EXPECT_EQ(late_reads.load(), 4);
}

}  // namespace table_rw_lock_test
