// GenServer callbacks and what they return: init, handle_call, handle_cast,
// handle_info, handle_continue, terminate, code_change (each optional), and
// reply / noreply / stop with a timeout, hibernate or continue.
#include <any>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/gen_server/gen_server.hpp>

#include "test_support.hpp"

namespace gen_server_callbacks_test {

using namespace std::chrono_literals;
using peeper::exit_reason;
using peeper_test::deterministic;

// ---- messages -------------------------------------------------------------------

struct get {};
struct get_log {};
struct add {
  int by = 0;
};
struct note {
  std::string text;
};
struct stop_cast {
  exit_reason reason;
};
struct stop_call {
  exit_reason reason;
};
struct stop_call_replying {
  exit_reason reason;
};
struct crash_call {};
struct crash_cast {};
struct then_continue {
  std::string tag;
};
struct reply_then_continue {};
struct reply_with_timeout {
  std::chrono::milliseconds after;
};
struct noreply_with_timeout {
  std::chrono::milliseconds after;
};
struct reply_hibernate {};
struct info_stop {};
struct cont_stop {};
struct unknown_msg {};

/// What a server did, shared with the test (deterministic runtimes only).
using journal = std::vector<std::string>;

// ---- servers ----------------------------------------------------------------------

/// Every callback, each recording itself in the journal.
struct full_server : peeper::gen_server<full_server, journal*> {
  peeper::init_result<journal*, std::string> init(journal* j) {
    j->push_back("init");
    return peeper::ok(j, peeper::continue_with(std::string("after init")));
  }

  auto handle_call(get_log, journal* const& j) { return peeper::reply(*j); }
  auto handle_call(reply_with_timeout m, journal*& j) {
    j->push_back("call timeout");
    return peeper::reply(1, m.after);
  }
  auto handle_call(reply_hibernate, journal*& j) {
    j->push_back("call hibernate");
    return peeper::reply(2, peeper::hibernate);
  }
  auto handle_call(reply_then_continue, journal*& j) {
    j->push_back("call continue");
    return peeper::reply(3, peeper::continue_with(std::string("after call")));
  }
  peeper::call_result<int> handle_call(stop_call m, journal*& j) {
    j->push_back("call stop");
    return peeper::stop(m.reason);
  }
  auto handle_call(stop_call_replying m, journal*& j) {
    j->push_back("call stop replying");
    return peeper::stop(m.reason, 4);
  }
  peeper::call_result<int> handle_call(crash_call, journal*& /*j*/) {
    throw std::runtime_error("call crashed");
  }

  auto handle_cast(note m, journal*& j) {
    j->push_back("cast " + m.text);
    return peeper::noreply();
  }
  auto handle_cast(then_continue m, journal*& j) {
    j->push_back("cast continue " + m.tag);
    return peeper::noreply(peeper::continue_with(m.tag));
  }
  auto handle_cast(noreply_with_timeout m, journal*& j) {
    j->push_back("cast timeout");
    return peeper::noreply(m.after);
  }
  auto handle_cast(stop_cast m, journal*& j) {
    j->push_back("cast stop");
    return peeper::stop(m.reason);
  }
  peeper::cast_result<> handle_cast(crash_cast, journal*& /*j*/) {
    throw std::logic_error("cast crashed");
  }

  peeper::cast_result<std::string> handle_info(peeper::message& m, journal*& j) {
    if (m.is<peeper::timeout_message>()) {
      j->push_back("info timeout");
    } else if (auto* n = m.get_if<note>()) {
      j->push_back("info " + n->text);
    } else if (m.is<info_stop>()) {
      j->push_back("info stop");
      return peeper::stop(exit_reason::error("info stop"));
    } else if (m.is<cont_stop>()) {
      return peeper::noreply(peeper::continue_with(std::string("stop")));
    } else {
      j->push_back("info " + m.type_name());
    }
    return peeper::noreply();
  }

