// Cluster-wide names between C++ nodes: visible on every node, one winner when two nodes
// register a name at once (and when two clusters that each have it join), unregistered when
// the process dies or its node disconnects, learnt by nodes that connect later, and looked up
// from peers by whereis_global; register_global inside a process throws (async_register_global
// suspends the process instead, without holding its scheduler thread).
#include <array>
#include <csignal>
#include <future>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include <peeper/dist/codec.hpp>
#include <peeper/dist/node.hpp>
#include <peeper/dist/remote.hpp>
#include <peeper/gen_server/call_error.hpp>
#include <peeper/runtime/process.hpp>

#include "dist_test_support.hpp"

namespace dist_global_test {

using namespace std::chrono_literals;
using dist_test::steady;
namespace dist = peeper::dist;

/// A process that waits until it is killed.
peeper::pid sleeper(peeper::runtime& rt) {
  return peeper::spawn(rt, []() -> peeper::task<> {
    auto forever = peeper::receive<int>();
    (void)co_await forever;
  });
}

/// Polls `pred` until it holds or 10 s pass (for state another node changes).
template <class Pred>
bool eventually(Pred pred) {
  const auto deadline = steady::now() + 10s;
  while (steady::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

class dist_global : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(epmd_.ok()) << "epmd did not start"; }
  [[nodiscard]] dist::node start(peeper::runtime& rt, const std::string& name) const {
    return dist::node::start(rt, {.name = name + "@127.0.0.1",
                                  .cookie = "secret",
                                  .epmd_port = epmd_.port(),
                                  .tick_time = 200ms});
  }
  dist_test::epmd epmd_;
};

TEST_F(dist_global, a_name_is_visible_cluster_wide_and_to_nodes_connecting_later) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  peeper::runtime rt3({.threads = 2});
  auto n1 = start(rt1, "cpp1");
  auto n2 = start(rt2, "cpp2");
  auto n3 = start(rt3, "cpp3");
  n1.connect("cpp2@127.0.0.1");
  const peeper::pid p = sleeper(rt1);
  ASSERT_TRUE(n1.register_global("logger", p));
  EXPECT_TRUE(n1.register_global("logger", p)) << "registering again is idempotent";
  EXPECT_FALSE(n1.register_global("logger", sleeper(rt1)));
  EXPECT_FALSE(n1.register_global("other", peeper::pid{}));
  EXPECT_EQ(n1.whereis_global("logger"), p);
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(n2.whereis_global("logger", 0ms)); }));
  const peeper::pid on2 = n2.whereis_global("logger");
  EXPECT_TRUE(n2.is_remote(on2));
  EXPECT_FALSE(n2.register_global("logger", sleeper(rt2))) << "taken on another node";

  // A node connecting later to cpp1 learns the name from cpp1's announcement.
  n3.connect("cpp1@127.0.0.1");
  EXPECT_TRUE(eventually([&] { return static_cast<bool>(n3.whereis_global("logger", 0ms)); }));
  // Unknown names: null once every peer answered (well before the timeout).
  const auto before = steady::now();
  EXPECT_FALSE(n3.whereis_global("nobody", 5s));
  EXPECT_LT(steady::now() - before, 4s);
}

TEST_F(dist_global, whereis_asks_the_peers_it_does_not_know_the_name_from) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  peeper::runtime rt3({.threads = 2});
  auto n1 = start(rt1, "cpp1");
  auto n2 = start(rt2, "cpp2");
  auto n3 = start(rt3, "cpp3");
  n1.connect("cpp2@127.0.0.1");
  const peeper::pid p = sleeper(rt1);
  ASSERT_TRUE(n1.register_global("db", p));
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(n2.whereis_global("db", 0ms)); }));
  // cpp3 knows cpp2 only, which announces its own names, not cpp1's.
  n3.connect("cpp2@127.0.0.1");
  EXPECT_FALSE(n3.whereis_global("db", 0ms)) << "no peer asked without a timeout";
  const peeper::pid found = n3.whereis_global("db", 5s);
  ASSERT_TRUE(found);
  EXPECT_TRUE(n3.is_remote(found));
  EXPECT_EQ(n3.whereis_global("db", 0ms), found) << "the answer is remembered";
}

