// Talking to a GenServer: call (by pid and by name, from outside threads and
// from processes) and each of its errors, cast, send, deferred replies, stop.
#include <atomic>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/gen_server/gen_server.hpp>

#include "test_support.hpp"

namespace gen_server_call_test {

using namespace std::chrono_literals;
using peeper::call_errc;
using peeper::exit_reason;
using peeper_test::deterministic;

// ---- messages -------------------------------------------------------------------

struct get {};
struct set {
  int value = 0;
};
struct incr {};
struct hold {};   // no reply now: the server keeps the `from`
struct release {  // replies `value` to every held call
  int value = 0;
};
struct drop {};    // no reply, and the `from` is dropped
struct hand_off {  // the reply comes from another process
  peeper::pid helper;
};
struct who {};        // replies with from::caller()
struct twice {};      // replies twice
struct call_self {};  // the server calls itself
struct crash {};
struct get_stats {};
struct late_reply {
  int late_ok = 0;       // held calls answered after their caller gave up... but accepted
  int late_dropped = 0;  // held calls whose answer was refused (the caller gave up)
};
struct reply_to {
  peeper::from f;
};
struct other_call {};
struct wait_on;

// ---- servers ----------------------------------------------------------------------

struct holder_state {
  int value = 0;
  late_reply late;
  peeper_test::event_queue<std::string>* events = nullptr;  // optional notifications
};

struct holder : peeper::gen_server<holder, holder_state> {
  holder_state init(int v) { return holder_state{v, {}, nullptr}; }

  auto handle_call(get, const holder_state& s) { return peeper::reply(s.value); }
  auto handle_call(set m, holder_state& s) {
    s.value = m.value;
    return peeper::reply(m.value);
  }
  auto handle_call(incr, holder_state& s) { return peeper::reply(++s.value); }
  peeper::call_result<int> handle_call(hold, peeper::from f, const holder_state& s) {
    held.push_back(std::move(f));
    if (s.events != nullptr) s.events->push("holding");
    return peeper::noreply();
  }
  peeper::call_result<int> handle_call(drop, const holder_state& /*s*/) {
    return peeper::noreply();
  }
  peeper::call_result<int> handle_call(hand_off m, peeper::from f, const holder_state& /*s*/) {
    peeper::send(m.helper, reply_to{std::move(f)});
    return peeper::noreply();
  }
  auto handle_call(who, peeper::from f, const holder_state& /*s*/) {
    return peeper::reply(f.caller());
  }
  peeper::call_result<std::string> handle_call(twice, peeper::from f, const holder_state& /*s*/) {
    const bool first = f.reply(std::string("first"));
    const bool second = f.reply(std::string("second"));
    EXPECT_TRUE(first);
    EXPECT_FALSE(second);
    EXPECT_FALSE(f.pending());
    return peeper::noreply();
  }
  peeper::task<peeper::reply_t<int>> handle_call(call_self, const holder_state& /*s*/) {
    try {
      (void)co_await peeper::async_call(peeper::server_ref<holder>(peeper::self()), get{});
    } catch (const peeper::call_error& e) {
      co_return peeper::reply(static_cast<int>(e.code()));
    }
    co_return peeper::reply(-1);
  }
  peeper::call_result<int> handle_call(crash, const holder_state& /*s*/) {
    throw std::runtime_error("crashed in call");
  }
  auto handle_call(get_stats, const holder_state& s) { return peeper::reply(s.late); }

  auto handle_cast(release m, holder_state& s) {
    for (auto& f : held) {
      if (f.reply(m.value)) {
        ++s.late.late_ok;
      } else {
        ++s.late.late_dropped;
      }
    }
    held.clear();
    return peeper::noreply();
  }
  auto handle_cast(set m, holder_state& s) {
    s.value = m.value;
    return peeper::noreply();
  }
  auto handle_cast(peeper_test::event_queue<std::string>* q, holder_state& s) {
    s.events = q;
    return peeper::noreply();
  }
  peeper::task<peeper::noreply_t<>> handle_cast(wait_on m, holder_state& s);
  void terminate(const exit_reason& r, holder_state& s) {
    if (s.events != nullptr) s.events->push("terminate " + r.to_string());
  }

