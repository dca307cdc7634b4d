// Exit signals, links, monitors and trap_exit, with OTP's semantics.
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/process.hpp>

#include "test_support.hpp"

namespace runtime_signals_test {

using peeper::exit_reason;
using peeper_test::deterministic;
using peeper_test::exit_of;

struct ping {};
struct stop {};
struct go {};

/// A process that waits for `stop`, then exits normal.
peeper::task<> idle_until_stop() { co_await peeper::receive<stop>(); }

/// Spawns `body` in `rt` and a watcher of it whose report lands in `out`.
/// Deterministic runtimes: the watcher is set before anything runs.
template <class F>
peeper::pid spawn_watched(peeper::runtime& rt, F body, std::optional<exit_reason>& out) {
  auto p = peeper::spawn(rt, std::move(body));
  peeper::spawn(rt, [p, &out]() -> peeper::task<> {
    peeper::monitor(p);
    auto down = co_await peeper::receive<peeper::down_message>();
    out = down->reason;
  });
  return p;
}

// ---- links ------------------------------------------------------------------

TEST(Link, AbnormalExitOfALinkedPeerKillsTheCallerWithTheSameReason) {
  peeper::runtime rt(deterministic());
  std::optional<exit_reason> a_reason;
  std::optional<exit_reason> b_reason;
  auto b = spawn_watched(rt, idle_until_stop, b_reason);
  auto a = spawn_watched(
      rt,
      [b]() -> peeper::task<> {
        peeper::link(b);
        co_await peeper::receive<stop>();
      },
      a_reason);
  rt.run_until_idle();
  ASSERT_TRUE(peeper::is_alive(a));
  peeper::exit(b, exit_reason::error("b failed"));
  rt.run_until_idle();
  ASSERT_TRUE(b_reason);
  ASSERT_TRUE(a_reason);
  EXPECT_EQ(*b_reason, exit_reason::error("b failed"));
  EXPECT_EQ(*a_reason, exit_reason::error("b failed"));
}

TEST(Link, IsBidirectional) {
  peeper::runtime rt(deterministic());
  std::optional<exit_reason> b_reason;
  auto b = spawn_watched(rt, idle_until_stop, b_reason);
  auto a = peeper::spawn(rt, [b]() -> peeper::task<> {
    peeper::link(b);
    co_await peeper::receive<go>();
    throw std::runtime_error("a crashed");
  });
  rt.run_until_idle();
  {
    peeper_test::quiet_log quiet;
    peeper::send(a, go{});
    rt.run_until_idle();
  }
  ASSERT_TRUE(b_reason);
  EXPECT_EQ(*b_reason, exit_reason::exception("std::runtime_error", "a crashed"));
}

TEST(Link, NormalExitOfALinkedPeerIsIgnoredWithoutTrapExit) {
  peeper::runtime rt(deterministic());
  std::optional<exit_reason> a_reason;
  auto b = peeper::spawn(rt, idle_until_stop);
  auto a = spawn_watched(
      rt,
      [b]() -> peeper::task<> {
        peeper::link(b);
        co_await peeper::receive<stop>();
      },
      a_reason);
  rt.run_until_idle();
  peeper::send(b, stop{});
  rt.run_until_idle();
  EXPECT_FALSE(peeper::is_alive(b));
  EXPECT_TRUE(peeper::is_alive(a));
  EXPECT_FALSE(a_reason);
  peeper::send(a, stop{});
  rt.run_until_idle();
  EXPECT_EQ(a_reason, exit_reason::normal());
}

TEST(Link, TrappingProcessGetsExitMessagesInsteadOfDying) {
  peeper::runtime rt(deterministic());
  std::vector<peeper::exit_message> got;
  auto b1 = peeper::spawn(rt, idle_until_stop);
  auto b2 = peeper::spawn(rt, idle_until_stop);
  auto a = peeper::spawn(rt, [&, b1, b2]() -> peeper::task<> {
    EXPECT_FALSE(peeper::trap_exit(true));
    peeper::link(b1);
    peeper::link(b2);
    co_await peeper::receive<go>();
    for (int i = 0; i < 2; ++i) got.push_back(*co_await peeper::receive<peeper::exit_message>());
    co_await peeper::receive<stop>();
  });
  rt.run_until_idle();
  peeper::send(a, go{});
  peeper::send(b1, stop{});                           // normal
  peeper::exit(b2, exit_reason::error("b2 failed"));  // abnormal
  rt.run_until_idle();
  EXPECT_TRUE(peeper::is_alive(a));
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].from, b1);
  EXPECT_EQ(got[0].reason, exit_reason::normal());
  EXPECT_EQ(got[1].from, b2);
  EXPECT_EQ(got[1].reason, exit_reason::error("b2 failed"));
  peeper::send(a, stop{});
  rt.run_until_idle();
}

