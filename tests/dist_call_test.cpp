// GenServer traffic across nodes: Erlang and Elixir calling, casting and sending to a C++
// server; a C++ server called from C++ (another node) and calling an Erlang gen_server; the
// errors of remote calls; terms that decode into nothing are dropped and the node goes on.
#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include <peeper/dist/codec.hpp>
#include <peeper/dist/expose.hpp>
#include <peeper/dist/node.hpp>
#include <peeper/dist/remote.hpp>
#include <peeper/gen_server/gen_server.hpp>
#include <peeper/server/server.hpp>

#include "dist_test_support.hpp"

namespace dist_call_test {

using namespace std::chrono_literals;
using dist_test::steady;
namespace dist = peeper::dist;

struct get {};
struct add {
  int n = 0;
};
struct whoami {};
struct go {};
struct pid_msg {
  peeper::pid p;
};

}  // namespace dist_call_test

template <>
struct peeper::dist::term_mapping<dist_call_test::pid_msg> {
  static constexpr std::string_view tag = "pid_msg";
  static constexpr auto fields = std::make_tuple(&dist_call_test::pid_msg::p);
};

template <>
struct peeper::dist::term_mapping<dist_call_test::get> {
  static constexpr std::string_view tag = "get";
};
template <>
struct peeper::dist::term_mapping<dist_call_test::add> {
  static constexpr std::string_view tag = "add";
  static constexpr auto fields = std::make_tuple(&dist_call_test::add::n);
};
template <>
struct peeper::dist::term_mapping<dist_call_test::go> {
  static constexpr std::string_view tag = "go";
};
template <>
struct peeper::dist::term_mapping<dist_call_test::whoami> {
  static constexpr std::string_view tag = "whoami";
};

namespace dist_call_test {

struct counter : peeper::gen_server<counter, int> {
  int init(int s) { return s; }
  auto handle_call(get /*m*/, const int& s) { return peeper::reply(s); }
  auto handle_call(add a, int& s) {
    s += a.n;
    return peeper::reply(s);
  }
  auto handle_cast(add a, int& s) {
    s += a.n;
    return peeper::noreply();
  }
  auto handle_info(peeper::message& m, int& s) {
    if (auto* a = m.get_if<add>()) s += a->n;
    return peeper::noreply();
  }
};

void expose_counter(dist::node& n) {
  dist::expose<counter>(n, "counter", dist::calls<get, add>{}, dist::casts<add>{},
                        dist::infos<add>{});
}

class dist_call : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ebin_ = dist_test::compile_peer_module(); }
  void SetUp() override {
    ASSERT_TRUE(epmd_.ok()) << "epmd did not start";
    ASSERT_FALSE(ebin_.empty()) << "erlc failed";
  }
  dist::node_options opts(const std::string& name) const {
    return {.name = name, .cookie = "secret", .epmd_port = epmd_.port(), .tick_time = 200ms};
  }
  static std::string ebin_;
  dist_test::epmd epmd_;
};
std::string dist_call::ebin_;

TEST_F(dist_call, erlang_calls_casts_and_sends_to_a_cpp_server) {
  peeper::runtime rt({.threads = 2});
  auto n = dist::node::start(rt, opts("cpp1@127.0.0.1"));
  expose_counter(n);
  auto c = peeper::start<counter>(rt, 10, {.name = "counter"}).value();
  auto erl = dist_test::erl_node(epmd_, "e1@127.0.0.1", "secret", ebin_, R"(
      S = {counter, 'cpp1@127.0.0.1'},
      io:format("get ~p~n", [gen_server:call(S, get)]),
      io:format("add ~p~n", [gen_server:call(S, {add, 5})]),
      gen_server:cast(S, {add, 100}),
      S ! {add, 1000},
      S ! this_decodes_into_nothing,
      io:format("bad ~p~n", [gen_server:call(S, {unknown, 1})]),
      io:format("after ~p~n", [gen_server:call(S, get)]),
      io:format("noproc ~p~n", [gen_server:call({nobody, 'cpp1@127.0.0.1'}, get)]),
      halt().)");
  const auto deadline = steady::now() + 30s;
  auto expect_line = [&](const std::string& want) {
    auto l = erl.wait_for(want.substr(0, want.find(' ')), deadline);
    ASSERT_TRUE(l) << erl.seen();
    EXPECT_EQ(*l, want);
  };
  expect_line("get 10");
  expect_line("add 15");
  expect_line("bad {'$peeper_error',bad_call,normal}");
  expect_line("after 1115");
  expect_line("noproc {'$peeper_error',noproc,noproc}");
  EXPECT_EQ(peeper::call(c, get{}), 1115);
}