  std::vector<peeper::from> held;
};

/// Makes a holder wait (in a coroutine cast) for a call to another holder.
struct wait_on {
  peeper::server_ref<holder> other;
};

peeper::task<peeper::noreply_t<>> holder::handle_cast(wait_on m, holder_state& s) {
  s.value = co_await peeper::async_call(m.other, hold{}, peeper::infinity);
  co_return peeper::noreply();
}

/// Another server type, to address a holder with the wrong type.
struct other : peeper::gen_server<other, int> {
  auto handle_call(other_call, const int& n) { return peeper::reply(n); }
  auto handle_cast(other_call, int& /*n*/) { return peeper::noreply(); }
};

/// A process that answers every `reply_to` it receives with `value`.
peeper::pid spawn_replier(peeper::runtime& rt, int value) {
  return peeper::spawn(rt, [value]() -> peeper::task<> {
    while (true) {
      auto m = co_await peeper::receive<reply_to>();
      EXPECT_TRUE(peeper::reply(m->f, value));
    }
  });
}

template <class F>
void expect_call_error(call_errc code, F&& fn) {
  try {
    fn();
    ADD_FAILURE() << "expected call_error " << peeper::to_string(code);
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
  }
}

peeper::runtime_options two_threads() { return peeper::runtime_options{.threads = 2}; }

// ---- call by pid and by name --------------------------------------------------------

TEST(GenServerCall, ByPidFromAnOutsideThread) {
  peeper::runtime rt(two_threads());
  auto s = peeper::start<holder>(rt, 3).value();
  EXPECT_EQ(peeper::call(s, get{}), 3);
  EXPECT_EQ(peeper::call(s, set{8}), 8);
  EXPECT_EQ(peeper::call(peeper::server_ref<holder>(s.resolve()), get{}), 8);
}

TEST(GenServerCall, ByLocalGlobalAndViaNameFromAnOutsideThread) {
  peeper::runtime rt(two_threads());
  auto reg = std::make_shared<peeper::registry>();
  const std::vector<peeper::name> names{peeper::name("local_holder"),
                                        peeper::name::global("global_holder"),
                                        peeper::name::via(reg, "via_holder")};
  int i = 0;
  for (const auto& n : names) {
    ++i;
    auto started = peeper::start<holder>(rt, i, {.name = n});
    ASSERT_TRUE(started.ok()) << started.to_string();
    peeper::server_ref<holder> by_name(rt, n);
    EXPECT_EQ(by_name.resolve(), started.process());
    EXPECT_EQ(by_name.to_string(), n.to_string());
    EXPECT_EQ(peeper::call(by_name, get{}), i) << n.to_string();
    EXPECT_TRUE(peeper::cast(by_name, set{i * 10}));
    EXPECT_EQ(peeper::call(by_name, get{}), i * 10) << n.to_string();
  }
  EXPECT_EQ(reg->size(), 1U);
}

TEST(GenServerCall, ManyOutsideThreadsCallAtOnce) {
  peeper::runtime rt(two_threads());
  auto s = peeper::start<holder>(rt, 0).value();
  constexpr int threads = 4;
  constexpr int calls = 500;
  std::vector<std::thread> ts;
  std::atomic<int> out_of_order{0};
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      int last = 0;
      for (int i = 0; i < calls; ++i) {
        int v = peeper::call(s, incr{});
        if (v <= last) out_of_order.fetch_add(1);
        last = v;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(out_of_order.load(), 0);
  EXPECT_EQ(peeper::call(s, get{}), threads * calls);
}

TEST(GenServerCall, FromAProcessWithAsyncCall) {
  peeper_test::event_queue<int> results;
  peeper::runtime rt(two_threads());
  auto s = peeper::start<holder>(rt, 5).value();
  peeper::spawn(rt, [s, &results]() -> peeper::task<> {
    results.push(co_await peeper::async_call(s, get{}));
    results.push(co_await peeper::async_call(s, set{6}));
    results.push(co_await peeper::async_call(s, get{}, 1s));
  });
  EXPECT_EQ(results.pop(), 5);
  EXPECT_EQ(results.pop(), 6);
  EXPECT_EQ(results.pop(), 6);
}

TEST(GenServerCall, InDeterministicModeABlockingCallDrivesTheRuntime) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<holder>(rt, 1).value();
  EXPECT_EQ(peeper::call(s, incr{}), 2);
  EXPECT_EQ(rt.now().time_since_epoch(), std::chrono::nanoseconds(0)) << "no time passed";
}

// ---- timeout ------------------------------------------------------------------------

TEST(GenServerCall, TimeoutLeavesTheServerAliveWithItsStateAndDropsTheLateReply) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<holder>(rt, 5).value();
  const auto before = rt.now();
  try {
    (void)peeper::call(s, hold{}, 100ms);
    ADD_FAILURE() << "the held call returned";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), call_errc::timeout);
    EXPECT_EQ(e.reason(), exit_reason::normal());
  }
  EXPECT_EQ(rt.now() - before, 100ms) << "gave up exactly at the timeout";
  EXPECT_TRUE(peeper::is_alive(s.resolve()));
  EXPECT_EQ(peeper::call(s, get{}), 5);
  peeper::cast(s, release{99});  // the late answer is refused and freed
  auto stats = peeper::call(s, get_stats{});
  EXPECT_EQ(stats.late_dropped, 1);
  EXPECT_EQ(stats.late_ok, 0);
  EXPECT_EQ(peeper::call(s, get{}), 5) << "the next call gets its own answer";
}