TEST(Link, TrapExitReturnsThePreviousSetting) {
  peeper::runtime rt(deterministic());
  std::vector<bool> seen;
  peeper::spawn(rt, [&seen] {
    seen.push_back(peeper::trap_exit(true));
    seen.push_back(peeper::trap_exit(true));
    seen.push_back(peeper::trap_exit(false));
    seen.push_back(peeper::trap_exit(false));
  });
  rt.run_until_idle();
  EXPECT_EQ(seen, (std::vector<bool>{false, true, true, false}));
}

TEST(Link, UnlinkStopsPropagationFromEitherSide) {
  peeper::runtime rt(deterministic());
  std::optional<exit_reason> a_reason;
  std::optional<exit_reason> c_reason;
  auto b = peeper::spawn(rt, idle_until_stop);
  // a links and unlinks b itself.
  auto a = spawn_watched(
      rt,
      [b]() -> peeper::task<> {
        peeper::link(b);
        peeper::unlink(b);
        peeper::unlink(b);  // unlinking twice is harmless
        co_await peeper::receive<stop>();
      },
      a_reason);
  // c is linked to d, and d unlinks c.
  peeper::pid c;
  auto d = peeper::spawn(rt, [&c]() -> peeper::task<> {
    co_await peeper::receive<go>();
    peeper::unlink(c);
    co_await peeper::receive<stop>();
  });
  c = spawn_watched(
      rt,
      [d]() -> peeper::task<> {
        peeper::link(d);
        co_await peeper::receive<stop>();
      },
      c_reason);
  rt.run_until_idle();
  peeper::send(d, go{});
  rt.run_until_idle();
  peeper::exit(b, exit_reason::error("b"));
  peeper::exit(d, exit_reason::error("d"));
  rt.run_until_idle();
  EXPECT_FALSE(peeper::is_alive(b));
  EXPECT_FALSE(peeper::is_alive(d));
  EXPECT_TRUE(peeper::is_alive(a));
  EXPECT_TRUE(peeper::is_alive(c));
  EXPECT_FALSE(a_reason);
  EXPECT_FALSE(c_reason);
  peeper::send(a, stop{});
  peeper::send(c, stop{});
  rt.run_until_idle();
}

TEST(Link, LinkingTwiceOrToSelfMakesOneLinkAtMost) {
  peeper::runtime rt(deterministic());
  std::vector<peeper::exit_message> got;
  auto b = peeper::spawn(rt, idle_until_stop);
  auto a = peeper::spawn(rt, [&, b]() -> peeper::task<> {
    peeper::trap_exit(true);
    peeper::link(peeper::self());
    peeper::link(b);
    peeper::link(b);
    co_await peeper::receive<go>();
    got.push_back(*co_await peeper::receive<peeper::exit_message>());
    auto extra = co_await peeper::receive<peeper::exit_message>(std::chrono::milliseconds(10));
    if (extra) got.push_back(*extra);
  });
  rt.run_until_idle();
  peeper::exit(b, exit_reason::error("x"));
  peeper::send(a, go{});
  rt.run_until_idle();
  rt.advance(std::chrono::milliseconds(10));
  EXPECT_FALSE(peeper::is_alive(a));
  ASSERT_EQ(got.size(), 1U) << "one link, one exit message";
  EXPECT_EQ(got[0].from, b);
}

