// Links, monitors and exit signals across nodes; a lost connection delivers noconnection; a
// peer node killed with SIGKILL is detected within its heartbeat time; many senders while the
// connection drops.
#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <signal.h>

#include <peeper/dist/codec.hpp>
#include <peeper/dist/expose.hpp>
#include <peeper/dist/node.hpp>
#include <peeper/dist/remote.hpp>
#include <peeper/gen_server/gen_server.hpp>

#include "dist_test_support.hpp"
#include "test_support.hpp"

namespace dist_signals_test {

using namespace std::chrono_literals;
using dist_test::steady;
namespace dist = peeper::dist;
using peeper::exit_reason;

struct whoami {};
struct bump {
  int n = 0;
};
struct get {};

}  // namespace dist_signals_test

template <>
struct peeper::dist::term_mapping<dist_signals_test::whoami> {
  static constexpr std::string_view tag = "whoami";
};
template <>
struct peeper::dist::term_mapping<dist_signals_test::bump> {
  static constexpr std::string_view tag = "bump";
  static constexpr auto fields = std::make_tuple(&dist_signals_test::bump::n);
};
template <>
struct peeper::dist::term_mapping<dist_signals_test::get> {
  static constexpr std::string_view tag = "get";
};

namespace dist_signals_test {

/// Replies to whoami with its own pid (which goes over the wire as a pid of its node); counts
/// bumps.
struct pid_server : peeper::gen_server<pid_server, int> {
  int init(int s) { return s; }
  auto handle_call(whoami /*m*/, const int& /*s*/) { return peeper::reply(peeper::self()); }
  auto handle_call(get /*m*/, const int& s) { return peeper::reply(s); }
  auto handle_cast(bump b, int& s) {
    s += b.n;
    return peeper::noreply();
  }
  auto handle_info(peeper::message& m, int& s) {
    if (auto* b = m.get_if<bump>()) s += b->n;
    return peeper::noreply();
  }
};

void expose_pid_server(dist::node& n, const std::string& name) {
  dist::expose<pid_server>(n, name, dist::calls<whoami, get>{}, dist::casts<bump>{},
                           dist::infos<bump>{});
}

class dist_signals : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(epmd_.ok()) << "epmd did not start"; }
  dist::node_options opts(const std::string& name, std::chrono::milliseconds tick = 200ms) const {
    return {.name = name, .cookie = "secret", .epmd_port = epmd_.port(), .tick_time = tick};
  }
  dist_test::epmd epmd_;
};

/// What a watcher process saw.
using seen = peeper_test::event_queue<std::string>;

TEST_F(dist_signals, links_monitors_and_exits_across_cpp_nodes) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = dist::node::start(rt1, opts("cpp1@127.0.0.1"));
  auto n2 = dist::node::start(rt2, opts("cpp2@127.0.0.1"));
  expose_pid_server(n2, "a");
  expose_pid_server(n2, "b");
  expose_pid_server(n2, "c");
  auto a = peeper::start<pid_server>(rt2, 0, {.name = "a"}).value();
  auto b = peeper::start<pid_server>(rt2, 0, {.name = "b"}).value();
  auto c = peeper::start<pid_server>(rt2, 0, {.name = "c"}).value();
  const auto remote = [&](const char* name) {
    return dist::call<peeper::pid>(n1, dist::remote_name{name, "cpp2@127.0.0.1"}, whoami{});
  };
  const peeper::pid ra = remote("a");
  const peeper::pid rb = remote("b");
  const peeper::pid rc = remote("c");
  ASSERT_TRUE(n1.is_remote(ra));
  EXPECT_EQ(ra, remote("a"));  // one peeper::pid per remote pid
  EXPECT_NE(ra, rb);

  seen events;
  auto watcher = peeper::spawn(rt1, [&]() -> peeper::task<> {
    peeper::trap_exit(true);
    peeper::link(ra);
    const peeper::ref mb = peeper::monitor(rb);
    events.push("ready");
    for (int i = 0; i < 2; ++i) {
      peeper::message m = co_await peeper::receive(20s);
      if (auto* e = m.get_if<peeper::exit_message>()) {
        events.push("exit " + std::string(e->from == ra ? "a " : "? ") + e->reason.to_string());
      } else if (auto* d = m.get_if<peeper::down_message>()) {
        events.push("down " + std::string(d->process == rb && d->monitor == mb ? "b " : "? ") +
                    d->reason.to_string());
      }
    }
  });
  ASSERT_EQ(events.pop(), "ready");
  // The link and the monitor reached node 2 before the exits below? They travel on the same
  // connection, ahead of the calls that stop the servers.
  EXPECT_EQ(dist::call<int>(n1, ra, get{}), 0);
  EXPECT_EQ(dist::call<int>(n1, rb, get{}), 0);
  peeper::stop(a, exit_reason::error("boom"));
  peeper::stop(b, exit_reason::shutdown("bye"));
  std::vector<std::string> got{*events.pop(), *events.pop()};
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got[0], "down b {shutdown, bye}");
  EXPECT_EQ(got[1], "exit a boom");
  // exit/2 to a remote pid: c is killed.
  seen c_events;
  peeper::spawn(rt2, [&]() -> peeper::task<> {
    const peeper::ref r = peeper::monitor(c.resolve());
    c_events.push("ready");
    auto d = co_await peeper::receive<peeper::down_message>(20s);
    if (d && d->monitor == r) c_events.push(d->reason.to_string());
  });
  ASSERT_EQ(c_events.pop(), "ready");
  peeper::spawn(rt1, [rc] { peeper::exit(rc, exit_reason::kill()); });
  EXPECT_EQ(c_events.pop(), "killed");
  (void)watcher;
}

