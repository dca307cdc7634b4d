// The scheduler: deterministic stepping and its ordering, the virtual
// clock, fairness, both threads used, and shutdown.
#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/detail/process.hpp>
#include <peeper/runtime/names.hpp>
#include <peeper/runtime/process.hpp>
#include <peeper/runtime/runtime.hpp>
#include <peeper/runtime/timer.hpp>

#include "test_support.hpp"

namespace runtime_scheduler_test {

using namespace std::chrono_literals;
using peeper::exit_reason;
using peeper_test::deterministic;

struct ping {};
struct stop {};
struct poke {};

peeper::task<> idle_until_stop() { co_await peeper::receive<stop>(); }

// ---- deterministic mode -------------------------------------------------------

TEST(Deterministic, HasNoThreadsAndAVirtualClockStartingAtZero) {
  peeper::runtime rt(deterministic());
  EXPECT_TRUE(rt.deterministic());
  EXPECT_EQ(rt.threads(), 0U);
  EXPECT_EQ(rt.now().time_since_epoch(), std::chrono::nanoseconds(0));
  rt.advance(5s);
  EXPECT_EQ(rt.now().time_since_epoch(), std::chrono::nanoseconds(5s));
  rt.advance(1ns);
  EXPECT_EQ(rt.now().time_since_epoch(), std::chrono::nanoseconds(5s) + 1ns);
}

TEST(Deterministic, NothingRunsUntilStepped) {
  peeper::runtime rt(deterministic());
  bool ran = false;
  peeper::spawn(rt, [&ran] { ran = true; });
  EXPECT_FALSE(ran);
  EXPECT_EQ(rt.process_count(), 1U);
  EXPECT_TRUE(rt.step());
  EXPECT_TRUE(ran);
  EXPECT_FALSE(rt.step()) << "nothing left to run";
}

TEST(Deterministic, StepRunsOneSliceInTheOrderProcessesBecameRunnable) {
  peeper::runtime rt(deterministic());
  std::string log;
  peeper::spawn(rt, [&log] { log += 'A'; });
  peeper::spawn(rt, [&log] { log += 'B'; });
  peeper::spawn(rt, [&log] { log += 'C'; });
  ASSERT_TRUE(rt.step());
  EXPECT_EQ(log, "A");
  ASSERT_TRUE(rt.step());
  EXPECT_EQ(log, "AB");
  ASSERT_TRUE(rt.step());
  EXPECT_EQ(log, "ABC");
  EXPECT_FALSE(rt.step());
}

TEST(Deterministic, MessagesWakeProcessesInSendOrder) {
  peeper::runtime rt(deterministic());
  std::string log;
  auto make = [&log](char c) {
    return [&log, c]() -> peeper::task<> {
      co_await peeper::receive<ping>();
      log += c;
    };
  };
  auto a = peeper::spawn(rt, make('A'));
  auto b = peeper::spawn(rt, make('B'));
  auto c = peeper::spawn(rt, make('C'));
  EXPECT_EQ(rt.run_until_idle(), 3U) << "each ran one slice and waits";
  peeper::send(c, ping{});
  peeper::send(a, ping{});
  peeper::send(b, ping{});
  EXPECT_EQ(rt.run_until_idle(), 3U);
  EXPECT_EQ(log, "CAB");
}

TEST(Deterministic, AMessageSentByAProcessRunsTheReceiverAfterTheSender) {
  peeper::runtime rt(deterministic());
  std::vector<std::string> log;
  auto receiver = peeper::spawn(rt, [&log]() -> peeper::task<> {
    co_await peeper::receive<ping>();
    log.push_back("received");
  });
  rt.run_until_idle();
  peeper::spawn(rt, [&log, receiver] {
    peeper::send(receiver, ping{});
    log.push_back("sent");
  });
  ASSERT_TRUE(rt.step());
  EXPECT_EQ(log, (std::vector<std::string>{"sent"}));
  ASSERT_TRUE(rt.step());
  EXPECT_EQ(log, (std::vector<std::string>{"sent", "received"}));
}

TEST(Deterministic, SteppingFunctionsThrowInThreadedMode) {
  peeper::runtime rt(peeper::runtime_options{.threads = 1});
  EXPECT_FALSE(rt.deterministic());
  EXPECT_THROW(rt.step(), peeper::bad_argument);
  EXPECT_THROW(rt.run_until_idle(), peeper::bad_argument);
  EXPECT_THROW(rt.advance(1ms), peeper::bad_argument);
}

TEST(Runtime, RejectsABudgetBelowOne) {
  EXPECT_THROW(peeper::runtime(peeper::runtime_options{.deterministic = true, .budget = 0}),
               peeper::bad_argument);
  EXPECT_THROW(peeper::runtime(peeper::runtime_options{.threads = 1, .budget = -1}),
               peeper::bad_argument);
}

TEST(Runtime, ThreadsOptionSetsThePoolSize) {
  peeper::runtime three(peeper::runtime_options{.threads = 3});
  EXPECT_EQ(three.threads(), 3U);
  peeper::runtime cores;
  EXPECT_EQ(cores.threads(), std::max(1U, std::thread::hardware_concurrency()));
}

// ---- fairness -------------------------------------------------------------------

TEST(Fairness, AProcessWithALongQueueYieldsAfterItsBudget) {
  peeper::runtime rt(peeper::runtime_options{.deterministic = true, .budget = 64});
  int busy_handled = 0;
  bool other_ran = false;
  auto busy = peeper::spawn(rt, [&busy_handled]() -> peeper::task<> {
    for (int i = 0; i < 1000; ++i) {
      co_await peeper::receive<ping>();
      ++busy_handled;
    }
  });
  auto other = peeper::spawn(rt, [&other_ran]() -> peeper::task<> {
    co_await peeper::receive<poke>();
    other_ran = true;
  });
  rt.run_until_idle();
  for (int i = 0; i < 1000; ++i) peeper::send(busy, ping{});
  peeper::send(other, poke{});
  ASSERT_TRUE(rt.step());
  EXPECT_EQ(busy_handled, 64) << "one slice is one budget of messages";
  EXPECT_FALSE(other_ran);
  ASSERT_TRUE(rt.step());
  EXPECT_TRUE(other_ran) << "the other process ran while the busy one had 936 messages left";
  EXPECT_EQ(busy_handled, 64);
  rt.run_until_idle();
  EXPECT_EQ(busy_handled, 1000);
}

TEST(Fairness, TheBudgetIsConfigurable) {
  peeper::runtime rt(peeper::runtime_options{.deterministic = true, .budget = 10});
  int handled = 0;
  auto busy = peeper::spawn(rt, [&handled]() -> peeper::task<> {
    while (true) {
      co_await peeper::receive();
      ++handled;
    }
  });
  rt.run_until_idle();
  for (int i = 0; i < 35; ++i) peeper::send(busy, ping{});
  std::vector<int> after_each;
  while (rt.step()) after_each.push_back(handled);
  EXPECT_EQ(after_each, (std::vector<int>{10, 20, 30, 35}));
}

TEST(Fairness, ABusyProcessLetsAnotherRunOnASingleThread) {
  // One thread: the woken process can only run if the busy one yields.
  peeper_test::event_queue<int> result;
  std::atomic<bool> other_ran{false};
  peeper::runtime rt(peeper::runtime_options{.threads = 1, .budget = 64});
  auto other = peeper::spawn(rt, [&other_ran]() -> peeper::task<> {
    co_await peeper::receive<poke>();
    other_ran = true;
  });
  auto busy = peeper::spawn(rt, [&, other]() -> peeper::task<> {
    co_await peeper::receive<stop>();  // every ping is queued by now
    int first_seen = -1;
    for (int i = 0; i < 10000; ++i) {
      co_await peeper::receive<ping>();
      if (i == 0) peeper::send(other, poke{});
      if (first_seen < 0 && other_ran) first_seen = i;
    }
    result.push(first_seen);
  });
  for (int i = 0; i < 10000; ++i) peeper::send(busy, ping{});
  peeper::send(busy, stop{});
  auto first_seen = result.pop();
  ASSERT_TRUE(first_seen);
  EXPECT_GE(*first_seen, 1);
  EXPECT_LE(*first_seen, 64) << "the other process ran only after the busy one's queue";
}

// ---- threads --------------------------------------------------------------------

/// Each of `n` processes waits (spinning) until all `n` are running at once,
/// which can only happen on `n` threads, then reports its thread.
template <class Spawn>
std::set<std::thread::id> run_concurrently(int n, Spawn spawn_one) {
  peeper_test::event_queue<std::thread::id> ids;
  std::atomic<int> arrived{0};
  for (int i = 0; i < n; ++i) {
    spawn_one([&ids, &arrived, n] {
      arrived.fetch_add(1);
      const auto give_up = std::chrono::steady_clock::now() + peeper_test::hang_guard;
      while (arrived.load() < n && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::yield();
      }
      ids.push(std::this_thread::get_id());
    });
  }
  std::set<std::thread::id> out;
  for (int i = 0; i < n; ++i) {
    auto id = ids.pop();
    if (!id) {
      ADD_FAILURE() << "a process never ran";
      break;
    }
    out.insert(*id);
  }
  EXPECT_EQ(arrived.load(), n);
  return out;
}

TEST(Threads, WorkFromOutsideRunsOnBothSchedulerThreads) {
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  auto ids = run_concurrently(2, [&rt](auto body) { peeper::spawn(rt, body); });
  EXPECT_EQ(ids.size(), 2U);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0U) << "processes never run on the caller";
}