  peeper::cast_result<std::string> handle_continue(std::string tag, journal*& j) {
    j->push_back("continue " + tag);
    if (tag == "stop") return peeper::stop(exit_reason::shutdown("from continue"));
    if (tag == "chain") return peeper::noreply(peeper::continue_with(std::string("chained")));
    return peeper::noreply();
  }

  void terminate(const exit_reason& r, journal*& j) { j->push_back("terminate " + r.to_string()); }

  void code_change(journal*& j, const std::any& extra) {
    j->push_back("code_change " + std::any_cast<std::string>(extra));
  }
};

/// No callbacks but one: init defaults to building the state from the argument.
struct bare_server : peeper::gen_server<bare_server, int> {
  auto handle_call(get, const int& n) { return peeper::reply(n); }
};

/// A counter with both mutating and read-only callbacks.
struct counter : peeper::gen_server<counter, int> {
  int init(int start) { return start * 10; }
  auto handle_call(get, const int& n) { return peeper::reply(n); }
  auto handle_call(add m, peeper::from /*f*/, int& n) {
    n += m.by;
    return peeper::reply(n);
  }
  auto handle_cast(add m, int& n) {
    n += m.by;
    return peeper::noreply();
  }
};

/// terminate that throws.
struct bad_terminate : peeper::gen_server<bad_terminate, journal*> {
  auto handle_cast(stop_cast m, journal*& /*j*/) { return peeper::stop(m.reason); }
  void terminate(const exit_reason& r, journal*& j) {
    j->push_back("terminate " + r.to_string());
    throw std::runtime_error("terminate failed");
  }
};

/// init with a timeout.
struct timed_init : peeper::gen_server<timed_init, journal*> {
  peeper::init_result<journal*> init(journal* j) { return peeper::ok(j, 30ms); }
  auto handle_info(peeper::message& m, journal*& j) {
    j->push_back(m.is<peeper::timeout_message>() ? "timeout" : "other");
    return peeper::noreply();
  }
};

// The protocol is checked at compile time.
static_assert(peeper::accepts_call<counter, get>);
static_assert(peeper::accepts_call<counter, add>);
static_assert(!peeper::accepts_call<counter, note>);
static_assert(peeper::accepts_cast<counter, add>);
static_assert(!peeper::accepts_cast<counter, get>);
static_assert(std::is_same_v<peeper::reply_type_t<counter, get>, int>);
static_assert(std::is_same_v<peeper::reply_type_t<full_server, get_log>, journal>);
// A callback taking the state by const reference cannot change it.
static_assert(!peeper::detail::call_traits<counter, get>::mutates);
static_assert(peeper::detail::call_traits<counter, add>::mutates);

/// Starts a full_server in `rt` recording into `j`.
peeper::server_ref<full_server> start_full(peeper::runtime& rt, journal& j) {
  return peeper::start<full_server>(rt, &j).value();
}

/// Watches `p` from a process; the reason lands in `out` (deterministic).
void watch(peeper::runtime& rt, const peeper::pid& p, std::optional<exit_reason>& out) {
  peeper::spawn(rt, [p, &out]() -> peeper::task<> {
    peeper::monitor(p);
    out = (co_await peeper::receive<peeper::down_message>())->reason;
  });
  rt.run_until_idle();
}

// ---- init ------------------------------------------------------------------------

TEST(GenServerInit, InitBuildsTheStateBeforeStartReturns) {
  peeper::runtime rt(deterministic());
  auto c = peeper::start<counter>(rt, 4).value();
  EXPECT_TRUE(peeper::is_alive(c.resolve()));
  EXPECT_EQ(peeper::call(c, get{}), 40);
}

TEST(GenServerInit, WithoutInitTheStartArgumentIsTheState) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<bare_server>(rt, 7).value();
  EXPECT_EQ(peeper::call(s, get{}), 7);
}