/// A Peeper instance of counter named "counter", its state `state`.
peeper::instance<counter> start_peeper_counter(peeper::runtime& rt, int state) {
  peeper::server_options<int> o;
  o.name = "counter";
  o.state = state;
  return peeper::start<counter>(rt, o).value();
}

TEST_F(dist_call, erlang_calls_a_peeper_instance_whose_state_survives_a_crash) {
  peeper::runtime rt({.threads = 2});
  auto n = dist::node::start(rt, opts("cpp1@127.0.0.1"));
  expose_counter(n);
  auto c = start_peeper_counter(rt, 10);
  auto erl = dist_test::erl_node(epmd_, "e1@127.0.0.1", "secret", ebin_, R"(
      S = {counter, 'cpp1@127.0.0.1'},
      register(waiter, self()),
      io:format("add ~p~n", [gen_server:call(S, {add, 5})]),
      gen_server:cast(S, {add, 100}),
      S ! {add, 1000},
      io:format("get ~p~n", [gen_server:call(S, get)]),
      receive go -> ok end,
      gen_server:cast(S, {add, 1}),
      io:format("after ~p~n", [gen_server:call(S, get)]),
      halt().)");
  const auto deadline = steady::now() + 30s;
  auto l = erl.wait_for("add", deadline);
  ASSERT_TRUE(l) << erl.seen();
  EXPECT_EQ(*l, "add 15");
  l = erl.wait_for("get", deadline);
  ASSERT_TRUE(l) << erl.seen();
  EXPECT_EQ(*l, "get 1115");
  // Kill the worker and let Erlang go on at once: its cast and call reach the next worker,
  // which starts from the committed state.
  const peeper::pid w = peeper::worker(c);
  peeper::exit(w, peeper::exit_reason::kill());
  ASSERT_TRUE(dist::send(n, dist::remote_name{"waiter", "e1@127.0.0.1"}, go{}));
  l = erl.wait_for("after", deadline);
  ASSERT_TRUE(l) << erl.seen();
  EXPECT_EQ(*l, "after 1116");
  EXPECT_NE(peeper::worker(c), w);
  EXPECT_EQ(peeper::call(c, get{}), 1116);
}

TEST_F(dist_call, elixir_calls_casts_and_sends_to_a_peeper_instance) {
  peeper::runtime rt({.threads = 2});
  auto n = dist::node::start(rt, opts("cpp1@127.0.0.1"));
  expose_counter(n);
  auto c = start_peeper_counter(rt, 41);
  auto ex = dist_test::elixir_node(epmd_, "ex1@127.0.0.1", "secret", R"(
      s = {:counter, :"cpp1@127.0.0.1"}
      IO.puts("add #{GenServer.call(s, {:add, 1})}")
      GenServer.cast(s, {:add, 10})
      send(s, {:add, 100})
      IO.puts("get #{GenServer.call(s, :get)}")
    )");
  auto l = ex.wait_for("add", steady::now() + 30s);
  ASSERT_TRUE(l) << ex.seen();
  EXPECT_EQ(*l, "add 42");
  l = ex.wait_for("get", steady::now() + 30s);
  ASSERT_TRUE(l) << ex.seen();
  EXPECT_EQ(*l, "get 152");
  EXPECT_EQ(peeper::call(c, get{}), 152);
}