TEST(Threads, WorkSpawnedInsideAProcessIsStolenByTheIdleThread) {
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  peeper_test::event_queue<int> spawned;
  std::set<std::thread::id> ids;
  // The spawner runs on one worker; its children land on that worker's queue.
  ids = run_concurrently(2, [&rt](auto body) {
    peeper_test::event_queue<bool> done;
    peeper::spawn(rt, [body, &done] {
      peeper::spawn(peeper::this_runtime(), body);
      done.push(true);
    });
    ASSERT_TRUE(done.pop());
  });
  EXPECT_EQ(ids.size(), 2U);
}

TEST(Threads, ManyBusyProcessesSpreadOverBothThreads) {
  peeper_test::event_queue<std::thread::id> ids;
  std::atomic<int> arrived{0};
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  constexpr int n = 200;
  for (int i = 0; i < n; ++i) {
    peeper::spawn(rt, [&] {
      const int me = arrived.fetch_add(1) + 1;
      // The first two meet, so both threads are certainly used; the rest just work.
      const auto give_up = std::chrono::steady_clock::now() + peeper_test::hang_guard;
      while (me <= 2 && arrived.load() < 2 && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::yield();
      }
      volatile unsigned sink = 0;
      for (unsigned k = 0; k < 10000; ++k) sink = sink + k;
      ids.push(std::this_thread::get_id());
    });
  }
  std::set<std::thread::id> seen;
  for (int i = 0; i < n; ++i) {
    auto id = ids.pop();
    ASSERT_TRUE(id);
    seen.insert(*id);
  }
  EXPECT_EQ(seen.size(), 2U);
}