TEST(GenServerInit, InitContinueRunsBeforeTheFirstMessage) {
  journal j;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  peeper::cast(s, note{"first"});
  rt.run_until_idle();
  EXPECT_EQ(j, (journal{"init", "continue after init", "cast first"}));
}

// ---- call, cast, info -------------------------------------------------------------

TEST(GenServerCallbacks, CallsAndCastsReachTheirOverloads) {
  peeper::runtime rt(deterministic());
  auto c = peeper::start<counter>(rt, 1).value();
  EXPECT_EQ(peeper::call(c, add{5}), 15);
  EXPECT_TRUE(peeper::cast(c, add{5}));
  EXPECT_EQ(peeper::call(c, get{}), 20);
}

TEST(GenServerCallbacks, HandleInfoGetsPlainMessagesInOrderWithCasts) {
  journal j;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  rt.run_until_idle();
  j.clear();
  peeper::send(s, note{"a"});
  peeper::cast(s, note{"b"});
  peeper::send(s, note{"c"});
  peeper::send(s, 42);
  rt.run_until_idle();
  EXPECT_EQ(j, (journal{"info a", "cast b", "info c", "info int"}));
}

TEST(GenServerCallbacks, HandleInfoGetsDownAndExitMessages) {
  journal j;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  auto watched = peeper::spawn(rt, []() -> peeper::task<> { co_await peeper::receive<get>(); });
  auto linked = peeper::spawn(rt, []() -> peeper::task<> { co_await peeper::receive<get>(); });
  rt.run_until_idle();
  j.clear();
  // From inside the server: monitor one process, trap exits and link another.
  peeper::detail::run_in(s.resolve(), [watched, linked] {
    (void)peeper::monitor(watched);
    peeper::trap_exit(true);
    peeper::link(linked);
  });
  rt.run_until_idle();
  peeper::exit(watched, exit_reason::kill());
  rt.run_until_idle();
  peeper::exit(linked, exit_reason::error("linked died"));
  rt.run_until_idle();
  EXPECT_EQ(j, (journal{"info peeper::down_message", "info peeper::exit_message"}));
  EXPECT_TRUE(peeper::is_alive(s.resolve()));
}

TEST(GenServerCallbacks, WithoutHandleInfoAnUnexpectedMessageIsLoggedAndDropped) {
  peeper_test::captured_log log;
  {
    peeper::runtime rt(deterministic());
    auto c = peeper::start<counter>(rt, 1).value();
    EXPECT_TRUE(peeper::send(c, unknown_msg{}));
    EXPECT_TRUE(peeper::send(c, std::string("noise")));
    rt.run_until_idle();
    EXPECT_TRUE(peeper::is_alive(c.resolve()));
    EXPECT_EQ(peeper::call(c, add{1}), 11) << "still serving, state intact";
  }
  const auto text = log.text();
  EXPECT_NE(text.find("gen_server_callbacks_test::unknown_msg"), std::string::npos) << text;
  EXPECT_NE(text.find("warning"), std::string::npos) << text;
}

// ---- stop and terminate --------------------------------------------------------------

TEST(GenServerTerminate, StopFromACastRunsTerminateWithTheReason) {
  journal j;
  std::optional<exit_reason> reason;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  watch(rt, s.resolve(), reason);
  j.clear();
  peeper::cast(s, stop_cast{exit_reason::shutdown("done")});
  peeper::cast(s, note{"never handled"});
  rt.run_until_idle();
  EXPECT_EQ(j, (journal{"cast stop", "terminate {shutdown, done}"}));
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::shutdown("done"));
}

TEST(GenServerTerminate, StopFromACallWithAReplyAnswersThenTerminates) {
  journal j;
  std::optional<exit_reason> reason;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  watch(rt, s.resolve(), reason);
  j.clear();
  EXPECT_EQ(peeper::call(s, stop_call_replying{exit_reason::normal()}), 4);
  rt.run_until_idle();
  EXPECT_EQ(j, (journal{"call stop replying", "terminate normal"}));
  EXPECT_EQ(reason, exit_reason::normal());
}

