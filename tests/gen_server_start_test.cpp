// Starting a GenServer: start / start_link / async_start, names (local,
// global, via), already_started, init failures (throw, stop, ignore), init
// timeouts, and the parent link (terminate on the parent's shutdown).
#include <array>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/gen_server/gen_server.hpp>

#include "test_support.hpp"

namespace gen_server_start_test {

using namespace std::chrono_literals;
using peeper::exit_reason;
using peeper::start_errc;
using peeper_test::deterministic;

using journal = std::vector<std::string>;

// ---- messages -------------------------------------------------------------------

struct get {};
struct crash {};
struct go {};
struct never {};

/// How init behaves.
enum class init_does { succeed, throw_error, return_stop, return_ignore };

struct plan {
  init_does what = init_does::succeed;
  journal* log = nullptr;
  std::optional<peeper::name> expect_name{};  // init checks it resolves to itself
  bool trap_exits = false;
};

// ---- servers ----------------------------------------------------------------------

struct sync_server : peeper::gen_server<sync_server, journal*> {
  peeper::init_result<journal*> init(plan p) {
    if (p.log != nullptr) p.log->push_back("init");
    if (p.expect_name) {
      const bool mine = peeper::whereis(peeper::this_runtime(), *p.expect_name) == peeper::self();
      p.log->push_back(mine ? "name is mine" : "name not mine");
    }
    if (p.trap_exits) peeper::trap_exit(true);
    switch (p.what) {
      case init_does::succeed:
        break;
      case init_does::throw_error:
        throw std::runtime_error("init threw");
      case init_does::return_stop:
        return peeper::stop(exit_reason::error("refused"));
      case init_does::return_ignore:
        return peeper::ignore;
    }
    return p.log;
  }
  auto handle_call(get, journal* const& j) { return peeper::reply(j != nullptr); }
  peeper::cast_result<> handle_cast(crash, journal*& /*j*/) {
    throw std::runtime_error("crash requested");
  }
  auto handle_info(peeper::message& m, journal*& j) {
    if (j != nullptr) j->push_back("info " + m.type_name());
    return peeper::noreply();
  }
  void terminate(const exit_reason& r, journal*& j) {
    if (j != nullptr) j->push_back("terminate " + r.to_string());
  }
};

/// init waits (in a coroutine) for a `go` message, forever if none comes.
struct slow_server : peeper::gen_server<slow_server, int> {
  peeper::task<int> init(int v) {
    co_await peeper::receive<go>();
    co_return v;
  }
  auto handle_call(get, const int& v) { return peeper::reply(v); }
};

/// Watches `p` from a process (deterministic runtimes); the reason lands in `out`.
void watch(peeper::runtime& rt, const peeper::pid& p, std::optional<exit_reason>& out) {
  peeper::spawn(rt, [p, &out]() -> peeper::task<> {
    peeper::monitor(p);
    out = (co_await peeper::receive<peeper::down_message>())->reason;
  });
  rt.run_until_idle();
}

// ---- start ----------------------------------------------------------------------------

TEST(GenServerStart, ReturnsOnceInitRanWithTheServerRunning) {
  journal j;
  peeper::runtime rt(deterministic());
  auto r = peeper::start<sync_server>(rt, plan{.log = &j});
  ASSERT_TRUE(r.ok()) << r.to_string();
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_FALSE(r.error());
  EXPECT_EQ(j, (journal{"init"}));
  EXPECT_TRUE(peeper::is_alive(r.process()));
  EXPECT_EQ(r.value().resolve(), r.process());
  EXPECT_TRUE(peeper::call(r.value(), get{}));
  EXPECT_EQ(r.to_string(), "ok " + r.process().to_string());
}

TEST(GenServerStart, RegistersLocalGlobalAndViaNamesBeforeInit) {
  journal j;
  peeper::runtime rt(deterministic());
  auto reg = std::make_shared<peeper::registry>();
  for (const auto& n :
       {peeper::name("local"), peeper::name::global("global"), peeper::name::via(reg, "via")}) {
    j.clear();
    auto r = peeper::start<sync_server>(rt, plan{.log = &j, .expect_name = n}, {.name = n});
    ASSERT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(j, (journal{"init", "name is mine"})) << n.to_string();
    EXPECT_EQ(peeper::whereis(rt, n), r.process());
    EXPECT_TRUE(peeper::call(peeper::server_ref<sync_server>(rt, n), get{}));
    peeper::stop(r.value());
    EXPECT_FALSE(peeper::whereis(rt, n)) << "released when the server stopped";
  }
  EXPECT_EQ(reg->size(), 0U);
}

TEST(GenServerStart, ATakenNameReturnsAlreadyStartedWithTheExistingPid) {
  journal j;
  peeper::runtime rt(deterministic());
  auto reg = std::make_shared<peeper::registry>();
  for (const auto& n :
       {peeper::name("dup"), peeper::name::global("dup"), peeper::name::via(reg, "dup")}) {
    j.clear();
    auto first = peeper::start<sync_server>(rt, plan{.log = &j}, {.name = n});
    ASSERT_TRUE(first.ok());
    const auto live = rt.process_count();
    auto second = peeper::start<sync_server>(rt, plan{.log = &j}, {.name = n});
    EXPECT_FALSE(second.ok());
    EXPECT_EQ(second.error(), start_errc::already_started);
    EXPECT_EQ(second.process(), first.process()) << "the holder's pid";
    EXPECT_EQ(second.to_string(), "already_started " + first.process().to_string());
    rt.run_until_idle();
    EXPECT_EQ(rt.process_count(), live) << "the second process is gone";
    EXPECT_EQ(j, (journal{"init"})) << "the second init never ran";
    EXPECT_EQ(peeper::whereis(rt, n), first.process());
    try {
      (void)second.value();
      ADD_FAILURE() << "value() of a failed start returned";
    } catch (const peeper::start_error& e) {
      EXPECT_EQ(e.code(), start_errc::already_started);
    }
  }
}

TEST(GenServerStart, ConcurrentStartsUnderOneNameHaveOneWinner) {
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  constexpr int threads = 4;
  std::vector<peeper::start_result<sync_server>> results;
  std::mutex m;
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i) {
    ts.emplace_back([&] {
      auto r = peeper::start<sync_server>(rt, plan{}, {.name = "contested"});
      std::lock_guard lock(m);
      results.push_back(std::move(r));
    });
  }
  for (auto& t : ts) t.join();
  int winners = 0;
  peeper::pid winner;
  for (const auto& r : results) {
    if (r.ok()) {
      ++winners;
      winner = r.process();
    }
  }
  ASSERT_EQ(winners, 1);
  for (const auto& r : results) {
    if (!r.ok()) {
      EXPECT_EQ(r.error(), start_errc::already_started);
      EXPECT_EQ(r.process(), winner);
    }
  }
}

