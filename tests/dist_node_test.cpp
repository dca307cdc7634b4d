// Nodes: start and publish, clear errors, connections between C++ nodes and with Erlang,
// net_adm:ping, wrong cookies refused both ways, garbage on the listen port.
#include <atomic>
#include <csignal>
#include <future>
#include <latch>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <peeper/dist/codec.hpp>
#include <peeper/dist/node.hpp>
#include <peeper/dist/remote.hpp>
#include <peeper/runtime/process.hpp>

#include "dist_test_support.hpp"

namespace dist_node_test {

using namespace std::chrono_literals;
using dist_test::steady;
namespace dist = peeper::dist;

class dist_node : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(epmd_.ok()) << "epmd did not start"; }
  dist::node_options opts(const std::string& name, const std::string& cookie = "secret") const {
    return {.name = name, .cookie = cookie, .epmd_port = epmd_.port(), .tick_time = 200ms};
  }
  dist_test::epmd epmd_;
};

TEST_F(dist_node, start_publishes_and_erlang_pings_pong) {
  peeper::runtime rt({.threads = 2});
  auto n = dist::node::start(rt, opts("cpp1@127.0.0.1"));
  EXPECT_EQ(n.name(), "cpp1@127.0.0.1");
  EXPECT_GE(n.creation(), 4U);
  auto erl =
      dist_test::erl_node(epmd_, "e1@127.0.0.1", "secret", ".",
                          "io:format(\"ping ~p~n\", [net_adm:ping('cpp1@127.0.0.1')]), halt().");
  auto l = erl.wait_for("ping", steady::now() + 30s);
  ASSERT_TRUE(l) << erl.seen();
  EXPECT_EQ(*l, "ping pong");
}

TEST_F(dist_node, errors_are_clear) {
  peeper::runtime rt({.threads = 2});
  auto expect_code = [&](dist::node_options o, dist::node_errc code) {
    try {
      auto n = dist::node::start(rt, std::move(o));
      ADD_FAILURE() << "started";
    } catch (const dist::node_error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
    }
  };
  expect_code(opts("nohost"), dist::node_errc::bad_name);
  expect_code(opts("a@b@c"), dist::node_errc::bad_name);
  expect_code(opts("x@127.0.0.1", ""), dist::node_errc::bad_name);
  auto no_epmd = opts("x@127.0.0.1");
  no_epmd.epmd_port = dist_test::free_port();
  expect_code(no_epmd, dist::node_errc::epmd_unreachable);

  auto n = dist::node::start(rt, opts("cpp1@127.0.0.1"));
  expect_code(opts("cpp2@127.0.0.1"), dist::node_errc::already_started);
  peeper::runtime rt2({.threads = 1});
  try {
    auto again = dist::node::start(rt2, opts("cpp1@127.0.0.1"));
    ADD_FAILURE() << "a taken name was accepted";
  } catch (const dist::node_error& e) {
    EXPECT_EQ(e.code(), dist::node_errc::name_taken) << e.what();
  }
  try {
    n.connect("ghost@127.0.0.1");
    ADD_FAILURE() << "connected to a node epmd does not know";
  } catch (const dist::node_error& e) {
    EXPECT_EQ(e.code(), dist::node_errc::unknown_node) << e.what();
  }
}

TEST_F(dist_node, two_cpp_nodes_connect_and_see_each_other) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = dist::node::start(rt1, opts("cpp1@127.0.0.1"));
  auto n2 = dist::node::start(rt2, opts("cpp2@127.0.0.1"));
  n1.connect("cpp2@127.0.0.1");
  EXPECT_EQ(n1.nodes(), std::vector<std::string>{"cpp2@127.0.0.1"});
  // The accepting side registers the connection on its I/O thread's start: wait for it.
  const auto deadline = steady::now() + 10s;
  while (n2.nodes().empty() && steady::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(n2.nodes(), std::vector<std::string>{"cpp1@127.0.0.1"});
  n1.connect("cpp2@127.0.0.1");  // already connected: no-op
  EXPECT_TRUE(n1.disconnect("cpp2@127.0.0.1"));
}