// ---- shutdown -------------------------------------------------------------------

/// Adds an exit hook to the calling process that reports its reason.
void report_exit(peeper_test::event_queue<exit_reason>& q) {
  peeper::detail::add_exit_hook([&q](const exit_reason& r) { q.push(r); });
}

TEST(Shutdown, StopsEveryProcessWithReasonShutdown) {
  peeper_test::event_queue<exit_reason> reasons;
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  constexpr int roots = 50;
  constexpr int children = 3;
  peeper_test::event_queue<bool> ready;
  for (int i = 0; i < roots; ++i) {
    peeper::spawn(rt, [&]() -> peeper::task<> {
      report_exit(reasons);
      for (int c = 0; c < children; ++c) {
        // Unlinked children: shutdown must find them too.
        peeper::spawn(peeper::this_runtime(), [&]() -> peeper::task<> {
          report_exit(reasons);
          ready.push(true);
          co_await peeper::receive<stop>();
        });
      }
      ready.push(true);
      co_await peeper::receive<stop>();
    });
  }
  for (int i = 0; i < roots * (children + 1); ++i) ASSERT_TRUE(ready.pop());
  EXPECT_EQ(rt.process_count(), static_cast<std::size_t>(roots * (children + 1)));
  rt.shutdown();
  EXPECT_TRUE(rt.stopping());
  EXPECT_EQ(rt.process_count(), 0U);
  EXPECT_EQ(reasons.size(), static_cast<std::size_t>(roots * (children + 1)));
  while (auto r = reasons.try_pop()) EXPECT_EQ(*r, exit_reason::shutdown());
}