TEST(GenServerCall, TimeoutOnARealClock) {
  peeper::runtime rt(two_threads());
  auto s = peeper::start<holder>(rt, 5).value();
  const auto before = std::chrono::steady_clock::now();
  expect_call_error(call_errc::timeout, [&] { (void)peeper::call(s, hold{}, 20ms); });
  EXPECT_GE(std::chrono::steady_clock::now() - before, 20ms);
  EXPECT_EQ(peeper::call(s, get{}), 5);
  peeper::cast(s, release{1});
  EXPECT_EQ(peeper::call(s, get_stats{}).late_dropped, 1);
}

TEST(GenServerCall, AProcessCallerThatTimedOutDropsTheLateReply) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<holder>(rt, 5).value();
  std::vector<std::string> log;
  auto caller = peeper::spawn(rt, [s, &log]() -> peeper::task<> {
    try {
      (void)co_await peeper::async_call(s, hold{}, 10ms);
      log.push_back("returned");
    } catch (const peeper::call_error& e) {
      log.push_back(peeper::to_string(e.code()));
    }
    co_await peeper::receive<release>();
    log.push_back("next " + std::to_string(co_await peeper::async_call(s, get{})));
  });
  rt.run_until_idle();
  rt.advance(10ms);
  EXPECT_EQ(log, (std::vector<std::string>{"timeout"}));
  peeper::cast(s, release{99});
  rt.run_until_idle();
  peeper::send(caller, release{});
  rt.run_until_idle();
  EXPECT_EQ(log, (std::vector<std::string>{"timeout", "next 5"}));
  auto stats = peeper::call(s, get_stats{});
  EXPECT_EQ(stats.late_dropped, 1) << "the caller gave up, so the reply was refused";
}

// ---- noproc, exited, calling_self, would_block, bad_call, no_reply ----------------------