TEST(Link, LinkToADeadProcessKillsTheCallerWithNoproc) {
  peeper::runtime rt(deterministic());
  auto dead = peeper::spawn(rt, [] {});
  rt.run_until_idle();
  auto reason = exit_of(rt, [dead]() -> peeper::task<> {
    peeper::link(dead);
    co_await peeper::receive<stop>();
    ADD_FAILURE() << "survived a link to a dead process";
  });
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::noproc());
}

TEST(Link, LinkToADeadProcessGivesATrappingCallerAnExitMessageWithNoproc) {
  peeper::runtime rt(deterministic());
  auto dead = peeper::spawn(rt, [] {});
  rt.run_until_idle();
  std::optional<peeper::exit_message> got;
  auto reason = exit_of(rt, [dead, &got]() -> peeper::task<> {
    peeper::trap_exit(true);
    peeper::link(dead);
    got = co_await peeper::receive<peeper::exit_message>();
  });
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::normal());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, dead);
  EXPECT_EQ(got->reason, exit_reason::noproc());
}

TEST(Link, AChainOfLinkedProcessesDiesTogether) {
  peeper::runtime rt(deterministic());
  constexpr int length = 50;
  std::vector<peeper::pid> chain;
  std::vector<std::optional<exit_reason>> reasons(length);
  chain.push_back(spawn_watched(rt, idle_until_stop, reasons[0]));
  for (int i = 1; i < length; ++i) {
    auto prev = chain.back();
    chain.push_back(spawn_watched(
        rt,
        [prev]() -> peeper::task<> {
          peeper::link(prev);
          co_await peeper::receive<stop>();
        },
        reasons[static_cast<std::size_t>(i)]));
  }
  rt.run_until_idle();
  peeper::exit(chain.back(), exit_reason::shutdown("chain"));
  rt.run_until_idle();
  for (int i = 0; i < length; ++i) {
    ASSERT_TRUE(reasons[static_cast<std::size_t>(i)]) << i;
    EXPECT_EQ(*reasons[static_cast<std::size_t>(i)], exit_reason::shutdown("chain")) << i;
  }
  EXPECT_EQ(rt.process_count(), 0U);
}

// ---- exit(pid, reason) ------------------------------------------------------

TEST(Exit, NormalIsIgnoredByAProcessNotTrappingExits) {
  peeper::runtime rt(deterministic());
  std::optional<exit_reason> reason;
  auto p = spawn_watched(rt, idle_until_stop, reason);
  rt.run_until_idle();
  EXPECT_TRUE(peeper::exit(p, exit_reason::normal()));  // from outside any process
  peeper::spawn(rt, [p] { EXPECT_TRUE(peeper::exit(p, exit_reason::normal())); });
  rt.run_until_idle();
  EXPECT_TRUE(peeper::is_alive(p));
  EXPECT_FALSE(reason);
  peeper::send(p, stop{});
  rt.run_until_idle();
}

TEST(Exit, NormalBecomesAnExitMessageForATrappingProcess) {
  peeper::runtime rt(deterministic());
  std::vector<peeper::exit_message> got;
  auto p = peeper::spawn(rt, [&got]() -> peeper::task<> {
    peeper::trap_exit(true);
    for (int i = 0; i < 2; ++i) got.push_back(*co_await peeper::receive<peeper::exit_message>());
  });
  rt.run_until_idle();
  peeper::exit(p, exit_reason::normal());
  auto sender = peeper::spawn(rt, [p] { peeper::exit(p, exit_reason::normal()); });
  rt.run_until_idle();
  ASSERT_EQ(got.size(), 2U);
  EXPECT_FALSE(got[0].from) << "sent from outside any process";
  EXPECT_EQ(got[0].reason, exit_reason::normal());
  EXPECT_EQ(got[1].from, sender);
  EXPECT_EQ(got[1].reason, exit_reason::normal());
}