TEST(Shutdown, DoesNotWaitOutItsTimeoutForProcessesStartedInsideProcesses) {
  // With an hour's timeout, waiting for the roots' children to exit by
  // themselves would hang this test; they must be told to stop.
  peeper_test::event_queue<bool> ready;
  peeper::runtime rt(peeper::runtime_options{.threads = 2, .shutdown_timeout = 1h});
  peeper::spawn(rt, [&ready]() -> peeper::task<> {
    peeper::spawn(peeper::this_runtime(), [&ready]() -> peeper::task<> {
      ready.push(true);
      co_await peeper::receive<stop>();
    });
    co_await peeper::receive<stop>();
  });
  ASSERT_TRUE(ready.pop());
  rt.shutdown();
  EXPECT_EQ(rt.process_count(), 0U);
}

TEST(Shutdown, StopsProcessesStartedFromOutsideNewestFirst) {
  peeper_test::event_queue<exit_reason> unused;
  std::string order;
  peeper::runtime rt(deterministic());
  for (char c : std::string("ABC")) {
    peeper::spawn(rt, [&order, c]() -> peeper::task<> {
      peeper::detail::add_exit_hook([&order, c](const exit_reason&) { order += c; });
      co_await peeper::receive<stop>();
    });
  }
  rt.run_until_idle();
  rt.shutdown();
  EXPECT_EQ(order, "CBA");
}

TEST(Shutdown, StopsProcessesThatTrapExits) {
  peeper_test::event_queue<exit_reason> reasons;
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  peeper_test::event_queue<bool> ready;
  peeper::spawn(rt, [&]() -> peeper::task<> {
    peeper::trap_exit(true);
    report_exit(reasons);
    ready.push(true);
    while (true) co_await peeper::receive();
  });
  ASSERT_TRUE(ready.pop());
  rt.shutdown();
  auto r = reasons.try_pop();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, exit_reason::shutdown());
}

TEST(Shutdown, StopsAProcessBusyWithALongQueue) {
  peeper::runtime rt(deterministic());
  int handled = 0;
  auto p = peeper::spawn(rt, [&handled]() -> peeper::task<> {
    while (true) {
      co_await peeper::receive<ping>();
      ++handled;
    }
  });
  rt.run_until_idle();
  for (int i = 0; i < 10000; ++i) peeper::send(p, ping{});
  rt.shutdown();
  EXPECT_FALSE(peeper::is_alive(p));
  EXPECT_LT(handled, 10000) << "stop is a signal, not a message behind the queue";
}

TEST(Shutdown, FromInsideAProcessThrowsBadArgument) {
  peeper::runtime rt(deterministic());
  bool threw = false;
  peeper::spawn(rt, [&threw] {
    try {
      peeper::this_runtime().shutdown();
    } catch (const peeper::bad_argument&) {
      threw = true;
    }
  });
  rt.run_until_idle();
  EXPECT_TRUE(threw);
  EXPECT_FALSE(rt.stopping());
}

TEST(Shutdown, IsIdempotentAndForbidsSpawning) {
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  rt.shutdown();
  rt.shutdown();
  EXPECT_TRUE(rt.stopping());
  EXPECT_EQ(rt.threads(), 2U);
  EXPECT_THROW((void)peeper::spawn(rt, [] {}), peeper::bad_argument);
}

TEST(Shutdown, DestroyingARuntimeWithLiveProcessesFreesEverything) {
  // Processes waiting, with queued messages, links, monitors, names and
  // pending timers: the destructor stops them all (ASan checks for leaks).
  for (bool det : {true, false}) {
    peeper::runtime rt(peeper::runtime_options{.threads = 2, .deterministic = det});
    auto a = peeper::spawn(rt, idle_until_stop);
    peeper::register_name(rt, "a", a);
    for (int i = 0; i < 10; ++i) {
      auto p = peeper::spawn(rt, [a]() -> peeper::task<> {
        peeper::link(a);
        (void)peeper::monitor(a);
        peeper::send_after(peeper::self(), 1h, ping{});
        co_await peeper::receive<stop>();
      });
      for (int j = 0; j < 10; ++j) peeper::send(p, ping{});
    }
    if (det) rt.run_until_idle();
  }
}

}  // namespace runtime_scheduler_test
