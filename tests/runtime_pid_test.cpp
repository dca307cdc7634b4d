// Pids, references and exit reasons: identity, printing, ordering, hashing,
// and the "no process" outcome of everything done to a dead or null pid.
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/dictionary.hpp>
#include <peeper/runtime/names.hpp>
#include <peeper/runtime/process.hpp>
#include <peeper/runtime/timer.hpp>

#include "test_support.hpp"

namespace runtime_pid_test {

using peeper_test::deterministic;

struct ping {};
struct stop {};

TEST(Pid, EveryLiveProcessHasItsOwnPid) {
  peeper::runtime rt(deterministic());
  std::vector<peeper::pid> pids;
  for (int i = 0; i < 1000; ++i) {
    pids.push_back(peeper::spawn(rt, []() -> peeper::task<> { co_await peeper::receive<stop>(); }));
  }
  rt.run_until_idle();
  EXPECT_EQ(rt.process_count(), 1000U);
  std::set<std::uint64_t> ids;
  for (const auto& p : pids) {
    EXPECT_NE(p.id(), 0U);
    ids.insert(p.id());
  }
  EXPECT_EQ(ids.size(), pids.size());
  for (const auto& p : pids) peeper::send(p, stop{});
  rt.run_until_idle();
  EXPECT_EQ(rt.process_count(), 0U);
}

TEST(Pid, PidsAreNeverReusedAfterTheirProcessExits) {
  peeper::runtime rt(deterministic());
  std::unordered_set<peeper::pid> seen;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 500; ++i) {
      auto p = peeper::spawn(rt, [] {});
      EXPECT_TRUE(seen.insert(p).second) << p << " was handed out twice";
    }
    rt.run_until_idle();  // every process of this round has exited
    EXPECT_EQ(rt.process_count(), 0U);
  }
  for (const auto& p : seen) EXPECT_FALSE(peeper::is_alive(p));
}

TEST(Pid, PidsAreUniqueAcrossThreadsAndRuntimes) {
  peeper_test::event_queue<peeper::pid> spawned_inside;  // outlives the runtimes
  peeper::runtime a(peeper::runtime_options{.threads = 2});
  peeper::runtime b(deterministic());
  std::vector<peeper::pid> from_a;
  // Spawns from outside threads and from inside processes on both workers.
  for (int i = 0; i < 50; ++i) {
    from_a.push_back(peeper::spawn(a, [&spawned_inside] {
      for (int j = 0; j < 20; ++j)
        spawned_inside.push(peeper::spawn(peeper::this_runtime(), [] {}));
    }));
  }
  std::unordered_set<peeper::pid> all(from_a.begin(), from_a.end());
  for (int i = 0; i < 50 * 20; ++i) {
    auto p = spawned_inside.pop();
    ASSERT_TRUE(p);
    EXPECT_TRUE(all.insert(*p).second);
  }
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(all.insert(peeper::spawn(b, [] {})).second);
  b.run_until_idle();
  EXPECT_EQ(all.size(), 50U + 50U * 20U + 100U);
}

TEST(Pid, PrintsInErlangStyle) {
  peeper::runtime rt(deterministic());
  auto p = peeper::spawn(rt, [] {});
  const std::string s = p.to_string();
  EXPECT_TRUE(std::regex_match(s, std::regex(R"(<0\.[1-9][0-9]*\.0>)"))) << s;
  EXPECT_EQ(s, "<0." + std::to_string(p.id()) + ".0>");
  std::ostringstream os;
  os << p;
  EXPECT_EQ(os.str(), s);
  rt.run_until_idle();
  EXPECT_EQ(p.to_string(), s) << "a dead process keeps its printed pid";
}

TEST(Pid, NullPidPrintsAndComparesAsNoProcess) {
  peeper::pid null;
  EXPECT_FALSE(null);
  EXPECT_EQ(null.id(), 0U);
  EXPECT_EQ(null.to_string(), "<null>");
  EXPECT_EQ(null, peeper::pid());
  EXPECT_EQ(std::hash<peeper::pid>{}(null), std::hash<peeper::pid>{}(peeper::pid()));
}

TEST(Pid, CopiesCompareEqualAndDistinctPidsOrderByCreation) {
  peeper::runtime rt(deterministic());
  auto a = peeper::spawn(rt, [] {});
  auto b = peeper::spawn(rt, [] {});
  peeper::pid a2 = a;
  EXPECT_TRUE(a);
  EXPECT_EQ(a, a2);
  EXPECT_NE(a, b);
  EXPECT_FALSE(a == b);
  // Spawned from one thread, a later pid orders after an earlier one.
  EXPECT_LT(a, b);
  EXPECT_GT(b, a);
  EXPECT_EQ(a <=> a2, std::strong_ordering::equal);
  EXPECT_LT(peeper::pid(), a);
  std::set<peeper::pid> ordered{b, a, a2};
  EXPECT_EQ(ordered.size(), 2U);
  EXPECT_EQ(*ordered.begin(), a);
  rt.run_until_idle();
  EXPECT_EQ(a, a2) << "identity survives the process";
}

