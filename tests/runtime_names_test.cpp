// Process names: local, global and via a registry; taken names, release on
// death, unregister, whereis.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/names.hpp>
#include <peeper/runtime/process.hpp>

#include "test_support.hpp"

namespace runtime_names_test {

using peeper::exit_reason;
using peeper_test::deterministic;

struct stop {};

peeper::task<> idle_until_stop() { co_await peeper::receive<stop>(); }

TEST(Names, RegisterThenWhereisFindsTheProcess) {
  peeper::runtime rt(deterministic());
  auto p = peeper::spawn(rt, idle_until_stop);
  EXPECT_FALSE(peeper::whereis(rt, "server"));
  EXPECT_TRUE(peeper::register_name(rt, "server", p));
  EXPECT_EQ(peeper::whereis(rt, "server"), p);
  EXPECT_EQ(peeper::whereis(rt, peeper::name::local("server")), p);
  EXPECT_FALSE(peeper::whereis(rt, "other"));
  peeper::send(p, stop{});
  rt.run_until_idle();
}

TEST(Names, ATakenNameThrowsNameTakenNamingTheHolder) {
  peeper::runtime rt(deterministic());
  auto a = peeper::spawn(rt, idle_until_stop);
  auto b = peeper::spawn(rt, idle_until_stop);
  ASSERT_TRUE(peeper::register_name(rt, "server", a));
  try {
    peeper::register_name(rt, "server", b);
    ADD_FAILURE() << "registered a taken name";
  } catch (const peeper::name_taken& e) {
    EXPECT_EQ(e.holder(), a);
    EXPECT_NE(std::string(e.what()).find("server"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(a.to_string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(peeper::whereis(rt, "server"), a);
  EXPECT_TRUE(peeper::register_name(rt, "server", a)) << "re-registering the holder is a no-op";
  peeper::send(a, stop{});
  peeper::send(b, stop{});
  rt.run_until_idle();
}

TEST(Names, AProcessMayHoldSeveralNames) {
  peeper::runtime rt(deterministic());
  auto p = peeper::spawn(rt, idle_until_stop);
  EXPECT_TRUE(peeper::register_name(rt, "one", p));
  EXPECT_TRUE(peeper::register_name(rt, "two", p));
  EXPECT_TRUE(peeper::register_name(rt, peeper::name::global("three"), p));
  EXPECT_EQ(peeper::whereis(rt, "one"), p);
  EXPECT_EQ(peeper::whereis(rt, "two"), p);
  EXPECT_EQ(peeper::whereis(rt, peeper::name::global("three")), p);
  peeper::send(p, stop{});
  rt.run_until_idle();
  EXPECT_FALSE(peeper::whereis(rt, "one"));
  EXPECT_FALSE(peeper::whereis(rt, "two"));
  EXPECT_FALSE(peeper::whereis(rt, peeper::name::global("three")));
}

TEST(Names, ANameIsReleasedWhenItsProcessDiesAndCanBeTakenAgain) {
  peeper::runtime rt(deterministic());
  auto a = peeper::spawn(rt, idle_until_stop);
  ASSERT_TRUE(peeper::register_name(rt, "server", a));
  peeper::exit(a, exit_reason::kill());
  rt.run_until_idle();
  EXPECT_FALSE(peeper::whereis(rt, "server"));
  auto b = peeper::spawn(rt, idle_until_stop);
  EXPECT_TRUE(peeper::register_name(rt, "server", b));
  EXPECT_EQ(peeper::whereis(rt, "server"), b);
  EXPECT_FALSE(peeper::unregister_name(rt, "never")) << "was never registered";
  peeper::send(b, stop{});
  rt.run_until_idle();
  EXPECT_FALSE(peeper::unregister_name(rt, "server")) << "released at exit";
}

TEST(Names, UnregisterReleasesTheNameButNotTheProcess) {
  peeper::runtime rt(deterministic());
  auto a = peeper::spawn(rt, idle_until_stop);
  ASSERT_TRUE(peeper::register_name(rt, "server", a));
  EXPECT_TRUE(peeper::unregister_name(rt, "server"));
  EXPECT_FALSE(peeper::unregister_name(rt, "server"));
  EXPECT_FALSE(peeper::whereis(rt, "server"));
  EXPECT_TRUE(peeper::is_alive(a));
  auto b = peeper::spawn(rt, idle_until_stop);
  EXPECT_TRUE(peeper::register_name(rt, "server", b));
  peeper::send(a, stop{});  // a's exit must not release b's name
  rt.run_until_idle();
  EXPECT_EQ(peeper::whereis(rt, "server"), b);
  peeper::send(b, stop{});
  rt.run_until_idle();
}

TEST(Names, RegisteringADeadProcessReturnsFalse) {
  peeper::runtime rt(deterministic());
  auto dead = peeper::spawn(rt, [] {});
  rt.run_until_idle();
  EXPECT_FALSE(peeper::register_name(rt, "ghost", dead));
  EXPECT_FALSE(peeper::whereis(rt, "ghost"));
}

TEST(Names, EmptyNameOrNullPidIsABadArgument) {
  peeper::runtime rt(deterministic());
  auto p = peeper::spawn(rt, idle_until_stop);
  EXPECT_THROW(peeper::register_name(rt, "", p), peeper::bad_argument);
  EXPECT_THROW(peeper::register_name(rt, peeper::name::global(""), p), peeper::bad_argument);
  EXPECT_THROW(peeper::register_name(rt, "x", peeper::pid()), peeper::bad_argument);
  EXPECT_THROW((void)peeper::name::via(nullptr, "x"), peeper::bad_argument);
  peeper::send(p, stop{});
  rt.run_until_idle();
}

TEST(Names, LocalAndGlobalNamesAreSeparateNamespaces) {
  peeper::runtime rt(deterministic());
  auto a = peeper::spawn(rt, idle_until_stop);
  auto b = peeper::spawn(rt, idle_until_stop);
  EXPECT_TRUE(peeper::register_name(rt, "svc", a));
  EXPECT_TRUE(peeper::register_name(rt, peeper::name::global("svc"), b));
  EXPECT_EQ(peeper::whereis(rt, "svc"), a);
  EXPECT_EQ(peeper::whereis(rt, peeper::name::global("svc")), b);
  EXPECT_THROW(peeper::register_name(rt, peeper::name::global("svc"), a), peeper::name_taken);
  EXPECT_TRUE(peeper::unregister_name(rt, peeper::name::global("svc")));
  EXPECT_EQ(peeper::whereis(rt, "svc"), a);
  EXPECT_FALSE(peeper::whereis(rt, peeper::name::global("svc")));
  peeper::send(a, stop{});
  peeper::send(b, stop{});
  rt.run_until_idle();
}

TEST(Names, ViaNamesGoThroughTheRegistryAndAreReleasedAtExit) {
  peeper::runtime rt(deterministic());
  auto reg = std::make_shared<peeper::registry>();
  auto n = peeper::name::via(reg, "worker");
  auto a = peeper::spawn(rt, idle_until_stop);
  auto b = peeper::spawn(rt, idle_until_stop);
  EXPECT_TRUE(peeper::register_name(rt, n, a));
  EXPECT_EQ(reg->whereis_name("worker"), a);
  EXPECT_EQ(reg->size(), 1U);
  EXPECT_EQ(peeper::whereis(rt, n), a);
  try {
    peeper::register_name(rt, n, b);
    ADD_FAILURE() << "registered a taken via name";
  } catch (const peeper::name_taken& e) {
    EXPECT_EQ(e.holder(), a);
  }
  peeper::exit(a, exit_reason::kill());
  rt.run_until_idle();
  EXPECT_EQ(reg->size(), 0U) << "the runtime unregistered the dead holder";
  EXPECT_FALSE(peeper::whereis(rt, n));
  EXPECT_TRUE(peeper::register_name(rt, n, b));
  EXPECT_TRUE(peeper::unregister_name(rt, n));
  EXPECT_EQ(reg->size(), 0U);
  EXPECT_FALSE(peeper::unregister_name(rt, n));
  peeper::send(b, stop{});
  rt.run_until_idle();
}

// A registry that records what the runtime asks of it.
class recording_registry final : public peeper::name_registry {
 public:
  bool register_name(const std::string& key, const peeper::pid& p) override {
    calls.push_back("register " + key);
    return inner_.register_name(key, p);
  }
  void unregister_name(const std::string& key, const peeper::pid& p) override {
    calls.push_back("unregister " + key);
    inner_.unregister_name(key, p);
  }
  [[nodiscard]] peeper::pid whereis_name(const std::string& key) const override {
    return inner_.whereis_name(key);
  }
  std::vector<std::string> calls;

 private:
  peeper::registry inner_;
};

TEST(Names, ACustomViaRegistryIsToldOfRegistrationAndRelease) {
  peeper::runtime rt(deterministic());
  auto reg = std::make_shared<recording_registry>();
  auto p = peeper::spawn(rt, idle_until_stop);
  EXPECT_TRUE(peeper::register_name(rt, peeper::name::via(reg, "k"), p));
  EXPECT_EQ(peeper::whereis(rt, peeper::name::via(reg, "k")), p);
  peeper::send(p, stop{});
  rt.run_until_idle();
  EXPECT_EQ(reg->calls, (std::vector<std::string>{"register k", "unregister k"}));
}

TEST(Names, NameValuesPrintAndCompare) {
  auto reg = std::make_shared<peeper::registry>();
  EXPECT_EQ(peeper::name("a").to_string(), "a");
  EXPECT_EQ(peeper::name::global("a").to_string(), "{global, a}");
  EXPECT_EQ(peeper::name::via(reg, "a").to_string(), "{via, a}");
  EXPECT_EQ(peeper::name("a"), peeper::name::local("a"));
  EXPECT_FALSE(peeper::name("a") == peeper::name::global("a"));
  EXPECT_EQ(peeper::name::via(reg, "a"), peeper::name::via(reg, "a"));
  EXPECT_FALSE(peeper::name::via(reg, "a") ==
               peeper::name::via(std::make_shared<peeper::registry>(), "a"));
  EXPECT_EQ(peeper::name::global("x").with_suffix(".GenServer"),
            peeper::name::global("x.GenServer"));
  EXPECT_EQ(peeper::name::global("x").kind(), peeper::name::scope::global);
}

TEST(Names, ConcurrentRegistrationOfOneNameHasOneWinner) {
  peeper_test::event_queue<bool> results;
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  constexpr int contenders = 16;
  for (int round = 0; round < 20; ++round) {
    const std::string key = "contested" + std::to_string(round);
    std::vector<peeper::pid> pids;
    for (int i = 0; i < contenders; ++i) {
      pids.push_back(peeper::spawn(rt, [key, &results]() -> peeper::task<> {
        bool won = false;
        try {
          won = peeper::register_name(peeper::this_runtime(), key, peeper::self());
        } catch (const peeper::name_taken&) {
        }
        results.push(won);
        co_await peeper::receive<stop>();
      }));
    }
    int winners = 0;
    for (int i = 0; i < contenders; ++i) {
      auto r = results.pop();
      ASSERT_TRUE(r);
      winners += *r ? 1 : 0;
    }
    EXPECT_EQ(winners, 1) << key;
    auto holder = peeper::whereis(rt, key);
    EXPECT_TRUE(std::find(pids.begin(), pids.end(), holder) != pids.end());
    for (const auto& p : pids) peeper::send(p, stop{});
  }
}

TEST(Names, DescribeNamesAProcessForLogs) {
  peeper::runtime rt(deterministic());
  auto p = peeper::spawn(rt, idle_until_stop);
  EXPECT_EQ(peeper::detail::describe(p), p.to_string());
  peeper::register_name(rt, "logger_target", p);
  EXPECT_EQ(peeper::detail::describe(p), p.to_string() + " (logger_target)");
  peeper::send(p, stop{});
  rt.run_until_idle();
}

}  // namespace runtime_names_test