TEST(GenServerStart, InitThatThrowsFailsTheStartAndLeavesNothingBehind) {
  peeper_test::quiet_log quiet;
  journal j;
  peeper::runtime rt(deterministic());
  auto r = peeper::start<sync_server>(rt, plan{.what = init_does::throw_error, .log = &j},
                                      {.name = "thrower"});
  EXPECT_EQ(r.error(), start_errc::init_failed);
  EXPECT_EQ(r.reason(), exit_reason::exception("std::runtime_error", "init threw"));
  EXPECT_EQ(r.to_string(), "init_failed ({exception, std::runtime_error: init threw})");
  rt.run_until_idle();
  EXPECT_EQ(rt.process_count(), 0U);
  EXPECT_FALSE(peeper::whereis(rt, "thrower"));
  try {
    (void)r.value();
    ADD_FAILURE() << "value() returned";
  } catch (const peeper::start_error& e) {
    EXPECT_EQ(e.code(), start_errc::init_failed);
    EXPECT_NE(std::string(e.what()).find("init threw"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(peeper::start<sync_server>(rt, plan{}, {.name = "thrower"}).ok())
      << "the name is free again";
}

TEST(GenServerStart, InitThatReturnsStopFailsTheStartWithItsReason) {
  journal j;
  peeper::runtime rt(deterministic());
  auto r = peeper::start<sync_server>(rt, plan{.what = init_does::return_stop, .log = &j},
                                      {.name = peeper::name::global("stopper")});
  EXPECT_EQ(r.error(), start_errc::init_failed);
  EXPECT_EQ(r.reason(), exit_reason::error("refused"));
  rt.run_until_idle();
  EXPECT_EQ(rt.process_count(), 0U);
  EXPECT_FALSE(peeper::whereis(rt, peeper::name::global("stopper")));
  EXPECT_EQ(j, (journal{"init"})) << "terminate does not run for a failed init";
}

TEST(GenServerStart, InitThatReturnsIgnoreFailsTheStartWithIgnored) {
  journal j;
  peeper::runtime rt(deterministic());
  auto reg = std::make_shared<peeper::registry>();
  auto r = peeper::start<sync_server>(rt, plan{.what = init_does::return_ignore, .log = &j},
                                      {.name = peeper::name::via(reg, "ignorer")});
  EXPECT_EQ(r.error(), start_errc::ignored);
  rt.run_until_idle();
  EXPECT_EQ(rt.process_count(), 0U);
  EXPECT_EQ(reg->size(), 0U);
}

TEST(GenServerStart, InitTimeoutReturnsTimeoutAndKillsTheProcess) {
  peeper::runtime rt(deterministic());
  const auto before = rt.now();
  auto r = peeper::start<slow_server>(rt, 1, {.name = "slow", .init_timeout = 100ms});
  EXPECT_EQ(r.error(), start_errc::timeout);
  EXPECT_EQ(rt.now() - before, 100ms);
  rt.run_until_idle();
  EXPECT_EQ(rt.process_count(), 0U) << "killed";
  EXPECT_FALSE(peeper::whereis(rt, "slow"));
}

TEST(GenServerStart, AnInitThatFinishesInTimeIsNotKilled) {
  peeper::runtime rt(deterministic());
  // Sends the slow server its `go` 50 ms in.
  peeper::spawn(rt, [&rt]() -> peeper::task<> {
    co_await peeper::receive<never>(50ms);
    peeper::send(peeper::whereis(rt, "slow"), go{});
  });
  auto r = peeper::start<slow_server>(rt, 7, {.name = "slow", .init_timeout = 100ms});
  ASSERT_TRUE(r.ok()) << r.to_string();
  EXPECT_EQ(rt.now().time_since_epoch(), std::chrono::nanoseconds(50ms));
  rt.advance(1s);
  EXPECT_EQ(peeper::call(r.value(), get{}), 7);
}

TEST(GenServerStart, StartFailsWithStoppingOnceTheRuntimeIsStopping) {
  peeper::runtime rt(deterministic());
  rt.shutdown();
  auto r = peeper::start<sync_server>(rt, plan{});
  EXPECT_EQ(r.error(), start_errc::stopping);
}

TEST(GenServerStart, StartErrcNamesPrint) {
  EXPECT_STREQ(peeper::to_string(start_errc::already_started), "already_started");
  EXPECT_STREQ(peeper::to_string(start_errc::init_failed), "init_failed");
  EXPECT_STREQ(peeper::to_string(start_errc::ignored), "ignored");
  EXPECT_STREQ(peeper::to_string(start_errc::timeout), "timeout");
  EXPECT_STREQ(peeper::to_string(start_errc::stopping), "stopping");
}

// ---- start_link and async_start ---------------------------------------------------------

TEST(GenServerStartLink, LinksTheServerToTheCaller) {
  peeper_test::quiet_log quiet;
  peeper::runtime rt(deterministic());
  peeper::pid server;
  std::optional<exit_reason> parent_reason;
  auto parent = peeper::spawn(rt, [&server]() -> peeper::task<> {
    const plan plain{};
    auto r = co_await peeper::start_link<sync_server>(plain);
    EXPECT_TRUE(r.ok()) << r.to_string();
    server = r.process();
    co_await peeper::receive<never>();
  });
  watch(rt, parent, parent_reason);
  ASSERT_TRUE(peeper::is_alive(server));
  peeper::cast(peeper::server_ref<sync_server>(server), crash{});
  rt.run_until_idle();
  EXPECT_EQ(parent_reason, exit_reason::exception("std::runtime_error", "crash requested"));
}

TEST(GenServerStartLink, AFailedStartDoesNotKillOrSignalTheCaller) {
  peeper_test::quiet_log quiet;
  peeper::runtime rt(deterministic());
  std::vector<std::string> log;
  auto parent = peeper::spawn(rt, [&log]() -> peeper::task<> {
    peeper::trap_exit(true);
    // (Named options: GCC 12 mishandles braced temporaries inside co_await.)
    const peeper::start_options taken{.name = "taken"};
    const plan plain{};
    auto first = co_await peeper::start_link<sync_server>(plain, taken);
    log.push_back(first.to_string().substr(0, 2));
    const std::array<init_does, 3> failures{init_does::throw_error, init_does::return_stop,
                                            init_does::return_ignore};
    for (auto what : failures) {
      const plan failing{.what = what};
      auto r = co_await peeper::start_link<sync_server>(failing);
      log.push_back(peeper::to_string(*r.error()));
    }
    auto dup = co_await peeper::start_link<sync_server>(plain, taken);
    log.push_back(peeper::to_string(*dup.error()));
    EXPECT_EQ(dup.process(), first.process());
    const peeper::start_options quick{.init_timeout = 10ms};
    auto slow = co_await peeper::start_link<slow_server>(1, quick);
    log.push_back(peeper::to_string(*slow.error()));
    // No exit message from any of the failed children.
    auto exit = co_await peeper::receive<peeper::exit_message>(50ms);
    log.push_back(exit ? "exit from " + exit->from.to_string() + ": " + exit->reason.to_string()
                       : "no exit message");
  });
  rt.run_until_idle();
  rt.advance(100ms);
  EXPECT_EQ(log, (std::vector<std::string>{"ok", "init_failed", "init_failed", "ignored",
                                           "already_started", "timeout", "no exit message"}));
  EXPECT_FALSE(peeper::is_alive(parent)) << "it ended normally, having seen everything";
}

TEST(GenServerStartLink, ANonTrappingCallerSurvivesAnInitTimeout) {
  peeper::runtime rt(deterministic());
  std::optional<exit_reason> parent_reason;
  std::optional<start_errc> error;
  auto parent = peeper::spawn(rt, [&error]() -> peeper::task<> {
    const peeper::start_options quick{.init_timeout = 10ms};
    auto r = co_await peeper::start_link<slow_server>(1, quick);
    error = r.error();
    co_await peeper::receive<never>();
  });
  watch(rt, parent, parent_reason);
  rt.advance(10ms);
  rt.run_until_idle();
  EXPECT_EQ(error, start_errc::timeout);
  EXPECT_TRUE(peeper::is_alive(parent)) << (parent_reason ? parent_reason->to_string() : "");
  EXPECT_EQ(rt.process_count(), 2U) << "parent and its watcher; the child was killed";
}

TEST(GenServerStartLink, AsyncStartDoesNotLink) {
  peeper_test::quiet_log quiet;
  peeper::runtime rt(deterministic());
  peeper::pid server;
  auto parent = peeper::spawn(rt, [&server]() -> peeper::task<> {
    const plan plain{};
    auto r = co_await peeper::async_start<sync_server>(plain);
    server = r.process();
    co_await peeper::receive<never>();
  });
  rt.run_until_idle();
  peeper::cast(peeper::server_ref<sync_server>(server), crash{});
  rt.run_until_idle();
  EXPECT_FALSE(peeper::is_alive(server));
  EXPECT_TRUE(peeper::is_alive(parent));
}

TEST(GenServerStartLink, StartLinkOutsideAProcessThrowsNotInProcess) {
  peeper::runtime rt(deterministic());
  auto op = peeper::start_link<sync_server>(plan{});
  EXPECT_THROW((void)op.await_ready(), peeper::not_in_process);
}

// ---- the parent's exit ------------------------------------------------------------------

TEST(GenServerParent, ATrappingServerRunsTerminateWhenItsParentExitsWithShutdown) {
  journal j;
  peeper::runtime rt(deterministic());
  peeper::pid server;
  auto parent = peeper::spawn(rt, [&]() -> peeper::task<> {
    const plan trapping{.log = &j, .trap_exits = true};
    auto r = co_await peeper::start_link<sync_server>(trapping);
    server = r.process();
    co_await peeper::receive<never>();
  });
  rt.run_until_idle();
  std::optional<exit_reason> server_reason;
  watch(rt, server, server_reason);
  j.clear();
  peeper::exit(parent, exit_reason::shutdown());
  rt.run_until_idle();
  EXPECT_EQ(j, (journal{"terminate shutdown"}));
  EXPECT_EQ(server_reason, exit_reason::shutdown());
}

TEST(GenServerParent, ANonTrappingServerDiesWithItsParentWithoutTerminate) {
  journal j;
  peeper::runtime rt(deterministic());
  peeper::pid server;
  auto parent = peeper::spawn(rt, [&]() -> peeper::task<> {
    const plan logging{.log = &j};
    auto r = co_await peeper::start_link<sync_server>(logging);
    server = r.process();
    co_await peeper::receive<never>();
  });
  rt.run_until_idle();
  std::optional<exit_reason> server_reason;
  watch(rt, server, server_reason);
  j.clear();
  peeper::exit(parent, exit_reason::shutdown());
  rt.run_until_idle();
  EXPECT_TRUE(j.empty());
  EXPECT_EQ(server_reason, exit_reason::shutdown());
}

TEST(GenServerParent, ATrappingServerGetsOtherLinksExitsAsInfo) {
  journal j;
  peeper::runtime rt(deterministic());
  auto r = peeper::start<sync_server>(rt, plan{.log = &j, .trap_exits = true});
  auto other = peeper::spawn(rt, []() -> peeper::task<> { co_await peeper::receive<never>(); });
  rt.run_until_idle();
  peeper::detail::run_in(r.process(), [other] { peeper::link(other); });
  rt.run_until_idle();
  j.clear();
  peeper::exit(other, exit_reason::shutdown());
  rt.run_until_idle();
  EXPECT_EQ(j, (journal{"info peeper::exit_message"}));
  EXPECT_TRUE(peeper::is_alive(r.process()));
}

}  // namespace gen_server_start_test