TEST_F(dist_node, wrong_cookie_is_refused_both_ways) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = dist::node::start(rt1, opts("cpp1@127.0.0.1", "secret"));
  auto n2 = dist::node::start(rt2, opts("cpp2@127.0.0.1", "other"));
  try {
    n1.connect("cpp2@127.0.0.1");
    ADD_FAILURE() << "connected with a wrong cookie";
  } catch (const dist::node_error& e) {
    EXPECT_EQ(e.code(), dist::node_errc::auth_failed) << e.what();
  }
  EXPECT_TRUE(n1.nodes().empty());
  // A message to a node whose cookie differs never arrives.
  std::atomic<int> got{0};
  auto p = peeper::spawn(rt2, [&]() -> peeper::task<> {
    auto m = co_await peeper::receive<dist::term>(2s);
    if (m) ++got;
  });
  peeper::register_name(rt2, "inbox", p);
  (void)dist::send(n1, dist::remote_name{"inbox", "cpp2@127.0.0.1"}, dist::atom{"hi"});
  // Erlang with the wrong cookie: pang, and the C++ node logs the refusal.
  auto erl =
      dist_test::erl_node(epmd_, "e1@127.0.0.1", "wrong", ".",
                          "io:format(\"ping ~p~n\", [net_adm:ping('cpp1@127.0.0.1')]), halt().");
  auto l = erl.wait_for("ping", steady::now() + 30s);
  ASSERT_TRUE(l) << erl.seen();
  EXPECT_EQ(*l, "ping pang");
  EXPECT_EQ(got.load(), 0);
}

TEST_F(dist_node, garbage_on_the_listen_port_does_not_hurt) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = dist::node::start(rt1, opts("cpp1@127.0.0.1"));
  auto n2 = dist::node::start(rt2, opts("cpp2@127.0.0.1"));
  {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(n1.port());
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    const std::string junk("\x00\x05GARBAGE and more garbage", 26);
    ASSERT_GT(::write(fd, junk.data(), junk.size()), 0);
    ::close(fd);
  }
  n2.connect("cpp1@127.0.0.1");  // still accepting
  EXPECT_EQ(n2.nodes().size(), 1U);
}

/// Polls `pred` until it holds or `limit` passes (for state another node changes).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = steady::now() + limit;
  while (steady::now() < deadline) {
    if (pred()) return true;
    std::this_thread::yield();
  }
  return pred();
}

/// A process registered as `name` on `rt` that receives one dist::term (or times out) and hands
/// it to the returned future as text.
std::future<std::string> one_message(peeper::runtime& rt, const std::string& name) {
  auto got = std::make_shared<std::promise<std::string>>();
  auto fut = got->get_future();
  const peeper::pid p = peeper::spawn(rt, [got]() -> peeper::task<> {
    auto next = peeper::receive<dist::term>(10s);
    auto t = co_await next;
    got->set_value(t ? t->to_string() : "timeout");
  });
  peeper::register_name(rt, name, p);
  return fut;
}