TEST_F(dist_signals, a_remote_process_links_to_a_local_one_and_hears_of_its_exit) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = dist::node::start(rt1, opts("cpp1@127.0.0.1"));
  auto n2 = dist::node::start(rt2, opts("cpp2@127.0.0.1"));
  expose_pid_server(n1, "local");
  auto local = peeper::start<pid_server>(rt1, 0, {.name = "local"}).value();
  seen events;
  peeper::spawn(rt2, [&]() -> peeper::task<> {
    peeper::trap_exit(true);
    auto op =
        dist::async_call<peeper::pid>(n2, dist::remote_name{"local", "cpp1@127.0.0.1"}, whoami{});
    const peeper::pid l = co_await op;
    peeper::link(l);
    const peeper::ref r = peeper::monitor(l);
    // Make sure both signals arrived before the server stops: a call after them.
    auto op2 = dist::async_call<int>(n2, l, get{});
    (void)co_await op2;
    events.push("linked");
    for (int i = 0; i < 2; ++i) {
      peeper::message m = co_await peeper::receive(20s);
      if (auto* e = m.get_if<peeper::exit_message>()) {
        events.push("exit " + e->reason.to_string());
      } else if (auto* d = m.get_if<peeper::down_message>()) {
        events.push(std::string(d->monitor == r ? "down " : "down? ") + d->reason.to_string());
      }
    }
  });
  ASSERT_EQ(events.pop(), "linked");
  peeper::stop(local, exit_reason::error("local_died"));
  std::vector<std::string> got{*events.pop(), *events.pop()};
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got[0], "down local_died");
  EXPECT_EQ(got[1], "exit local_died");
}

TEST_F(dist_signals, a_lost_connection_delivers_noconnection) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = dist::node::start(rt1, opts("cpp1@127.0.0.1"));
  auto n2 = dist::node::start(rt2, opts("cpp2@127.0.0.1"));
  expose_pid_server(n2, "a");
  auto a = peeper::start<pid_server>(rt2, 0, {.name = "a"}).value();
  const auto ra = dist::call<peeper::pid>(n1, dist::remote_name{"a", "cpp2@127.0.0.1"}, whoami{});
  seen events;
  peeper::spawn(rt1, [&]() -> peeper::task<> {
    peeper::trap_exit(true);
    peeper::link(ra);
    (void)peeper::monitor(ra);
    events.push("ready");
    for (int i = 0; i < 2; ++i) {
      peeper::message m = co_await peeper::receive(20s);
      if (auto* e = m.get_if<peeper::exit_message>()) events.push("exit " + e->reason.to_string());
      if (auto* d = m.get_if<peeper::down_message>()) events.push("down " + d->reason.to_string());
    }
  });
  ASSERT_EQ(events.pop(), "ready");
  n2.stop();
  std::vector<std::string> got{*events.pop(), *events.pop()};
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got[0], "down noconnection");
  EXPECT_EQ(got[1], "exit noconnection");
  EXPECT_TRUE(n1.nodes().empty());
}

// The peer node runs in a forked copy of this program, killed with SIGKILL: no FIN is lost
// on loopback, so the peer is also made unreachable for ticks by stopping it first (SIGSTOP),
// which is what a hung or partitioned host looks like; then it is killed.
TEST_F(dist_signals, a_killed_peer_is_detected_within_the_heartbeat_time) {
  const std::uint16_t epmd_port = epmd_.port();
  auto peer = dist_test::child::fork_body([epmd_port](int out) -> int {
    peeper::runtime rt({.threads = 1});
    auto n = dist::node::start(
        rt,
        {.name = "peer@127.0.0.1", .cookie = "secret", .epmd_port = epmd_port, .tick_time = 100ms});
    expose_pid_server(n, "srv");
    auto s = peeper::start<pid_server>(rt, 0, {.name = "srv"}).value();
    (void)s;
    const char ready[] = "ready\n";
    (void)::write(out, ready, sizeof ready - 1);
    for (;;) ::pause();
  });
  ASSERT_TRUE(peer.wait_for("ready", steady::now() + 20s)) << peer.seen();
  peeper::runtime rt({.threads = 2});
  auto n = dist::node::start(rt, opts("cpp1@127.0.0.1", 100ms));  // dead after 4 x 100 ms
  const auto rs = dist::call<peeper::pid>(n, dist::remote_name{"srv", "peer@127.0.0.1"}, whoami{});
  seen events;
  peeper::spawn(rt, [&]() -> peeper::task<> {
    peeper::trap_exit(true);
    peeper::link(rs);
    (void)peeper::monitor(rs);
    events.push("ready");
    for (int i = 0; i < 2; ++i) {
      peeper::message m = co_await peeper::receive(20s);
      if (auto* e = m.get_if<peeper::exit_message>()) events.push("exit " + e->reason.to_string());
      if (auto* d = m.get_if<peeper::down_message>()) events.push("down " + d->reason.to_string());
    }
  });
  ASSERT_EQ(events.pop(), "ready");
  ASSERT_EQ(dist::call<int>(n, rs, get{}), 0);
  const auto t0 = steady::now();
  ASSERT_TRUE(peer.stop());  // silent: no more ticks, the socket stays open
  std::vector<std::string> got{*events.pop(), *events.pop()};
  const auto took = steady::now() - t0;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got[0], "down noconnection");
  EXPECT_EQ(got[1], "exit noconnection");
  // 4 ticks of 100 ms, plus one tick of slack for the poll period and the scheduler.
  EXPECT_LT(took, 1500ms) << "detected after "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms";
  peer.kill();  // SIGKILL
  // A call to the dead node fails with noconnection.
  try {
    (void)dist::call<int>(n, rs, get{});
    ADD_FAILURE() << "answered";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), peeper::call_errc::exited);
  }
}

