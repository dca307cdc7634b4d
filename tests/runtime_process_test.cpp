// Processes: spawn, spawn_link, spawn_monitor, plain and coroutine bodies,
// exceptions as exit reasons, send and receive (plain, selective, timed).
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/detail/process.hpp>
#include <peeper/runtime/detail/runtime_core.hpp>
#include <peeper/runtime/errors.hpp>
#include <peeper/runtime/process.hpp>
#include <peeper/runtime/runtime.hpp>

#include "test_support.hpp"

namespace runtime_process_test {

using peeper::exit_reason;
using peeper_test::deterministic;
using peeper_test::exit_of;

struct ping {
  int n = 0;
};
struct pong {
  int n = 0;
};
struct other {
  std::string text;
};
struct stop {};
struct numbered {
  int sender = 0;
  int seq = 0;
};
struct custom_error {};

class boom : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

peeper::task<int> next_value() {
  auto m = co_await peeper::receive<ping>();
  co_return m->n;
}
peeper::task<int> sum_of(int count) {
  int s = 0;
  for (int i = 0; i < count; ++i) s += co_await next_value();
  co_return s;
}

TEST(Spawn, PlainBodyRunsOnceAndExitsNormal) {
  peeper::runtime rt(deterministic());
  int runs = 0;
  auto reason = exit_of(rt, [&runs] { ++runs; });
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::normal());
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(rt.process_count(), 0U);
}

TEST(Spawn, ReturnsALivePidBeforeTheBodyRuns) {
  peeper::runtime rt(deterministic());
  bool ran = false;
  auto p = peeper::spawn(rt, [&ran] { ran = true; });
  EXPECT_TRUE(peeper::is_alive(p));
  EXPECT_FALSE(ran);
  EXPECT_EQ(rt.process_count(), 1U);
  rt.run_until_idle();
  EXPECT_TRUE(ran);
  EXPECT_FALSE(peeper::is_alive(p));
  EXPECT_EQ(rt.process_count(), 0U);
}

TEST(Spawn, CoroutineBodySuspendsUntilAMessageArrives) {
  peeper::runtime rt(deterministic());
  int got = 0;
  auto p = peeper::spawn(rt, [&got]() -> peeper::task<> {
    auto m = co_await peeper::receive<ping>();
    got = m->n;
  });
  rt.run_until_idle();
  EXPECT_TRUE(peeper::is_alive(p)) << "waits in receive";
  EXPECT_EQ(got, 0);
  EXPECT_FALSE(rt.step()) << "a waiting process is not runnable";
  EXPECT_TRUE(peeper::send(p, ping{7}));
  rt.run_until_idle();
  EXPECT_EQ(got, 7);
  EXPECT_FALSE(peeper::is_alive(p));
}

TEST(Spawn, CoroutineBodyEndingExitsNormal) {
  peeper::runtime rt(deterministic());
  auto reason = exit_of(rt, []() -> peeper::task<> { co_return; });
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::normal());
}

TEST(Spawn, ExceptionEscapingPlainBodyBecomesExceptionReasonWithTypeAndMessage) {
  peeper_test::quiet_log quiet;
  peeper::runtime rt(deterministic());
  auto reason = exit_of(rt, [] { throw boom("the disk is full"); });
  ASSERT_TRUE(reason);
  EXPECT_EQ(reason->what(), exit_reason::kind::exception);
  EXPECT_EQ(reason->detail(), "runtime_process_test::boom: the disk is full");
  EXPECT_EQ(*reason, exit_reason::exception("runtime_process_test::boom", "the disk is full"));
}

TEST(Spawn, ExceptionEscapingCoroutineBodyBecomesExceptionReasonWithTypeAndMessage) {
  peeper_test::quiet_log quiet;
  peeper::runtime rt(deterministic());
  auto p = peeper::pid();
  std::optional<exit_reason> reason;
  peeper::spawn(rt, [&]() -> peeper::task<> {
    auto [child, r] = peeper::spawn_monitor([]() -> peeper::task<> {
      co_await peeper::receive<ping>();
      throw std::invalid_argument("bad ping");
    });
    p = child;
    auto down = co_await peeper::receive<peeper::down_message>();
    reason = down->reason;
  });
  rt.run_until_idle();
  ASSERT_TRUE(p);
  peeper::send(p, ping{});
  rt.run_until_idle();
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::exception("std::invalid_argument", "bad ping"));
}