TEST(GenServerCall, NoprocForADeadPidAnUnknownNameAndANullPid) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<holder>(rt, 1).value();
  peeper::stop(s);
  for (const auto& target :
       {s, peeper::server_ref<holder>(rt, "nobody"), peeper::server_ref<holder>(peeper::pid())}) {
    try {
      (void)peeper::call(target, get{});
      ADD_FAILURE() << "call to " << target.to_string() << " returned";
    } catch (const peeper::call_error& e) {
      EXPECT_EQ(e.code(), call_errc::noproc);
      EXPECT_EQ(e.reason(), exit_reason::noproc());
    }
  }
  std::vector<call_errc> codes;
  const std::vector<peeper::server_ref<holder>> targets{s,
                                                        peeper::server_ref<holder>(rt, "nobody")};
  peeper::spawn(rt, [&]() -> peeper::task<> {
    for (const auto& target : targets) {
      try {
        (void)co_await peeper::async_call(target, get{});
      } catch (const peeper::call_error& e) {
        codes.push_back(e.code());
      }
    }
  });
  rt.run_until_idle();
  EXPECT_EQ(codes, (std::vector<call_errc>{call_errc::noproc, call_errc::noproc}));
}

TEST(GenServerCall, ExitedWithTheExceptionWhenTheCallCrashesTheServer) {
  peeper_test::quiet_log quiet;
  peeper::runtime rt(two_threads());
  auto s = peeper::start<holder>(rt, 1).value();
  try {
    (void)peeper::call(s, crash{});
    ADD_FAILURE() << "returned";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), call_errc::exited);
    EXPECT_EQ(e.reason(), exit_reason::exception("std::runtime_error", "crashed in call"));
    EXPECT_NE(std::string(e.what()).find("crashed in call"), std::string::npos) << e.what();
  }
}

TEST(GenServerCall, ExitedWithKilledWhenTheServerIsKilledDuringTheCall) {
  peeper_test::event_queue<std::string> events;
  peeper::runtime rt(two_threads());
  auto s = peeper::start<holder>(rt, 1).value();
  peeper::cast(s, &events);
  std::thread killer([&] {
    EXPECT_EQ(events.pop(), "holding");
    peeper::exit(s.resolve(), exit_reason::kill());
  });
  try {
    (void)peeper::call(s, hold{}, peeper::infinity);
    ADD_FAILURE() << "returned";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), call_errc::exited);
    EXPECT_EQ(e.reason(), exit_reason::killed());
  }
  killer.join();
}

TEST(GenServerCall, ExitedWithTheReasonWhenTheServerStopsHoldingTheCall) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<holder>(rt, 1).value();
  // Stops the server 10 ms into the call.
  peeper::spawn(rt, [s]() -> peeper::task<> {
    co_await peeper::receive<get>(10ms);
    peeper::exit(s.resolve(), exit_reason::error("went away"));
  });
  try {
    (void)peeper::call(s, hold{}, 1s);
    ADD_FAILURE() << "returned";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), call_errc::exited);
    EXPECT_EQ(e.reason(), exit_reason::error("went away"));
  }
  EXPECT_EQ(rt.now().time_since_epoch(), std::chrono::nanoseconds(10ms)) << "not at the timeout";
}

TEST(GenServerCall, CallingItselfFailsFastWithCallingSelf) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<holder>(rt, 1).value();
  EXPECT_EQ(peeper::call(s, call_self{}), static_cast<int>(call_errc::calling_self));
  EXPECT_EQ(rt.now().time_since_epoch(), std::chrono::nanoseconds(0)) << "no wait for a timeout";
  EXPECT_TRUE(peeper::is_alive(s.resolve()));
}

TEST(GenServerCall, ABlockingCallFromInsideAProcessFailsWithWouldBlock) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<holder>(rt, 1).value();
  std::vector<call_errc> codes;
  peeper::spawn(rt, [&] {
    for (auto fn : std::vector<std::function<void()>>{
             [&] { (void)peeper::call(s, get{}); },
             [&] { peeper::stop(s); },
             [&] { peeper::code_change(s.resolve(), 1); },
             [&] { (void)peeper::start<holder>(peeper::this_runtime(), 1); },
         }) {
      try {
        fn();
      } catch (const peeper::call_error& e) {
        codes.push_back(e.code());
      }
    }
  });
  rt.run_until_idle();
  EXPECT_EQ(codes, std::vector<call_errc>(4, call_errc::would_block));
  EXPECT_EQ(peeper::call(s, get{}), 1) << "the server was not disturbed";
}

