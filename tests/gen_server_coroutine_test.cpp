// Coroutine callbacks: a server awaiting another server's reply without
// blocking its thread, and a chain of 10,000 servers each calling the next
// on a 2-thread runtime.
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/gen_server/gen_server.hpp>

#include "test_support.hpp"

namespace gen_server_coroutine_test {

using namespace std::chrono_literals;
using peeper::call_errc;
using peeper::exit_reason;
using peeper_test::deterministic;

using journal = std::vector<std::string>;

// ---- messages -------------------------------------------------------------------

struct get {};
struct hold {};
struct release {
  int value = 0;
};
struct ask {};
struct ask_with_timeout {
  std::chrono::milliseconds timeout;
};
struct ask_then_throw {};
struct note {
  std::string text;
};
struct async_note {
  std::string text;
};
struct async_info {
  std::string text;
};
struct reply_after_await {};

// ---- servers ----------------------------------------------------------------------

/// Answers get with its value, or holds calls until released.
struct backend : peeper::gen_server<backend, int> {
  auto handle_call(get, const int& v) { return peeper::reply(v); }
  peeper::call_result<int> handle_call(hold, peeper::from f, const int& /*v*/) {
    held.push_back(std::move(f));
    return peeper::noreply();
  }
  auto handle_cast(release m, int& /*v*/) {
    for (auto& f : held) f.reply(m.value);
    held.clear();
    return peeper::noreply();
  }
  std::vector<peeper::from> held;
};

struct proxy_state {
  peeper::server_ref<backend> server;
  int seed = 0;
  journal* log = nullptr;
};

/// Every callback a coroutine that awaits the backend.
struct proxy : peeper::gen_server<proxy, proxy_state> {
  peeper::task<proxy_state> init(proxy_state s) {
    s.seed = co_await peeper::async_call(s.server, get{});
    co_return s;
  }
  peeper::task<peeper::reply_t<int>> handle_call(ask, const proxy_state& s) {
    int v = co_await peeper::async_call(s.server, get{});
    co_return peeper::reply(v + 1);
  }
  peeper::task<peeper::reply_t<int>> handle_call(hold, proxy_state& s) {
    if (s.log != nullptr) s.log->push_back("call waits");
    int v = co_await peeper::async_call(s.server, hold{}, peeper::infinity);
    if (s.log != nullptr) s.log->push_back("call resumed");
    co_return peeper::reply(v);
  }
  peeper::task<peeper::reply_t<std::string>> handle_call(ask_with_timeout m, const proxy_state& s) {
    try {
      (void)co_await peeper::async_call(s.server, hold{}, m.timeout);
    } catch (const peeper::call_error& e) {
      co_return peeper::reply(std::string(peeper::to_string(e.code())));
    }
    co_return peeper::reply(std::string("answered"));
  }
  peeper::task<peeper::call_result<int>> handle_call(ask_then_throw, const proxy_state& s) {
    (void)co_await peeper::async_call(s.server, get{});
    throw std::runtime_error("after the await");
  }
  auto handle_call(get, const proxy_state& s) { return peeper::reply(s.seed); }
  auto handle_cast(note m, proxy_state& s) {
    if (s.log != nullptr) s.log->push_back("cast " + m.text);
    return peeper::noreply();
  }
  peeper::task<peeper::noreply_t<std::string>> handle_cast(async_note m, proxy_state& s) {
    s.seed = co_await peeper::async_call(s.server, get{});
    co_return peeper::noreply(peeper::continue_with(m.text));
  }
  peeper::task<peeper::noreply_t<>> handle_continue(std::string text, proxy_state& s) {
    int v = co_await peeper::async_call(s.server, get{});
    if (s.log != nullptr) s.log->push_back("continue " + text + " " + std::to_string(v));
    co_return peeper::noreply();
  }
  // Uses the message and the `from` after awaiting: they must outlive the wait.
  peeper::task<peeper::noreply_t<>> handle_info(peeper::message& m, proxy_state& s) {
    int v = co_await peeper::async_call(s.server, get{});
    if (s.log != nullptr && m.is<async_info>()) {
      s.log->push_back("info " + m.get<async_info>().text + " " + std::to_string(v));
    }
    co_return peeper::noreply();
  }
  peeper::task<peeper::call_result<int>> handle_call(reply_after_await, const peeper::from& f,
                                                     const proxy_state& s) {
    int v = co_await peeper::async_call(s.server, get{});
    EXPECT_TRUE(f.reply(v + 100));
    co_return peeper::noreply();
  }
  void terminate(const exit_reason& r, proxy_state& s) {
    if (s.log != nullptr) s.log->push_back("terminate " + r.to_string());
  }
};

/// One link of the chain: asks the next server and adds one.
struct chain_link : peeper::gen_server<chain_link, peeper::server_ref<chain_link>> {
  peeper::task<peeper::reply_t<int>> handle_call(ask, const peeper::server_ref<chain_link>& next) {
    if (!next.resolve()) co_return peeper::reply(1);
    co_return peeper::reply(co_await peeper::async_call(next, ask{}, peeper::infinity) + 1);
  }
};

// ---- tests --------------------------------------------------------------------------

TEST(GenServerCoroutine, HandleCallAwaitsAnotherServer) {
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  auto b = peeper::start<backend>(rt, 41).value();
  auto p = peeper::start<proxy>(rt, proxy_state{b}).value();
  EXPECT_EQ(peeper::call(p, ask{}), 42);
  EXPECT_EQ(peeper::call(p, get{}), 41) << "init awaited the backend too";
}

TEST(GenServerCoroutine, MessagesWaitTheirTurnWhileACallbackAwaits) {
  journal j;
  peeper::runtime rt(deterministic());
  auto b = peeper::start<backend>(rt, 0).value();
  auto p = peeper::start<proxy>(rt, proxy_state{b, 0, &j}).value();
  int got = -1;
  peeper::spawn(rt,
                [p, &got]() -> peeper::task<> { got = co_await peeper::async_call(p, hold{}); });
  rt.run_until_idle();
  peeper::cast(p, note{"1"});
  peeper::cast(p, note{"2"});
  rt.run_until_idle();
  EXPECT_EQ(j, (journal{"call waits"})) << "casts wait while the call is suspended";
  EXPECT_TRUE(peeper::is_alive(p.resolve()));
  peeper::cast(b, release{5});
  rt.run_until_idle();
  EXPECT_EQ(got, 5);
  EXPECT_EQ(j, (journal{"call waits", "call resumed", "cast 1", "cast 2"}));
}

TEST(GenServerCoroutine, CastContinueAndInfoCallbacksMayAwait) {
  journal j;
  peeper::runtime rt(deterministic());
  auto b = peeper::start<backend>(rt, 9).value();
  auto p = peeper::start<proxy>(rt, proxy_state{b, 0, &j}).value();
  peeper::cast(p, async_note{"x"});
  peeper::send(p, async_info{std::string(100, 'i')});  // on the heap, to catch a dangling use
  peeper::cast(p, note{"after"});
  rt.run_until_idle();
  EXPECT_EQ(j, (journal{"continue x 9", "info " + std::string(100, 'i') + " 9", "cast after"}));
}

TEST(GenServerCoroutine, TheFromOfACoroutineCallOutlivesItsAwaits) {
  peeper::runtime rt(deterministic());
  auto b = peeper::start<backend>(rt, 9).value();
  auto p = peeper::start<proxy>(rt, proxy_state{b}).value();
  EXPECT_EQ(peeper::call(p, reply_after_await{}), 109);
  std::vector<int> got;
  for (int i = 0; i < 3; ++i) {
    peeper::spawn(rt, [p, &got]() -> peeper::task<> {
      got.push_back(co_await peeper::async_call(p, reply_after_await{}));
    });
  }
  rt.run_until_idle();
  EXPECT_EQ(got, (std::vector<int>{109, 109, 109}));
}

TEST(GenServerCoroutine, ATimeoutInsideACallbackIsAnErrorItCanHandle) {
  peeper::runtime rt(deterministic());
  auto b = peeper::start<backend>(rt, 0).value();
  auto p = peeper::start<proxy>(rt, proxy_state{b}).value();
  EXPECT_EQ(peeper::call(p, ask_with_timeout{20ms}), "timeout");
  EXPECT_EQ(rt.now().time_since_epoch(), std::chrono::nanoseconds(20ms));
  EXPECT_EQ(peeper::call(p, ask{}), 1) << "the proxy goes on";
}

TEST(GenServerCoroutine, AnExceptionAfterAnAwaitFailsTheCallerAndRunsTerminate) {
  peeper_test::quiet_log quiet;
  journal j;
  peeper::runtime rt(deterministic());
  auto b = peeper::start<backend>(rt, 0).value();
  auto p = peeper::start<proxy>(rt, proxy_state{b, 0, &j}).value();
  try {
    (void)peeper::call(p, ask_then_throw{});
    ADD_FAILURE() << "returned";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), call_errc::exited);
    EXPECT_EQ(e.reason(), exit_reason::exception("std::runtime_error", "after the await"));
  }
  rt.run_until_idle();
  EXPECT_FALSE(peeper::is_alive(p.resolve()));
  EXPECT_EQ(j.back(), "terminate {exception, std::runtime_error: after the await}");
}

