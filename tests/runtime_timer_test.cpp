// Timers: send_after and cancel_timer, exact on the deterministic clock,
// monotonic on the real one.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/process.hpp>
#include <peeper/runtime/timer.hpp>

#include "test_support.hpp"

namespace runtime_timer_test {

using namespace std::chrono_literals;
using peeper_test::deterministic;

struct tick {
  int n = 0;
};
struct stop {};

/// A process that records every tick it receives, with the time it got it.
struct recorder {
  std::vector<std::pair<int, std::chrono::nanoseconds>> got;
  peeper::pid spawn(peeper::runtime& rt) {
    return peeper::spawn(rt, [this, &rt]() -> peeper::task<> {
      while (true) {
        auto t = co_await peeper::receive<tick>();
        got.emplace_back(t->n, rt.now().time_since_epoch());
      }
    });
  }
};

TEST(Timer, SendAfterDeliversExactlyAtTheDeadline) {
  peeper::runtime rt(deterministic());
  recorder r;
  auto p = r.spawn(rt);
  rt.run_until_idle();
  const auto start = rt.now();
  EXPECT_TRUE(peeper::send_after(p, 100ms, tick{1}));
  rt.advance(99ms);
  EXPECT_TRUE(r.got.empty()) << "fired early";
  rt.advance(1ms);
  ASSERT_EQ(r.got.size(), 1U);
  EXPECT_EQ(r.got[0].first, 1);
  EXPECT_EQ(r.got[0].second, (start + 100ms).time_since_epoch());
  EXPECT_EQ(rt.now(), start + 100ms);
}

TEST(Timer, TimersFireInDeadlineOrderAndTiesInCreationOrder) {
  peeper::runtime rt(deterministic());
  recorder r;
  auto p = r.spawn(rt);
  rt.run_until_idle();
  peeper::send_after(p, 30ms, tick{30});
  peeper::send_after(p, 10ms, tick{10});
  peeper::send_after(p, 20ms, tick{20});
  peeper::send_after(p, 20ms, tick{21});
  rt.advance(1s);
  ASSERT_EQ(r.got.size(), 4U);
  EXPECT_EQ(r.got[0], std::make_pair(10, std::chrono::nanoseconds(10ms)));
  EXPECT_EQ(r.got[1], std::make_pair(20, std::chrono::nanoseconds(20ms)));
  EXPECT_EQ(r.got[2], std::make_pair(21, std::chrono::nanoseconds(20ms)));
  EXPECT_EQ(r.got[3], std::make_pair(30, std::chrono::nanoseconds(30ms)));
}

TEST(Timer, CancelBeforeItFiresPreventsTheMessage) {
  peeper::runtime rt(deterministic());
  recorder r;
  auto p = r.spawn(rt);
  rt.run_until_idle();
  auto keep = peeper::send_after(p, 10ms, tick{1});
  auto drop = peeper::send_after(p, 10ms, tick{2});
  EXPECT_NE(keep, drop);
  EXPECT_TRUE(peeper::cancel_timer(rt, drop));
  EXPECT_FALSE(peeper::cancel_timer(rt, drop)) << "cancelled already";
  rt.advance(10ms);
  ASSERT_EQ(r.got.size(), 1U);
  EXPECT_EQ(r.got[0].first, 1);
  EXPECT_FALSE(peeper::cancel_timer(rt, keep)) << "fired already";
  EXPECT_FALSE(peeper::cancel_timer(rt, peeper::ref::make())) << "never a timer";
}

TEST(Timer, AStaleRefNeverCancelsTheTimerThatReusedItsSlot) {
  peeper::runtime rt(deterministic());
  recorder r;
  auto p = r.spawn(rt);
  rt.run_until_idle();
  auto first = peeper::send_after(p, 10ms, tick{1});
  EXPECT_TRUE(peeper::cancel_timer(rt, first));
  auto second = peeper::send_after(p, 10ms, tick{2});  // takes the slot `first` freed
  EXPECT_NE(first, second);
  EXPECT_FALSE(peeper::cancel_timer(rt, first));
  rt.advance(10ms);
  ASSERT_EQ(r.got.size(), 1U);
  EXPECT_EQ(r.got[0].first, 2);
}

TEST(Timer, ManyTimersArmedAndCancelledInAnyOrderFireInDeadlineOrder) {
  peeper::runtime rt(deterministic());
  recorder r;
  auto p = r.spawn(rt);
  rt.run_until_idle();
  // Deadlines 0..999 ms scattered by a fixed permutation; every third one cancelled.
  constexpr int count = 1000;
  std::vector<peeper::ref> refs(count);
  for (int i = 0; i < count; ++i) {
    const int at = (i * 389) % count;  // 389 is prime to 1000: a permutation of 0..999
    refs[at] = peeper::send_after(p, std::chrono::milliseconds(at), tick{at});
  }
  std::vector<int> want;
  for (int at = 0; at < count; ++at) {
    if (at % 3 == 0) {
      EXPECT_TRUE(peeper::cancel_timer(rt, refs[at]));
    } else {
      want.push_back(at);
    }
  }
  rt.advance(1s);
  std::vector<int> got;
  for (const auto& [n, when] : r.got) {
    EXPECT_EQ(when, std::chrono::nanoseconds(std::chrono::milliseconds(n)));
    got.push_back(n);
  }
  EXPECT_EQ(got, want);
}

TEST(Timer, AdvanceRunsTimersThatProcessesSetWhileItRuns) {
  peeper::runtime rt(deterministic());
  std::vector<std::chrono::nanoseconds> at;
  peeper::spawn(rt, [&]() -> peeper::task<> {
    for (int i = 0; i < 5; ++i) {
      peeper::send_after(peeper::self(), 10ms, tick{i});
      co_await peeper::receive<tick>();
      at.push_back(rt.now().time_since_epoch());
    }
  });
  rt.run_until_idle();
  rt.advance(45ms);
  EXPECT_EQ(at, (std::vector<std::chrono::nanoseconds>{10ms, 20ms, 30ms, 40ms}));
  rt.advance(5ms);
  EXPECT_EQ(at.size(), 5U);
  EXPECT_EQ(at.back(), 50ms);
}

TEST(Timer, ATimerToAProcessThatDiedIsDropped) {
  peeper::runtime rt(deterministic());
  auto p = peeper::spawn(rt, []() -> peeper::task<> { co_await peeper::receive<stop>(); });
  rt.run_until_idle();
  peeper::send_after(p, 10ms, tick{});
  peeper::send(p, stop{});
  rt.run_until_idle();
  rt.advance(10ms);  // delivers into nothing
  EXPECT_EQ(rt.process_count(), 0U);
}

TEST(Timer, ZeroDelayFiresAtTheNextAdvance) {
  peeper::runtime rt(deterministic());
  recorder r;
  auto p = r.spawn(rt);
  rt.run_until_idle();
  peeper::send_after(p, 0ms, tick{0});
  rt.advance(0ms);
  ASSERT_EQ(r.got.size(), 1U);
  EXPECT_EQ(r.got[0].second, std::chrono::nanoseconds(0));
}

TEST(Timer, RealClockTimerNeverFiresEarly) {
  peeper_test::event_queue<std::chrono::steady_clock::time_point> q;
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  auto p = peeper::spawn(rt, [&q]() -> peeper::task<> {
    co_await peeper::receive<tick>();
    q.push(std::chrono::steady_clock::now());
  });
  const auto sent = std::chrono::steady_clock::now();
  peeper::send_after(p, 20ms, tick{});
  auto got = q.pop();
  ASSERT_TRUE(got);
  EXPECT_GE(*got - sent, 20ms);
}

TEST(Timer, RealClockTimerCanBeCancelled) {
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  auto p = peeper::spawn(rt, []() -> peeper::task<> { co_await peeper::receive<stop>(); });
  auto t = peeper::send_after(p, 1h, tick{});
  EXPECT_TRUE(peeper::cancel_timer(rt, t));
  EXPECT_FALSE(peeper::cancel_timer(rt, t));
  peeper::send(p, stop{});
}

TEST(Timer, ThreadedRuntimeDropsPendingTimersAtShutdown) {
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  auto p = peeper::spawn(rt, []() -> peeper::task<> { co_await peeper::receive<stop>(); });
  for (int i = 0; i < 100; ++i) peeper::send_after(p, 1h, tick{i});
  rt.shutdown();  // nothing waits for the hour; nothing leaks (ASan)
  EXPECT_EQ(rt.process_count(), 0U);
}

}  // namespace runtime_timer_test