TEST_F(dist_call, cpp_calls_an_erlang_gen_server) {
  peeper::runtime rt({.threads = 2});
  auto n = dist::node::start(rt, opts("cpp1@127.0.0.1"));
  auto erl = dist_test::erl_node(epmd_, "e1@127.0.0.1", "secret", ebin_, "dist_peer:serve().");
  ASSERT_TRUE(erl.wait_for("ready", steady::now() + 30s)) << erl.seen();
  const dist::remote_name ecounter{"ecounter", "e1@127.0.0.1"};
  EXPECT_EQ(dist::call<int>(n, ecounter, get{}), 0);
  EXPECT_EQ(dist::call<int>(n, ecounter, add{7}), 7);
  EXPECT_TRUE(dist::cast(n, ecounter, add{3}));
  EXPECT_EQ(dist::call<int>(n, ecounter, get{}), 10);
  // The wrong reply type: bad_reply.
  try {
    (void)dist::call<std::string>(n, ecounter, get{});
    ADD_FAILURE() << "decoded an integer as a string";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), peeper::call_errc::bad_reply) << e.what();
  }
  // A server that does not exist on an Erlang node: Erlang drops the request, so timeout.
  try {
    (void)dist::call<int>(n, dist::remote_name{"nobody", "e1@127.0.0.1"}, get{}, 300ms);
    ADD_FAILURE() << "answered";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), peeper::call_errc::timeout) << e.what();
  }
  // From inside a process, with the caller's pid going over as the From.
  std::atomic<int> got{-1};
  peeper::spawn(rt, [&]() -> peeper::task<> {
    auto op = dist::async_call<int>(n, ecounter, add{1});
    got = co_await op;
  });
  const auto deadline = steady::now() + 10s;
  while (got.load() < 0 && steady::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(got.load(), 11);
  // Node down: the Erlang node dies while a call waits.
  erl.kill();
  try {
    (void)dist::call<int>(n, ecounter, get{}, 10s);
    ADD_FAILURE() << "answered by a dead node";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), peeper::call_errc::exited) << e.what();
    EXPECT_EQ(e.reason(), peeper::exit_reason::noconnection());
  }
}

TEST_F(dist_call, cpp_nodes_call_cast_and_send_each_way) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = dist::node::start(rt1, opts("cpp1@127.0.0.1"));
  auto n2 = dist::node::start(rt2, opts("cpp2@127.0.0.1"));
  expose_counter(n1);
  expose_counter(n2);
  auto c1 = peeper::start<counter>(rt1, 1, {.name = "counter"}).value();
  auto c2 = peeper::start<counter>(rt2, 2, {.name = "counter"}).value();
  const dist::remote_name on1{"counter", "cpp1@127.0.0.1"};
  const dist::remote_name on2{"counter", "cpp2@127.0.0.1"};
  EXPECT_EQ(dist::call<int>(n1, on2, get{}), 2);
  EXPECT_EQ(dist::call<int>(n2, on1, get{}), 1);
  EXPECT_TRUE(dist::cast(n1, on2, add{10}));
  EXPECT_TRUE(dist::send(n1, on2, add{100}));
  EXPECT_TRUE(dist::cast(n2, on1, add{20}));
  EXPECT_TRUE(dist::send(n2, on1, add{200}));
  EXPECT_EQ(dist::call<int>(n1, on2, add{1000}), 1112);  // ordered after the cast and the send
  EXPECT_EQ(dist::call<int>(n2, on1, add{2000}), 2221);
  // Errors reported by the remote Peeper node come back as call_error.
  try {
    (void)dist::call<int>(n1, dist::remote_name{"nobody", "cpp2@127.0.0.1"}, get{});
    ADD_FAILURE() << "answered";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), peeper::call_errc::noproc) << e.what();
  }
  try {
    (void)dist::call<int>(n1, on2, whoami{});
    ADD_FAILURE() << "answered";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), peeper::call_errc::bad_call) << e.what();
  }
  // By remote pid: a pid that came over the wire is a first-class pid.
  std::atomic<int> got{-1};
  peeper::pid asker = peeper::spawn(rt1, [&]() -> peeper::task<> {
    auto m = co_await peeper::receive<pid_msg>(10s);
    if (!m) co_return;
    EXPECT_TRUE(n1.is_remote(m->p));
    EXPECT_TRUE(dist::send(n1, m->p, add{5}));
    auto op = dist::async_call<int>(n1, m->p, get{});
    got = co_await op;
  });
  peeper::register_name(rt1, "asker", asker);
  dist::expose<void>(n1, "asker", dist::infos<pid_msg>{});
  EXPECT_TRUE(dist::send(n2, dist::remote_name{"asker", "cpp1@127.0.0.1"}, pid_msg{c2.resolve()}));
  const auto deadline = steady::now() + 10s;
  while (got.load() < 0 && steady::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(got.load(), 1117);
}

}  // namespace dist_call_test