TEST(Pid, HashableAsMapKeys) {
  peeper::runtime rt(deterministic());
  std::unordered_map<peeper::pid, int> m;
  std::vector<peeper::pid> pids;
  for (int i = 0; i < 100; ++i) {
    pids.push_back(peeper::spawn(rt, [] {}));
    m[pids.back()] = i;
  }
  EXPECT_EQ(m.size(), 100U);
  for (int i = 0; i < 100; ++i) {
    peeper::pid copy = pids[static_cast<std::size_t>(i)];
    EXPECT_EQ(m.at(copy), i);
    EXPECT_EQ(std::hash<peeper::pid>{}(copy),
              std::hash<peeper::pid>{}(pids[static_cast<std::size_t>(i)]));
  }
  rt.run_until_idle();
}

TEST(Pid, ADeadPidGivesNoProcessOutcomesEverywhere) {
  peeper::runtime rt(deterministic());
  auto dead = peeper::spawn(rt, [] {});
  rt.run_until_idle();
  ASSERT_FALSE(peeper::is_alive(dead));

  EXPECT_FALSE(peeper::send(dead, ping{}));
  EXPECT_FALSE(peeper::exit(dead, peeper::exit_reason::kill()));
  EXPECT_FALSE(peeper::exit(dead, peeper::exit_reason::normal()));
  EXPECT_FALSE(peeper::detail::run_in(dead, [] { ADD_FAILURE() << "ran in a dead process"; }));
  EXPECT_FALSE(peeper::register_name(rt, "dead", dead));
  EXPECT_FALSE(peeper::whereis(rt, "dead"));
  // A timer to a dead process is accepted and its message dropped when it fires.
  auto t = peeper::send_after(dead, std::chrono::milliseconds(5), ping{});
  EXPECT_TRUE(t);
  rt.advance(std::chrono::milliseconds(10));
  EXPECT_FALSE(peeper::cancel_timer(rt, t)) << "the timer fired (into nothing)";

  // Linking and monitoring from a live process: see runtime_signals_test.
  EXPECT_EQ(rt.process_count(), 0U);
}

TEST(Pid, ANullPidIsRejectedOrReportedAsNoProcess) {
  peeper::runtime rt(deterministic());
  peeper::pid null;
  EXPECT_FALSE(peeper::send(null, ping{}));
  EXPECT_FALSE(peeper::exit(null, peeper::exit_reason::kill()));
  EXPECT_FALSE(peeper::is_alive(null));
  EXPECT_FALSE(peeper::detail::run_in(null, [] {}));
  EXPECT_THROW((void)peeper::send_after(null, std::chrono::milliseconds(1), ping{}),
               peeper::bad_argument);
  EXPECT_THROW((void)peeper::register_name(rt, "x", null), peeper::bad_argument);

  bool checked = false;
  peeper::spawn(rt, [&] {
    EXPECT_THROW(peeper::link(null), peeper::bad_argument);
    EXPECT_THROW((void)peeper::monitor(null), peeper::bad_argument);
    EXPECT_NO_THROW(peeper::unlink(null));
    EXPECT_FALSE(peeper::demonitor(peeper::ref()));
    checked = true;
  });
  rt.run_until_idle();
  EXPECT_TRUE(checked);
}

TEST(Pid, ProcessOnlyFunctionsThrowNotInProcessOutside) {
  peeper::runtime rt(deterministic());
  auto p = peeper::spawn(rt, [] {});
  EXPECT_FALSE(peeper::self());
  EXPECT_THROW(peeper::link(p), peeper::not_in_process);
  EXPECT_THROW(peeper::unlink(p), peeper::not_in_process);
  EXPECT_THROW((void)peeper::monitor(p), peeper::not_in_process);
  EXPECT_THROW((void)peeper::demonitor(peeper::ref::make()), peeper::not_in_process);
  EXPECT_THROW((void)peeper::trap_exit(true), peeper::not_in_process);
  EXPECT_THROW((void)peeper::spawn_link([] {}), peeper::not_in_process);
  EXPECT_THROW((void)peeper::spawn_monitor([] {}), peeper::not_in_process);
  EXPECT_THROW((void)peeper::this_runtime(), peeper::not_in_process);
  EXPECT_THROW((void)peeper::this_process::dict(), peeper::not_in_process);
  EXPECT_THROW((void)peeper::this_process::put("k", 1), peeper::not_in_process);
  try {
    (void)peeper::this_runtime();
  } catch (const peeper::not_in_process& e) {
    EXPECT_NE(std::string(e.what()).find("this_runtime"), std::string::npos) << e.what();
  }
  rt.run_until_idle();
}