TEST_F(dist_node, simultaneous_connects_end_with_one_connection_on_each_side) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = dist::node::start(rt1, opts("cpp1@127.0.0.1"));
  auto n2 = dist::node::start(rt2, opts("cpp2@127.0.0.1"));
  for (int round = 0; round < 40; ++round) {
    SCOPED_TRACE(round);
    const std::string box = "box" + std::to_string(round);
    auto on1 = one_message(rt1, box);
    auto on2 = one_message(rt2, box);
    std::latch go(2);
    std::string err1;
    std::string err2;
    auto connect_and_send = [&go, &box, round](dist::node& n, const std::string& peer,
                                               std::string& err) {
      go.arrive_and_wait();
      try {
        n.connect(peer);
        (void)dist::send(n, dist::remote_name{box, peer},
                         std::make_tuple(dist::atom{"hi"}, dist::atom{n.name()}, round));
      } catch (const std::exception& e) {
        err = e.what();
      }
    };
    std::thread t1([&] { connect_and_send(n1, "cpp2@127.0.0.1", err1); });
    std::thread t2([&] { connect_and_send(n2, "cpp1@127.0.0.1", err2); });
    t1.join();
    t2.join();
    ASSERT_EQ(err1, "") << "cpp1's connect failed";
    ASSERT_EQ(err2, "") << "cpp2's connect failed";
    ASSERT_EQ(on2.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(on2.get(), "{hi,'cpp1@127.0.0.1'," + std::to_string(round) + "}");
    ASSERT_EQ(on1.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(on1.get(), "{hi,'cpp2@127.0.0.1'," + std::to_string(round) + "}");
    // The losing connection (if both were made) closes: one left on each side.
    EXPECT_TRUE(eventually([&] {
      return n1.connection_count("cpp2@127.0.0.1") == 1 &&
             n2.connection_count("cpp1@127.0.0.1") == 1;
    })) << n1.connection_count("cpp2@127.0.0.1")
        << " " << n2.connection_count("cpp1@127.0.0.1");
    EXPECT_EQ(n1.nodes(), std::vector<std::string>{"cpp2@127.0.0.1"});
    EXPECT_EQ(n2.nodes(), std::vector<std::string>{"cpp1@127.0.0.1"});
    // Next round from scratch.
    ASSERT_TRUE(n1.disconnect("cpp2@127.0.0.1"));
    ASSERT_TRUE(eventually([&] {
      return n1.connection_count("cpp2@127.0.0.1") == 0 &&
             n2.connection_count("cpp1@127.0.0.1") == 0;
    }));
  }
}

/// Rounds of this node and an Erlang node connecting to each other at the same moment (both
/// start at an agreed wall-clock instant: the race is what is tested, the results are waited
/// for as events). OTP settles it during the handshake: the greater name's connection wins, the
/// other side gets `nok` (then this node takes the Erlang node's connection) or
/// `ok_simultaneous` (the Erlang node drops its own attempt).
void simultaneous_with_erlang(dist_test::epmd& e, const dist::node_options& o) {
  peeper::runtime rt({.threads = 2});
  auto n = dist::node::start(rt, o);
  const std::string erl_name = "e1@127.0.0.1";
  const std::string eval =
      "Cpp = '" + o.name +
      "', register(ebox, self()), net_kernel:monitor_nodes(true, [{node_type, all}]), "
      "io:format(\"ready~n\"), "
      "Loop = fun L(R) -> receive "
      "  {next, T} -> io:format(\"next ~p~n\", [R]), "
      "    receive {nodedown, Cpp, _} -> ok after 10000 -> io:format(\"no nodedown~n\") end, "
      "    W = T - erlang:system_time(millisecond), "
      "    if W > 0 -> timer:sleep(W); true -> ok end, "
      "    C = net_kernel:connect_node(Cpp), "
      "    {list_to_atom(\"cppbox\" ++ integer_to_list(R)), Cpp} ! {hi, R}, "
      "    io:format(\"round ~p ~p ~p~n\", [R, C, length(nodes(connected))]), L(R + 1); "
      "  stop -> halt() "
      "  after 30000 -> io:format(\"no next~n\"), halt() end end, Loop(0).";
  auto erl = dist_test::erl_node(e, erl_name, "secret", ".", eval);
  ASSERT_TRUE(erl.wait_for("ready", steady::now() + 30s)) << erl.seen();
  n.connect(erl_name);
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE(round);
    auto got = one_message(rt, "cppbox" + std::to_string(round));
    using sys = std::chrono::system_clock;
    const auto at = sys::now() + 400ms;
    const auto at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch());
    (void)dist::send(n, dist::remote_name{"ebox", erl_name},
                     std::make_tuple(dist::atom{"next"}, static_cast<std::int64_t>(at_ms.count())));
    ASSERT_TRUE(erl.wait_for("next " + std::to_string(round), steady::now() + 10s)) << erl.seen();
    ASSERT_TRUE(n.disconnect(erl_name));
    ASSERT_TRUE(eventually([&] { return n.connection_count(erl_name) == 0; }));
    std::this_thread::sleep_until(at);  // the agreed moment (starts the race, not a wait)
    try {
      n.connect(erl_name);
    } catch (const dist::node_error& err) {
      FAIL() << "connect failed: " << err.what();
    }
    auto l = erl.wait_for("round " + std::to_string(round), steady::now() + 10s);
    ASSERT_TRUE(l) << erl.seen();
    EXPECT_EQ(*l, "round " + std::to_string(round) + " true 1");
    ASSERT_EQ(got.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(got.get(), "{hi," + std::to_string(round) + "}");
    EXPECT_TRUE(eventually([&] { return n.connection_count(erl_name) == 1; }))
        << n.connection_count(erl_name);
    EXPECT_EQ(n.nodes(), std::vector<std::string>{erl_name});
  }
  (void)dist::send(n, dist::remote_name{"ebox", erl_name}, dist::atom{"stop"});
}