TEST(GenServerCall, ACallMeantForAnotherServerTypeFailsWithBadCall) {
  peeper_test::captured_log log;
  {
    peeper::runtime rt(deterministic());
    auto s = peeper::start<holder>(rt, 1).value();
    peeper::server_ref<other> wrong(s.resolve());
    expect_call_error(call_errc::bad_call, [&] { (void)peeper::call(wrong, other_call{}); });
    EXPECT_TRUE(peeper::cast(wrong, other_call{})) << "delivered, then dropped by the server";
    rt.run_until_idle();
    EXPECT_EQ(peeper::call(s, get{}), 1) << "the server is unharmed";
  }
  EXPECT_NE(log.text().find("gen_server_call_test::other_call"), std::string::npos) << log.text();
}

TEST(GenServerCall, ADroppedRequestFailsAtOnceWithNoReply) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<holder>(rt, 1).value();
  expect_call_error(call_errc::no_reply, [&] { (void)peeper::call(s, drop{}, 1h); });
  EXPECT_EQ(rt.now().time_since_epoch(), std::chrono::nanoseconds(0)) << "no wait for the timeout";
  EXPECT_EQ(peeper::call(s, get{}), 1);
}

// ---- deferred replies ------------------------------------------------------------------

TEST(GenServerCall, DeferredReplyFromAnotherProcess) {
  peeper::runtime rt(two_threads());
  auto s = peeper::start<holder>(rt, 1).value();
  auto helper = spawn_replier(rt, 77);
  EXPECT_EQ(peeper::call(s, hand_off{helper}), 77);
  EXPECT_EQ(peeper::call(s, hand_off{helper}), 77);
}

TEST(GenServerCall, DeferredReplyFromALaterCallback) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<holder>(rt, 1).value();
  std::vector<int> got;
  for (int i = 0; i < 3; ++i) {
    peeper::spawn(rt, [s, &got]() -> peeper::task<> {
      got.push_back(co_await peeper::async_call(s, hold{}));
    });
  }
  rt.run_until_idle();
  EXPECT_TRUE(got.empty());
  peeper::cast(s, release{42});
  rt.run_until_idle();
  EXPECT_EQ(got, (std::vector<int>{42, 42, 42}));
  EXPECT_EQ(peeper::call(s, get_stats{}).late_ok, 3);
}

TEST(GenServerCall, FromNamesTheCallingProcessOrNoneForAThread) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<holder>(rt, 1).value();
  EXPECT_FALSE(peeper::call(s, who{})) << "an outside thread";
  peeper::pid seen;
  auto caller = peeper::spawn(
      rt, [s, &seen]() -> peeper::task<> { seen = co_await peeper::async_call(s, who{}); });
  rt.run_until_idle();
  EXPECT_EQ(seen, caller);
}

TEST(GenServerCall, AFromIsAnsweredOnce) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<holder>(rt, 1).value();
  EXPECT_EQ(peeper::call(s, twice{}), "first");
  peeper::from empty;
  EXPECT_FALSE(empty);
  EXPECT_FALSE(empty.pending());
  EXPECT_FALSE(peeper::reply(empty, 1));
}

// ---- cast and send -----------------------------------------------------------------------

TEST(GenServerCast, ReturnsWhetherTheServerIsAlive) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<holder>(rt, 1).value();
  EXPECT_TRUE(peeper::cast(s, set{2}));
  EXPECT_TRUE(peeper::send(s, 3));
  EXPECT_EQ(peeper::call(s, get{}), 2);
  peeper::stop(s);
  EXPECT_FALSE(peeper::cast(s, set{3}));
  EXPECT_FALSE(peeper::send(s, 3));
  EXPECT_FALSE(peeper::cast(peeper::server_ref<holder>(rt, "nobody"), set{3}));
  EXPECT_FALSE(peeper::send(peeper::server_ref<holder>(rt, "nobody"), 3));
}