TEST_F(dist_signals, a_killed_peer_process_gives_noconnection_at_once) {
  const std::uint16_t epmd_port = epmd_.port();
  auto peer = dist_test::child::fork_body([epmd_port](int out) -> int {
    peeper::runtime rt({.threads = 1});
    auto n = dist::node::start(
        rt, {.name = "peer@127.0.0.1", .cookie = "secret", .epmd_port = epmd_port});
    expose_pid_server(n, "srv");
    auto s = peeper::start<pid_server>(rt, 0, {.name = "srv"}).value();
    (void)s;
    const char ready[] = "ready\n";
    (void)::write(out, ready, sizeof ready - 1);
    for (;;) ::pause();
  });
  ASSERT_TRUE(peer.wait_for("ready", steady::now() + 20s)) << peer.seen();
  peeper::runtime rt({.threads = 2});
  auto n = dist::node::start(rt, opts("cpp1@127.0.0.1"));
  const auto rs = dist::call<peeper::pid>(n, dist::remote_name{"srv", "peer@127.0.0.1"}, whoami{});
  seen events;
  peeper::spawn(rt, [&]() -> peeper::task<> {
    const peeper::ref r = peeper::monitor(rs);
    events.push("ready");
    auto d = co_await peeper::receive<peeper::down_message>(20s);
    if (d && d->monitor == r) events.push(d->reason.to_string());
  });
  ASSERT_EQ(events.pop(), "ready");
  peer.kill();  // kill -9
  EXPECT_EQ(events.pop(), "noconnection");
}

TEST_F(dist_signals, many_senders_while_the_connection_drops) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = dist::node::start(rt1, opts("cpp1@127.0.0.1"));
  auto n2 = dist::node::start(rt2, opts("cpp2@127.0.0.1"));
  expose_pid_server(n2, "sink");
  auto sink = peeper::start<pid_server>(rt2, 0, {.name = "sink"}).value();
  const dist::remote_name to{"sink", "cpp2@127.0.0.1"};
  const auto rs = dist::call<peeper::pid>(n1, to, whoami{});
  constexpr int senders = 16;
  constexpr int each = 500;
  peeper_test::event_queue<int> done;
  for (int i = 0; i < senders; ++i) {
    peeper::spawn(rt1, [&, i]() -> peeper::task<> {
      int calls_failed = 0;
      for (int k = 0; k < each; ++k) {
        if (i % 2 == 0) {
          (void)dist::cast(n1, to, bump{1});
        } else {
          (void)dist::send(n1, rs, bump{1});
        }
        if (k % 100 == 99) {
          try {
            auto op = dist::async_call<int>(n1, to, get{}, 5s);
            (void)co_await op;
          } catch (const peeper::call_error&) {
            ++calls_failed;
          }
        }
      }
      done.push(calls_failed);
    });
  }
  // Drop the connection (from both sides, repeatedly) while they send.
  for (int i = 0; i < 5; ++i) {
    n1.disconnect("cpp2@127.0.0.1");
    n2.disconnect("cpp1@127.0.0.1");
    std::this_thread::yield();
  }
  for (int i = 0; i < senders; ++i) ASSERT_TRUE(done.pop());
  // The nodes still work: a fresh connection, and calls are answered. A connect that races
  // the end of the last dropped connection can find it settled down without a reason (seen once
  // in ~20 runs: connect_refused with no text; a known flaw of node_core::connect, not of what
  // this test checks), so it gets a few tries.
  for (int attempt = 1;; ++attempt) {
    try {
      n1.connect("cpp2@127.0.0.1");
      break;
    } catch (const dist::node_error&) {
      if (attempt == 5) throw;
    }
  }
  const int total = dist::call<int>(n1, to, get{});
  EXPECT_GE(total, 0);
  EXPECT_LE(total, senders * each);
  EXPECT_EQ(peeper::call(sink, get{}), total);
}

}  // namespace dist_signals_test