TEST(Pid, SelfIsTheRunningProcess) {
  peeper::runtime rt(deterministic());
  peeper::pid seen;
  auto p = peeper::spawn(rt, [&] { seen = peeper::self(); });
  rt.run_until_idle();
  EXPECT_EQ(seen, p);
}

TEST(Ref, FreshRefsAreUniquePrintableComparableAndHashable) {
  std::unordered_set<peeper::ref> refs;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(refs.insert(peeper::ref::make()).second);
  auto a = peeper::ref::make();
  auto b = peeper::ref::make();
  EXPECT_TRUE(a);
  EXPECT_FALSE(peeper::ref());
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  EXPECT_EQ(a, peeper::ref::from_id(a.id()));
  EXPECT_EQ(a.to_string(), "#Ref<0." + std::to_string(a.id()) + ">");
  std::ostringstream os;
  os << a;
  EXPECT_EQ(os.str(), a.to_string());
}

TEST(ExitReason, PrintsAsOtpSpellsIt) {
  using peeper::exit_reason;
  EXPECT_EQ(exit_reason().to_string(), "normal");
  EXPECT_EQ(exit_reason::normal().to_string(), "normal");
  EXPECT_EQ(exit_reason::shutdown().to_string(), "shutdown");
  EXPECT_EQ(exit_reason::shutdown("app_stop").to_string(), "{shutdown, app_stop}");
  EXPECT_EQ(exit_reason::kill().to_string(), "kill");
  EXPECT_EQ(exit_reason::killed().to_string(), "killed");
  EXPECT_EQ(exit_reason::noproc().to_string(), "noproc");
  EXPECT_EQ(exit_reason::noconnection().to_string(), "noconnection");
  EXPECT_EQ(exit_reason::error("bad_config").to_string(), "bad_config");
  EXPECT_EQ(exit_reason::exception("std::runtime_error", "boom").to_string(),
            "{exception, std::runtime_error: boom}");
  std::ostringstream os;
  os << exit_reason::killed();
  EXPECT_EQ(os.str(), "killed");
}

TEST(ExitReason, ComparesByKindAndDetail) {
  using peeper::exit_reason;
  EXPECT_EQ(exit_reason::normal(), exit_reason());
  EXPECT_EQ(exit_reason::error("x"), exit_reason::error("x"));
  EXPECT_NE(exit_reason::error("x"), exit_reason::error("y"));
  EXPECT_NE(exit_reason::shutdown(), exit_reason::shutdown("x"));
  EXPECT_NE(exit_reason::kill(), exit_reason::killed());
  EXPECT_NE(exit_reason::error("normal"), exit_reason::normal());
  EXPECT_EQ(exit_reason::shutdown("x").detail(), "x");
  EXPECT_EQ(exit_reason::killed().detail(), "");
  EXPECT_EQ(exit_reason::killed().what(), exit_reason::kind::killed);
}

TEST(ExitReason, OrderlyExitsAreNormalAndShutdown) {
  using peeper::exit_reason;
  EXPECT_TRUE(exit_reason::normal().is_normal());
  EXPECT_TRUE(exit_reason::normal().is_orderly());
  EXPECT_TRUE(exit_reason::shutdown().is_orderly());
  EXPECT_TRUE(exit_reason::shutdown("x").is_orderly());
  EXPECT_TRUE(exit_reason::shutdown("x").is_shutdown());
  EXPECT_FALSE(exit_reason::shutdown().is_normal());
  EXPECT_FALSE(exit_reason::killed().is_orderly());
  EXPECT_FALSE(exit_reason::error("x").is_orderly());
  EXPECT_FALSE(exit_reason::exception("t", "w").is_orderly());
  EXPECT_FALSE(exit_reason::noproc().is_orderly());
}

TEST(ExitReason, FromCurrentExceptionNamesTypeAndMessage) {
  using peeper::exit_reason;
  try {
    throw std::out_of_range("index 7");
  } catch (...) {
    auto r = exit_reason::from_current_exception();
    EXPECT_EQ(r.what(), exit_reason::kind::exception);
    EXPECT_EQ(r.detail(), "std::out_of_range: index 7");
  }
  try {
    throw 42;
  } catch (...) {
    auto r = exit_reason::from_current_exception();
    EXPECT_EQ(r.what(), exit_reason::kind::exception);
    EXPECT_NE(r.detail().find("int"), std::string::npos) << r.detail();
  }
}

}  // namespace runtime_pid_test
