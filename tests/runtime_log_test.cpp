// Crash reports: what the runtime logs when a process crashes, and the
// log level that silences it.
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include <peeper/runtime/log.hpp>
#include <peeper/runtime/names.hpp>
#include <peeper/runtime/process.hpp>

#include "test_support.hpp"

namespace runtime_log_test {

using peeper::exit_reason;
using peeper_test::captured_log;
using peeper_test::deterministic;

struct poison {};
struct stop {};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Log, LevelCanBeSetAndRead) {
  const auto saved = peeper::get_log_level();
  for (auto level : {peeper::log_level::trace, peeper::log_level::debug, peeper::log_level::info,
                     peeper::log_level::warn, peeper::log_level::error, peeper::log_level::off}) {
    peeper::set_log_level(level);
    EXPECT_EQ(peeper::get_log_level(), level);
  }
  peeper::set_log_level(saved);
}

TEST(Log, PlainBodyCrashReportNamesTheProcessItsNameAndTheReason) {
  captured_log log;
  peeper::pid p;
  {
    peeper::runtime rt(deterministic());
    p = peeper::spawn(rt, [] {
      peeper::register_name(peeper::this_runtime(), "reporter", peeper::self());
      throw std::runtime_error("boom");
    });
    rt.run_until_idle();
  }
  const std::string text = log.text();
  EXPECT_TRUE(contains(text, "error: ")) << text;
  EXPECT_TRUE(contains(text, p.to_string())) << text;
  EXPECT_TRUE(contains(text, "reporter")) << text;
  EXPECT_TRUE(contains(text, "{exception, std::runtime_error: boom}")) << text;
}

TEST(Log, CoroutineBodyCrashReportNamesTheMessageBeingHandled) {
  captured_log log;
  peeper::pid p;
  {
    peeper::runtime rt(deterministic());
    p = peeper::spawn(rt, []() -> peeper::task<> {
      peeper::register_name(peeper::this_runtime(), "poisoned", peeper::self());
      co_await peeper::receive<poison>();
      throw std::logic_error("ate poison");
    });
    rt.run_until_idle();
    EXPECT_EQ(log.text(), "") << "nothing crashed yet";
    peeper::send(p, poison{});
    rt.run_until_idle();
  }
  const std::string text = log.text();
  EXPECT_TRUE(contains(text, "error: ")) << text;
  EXPECT_TRUE(contains(text, p.to_string())) << text;
  EXPECT_TRUE(contains(text, "poisoned")) << text;
  EXPECT_TRUE(contains(text, "runtime_log_test::poison")) << text;
  EXPECT_TRUE(contains(text, "{exception, std::logic_error: ate poison}")) << text;
}

TEST(Log, CrashReportFromAThreadedRuntime) {
  captured_log log;
  peeper::pid p;
  {
    peeper_test::event_queue<exit_reason> q;
    peeper::runtime rt(peeper::runtime_options{.threads = 2});
    p = peeper::spawn(rt, []() -> peeper::task<> {
      co_await peeper::receive<poison>();
      throw std::runtime_error("threaded boom");
    });
    peeper_test::watch(rt, p, q);
    peeper::send(p, poison{});
    ASSERT_TRUE(q.pop());
  }
  const std::string text = log.text();
  EXPECT_TRUE(contains(text, p.to_string())) << text;
  EXPECT_TRUE(contains(text, "threaded boom")) << text;
}

TEST(Log, OrderlyExitsAndKillsAreNotCrashes) {
  captured_log log;
  {
    peeper::runtime rt(deterministic());
    peeper::spawn(rt, [] {});
    auto waiting = peeper::spawn(rt, []() -> peeper::task<> { co_await peeper::receive<stop>(); });
    auto killed = peeper::spawn(rt, []() -> peeper::task<> { co_await peeper::receive<stop>(); });
    rt.run_until_idle();
    peeper::exit(killed, exit_reason::kill());
    peeper::send(waiting, stop{});
    rt.run_until_idle();
  }
  EXPECT_EQ(log.text(), "");
}

TEST(Log, LevelOffSilencesCrashReports) {
  captured_log log(peeper::log_level::off);
  {
    peeper::runtime rt(deterministic());
    peeper::spawn(rt, [] { throw std::runtime_error("unheard"); });
    rt.run_until_idle();
  }
  EXPECT_EQ(log.text(), "");
}

}  // namespace runtime_log_test