TEST_F(dist_global, two_nodes_registering_at_once_get_one_winner) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  peeper::runtime rt3({.threads = 2});
  auto n1 = start(rt1, "cpp1");
  auto n2 = start(rt2, "cpp2");
  auto n3 = start(rt3, "cpp3");
  n1.connect("cpp2@127.0.0.1");
  n1.connect("cpp3@127.0.0.1");
  n2.connect("cpp3@127.0.0.1");
  // Every node knows the others are Peeper nodes (their hello, sent before anything else, has
  // arrived) once it has their announcements: only then do registrations wait for answers.
  std::array<dist::node*, 3> nodes{&n1, &n2, &n3};
  std::array<peeper::runtime*, 3> runtimes{&rt1, &rt2, &rt3};
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(nodes[i]->register_global("warm" + std::to_string(i), sleeper(*runtimes[i])));
  }
  ASSERT_TRUE(eventually([&] {
    for (auto* n : nodes) {
      for (std::size_t i = 0; i < 3; ++i) {
        if (!n->whereis_global("warm" + std::to_string(i), 0ms)) return false;
      }
    }
    return true;
  }));
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(round);
    const std::string id = "leader" + std::to_string(round);
    const peeper::pid p1 = sleeper(rt1);
    const peeper::pid p2 = sleeper(rt2);
    bool r1 = false;
    bool r2 = false;
    std::thread t1([&] { r1 = n1.register_global(id, p1); });
    std::thread t2([&] { r2 = n2.register_global(id, p2); });
    t1.join();
    t2.join();
    ASSERT_NE(r1, r2) << "exactly one registration wins";
    const peeper::pid winner = r1 ? p1 : p2;
    dist::node& winner_node = r1 ? n1 : n2;
    dist::node& loser_node = r1 ? n2 : n1;
    EXPECT_EQ(winner_node.whereis_global(id), winner);
    ASSERT_TRUE(eventually([&] { return static_cast<bool>(loser_node.whereis_global(id, 0ms)); }));
    EXPECT_TRUE(loser_node.is_remote(loser_node.whereis_global(id)));
    ASSERT_TRUE(eventually([&] { return static_cast<bool>(n3.whereis_global(id, 0ms)); }));
    // Every node holds the winner: when it dies, the name is gone everywhere.
    peeper::exit(winner, peeper::exit_reason::kill());
    EXPECT_TRUE(eventually([&] {
      return !n1.whereis_global(id, 0ms) && !n2.whereis_global(id, 0ms) &&
             !n3.whereis_global(id, 0ms);
    }));
  }
}

TEST_F(dist_global, joining_clusters_keep_the_registration_of_the_first_node_name) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = start(rt1, "cpp1");
  auto n2 = start(rt2, "cpp2");
  const peeper::pid p1 = sleeper(rt1);
  const peeper::pid p2 = sleeper(rt2);
  ASSERT_TRUE(n1.register_global("cfg", p1));
  ASSERT_TRUE(n2.register_global("cfg", p2));
  n2.connect("cpp1@127.0.0.1");
  ASSERT_TRUE(eventually([&] {
    const peeper::pid on2 = n2.whereis_global("cfg", 0ms);
    return on2 && n2.is_remote(on2);
  }));
  EXPECT_EQ(n1.whereis_global("cfg", 0ms), p1);
  EXPECT_TRUE(peeper::is_alive(p2)) << "the loser's process is not killed";
}