TEST(Spawn, NonStandardExceptionStillEndsTheProcessWithItsType) {
  peeper_test::quiet_log quiet;
  peeper::runtime rt(deterministic());
  auto reason = exit_of(rt, [] { throw custom_error{}; });
  ASSERT_TRUE(reason);
  EXPECT_EQ(reason->what(), exit_reason::kind::exception);
  EXPECT_NE(reason->detail().find("runtime_process_test::custom_error"), std::string::npos)
      << reason->detail();
}

TEST(Spawn, ThrowsBadArgumentOnceTheRuntimeIsStopping) {
  peeper::runtime rt(deterministic());
  rt.shutdown();
  EXPECT_TRUE(rt.stopping());
  EXPECT_THROW((void)peeper::spawn(rt, [] {}), peeper::bad_argument);
  rt.shutdown();  // idempotent
}

TEST(SpawnLink, ChildIsLinkedBeforeItRunsSoItsCrashKillsTheParent) {
  peeper_test::quiet_log quiet;
  peeper::runtime rt(deterministic());
  peeper::pid child;
  auto reason = exit_of(rt, [&child]() -> peeper::task<> {
    child = peeper::spawn_link([] { throw boom("child failed"); });
    co_await peeper::receive<stop>();  // never comes: the link kills us first
    ADD_FAILURE() << "the parent survived its linked child's crash";
  });
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::exception("runtime_process_test::boom", "child failed"));
  EXPECT_FALSE(peeper::is_alive(child));
}

TEST(SpawnLink, TrappingParentGetsAnExitMessageFromTheChild) {
  peeper_test::quiet_log quiet;
  peeper::runtime rt(deterministic());
  std::optional<peeper::exit_message> got;
  peeper::pid child;
  auto reason = exit_of(rt, [&]() -> peeper::task<> {
    peeper::trap_exit(true);
    child = peeper::spawn_link([] { throw boom("oops"); });
    got = co_await peeper::receive<peeper::exit_message>();
  });
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::normal());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, child);
  EXPECT_EQ(got->reason, exit_reason::exception("runtime_process_test::boom", "oops"));
}

TEST(SpawnLink, ParentExitKillsTheChild) {
  peeper::runtime rt(deterministic());
  peeper::pid parent;
  peeper::pid child;
  parent = peeper::spawn(rt, [&]() -> peeper::task<> {
    child = peeper::spawn_link([]() -> peeper::task<> { co_await peeper::receive<stop>(); });
    co_await peeper::receive<stop>();
    peeper::exit(peeper::self(), exit_reason::error("parent quits"));
    co_await peeper::receive<stop>();
  });
  peeper_test::event_queue<exit_reason> child_exit;
  rt.run_until_idle();
  ASSERT_TRUE(peeper::is_alive(child));
  peeper_test::watch(rt, child, child_exit);
  rt.run_until_idle();
  peeper::send(parent, stop{});
  rt.run_until_idle();
  EXPECT_FALSE(peeper::is_alive(parent));
  auto r = child_exit.try_pop();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, exit_reason::error("parent quits"));
}

TEST(SpawnMonitor, MonitorIsInPlaceBeforeTheChildRuns) {
  peeper::runtime rt(deterministic());
  peeper_test::quiet_log quiet;
  // The child exits at once; a monitor set after it ran would see noproc.
  auto reason = exit_of(rt, [] { throw boom("quick"); });
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, exit_reason::exception("runtime_process_test::boom", "quick"));
}

TEST(SpawnMonitor, TheMonitoredChildIsNotLinked) {
  peeper_test::quiet_log quiet;
  peeper::runtime rt(deterministic());
  bool parent_survived = false;
  peeper::spawn(rt, [&]() -> peeper::task<> {
    auto [child, r] = peeper::spawn_monitor([] { throw boom("x"); });
    auto down = co_await peeper::receive<peeper::down_message>();
    EXPECT_EQ(down->monitor, r);
    EXPECT_EQ(down->process, child);
    parent_survived = true;
  });
  rt.run_until_idle();
  EXPECT_TRUE(parent_survived);
}