TEST(GenServerCast, CastsFromOneSenderAreHandledInOrder) {
  peeper::runtime rt(two_threads());
  auto s = peeper::start<holder>(rt, 0).value();
  for (int i = 1; i <= 10000; ++i) peeper::cast(s, set{i});
  EXPECT_EQ(peeper::call(s, get{}), 10000);
}

// ---- stop ----------------------------------------------------------------------------------

TEST(GenServerStop, RunsTerminateWithTheReasonAndReturnsOnceTheServerHasExited) {
  peeper_test::event_queue<std::string> events;
  peeper::runtime rt(two_threads());
  auto s = peeper::start<holder>(rt, 1).value();
  peeper::cast(s, &events);
  peeper::stop(s, exit_reason::shutdown("maintenance"), 5s);
  EXPECT_FALSE(peeper::is_alive(s.resolve()));
  EXPECT_EQ(events.try_pop(), "terminate {shutdown, maintenance}");
  expect_call_error(call_errc::noproc, [&] { peeper::stop(s); });
  expect_call_error(call_errc::noproc, [&] { peeper::stop(peeper::server_ref<holder>(rt, "x")); });
}

TEST(GenServerStop, AnsweredHeldCallsGetTheStopReason) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<holder>(rt, 1).value();
  std::vector<std::string> log;
  peeper::spawn(rt, [s, &log]() -> peeper::task<> {
    try {
      (void)co_await peeper::async_call(s, hold{});
    } catch (const peeper::call_error& e) {
      log.push_back(std::string(peeper::to_string(e.code())) + " " + e.reason().to_string());
    }
  });
  rt.run_until_idle();
  peeper::stop(s, exit_reason::shutdown());
  rt.run_until_idle();
  EXPECT_EQ(log, (std::vector<std::string>{"exited shutdown"}));
}

TEST(GenServerStop, TimesOutWhenTheServerCannotGetToItAndTheStopStaysQueuedAsInOtp) {
  peeper::runtime rt(deterministic());
  auto busy = peeper::start<holder>(rt, 1).value();
  auto blocker = peeper::start<holder>(rt, 2).value();
  // `busy` waits, in a coroutine callback, for a call `blocker` never answers.
  peeper::cast(busy, wait_on{blocker});
  rt.run_until_idle();
  const auto before = rt.now();
  expect_call_error(call_errc::timeout, [&] { peeper::stop(busy, exit_reason::normal(), 50ms); });
  EXPECT_EQ(rt.now() - before, 50ms);
  EXPECT_TRUE(peeper::is_alive(busy.resolve()));
  std::optional<exit_reason> reason;
  peeper::spawn(rt, [b = busy.resolve(), &reason]() -> peeper::task<> {
    peeper::monitor(b);
    reason = (co_await peeper::receive<peeper::down_message>())->reason;
  });
  // busy finishes its wait, then handles the stop that was left in its queue.
  peeper::cast(blocker, release{3});
  rt.run_until_idle();
  EXPECT_FALSE(peeper::is_alive(busy.resolve()));
  EXPECT_EQ(reason, exit_reason::normal());
}

TEST(GenServerStop, AsyncStopFromAProcess) {
  peeper_test::event_queue<std::string> events;
  peeper::runtime rt(two_threads());
  auto s = peeper::start<holder>(rt, 1).value();
  peeper::cast(s, &events);
  peeper::spawn(rt, [s, &events]() -> peeper::task<> {
    try {
      co_await peeper::async_stop(s.resolve(), exit_reason::shutdown());
      events.push("stop returned");
    } catch (const peeper::call_error& e) {
      events.push(std::string("stop threw ") + peeper::to_string(e.code()) + " " +
                  e.reason().to_string());
    }
  });
  EXPECT_EQ(events.pop(), "terminate shutdown");
  EXPECT_EQ(events.pop(), "stop returned") << "the server stopped as asked: no error";
}

}  // namespace gen_server_call_test