TEST_F(dist_global, a_name_goes_when_its_process_dies_or_its_node_disconnects) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = start(rt1, "cpp1");
  auto n2 = start(rt2, "cpp2");
  n1.connect("cpp2@127.0.0.1");
  const peeper::pid a = sleeper(rt1);
  const peeper::pid b = sleeper(rt1);
  ASSERT_TRUE(n1.register_global("a", a));
  ASSERT_TRUE(n1.register_global("b", b));
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(n2.whereis_global("b", 0ms)); }));
  peeper::exit(a, peeper::exit_reason::kill());
  EXPECT_TRUE(eventually([&] { return !n1.whereis_global("a", 0ms); }));
  EXPECT_TRUE(eventually([&] { return !n2.whereis_global("a", 0ms); }));
  const peeper::pid a2 = sleeper(rt1);
  EXPECT_TRUE(n1.register_global("a", a2)) << "free again";
  ASSERT_TRUE(n1.disconnect("cpp2@127.0.0.1"));
  EXPECT_TRUE(eventually([&] { return !n2.whereis_global("b", 0ms); }));
  EXPECT_EQ(n1.whereis_global("b", 0ms), b);
}

TEST_F(dist_global, remote_pids_print_as_erlang_does) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = start(rt1, "cpp1");
  auto n2 = start(rt2, "cpp2");
  n1.connect("cpp2@127.0.0.1");
  const peeper::pid p = sleeper(rt1);
  ASSERT_TRUE(n1.register_global("printed", p));
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(n2.whereis_global("printed", 0ms)); }));
  const peeper::pid remote = n2.whereis_global("printed");
  EXPECT_EQ(p.to_string(), "<0." + std::to_string(p.id()) + ".0>");
  const std::string text = remote.to_string();
  EXPECT_TRUE(text.starts_with("<1.") && text.ends_with(".0>")) << text;
  EXPECT_NE(text, "<0." + std::to_string(remote.id()) + ".0>");
  std::ostringstream os;
  os << remote;
  EXPECT_EQ(os.str(), text);
}

TEST_F(dist_global, inside_a_process_register_global_throws_and_async_register_global_works) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = start(rt1, "cpp1");
  auto n2 = start(rt2, "cpp2");
  n1.connect("cpp2@127.0.0.1");
  ASSERT_TRUE(n2.register_global("warm", sleeper(rt2)));  // cpp2's hello has reached cpp1
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(n1.whereis_global("warm", 0ms)); }));
  const peeper::pid mine = sleeper(rt1);
  const peeper::pid other = sleeper(rt1);
  std::promise<std::string> out;
  auto result = out.get_future();
  (void)peeper::spawn(rt1, [&]() -> peeper::task<> {
    std::string r;
    try {
      (void)n1.register_global("blocked", mine);
      r += "returned;";
    } catch (const peeper::call_error& e) {
      r += e.code() == peeper::call_errc::would_block ? "would_block;" : "other error;";
    }
    auto first = n1.async_register_global("svc", mine);
    const bool ok1 = co_await first;
    auto again = n1.async_register_global("svc", mine);
    const bool ok2 = co_await again;
    auto taken = n1.async_register_global("svc", other);
    const bool ok3 = co_await taken;
    auto remote_taken = n1.async_register_global("warm", other);
    const bool ok4 = co_await remote_taken;
    r += std::to_string(ok1) + std::to_string(ok2) + std::to_string(ok3) + std::to_string(ok4);
    out.set_value(r);
  });
  ASSERT_EQ(result.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(result.get(), "would_block;1100");
  EXPECT_FALSE(n1.whereis_global("blocked", 0ms)) << "the blocking call registered nothing";
  EXPECT_EQ(n1.whereis_global("svc", 0ms), mine);
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(n2.whereis_global("svc", 0ms)); }));
  EXPECT_TRUE(n2.is_remote(n2.whereis_global("svc", 0ms)));
}