TEST(Exit, NormalSentToItselfEndsTheCaller) {
  peeper::runtime rt(deterministic());
  auto reason = exit_of(rt, []() -> peeper::task<> {
    EXPECT_TRUE(peeper::exit(peeper::self(), exit_reason::normal()));
    co_await peeper::receive<stop>();
    ADD_FAILURE() << "exit(self(), normal) did not end the process";
  });
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::normal());
}

TEST(Exit, NormalSentToItselfByATrappingProcessIsAMessage) {
  peeper::runtime rt(deterministic());
  std::optional<peeper::exit_message> got;
  auto p = peeper::spawn(rt, [&got]() -> peeper::task<> {
    peeper::trap_exit(true);
    peeper::exit(peeper::self(), exit_reason::normal());
    got = co_await peeper::receive<peeper::exit_message>();
  });
  rt.run_until_idle();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, p);
  EXPECT_EQ(got->reason, exit_reason::normal());
}

TEST(Exit, AbnormalReasonSentToItselfFromAPlainBodyEndsItWithThatReason) {
  peeper::runtime rt(deterministic());
  auto reason = exit_of(rt, [] { peeper::exit(peeper::self(), exit_reason::error("self")); });
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::error("self"));
}

TEST(Exit, AbnormalReasonKillsANonTrappingProcessWithThatReason) {
  peeper::runtime rt(deterministic());
  std::optional<exit_reason> reason;
  auto p = spawn_watched(rt, idle_until_stop, reason);
  rt.run_until_idle();
  EXPECT_TRUE(peeper::exit(p, exit_reason::shutdown()));
  rt.run_until_idle();
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::shutdown());
  EXPECT_FALSE(peeper::exit(p, exit_reason::shutdown())) << "now dead";
}

TEST(Exit, AbnormalReasonBecomesAnExitMessageForATrappingProcess) {
  peeper::runtime rt(deterministic());
  std::optional<peeper::exit_message> got;
  auto p = peeper::spawn(rt, [&got]() -> peeper::task<> {
    peeper::trap_exit(true);
    got = co_await peeper::receive<peeper::exit_message>();
  });
  rt.run_until_idle();
  peeper::exit(p, exit_reason::error("please stop"));
  rt.run_until_idle();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->reason, exit_reason::error("please stop"));
  EXPECT_FALSE(peeper::is_alive(p)) << "it ended normally after receiving the message";
}

TEST(Exit, KillCannotBeTrappedAndEndsTheTargetWithKilled) {
  peeper::runtime rt(deterministic());
  std::optional<exit_reason> reason;
  auto p = spawn_watched(
      rt,
      []() -> peeper::task<> {
        peeper::trap_exit(true);
        co_await peeper::receive<peeper::exit_message>();
        ADD_FAILURE() << "kill was trapped";
      },
      reason);
  rt.run_until_idle();
  EXPECT_TRUE(peeper::exit(p, exit_reason::kill()));
  rt.run_until_idle();
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::killed());
}

TEST(Exit, KillPropagatesToLinksAsKilled) {
  peeper::runtime rt(deterministic());
  std::optional<exit_reason> plain_reason;
  std::optional<peeper::exit_message> trapped;
  auto target = peeper::spawn(rt, idle_until_stop);
  spawn_watched(
      rt,
      [target]() -> peeper::task<> {
        peeper::link(target);
        co_await peeper::receive<stop>();
      },
      plain_reason);
  auto trapper = peeper::spawn(rt, [target, &trapped]() -> peeper::task<> {
    peeper::trap_exit(true);
    peeper::link(target);
    trapped = co_await peeper::receive<peeper::exit_message>();
  });
  rt.run_until_idle();
  peeper::exit(target, exit_reason::kill());
  rt.run_until_idle();
  ASSERT_TRUE(plain_reason);
  EXPECT_EQ(*plain_reason, exit_reason::killed());
  ASSERT_TRUE(trapped) << "a trapping link receives killed as a message";
  EXPECT_EQ(trapped->from, target);
  EXPECT_EQ(trapped->reason, exit_reason::killed());
  EXPECT_FALSE(peeper::is_alive(trapper));
}