TEST_F(dist_node, simultaneous_connects_with_erlang_when_erlang_has_the_greater_name) {
  simultaneous_with_erlang(epmd_, opts("acpp@127.0.0.1"));  // "acpp" < "e1": Erlang says nok
}

TEST_F(dist_node, simultaneous_connects_with_erlang_when_erlang_has_the_smaller_name) {
  simultaneous_with_erlang(epmd_, opts("zcpp@127.0.0.1"));  // Erlang says ok_simultaneous
}

// The peer (a forked copy of this program) is stopped (SIGSTOP): it reads nothing more, and
// what is sent to it piles up. Past max_outgoing_bytes the connection closes at once (well before
// the peer would be found silent) and the monitors of its processes get noconnection.
TEST_F(dist_node, a_peer_that_stops_reading_is_disconnected_at_the_outgoing_bound) {
  const std::uint16_t epmd_port = epmd_.port();
  auto peer = dist_test::child::fork_body([epmd_port](int out) -> int {
    peeper::runtime rt({.threads = 1});
    auto n = dist::node::start(rt, {.name = "peer@127.0.0.1",
                                    .cookie = "secret",
                                    .epmd_port = epmd_port,
                                    .tick_time = 2000ms});
    const peeper::pid sink = peeper::spawn(rt, []() -> peeper::task<> {
      for (;;) {
        auto next = peeper::receive();
        (void)co_await next;
      }
    });
    peeper::register_name(rt, "sink", sink);
    const std::string ready = "ready\n";
    (void)::write(out, ready.data(), ready.size());
    if (!eventually([&] { return !n.nodes().empty(); })) return 1;
    (void)n.register_global("sink", sink);  // so that cpp1 gets its pid
    for (;;) ::pause();
  });
  peeper::runtime rt({.threads = 2});
  auto o = opts("cpp1@127.0.0.1");
  o.tick_time = 2000ms;  // found silent after 8 s only
  o.max_outgoing_bytes = 1U << 20U;
  auto n = dist::node::start(rt, o);
  ASSERT_TRUE(peer.wait_for("ready", steady::now() + 20s)) << peer.seen();
  n.connect("peer@127.0.0.1");
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(n.whereis_global("sink", 0ms)); }));
  const peeper::pid remote = n.whereis_global("sink", 0ms);
  std::promise<std::string> down;
  auto got_down = down.get_future();
  std::promise<void> watching;
  auto watching_ready = watching.get_future();
  (void)peeper::spawn(rt, [&]() -> peeper::task<> {
    (void)peeper::monitor(remote);
    watching.set_value();
    auto next = peeper::receive<peeper::down_message>(20s);
    auto d = co_await next;
    down.set_value(d ? d->reason.to_string() : "timeout");
  });
  ASSERT_EQ(watching_ready.wait_for(10s), std::future_status::ready);
  ASSERT_TRUE(peer.stop());
  const std::string chunk(64U << 10U, 'x');
  int accepted = 0;
  while (accepted < 10'000 && dist::send(n, dist::remote_name{"sink", "peer@127.0.0.1"}, chunk)) {
    ++accepted;
  }
  // Fifteen 64 KiB frames (with their headers) fit under the bound even when the I/O thread has
  // written nothing yet; the socket buffers may take a few megabytes more. Without the bound all
  // 10,000 sends (640 MB) would be taken long before the peer was found silent (8 s).
  EXPECT_GE(accepted, 15) << "everything under the bound was taken";
  EXPECT_LT(accepted, 1'000) << "a send was refused near the bound";
  ASSERT_EQ(got_down.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(got_down.get(), "noconnection");
  EXPECT_EQ(n.connection_count("peer@127.0.0.1"), 0U);
  peer.kill();
}

}  // namespace dist_node_test