TEST(GenServerCoroutine, AServerKilledWhileAwaitingFreesItsSuspendedCallback) {
  journal j;
  peeper::runtime rt(deterministic());
  auto b = peeper::start<backend>(rt, 0).value();
  auto p = peeper::start<proxy>(rt, proxy_state{b, 0, &j}).value();
  std::vector<std::string> log;
  peeper::spawn(rt, [p, &log]() -> peeper::task<> {
    try {
      (void)co_await peeper::async_call(p, hold{});
    } catch (const peeper::call_error& e) {
      log.push_back(std::string(peeper::to_string(e.code())) + " " + e.reason().to_string());
    }
  });
  rt.run_until_idle();
  peeper::exit(p.resolve(), exit_reason::kill());
  rt.run_until_idle();
  EXPECT_EQ(log, (std::vector<std::string>{"exited killed"}));
  peeper::cast(b, release{1});  // the backend answers a caller that is gone
  rt.run_until_idle();
  EXPECT_EQ(peeper::call(b, get{}), 0);
}

TEST(GenServerCoroutine, AChainOfTenThousandServersCompletesOnTwoThreads) {
  constexpr int length = 10000;
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  peeper::server_ref<chain_link> next;
  for (int i = 0; i < length; ++i) next = peeper::start<chain_link>(rt, next).value();
  EXPECT_EQ(rt.process_count(), static_cast<std::size_t>(length));
  EXPECT_EQ(peeper::call(next, ask{}, peeper::infinity), length);
  // Twice, from two threads at once: the servers are free again.
  int other = 0;
  std::thread t([&] { other = peeper::call(next, ask{}, peeper::infinity); });
  EXPECT_EQ(peeper::call(next, ask{}, peeper::infinity), length);
  t.join();
  EXPECT_EQ(other, length);
}

}  // namespace gen_server_coroutine_test