TEST(Exit, KillSentToItselfEndsTheCallerWithKilled) {
  peeper::runtime rt(deterministic());
  auto reason = exit_of(rt, []() -> peeper::task<> {
    peeper::trap_exit(true);
    peeper::exit(peeper::self(), exit_reason::kill());
    co_await peeper::receive<stop>();
  });
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::killed());
}

TEST(Exit, KillEndsABusyProcessWithoutItWorkingThroughItsQueue) {
  peeper::runtime rt(deterministic());
  int handled = 0;
  auto p = peeper::spawn(rt, [&handled]() -> peeper::task<> {
    while (true) {
      co_await peeper::receive<ping>();
      ++handled;
    }
  });
  rt.run_until_idle();
  for (int i = 0; i < 1000; ++i) peeper::send(p, ping{});
  peeper::exit(p, exit_reason::kill());
  rt.run_until_idle();
  EXPECT_FALSE(peeper::is_alive(p));
  EXPECT_LT(handled, 1000);
}

TEST(Exit, ReturnsFalseForADeadTarget) {
  peeper::runtime rt(deterministic());
  auto p = peeper::spawn(rt, [] {});
  rt.run_until_idle();
  EXPECT_FALSE(peeper::exit(p, exit_reason::kill()));
  EXPECT_FALSE(peeper::exit(peeper::pid(), exit_reason::kill()));
}

// ---- monitors ---------------------------------------------------------------

TEST(Monitor, DeliversOneDownWithTheReasonAndTheMonitorReference) {
  peeper::runtime rt(deterministic());
  auto target = peeper::spawn(rt, idle_until_stop);
  std::vector<peeper::down_message> downs;
  peeper::ref r1;
  peeper::ref r2;
  auto watcher = peeper::spawn(rt, [&]() -> peeper::task<> {
    r1 = peeper::monitor(target);
    r2 = peeper::monitor(target);  // two monitors, two DOWNs
    for (int i = 0; i < 2; ++i) downs.push_back(*co_await peeper::receive<peeper::down_message>());
    auto more = co_await peeper::receive<peeper::down_message>(std::chrono::milliseconds(10));
    if (more) downs.push_back(*more);
  });
  rt.run_until_idle();
  EXPECT_NE(r1, r2);
  peeper::exit(target, exit_reason::error("gone"));
  rt.run_until_idle();
  rt.advance(std::chrono::milliseconds(10));
  EXPECT_FALSE(peeper::is_alive(watcher));
  ASSERT_EQ(downs.size(), 2U);
  // Each monitor has its own DOWN (in no particular order).
  EXPECT_NE(downs[0].monitor, downs[1].monitor);
  EXPECT_TRUE(downs[0].monitor == r1 || downs[0].monitor == r2);
  EXPECT_TRUE(downs[1].monitor == r1 || downs[1].monitor == r2);
  for (const auto& d : downs) {
    EXPECT_EQ(d.process, target);
    EXPECT_EQ(d.reason, exit_reason::error("gone"));
  }
}

TEST(Monitor, DoesNotLinkTheWatcherToTheTarget) {
  peeper::runtime rt(deterministic());
  auto target = peeper::spawn(rt, idle_until_stop);
  bool survived = false;
  peeper::spawn(rt, [&]() -> peeper::task<> {
    peeper::monitor(target);
    co_await peeper::receive<peeper::down_message>();
    survived = true;
  });
  rt.run_until_idle();
  peeper::exit(target, exit_reason::kill());
  rt.run_until_idle();
  EXPECT_TRUE(survived);
}

TEST(Monitor, OfADeadProcessDeliversDownWithNoproc) {
  peeper::runtime rt(deterministic());
  auto dead = peeper::spawn(rt, [] {});
  rt.run_until_idle();
  std::optional<peeper::down_message> down;
  peeper::ref r;
  peeper::spawn(rt, [&]() -> peeper::task<> {
    r = peeper::monitor(dead);
    down = co_await peeper::receive<peeper::down_message>();
  });
  rt.run_until_idle();
  ASSERT_TRUE(down);
  EXPECT_EQ(down->monitor, r);
  EXPECT_EQ(down->process, dead);
  EXPECT_EQ(down->reason, exit_reason::noproc());
}

