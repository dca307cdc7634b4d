// Kept tables under concurrency (issue 5): processes read and write public
// tables while the worker that owns them is killed again and again. Every
// read must succeed and every write must stay: a hand-over changes only the
// owner, so nobody else ever waits for it or loses anything. Meant for the
// tsan preset as much as for the others.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "peeper_tables_support.hpp"

namespace peeper_tables_stress_test {

using namespace peeper_test;
using namespace peeper_tables_test;
using namespace std::chrono_literals;
using peeper::exit_reason;
using peeper::keep_tables;
using peeper::pid;
using values = std::vector<int>;

struct stop_client {};

/// What the client processes report.
struct client_stats {
  std::atomic<long> reads{0};
  std::atomic<long> writes{0};
  std::atomic<long> failures{0};
  event_queue<std::string> errors;  // the first failures, described
  void fail(const std::string& what) {
    if (failures.fetch_add(1) < 5) errors.push(what);
  }
};

constexpr int preset_keys = 512;

/// Reads keys k0..k511 (each holds its number) until told to stop.
pid spawn_reader(peeper::runtime& rt, table_t t, std::shared_ptr<client_stats> stats) {
  return peeper::spawn(rt, [t, stats]() -> peeper::task<> {
    for (int round = 0;; ++round) {
      for (int i = 0; i < 64; ++i) {
        const int k = (round * 64 + i) % preset_keys;
        try {
          auto v = t.lookup("k" + std::to_string(k));
          if (v != values{k}) stats->fail("k" + std::to_string(k) + " has the wrong value");
        } catch (const std::exception& e) {
          stats->fail(e.what());
        }
        stats->reads.fetch_add(1, std::memory_order_relaxed);
      }
      auto op = peeper::receive<stop_client>(0ns);  // lets others run; ends on stop_client
      if (co_await op) co_return;
    }
  });
}

/// Writes w<id>-0, w<id>-1, ... until told to stop; `written` gets the count.
pid spawn_writer(peeper::runtime& rt, table_t t, int id, std::shared_ptr<client_stats> stats,
                 std::shared_ptr<event_queue<int>> written) {
  return peeper::spawn(rt, [t, id, stats, written]() -> peeper::task<> {
    int n = 0;
    for (;;) {
      for (int i = 0; i < 16; ++i, ++n) {
        try {
          t.insert("w" + std::to_string(id) + "-" + std::to_string(n), n);
        } catch (const std::exception& e) {
          stats->fail(e.what());
        }
        stats->writes.fetch_add(1, std::memory_order_relaxed);
      }
      auto op = peeper::receive<stop_client>(0ns);
      if (co_await op) break;
    }
    written->push(n);
  });
}

/// Waits until `counter` has moved past `from` (the clients made progress).
bool progressed(const std::atomic<long>& counter, long from) {
  const auto deadline = std::chrono::steady_clock::now() + hang_guard;
  while (counter.load() <= from) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

tabled_instance start_filled(peeper::runtime& rt) {
  auto s = peeper::start<tabled>(rt, tabled_options({spec("shared", true), spec("written")},
                                                    keep_tables::named({"written"})))
               .value();
  for (int k = 0; k < preset_keys; ++k) peeper::cast(s, put{"shared", "k" + std::to_string(k), k});
  EXPECT_EQ(peeper::call(s, lookup{"shared", "k0"}), values{0});  // the casts are done
  return s;
}

TEST(peeper_tables_stress, reads_go_on_while_the_owner_is_killed_and_the_table_handed_over) {
  quiet_log quiet;
  peeper::runtime rt(peeper::runtime_options{.threads = 4});
  auto s = start_filled(rt);
  table_t shared = *peeper::find_table<std::string, int>(rt, "shared");
  auto stats = std::make_shared<client_stats>();
  pid reader = spawn_reader(rt, shared, stats);
  for (int i = 0; i < 30; ++i) {
    const long before = stats->reads.load();
    pid w = peeper::worker(s);
    peeper::exit(w, exit_reason::kill());
    await_restart(rt, s, w);
    ASSERT_TRUE(progressed(stats->reads, before));
    EXPECT_EQ(shared.owner(), peeper::worker(s));
  }
  peeper::send(reader, stop_client{});
  await_exit(rt, reader);
  EXPECT_EQ(stats->failures.load(), 0) << stats->errors.try_pop().value_or("");
  EXPECT_GT(stats->reads.load(), 0);
  EXPECT_EQ(peeper::call(s, lookup{"shared", "k511"}), values{511});
}

TEST(peeper_tables_stress, many_kills_while_processes_read_and_write_the_kept_tables) {
  quiet_log quiet;
  peeper::runtime rt(peeper::runtime_options{.threads = 4});
  auto s = start_filled(rt);
  table_t shared = *peeper::find_table<std::string, int>(rt, "shared");
  table_t written = *peeper::find_table<std::string, int>(rt, "written");
  auto stats = std::make_shared<client_stats>();
  auto counts = std::make_shared<event_queue<int>>();
  std::vector<pid> readers;
  std::vector<pid> writers;
  for (int i = 0; i < 2; ++i) readers.push_back(spawn_reader(rt, shared, stats));
  for (int i = 0; i < 3; ++i) writers.push_back(spawn_writer(rt, written, i, stats, counts));

  constexpr int kills = 100;
  for (int i = 0; i < kills; ++i) {
    const long writes = stats->writes.load();
    // The worker writes too: through a cast sent just before the kill.
    peeper::cast(s, put{"written", "cast-" + std::to_string(i), i});
    pid w = peeper::worker(s);
    peeper::exit(w, exit_reason::kill());
    await_restart(rt, s, w);
    ASSERT_TRUE(progressed(stats->writes, writes));
  }
  for (const pid& p : readers) peeper::send(p, stop_client{});
  for (const pid& p : writers) peeper::send(p, stop_client{});
  std::vector<int> per_writer;
  for (std::size_t i = 0; i < writers.size(); ++i) {
    auto n = counts->pop();
    ASSERT_TRUE(n);
    per_writer.push_back(*n);
  }
  for (const pid& p : readers) await_exit(rt, p);

  EXPECT_EQ(stats->failures.load(), 0) << stats->errors.try_pop().value_or("");
  // Nothing written was lost, neither by the clients nor by the worker's casts.
  long total = 0;
  for (int n : per_writer) total += n;
  EXPECT_EQ(written.size(), static_cast<std::size_t>(total + kills));
  for (int i = 0; i < kills; ++i) {
    EXPECT_EQ(written.lookup("cast-" + std::to_string(i)), values{i}) << i;
  }
  EXPECT_EQ(written.owner(), peeper::worker(s));
  EXPECT_EQ(shared.size(), static_cast<std::size_t>(preset_keys));
  EXPECT_EQ(peeper::call(s, made_count{}), 2);
}

}  // namespace peeper_tables_stress_test