TEST(GenServerTerminate, StopFromACallWithoutAReplyFailsTheCallWithTheReason) {
  journal j;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  try {
    (void)peeper::call(s, stop_call{exit_reason::error("no answer")});
    ADD_FAILURE() << "call returned";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), peeper::call_errc::exited);
    EXPECT_EQ(e.reason(), exit_reason::error("no answer"));
  }
  EXPECT_EQ(j.back(), "terminate no answer");
}

TEST(GenServerTerminate, StopFromHandleInfoAndHandleContinue) {
  peeper_test::quiet_log quiet;
  journal j1;
  journal j2;
  std::optional<exit_reason> r1;
  std::optional<exit_reason> r2;
  peeper::runtime rt(deterministic());
  auto s1 = start_full(rt, j1);
  auto s2 = start_full(rt, j2);
  watch(rt, s1.resolve(), r1);
  watch(rt, s2.resolve(), r2);
  peeper::send(s1, info_stop{});
  peeper::send(s2, cont_stop{});
  rt.run_until_idle();
  EXPECT_EQ(r1, exit_reason::error("info stop"));
  EXPECT_EQ(j1.back(), "terminate info stop");
  EXPECT_EQ(r2, exit_reason::shutdown("from continue"));
  EXPECT_EQ(j2.back(), "terminate {shutdown, from continue}");
}

TEST(GenServerTerminate, ACallbackThatThrowsRunsTerminateAndExitsWithTheException) {
  peeper_test::quiet_log quiet;
  journal j;
  std::optional<exit_reason> reason;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  watch(rt, s.resolve(), reason);
  peeper::cast(s, crash_cast{});
  rt.run_until_idle();
  const auto expected = exit_reason::exception("std::logic_error", "cast crashed");
  EXPECT_EQ(reason, expected);
  EXPECT_EQ(j.back(), "terminate " + expected.to_string());
}

TEST(GenServerTerminate, ACallThatThrowsFailsTheCallerWithTheException) {
  peeper_test::quiet_log quiet;
  journal j;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  try {
    (void)peeper::call(s, crash_call{});
    ADD_FAILURE() << "call returned";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), peeper::call_errc::exited);
    EXPECT_EQ(e.reason(), exit_reason::exception("std::runtime_error", "call crashed"));
  }
  rt.run_until_idle();
  EXPECT_FALSE(peeper::is_alive(s.resolve()));
}

TEST(GenServerTerminate, KillDoesNotRunTerminate) {
  journal j;
  std::optional<exit_reason> reason;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  watch(rt, s.resolve(), reason);
  j.clear();
  peeper::exit(s.resolve(), exit_reason::kill());
  rt.run_until_idle();
  EXPECT_EQ(reason, exit_reason::killed());
  EXPECT_TRUE(j.empty()) << j.front();
}

TEST(GenServerTerminate, AnExitSignalKillsANonTrappingServerWithoutTerminate) {
  journal j;
  std::optional<exit_reason> reason;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  watch(rt, s.resolve(), reason);
  j.clear();
  peeper::exit(s.resolve(), exit_reason::shutdown());
  rt.run_until_idle();
  EXPECT_EQ(reason, exit_reason::shutdown());
  EXPECT_TRUE(j.empty());
}

TEST(GenServerTerminate, ATerminateThatThrowsIsLoggedAndTheServerStillExitsWithItsReason) {
  peeper_test::captured_log log;
  std::optional<exit_reason> reason;
  journal j;
  {
    peeper::runtime rt(deterministic());
    auto s = peeper::start<bad_terminate>(rt, &j).value();
    watch(rt, s.resolve(), reason);
    peeper::cast(s, stop_cast{exit_reason::shutdown()});
    rt.run_until_idle();
  }
  EXPECT_EQ(reason, exit_reason::shutdown());
  EXPECT_EQ(j, (journal{"terminate shutdown"}));
  EXPECT_NE(log.text().find("terminate failed"), std::string::npos) << log.text();
}