TEST(Monitor, DemonitorBeforeTheExitMeansNoDown) {
  peeper::runtime rt(deterministic());
  auto target = peeper::spawn(rt, idle_until_stop);
  bool active = false;
  bool got_down = true;
  bool active_again = true;
  auto w = peeper::spawn(rt, [&]() -> peeper::task<> {
    auto r = peeper::monitor(target);
    active = peeper::demonitor(r);
    active_again = peeper::demonitor(r);
    co_await peeper::receive<go>();
    got_down = static_cast<bool>(
        co_await peeper::receive<peeper::down_message>(std::chrono::milliseconds(10)));
  });
  rt.run_until_idle();
  peeper::exit(target, exit_reason::kill());
  rt.run_until_idle();
  peeper::send(w, go{});
  rt.run_until_idle();
  rt.advance(std::chrono::milliseconds(10));
  EXPECT_TRUE(active);
  EXPECT_FALSE(active_again);
  EXPECT_FALSE(got_down);
}

TEST(Monitor, DemonitorWithFlushRemovesADownAlreadyQueued) {
  peeper::runtime rt(deterministic());
  auto t1 = peeper::spawn(rt, idle_until_stop);
  auto t2 = peeper::spawn(rt, idle_until_stop);
  std::vector<std::string> log;
  auto w = peeper::spawn(rt, [&]() -> peeper::task<> {
    auto r1 = peeper::monitor(t1);
    auto r2 = peeper::monitor(t2);
    co_await peeper::receive<go>();  // both DOWNs are queued by now
    log.push_back(peeper::demonitor(r1, true) ? "r1 active" : "r1 inactive");
    log.push_back(peeper::demonitor(r2, false) ? "r2 active" : "r2 inactive");
    while (auto d = co_await peeper::receive<peeper::down_message>(std::chrono::milliseconds(1))) {
      log.push_back(d->monitor == r1 ? "down r1" : d->monitor == r2 ? "down r2" : "down ?");
    }
  });
  rt.run_until_idle();
  peeper::exit(t1, exit_reason::kill());
  peeper::exit(t2, exit_reason::kill());
  rt.run_until_idle();
  peeper::send(w, go{});
  rt.run_until_idle();
  rt.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(log, (std::vector<std::string>{"r1 inactive", "r2 inactive", "down r2"}))
      << "flush removed r1's DOWN; without flush r2's stays";
}

TEST(Monitor, DemonitorOfAnUnknownReferenceReturnsFalse) {
  peeper::runtime rt(deterministic());
  bool result = true;
  peeper::spawn(rt, [&result] { result = peeper::demonitor(peeper::ref::make(), true); });
  rt.run_until_idle();
  EXPECT_FALSE(result);
}

TEST(Monitor, AWatcherThatExitsFirstLeavesNothingBehind) {
  peeper::runtime rt(deterministic());
  auto target = peeper::spawn(rt, idle_until_stop);
  peeper::spawn(rt, [target] { (void)peeper::monitor(target); });
  rt.run_until_idle();
  peeper::exit(target, exit_reason::error("late"));  // its DOWN goes to a dead watcher
  rt.run_until_idle();
  EXPECT_EQ(rt.process_count(), 0U);
}

TEST(Monitor, WorksAcrossSchedulerThreads) {
  peeper_test::event_queue<std::string> q;
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  auto target = peeper::spawn(rt, idle_until_stop);
  peeper::spawn(rt, [target, &q]() -> peeper::task<> {
    auto r = peeper::monitor(target);
    q.push("monitoring");
    auto down = co_await peeper::receive<peeper::down_message>();
    q.push(down->monitor == r ? down->reason.to_string() : "wrong ref");
  });
  ASSERT_EQ(q.pop(), "monitoring");
  peeper::send(target, stop{});
  EXPECT_EQ(q.pop(), "normal");
}

}  // namespace runtime_signals_test