TEST(Receive, MessagesFromOneSenderArriveInSendOrder) {
  peeper::runtime rt(deterministic());
  std::vector<int> got;
  auto p = peeper::spawn(rt, [&got]() -> peeper::task<> {
    for (int i = 0; i < 100; ++i) got.push_back((co_await peeper::receive<ping>())->n);
  });
  for (int i = 0; i < 100; ++i) peeper::send(p, ping{i});
  rt.run_until_idle();
  ASSERT_EQ(got.size(), 100U);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], i);
}

TEST(Receive, UntypedReceiveGivesAMessageToInspectByType) {
  peeper::runtime rt(deterministic());
  std::vector<std::string> log;
  auto p = peeper::spawn(rt, [&log]() -> peeper::task<> {
    for (int i = 0; i < 3; ++i) {
      peeper::message m = co_await peeper::receive();
      EXPECT_TRUE(m);
      if (auto* pi = m.get_if<ping>()) {
        log.push_back("ping " + std::to_string(pi->n));
        EXPECT_TRUE(m.is<ping>());
        EXPECT_FALSE(m.is<pong>());
        EXPECT_EQ(m.get_if<pong>(), nullptr);
        EXPECT_THROW((void)m.get<pong>(), peeper::bad_message_type);
      } else if (m.is<other>()) {
        log.push_back("other " + m.get<other>().text);
        EXPECT_EQ(m.type_name(), "runtime_process_test::other");
      } else {
        log.push_back("int " + std::to_string(m.get<int>()));
      }
    }
  });
  peeper::send(p, ping{1});
  peeper::send(p, other{"hello"});
  peeper::send(p, 42);
  rt.run_until_idle();
  EXPECT_EQ(log, (std::vector<std::string>{"ping 1", "other hello", "int 42"}));
}

TEST(Receive, EmptyMessageIsFalseAndNamedEmpty) {
  peeper::message m;
  EXPECT_FALSE(m);
  EXPECT_FALSE(m.is<ping>());
  EXPECT_EQ(m.type_name(), "<empty>");
  auto wrapped = peeper::message::of(ping{3});
  EXPECT_TRUE(wrapped);
  EXPECT_EQ(wrapped.get<ping>().n, 3);
}

TEST(Receive, SelectiveReceiveTakesTheFirstOfItsTypeAndLeavesTheRestInOrder) {
  peeper::runtime rt(deterministic());
  std::vector<std::string> log;
  auto p = peeper::spawn(rt, [&log]() -> peeper::task<> {
    co_await peeper::receive<stop>();  // everything below is queued by now
    log.push_back("pong " + std::to_string((co_await peeper::receive<pong>())->n));
    for (int i = 0; i < 3; ++i) {
      peeper::message m = co_await peeper::receive();
      if (auto* pi = m.get_if<ping>()) log.push_back("ping " + std::to_string(pi->n));
      if (auto* po = m.get_if<pong>()) log.push_back("pong " + std::to_string(po->n));
    }
  });
  peeper::send(p, ping{1});
  peeper::send(p, pong{2});
  peeper::send(p, ping{3});
  peeper::send(p, pong{4});
  peeper::send(p, stop{});
  rt.run_until_idle();
  EXPECT_EQ(log, (std::vector<std::string>{"pong 2", "ping 1", "ping 3", "pong 4"}));
}