TEST(GenServerTerminate, RuntimeShutdownRunsTerminateWithShutdown) {
  journal j1;
  journal j2;
  {
    peeper::runtime rt(deterministic());
    start_full(rt, j1);
    start_full(rt, j2);
    rt.run_until_idle();
  }
  EXPECT_EQ(j1.back(), "terminate shutdown");
  EXPECT_EQ(j2.back(), "terminate shutdown");
}

TEST(GenServerTerminate, CrashReportNamesTheReasonTheServerAndTheMessageType) {
  peeper_test::captured_log log;
  peeper::pid p;
  journal j;
  {
    peeper::runtime rt(deterministic());
    auto s = peeper::start<full_server>(rt, &j, {.name = "crashy"}).value();
    p = s.resolve();
    peeper::cast(s, crash_cast{});
    rt.run_until_idle();
  }
  const auto text = log.text();
  EXPECT_NE(text.find(p.to_string()), std::string::npos) << text;
  EXPECT_NE(text.find("crashy"), std::string::npos) << text;
  EXPECT_NE(text.find("{exception, std::logic_error: cast crashed}"), std::string::npos) << text;
  EXPECT_NE(text.find("gen_server_callbacks_test::crash_cast"), std::string::npos) << text;
}

// ---- timeouts, hibernate, continue ------------------------------------------------------

TEST(GenServerActions, ReplyWithTimeoutSendsTimeoutMessageWhenIdle) {
  journal j;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  rt.run_until_idle();
  j.clear();
  EXPECT_EQ(peeper::call(s, reply_with_timeout{100ms}), 1);
  rt.advance(99ms);
  EXPECT_EQ(j, (journal{"call timeout"}));
  rt.advance(1ms);
  EXPECT_EQ(j, (journal{"call timeout", "info timeout"}));
  rt.advance(1s);
  EXPECT_EQ(j.size(), 2U) << "one timeout only";
}

TEST(GenServerActions, AMessageBeforeTheTimeoutCancelsIt) {
  journal j;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  rt.run_until_idle();
  j.clear();
  peeper::cast(s, noreply_with_timeout{50ms});
  rt.run_until_idle();
  rt.advance(49ms);
  peeper::cast(s, note{"just in time"});
  rt.run_until_idle();
  rt.advance(1s);
  EXPECT_EQ(j, (journal{"cast timeout", "cast just in time"}));
}

TEST(GenServerActions, InitTimeoutSendsTimeoutMessage) {
  journal j;
  peeper::runtime rt(deterministic());
  (void)peeper::start<timed_init>(rt, &j).value();
  rt.advance(29ms);
  EXPECT_TRUE(j.empty());
  rt.advance(1ms);
  EXPECT_EQ(j, (journal{"timeout"}));
}

TEST(GenServerActions, HibernateIsAcceptedAndTheServerGoesOn) {
  journal j;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  EXPECT_EQ(peeper::call(s, reply_hibernate{}), 2);
  peeper::cast(s, note{"after"});
  rt.run_until_idle();
  EXPECT_EQ(j.back(), "cast after");
}

TEST(GenServerActions, ContinueRunsBeforeTheNextQueuedMessage) {
  journal j;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  rt.run_until_idle();
  j.clear();
  peeper::cast(s, then_continue{"x"});
  peeper::cast(s, note{"next"});
  peeper::send(s, note{"info"});
  rt.run_until_idle();
  EXPECT_EQ(j, (journal{"cast continue x", "continue x", "cast next", "info info"}));
}

TEST(GenServerActions, ContinueCanChainAnotherContinue) {
  journal j;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  rt.run_until_idle();
  j.clear();
  peeper::cast(s, then_continue{"chain"});
  peeper::cast(s, note{"next"});
  rt.run_until_idle();
  EXPECT_EQ(j, (journal{"cast continue chain", "continue chain", "continue chained", "cast next"}));
}