// The peer (a forked copy of this program) is stopped (SIGSTOP) so that it never answers: the
// registration waits connect_timeout for it, while the only scheduler thread of the runtime
// keeps running other processes.
TEST_F(dist_global, async_register_global_does_not_hold_the_scheduler_thread) {
  const std::uint16_t epmd_port = epmd_.port();
  auto peer = dist_test::child::fork_body([epmd_port](int out) -> int {
    peeper::runtime rt({.threads = 1});
    auto n = dist::node::start(rt, {.name = "peer@127.0.0.1",
                                    .cookie = "secret",
                                    .epmd_port = epmd_port,
                                    .tick_time = 1000ms});
    const std::string ready = "ready\n";
    (void)::write(out, ready.data(), ready.size());
    // Once cpp1 connected, a name announced to it (after the hello, on the same connection).
    if (!eventually([&] { return !n.nodes().empty(); })) return 1;
    (void)n.register_global("peerwarm", sleeper(rt));
    for (;;) ::pause();
  });
  peeper::runtime rt({.threads = 1});
  auto n = dist::node::start(rt, {.name = "cpp1@127.0.0.1",
                                  .cookie = "secret",
                                  .epmd_port = epmd_.port(),
                                  .tick_time = 1000ms,  // the stopped peer stays connected
                                  .connect_timeout = 1500ms});
  ASSERT_TRUE(peer.wait_for("ready", steady::now() + 20s)) << peer.seen();
  n.connect("peer@127.0.0.1");
  // Its announcement came after its hello: cpp1 knows it is a Peeper node and will wait for it.
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(n.whereis_global("peerwarm", 0ms)); }));
  ASSERT_TRUE(peer.stop());
  std::atomic<bool> registered{false};
  std::promise<bool> result;
  auto done = result.get_future();
  const peeper::pid p = sleeper(rt);
  const auto t0 = steady::now();
  (void)peeper::spawn(rt, [&]() -> peeper::task<> {
    auto op = n.async_register_global("slow", p);
    const bool ok = co_await op;
    registered = true;
    result.set_value(ok);
  });
  // Meanwhile another process of the same one-thread runtime answers.
  std::promise<bool> echoed;
  auto echo_done = echoed.get_future();
  const peeper::pid echo = peeper::spawn(rt, [&]() -> peeper::task<> {
    auto next = peeper::receive<int>(10s);
    auto v = co_await next;
    echoed.set_value(v.has_value() && !registered.load());
  });
  (void)peeper::send(echo, 1);
  ASSERT_EQ(echo_done.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(echo_done.get()) << "the other process ran only after the registration";
  ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(done.get()) << "no node refused: the name holds after connect_timeout";
  EXPECT_GE(steady::now() - t0, 1400ms) << "it did wait for the stopped peer";
  EXPECT_EQ(n.whereis_global("slow", 0ms), p);
  peer.kill();
}

struct ping {
  int n = 0;
};
struct unmapped_ping {
  int n = 0;
};

TEST_F(dist_global, peeper_send_to_a_remote_pid_encodes_sendable_types) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = start(rt1, "cpp1");
  auto n2 = start(rt2, "cpp2");
  n1.connect("cpp2@127.0.0.1");
  std::promise<std::string> got;
  auto received = got.get_future();
  const peeper::pid inbox = peeper::spawn(rt1, [&]() -> peeper::task<> {
    auto next = peeper::receive<dist::term>();
    auto t = co_await next;
    got.set_value(t ? t->to_string() : "timeout");
  });
  ASSERT_TRUE(n1.register_global("inbox", inbox));
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(n2.whereis_global("inbox", 0ms)); }));
  const peeper::pid remote = n2.whereis_global("inbox");
  dist::sendable<ping>();
  // A type without a registered encoding is dropped with a log line; the next one arrives.
  EXPECT_TRUE(peeper::send(remote, unmapped_ping{1}));
  EXPECT_TRUE(peeper::send(remote, ping{7}));
  ASSERT_EQ(received.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(received.get(), "{ping,7}");
}

}  // namespace dist_global_test

template <>
struct peeper::dist::term_mapping<dist_global_test::ping> {
  static constexpr std::string_view tag = "ping";
  static constexpr auto fields = std::make_tuple(&dist_global_test::ping::n);
};