TEST(Receive, SelectiveReceiveWaitsForItsTypeWhileOthersQueueUp) {
  peeper::runtime rt(deterministic());
  std::vector<int> order;
  bool got_pong = false;
  auto p = peeper::spawn(rt, [&]() -> peeper::task<> {
    co_await peeper::receive<pong>();
    got_pong = true;
    for (int i = 0; i < 3; ++i) order.push_back((co_await peeper::receive<ping>())->n);
  });
  rt.run_until_idle();
  for (int i = 0; i < 3; ++i) {
    peeper::send(p, ping{i});
    rt.run_until_idle();
    EXPECT_FALSE(got_pong) << "a ping must not wake a receive<pong>";
  }
  peeper::send(p, pong{});
  rt.run_until_idle();
  EXPECT_TRUE(got_pong);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(Receive, WithTimeoutReturnsEmptyExactlyWhenTheTimeoutElapses) {
  peeper::runtime rt(deterministic());
  bool done = false;
  bool empty = false;
  peeper::spawn(rt, [&]() -> peeper::task<> {
    peeper::message m = co_await peeper::receive(std::chrono::milliseconds(10));
    empty = !m;
    done = true;
  });
  rt.run_until_idle();
  rt.advance(std::chrono::milliseconds(9));
  EXPECT_FALSE(done) << "9 ms of a 10 ms timeout";
  rt.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(done);
  EXPECT_TRUE(empty);
}

TEST(Receive, WithTimeoutReturnsAMessageThatArrivesInTimeAndCancelsItsTimer) {
  peeper::runtime rt(deterministic());
  std::vector<std::string> log;
  auto p = peeper::spawn(rt, [&]() -> peeper::task<> {
    peeper::message m = co_await peeper::receive(std::chrono::milliseconds(10));
    log.push_back(m ? "ping " + std::to_string(m.get<ping>().n) : "timeout");
    // A second timed receive must not be cut short by the first timer.
    m = co_await peeper::receive(std::chrono::milliseconds(50));
    log.push_back(m ? "ping " + std::to_string(m.get<ping>().n) : "timeout");
  });
  rt.run_until_idle();
  rt.advance(std::chrono::milliseconds(5));
  peeper::send(p, ping{1});
  rt.run_until_idle();
  EXPECT_EQ(log, (std::vector<std::string>{"ping 1"}));
  rt.advance(std::chrono::milliseconds(49));
  EXPECT_EQ(log.size(), 1U) << "the first receive's timer fired into the second";
  rt.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(log, (std::vector<std::string>{"ping 1", "timeout"}));
}

TEST(Receive, TypedReceiveWithTimeoutReturnsNulloptAndKeepsOtherMessages) {
  peeper::runtime rt(deterministic());
  bool timed_out = false;
  int later = -1;
  auto p = peeper::spawn(rt, [&]() -> peeper::task<> {
    auto m = co_await peeper::receive<pong>(std::chrono::milliseconds(20));
    timed_out = !m.has_value();
    later = (co_await peeper::receive<ping>())->n;
  });
  rt.run_until_idle();
  peeper::send(p, ping{5});
  rt.run_until_idle();
  EXPECT_FALSE(timed_out);
  rt.advance(std::chrono::milliseconds(20));
  EXPECT_TRUE(timed_out);
  EXPECT_EQ(later, 5) << "the ping that arrived while waiting for a pong stayed queued";
}

TEST(Receive, AlreadyQueuedMessageIsReturnedWithoutWaitingForTheTimeout) {
  peeper::runtime rt(deterministic());
  int got = -1;
  auto p = peeper::spawn(rt, [&]() -> peeper::task<> {
    co_await peeper::receive<stop>();
    auto m = co_await peeper::receive<ping>(std::chrono::hours(1));
    got = m ? m->n : -2;
  });
  peeper::send(p, ping{9});
  peeper::send(p, stop{});
  rt.run_until_idle();
  EXPECT_EQ(got, 9);
  EXPECT_FALSE(peeper::is_alive(p));
}

TEST(Receive, CoroutineBodyCanAwaitNestedTasks) {
  peeper::runtime rt(deterministic());
  int sum = 0;
  auto p = peeper::spawn(rt, [&sum]() -> peeper::task<> { sum = co_await sum_of(4); });
  for (int i = 1; i <= 4; ++i) peeper::send(p, ping{i});
  rt.run_until_idle();
  EXPECT_EQ(sum, 10);
}

TEST(Receive, MessagesFromEachOfManySendersArriveInOrderAcrossThreads) {
  constexpr int senders = 8;
  constexpr int per_sender = 2000;
  peeper_test::event_queue<bool> result;
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  auto receiver = peeper::spawn(rt, [&result]() -> peeper::task<> {
    std::vector<int> next(senders, 0);
    bool ok = true;
    for (int i = 0; i < senders * per_sender; ++i) {
      auto m = co_await peeper::receive<numbered>();
      auto& expected = next[static_cast<std::size_t>(m->sender)];
      if (m->seq != expected) ok = false;
      expected = m->seq + 1;
    }
    result.push(ok);
  });
  // Half the senders are processes, half outside threads.
  for (int s = 0; s < senders / 2; ++s) {
    peeper::spawn(rt, [receiver, s] {
      for (int i = 0; i < per_sender; ++i) EXPECT_TRUE(peeper::send(receiver, numbered{s, i}));
    });
  }
  std::vector<std::thread> threads;
  for (int s = senders / 2; s < senders; ++s) {
    threads.emplace_back([receiver, s] {
      for (int i = 0; i < per_sender; ++i) EXPECT_TRUE(peeper::send(receiver, numbered{s, i}));
    });
  }
  for (auto& t : threads) t.join();
  auto ok = result.pop();
  ASSERT_TRUE(ok);
  EXPECT_TRUE(*ok) << "a sender's messages arrived out of order";
}

TEST(Receive, ThisRuntimeIsTheRuntimeRunningTheProcess) {
  peeper::runtime rt(deterministic());
  peeper::runtime* seen = nullptr;
  peeper::spawn(rt, [&seen] { seen = &peeper::this_runtime(); });
  rt.run_until_idle();
  EXPECT_EQ(seen, &rt);
}

// A process and its behaviour share one heap block (behaviour::operator new
// leaves room for the process in front).
namespace one_block {

struct flags {
  std::atomic<bool> destroyed{false};
};

struct recording final : peeper::detail::behaviour {
  explicit recording(std::shared_ptr<flags> f) : f_(std::move(f)) {}
  ~recording() override { f_->destroyed = true; }
  void handle(peeper::detail::envelope_ptr /*msg*/) override {
    peeper::detail::current()->exit_self(exit_reason::normal());
  }
  std::shared_ptr<flags> f_;
};

struct unrelated_base {
  virtual ~unrelated_base() = default;
  int padding = 0;
};
// The behaviour is not at the start of the object: no room for the process in front of it.
struct misplaced final : unrelated_base, peeper::detail::behaviour {
  explicit misplaced(std::shared_ptr<flags> f) : f_(std::move(f)) {}
  ~misplaced() override { f_->destroyed = true; }
  void handle(peeper::detail::envelope_ptr /*msg*/) override {}
  std::shared_ptr<flags> f_;
};

TEST(SpawnBlock, TheBehaviourIsDestroyedAtExitWhileItsPidStillNamesTheProcess) {
  peeper::runtime rt(deterministic());
  auto f = std::make_shared<flags>();
  peeper::pid p = rt.core().spawn(std::make_unique<recording>(f));
  rt.run_until_idle();
  EXPECT_FALSE(f->destroyed);
  EXPECT_TRUE(peeper::send(p, ping{1}));
  rt.run_until_idle();
  EXPECT_TRUE(f->destroyed);  // at exit, not when the last pid goes
  EXPECT_FALSE(peeper::is_alive(p));
  EXPECT_FALSE(peeper::send(p, ping{2}));  // the block is still there to say so
  EXPECT_EQ(p.control_block()->reason(), exit_reason::normal());
}

TEST(SpawnBlock, ABehaviourNotAtTheStartOfItsObjectIsRefusedAndFreed) {
  peeper::runtime rt(deterministic());
  auto f = std::make_shared<flags>();
  auto b = std::make_unique<misplaced>(f);
  EXPECT_THROW((void)rt.core().spawn(std::move(b)), peeper::bad_argument);
  EXPECT_TRUE(f->destroyed);  // freed through behaviour::operator delete (ASan checks the block)
  EXPECT_EQ(rt.process_count(), 0U);
}

TEST(SpawnBlock, ABehaviourNeverSpawnedIsFreedWhole) {
  auto f = std::make_shared<flags>();
  { auto b = std::make_unique<recording>(f); }
  EXPECT_TRUE(f->destroyed);
}

}  // namespace one_block

}  // namespace runtime_process_test