TEST(GenServerActions, ReplyWithContinueAnswersAndContinuesBeforeTheNextMessage) {
  journal j;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  rt.run_until_idle();
  j.clear();
  peeper::cast(s, note{"queued before"});
  EXPECT_EQ(peeper::call(s, reply_then_continue{}), 3);
  peeper::cast(s, note{"queued after"});
  rt.run_until_idle();
  EXPECT_EQ(j, (journal{"cast queued before", "call continue", "continue after call",
                        "cast queued after"}));
}

// ---- code_change --------------------------------------------------------------------

TEST(GenServerCodeChange, RunsCodeChangeWithTheExtraArgument) {
  journal j;
  peeper::runtime rt(deterministic());
  auto s = start_full(rt, j);
  peeper::code_change(s.resolve(), std::string("v2"));
  EXPECT_EQ(j.back(), "code_change v2");
}

TEST(GenServerCodeChange, WithoutCodeChangeItSucceedsAndChangesNothing) {
  peeper::runtime rt(deterministic());
  auto c = peeper::start<counter>(rt, 1).value();
  EXPECT_NO_THROW(peeper::code_change(c.resolve(), 5));
  EXPECT_EQ(peeper::call(c, get{}), 10);
}

struct upgradable : peeper::gen_server<upgradable, int> {
  int init(int s) { return s; }
  auto handle_call(get /*m*/, const int& s) { return peeper::reply(s); }
  void code_change(int& s, const std::any& extra) {
    s += 100;  // changed before the throw: must not stay
    if (std::any_cast<int>(extra) < 0) throw std::runtime_error("bad version");
  }
};

TEST(GenServerCodeChange, AThrowingCodeChangeKeepsTheStateAndTheServerAndReturnsTheReason) {
  peeper::runtime rt(deterministic());
  auto s = peeper::start<upgradable>(rt, 1).value();
  auto failed = peeper::code_change(s.resolve(), -1);
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->to_string().find("bad version"), std::string::npos) << failed->to_string();
  EXPECT_EQ(peeper::call(s, get{}), 1);
  EXPECT_FALSE(peeper::code_change(s.resolve(), 2));
  EXPECT_EQ(peeper::call(s, get{}), 101);
  // A bad extra (std::bad_any_cast) is a failure like any other.
  EXPECT_TRUE(peeper::code_change(s.resolve(), std::string("v3")));
  EXPECT_EQ(peeper::call(s, get{}), 101);
}

TEST(GenServerCodeChange, OnADeadServerThrowsNoproc) {
  peeper::runtime rt(deterministic());
  auto c = peeper::start<counter>(rt, 1).value();
  peeper::stop(c);
  try {
    peeper::code_change(c.resolve(), 5);
    ADD_FAILURE() << "code_change on a dead server returned";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), peeper::call_errc::noproc);
  }
}

// ---- fairness --------------------------------------------------------------------------

TEST(GenServerFairness, AServerWithALongQueueYieldsToAnother) {
  journal j_busy;
  journal j_other;
  peeper::runtime rt(peeper::runtime_options{.deterministic = true, .budget = 64});
  auto busy = start_full(rt, j_busy);
  auto other = start_full(rt, j_other);
  rt.run_until_idle();
  j_busy.clear();
  j_other.clear();
  for (int i = 0; i < 1000; ++i) peeper::cast(busy, note{"x"});
  peeper::cast(other, note{"y"});
  ASSERT_TRUE(rt.step());
  EXPECT_EQ(j_busy.size(), 64U);
  ASSERT_TRUE(rt.step());
  EXPECT_EQ(j_other, (journal{"cast y"}));
  EXPECT_EQ(j_busy.size(), 64U);
  rt.run_until_idle();
  EXPECT_EQ(j_busy.size(), 1000U);
}

}  // namespace gen_server_callbacks_test
