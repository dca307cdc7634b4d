// Links, monitors and exit signals between C++ processes and processes of a real `erl` node:
// links each way, with the reasons Erlang gives and the ones it receives (and noproc for a
// dead pid); exit/2 each way with OTP's rules for kill, normal and trapping; unlink from either
// side (Erlang's UNLINK_ID); monitors each way, which Erlang honours only as far as the
// connection (noconnection); the Erlang node killed with SIGKILL.
//
// The Erlang side is a set of agents (tests/dist/dist_peer.erl, agents/1): registered processes
// that link, unlink, monitor and send exit signals on command, answer each command with
// {ack, Name, What} to the pid it names, and print one line per signal they receive.
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/dist/codec.hpp>
#include <peeper/dist/node.hpp>
#include <peeper/dist/remote.hpp>

#include "dist_test_support.hpp"
#include "test_support.hpp"

namespace dist_erlang_signals_test {

using namespace std::chrono_literals;
using dist_test::steady;
namespace dist = peeper::dist;
using peeper::exit_reason;

// Commands to an agent.
struct whoami {};
struct link_cmd {
  peeper::pid p;
};
struct unlink_cmd {
  peeper::pid p;
};
struct monitor_cmd {
  peeper::pid p;
};
struct exit_to_cmd {
  peeper::pid p;
  dist::term reason;
};
struct exit_cmd {
  dist::term reason;
};
struct ping {};
// A local message: a C++ target process ends normally.
struct go {};

}  // namespace dist_erlang_signals_test

namespace des = dist_erlang_signals_test;
template <>
struct peeper::dist::term_mapping<des::whoami> {
  static constexpr std::string_view tag = "whoami";
};
template <>
struct peeper::dist::term_mapping<des::link_cmd> {
  static constexpr std::string_view tag = "link";
  static constexpr auto fields = std::make_tuple(&des::link_cmd::p);
};
template <>
struct peeper::dist::term_mapping<des::unlink_cmd> {
  static constexpr std::string_view tag = "unlink";
  static constexpr auto fields = std::make_tuple(&des::unlink_cmd::p);
};
template <>
struct peeper::dist::term_mapping<des::monitor_cmd> {
  static constexpr std::string_view tag = "monitor";
  static constexpr auto fields = std::make_tuple(&des::monitor_cmd::p);
};
template <>
struct peeper::dist::term_mapping<des::exit_to_cmd> {
  static constexpr std::string_view tag = "exit_to";
  static constexpr auto fields = std::make_tuple(&des::exit_to_cmd::p, &des::exit_to_cmd::reason);
};
template <>
struct peeper::dist::term_mapping<des::exit_cmd> {
  static constexpr std::string_view tag = "exit";
  static constexpr auto fields = std::make_tuple(&des::exit_cmd::reason);
};
template <>
struct peeper::dist::term_mapping<des::ping> {
  static constexpr std::string_view tag = "ping";
};

namespace dist_erlang_signals_test {

/// What a process saw.
using seen = peeper_test::event_queue<std::string>;

dist::term atom(const char* a) { return dist::term(dist::atom{a}); }

class dist_erlang_signals : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ebin = dist_test::compile_peer_module(); }
  void SetUp() override {
    ASSERT_TRUE(epmd_.ok()) << "epmd did not start";
    ASSERT_FALSE(ebin.empty()) << "erlc failed";
  }

  /// Starts the C++ node and the Erlang node e1 with the agents {Name, TrapExit}.
  void start(const std::string& agents) {
    node_.emplace(dist::node::start(rt_, {.name = "cpp1@127.0.0.1",
                                          .cookie = "secret",
                                          .epmd_port = epmd_.port(),
                                          .tick_time = 200ms}));
    erl_ =
        dist_test::erl_node(epmd_, erl_name, "secret", ebin, "dist_peer:agents([" + agents + "]).");
    ASSERT_TRUE(erl_.wait_for("ready", steady::now() + 30s)) << erl_.seen();
  }
  dist::remote_name agent(const char* name) const { return {name, erl_name}; }
  /// The agent's pid (a stand-in here).
  peeper::pid pid_of(const char* name) {
    return dist::call<peeper::pid>(*node_, agent(name), whoami{});
  }
  /// The next line of the Erlang node that starts with `prefix`; empty (and a failure) if none
  /// comes in time.
  std::string line(const std::string& prefix) {
    const auto deadline = steady::now() + 30s;
    while (auto l = erl_.line(deadline)) {
      if (l->rfind(prefix, 0) == 0) return *l;
    }
    ADD_FAILURE() << "no line starting with \"" << prefix << "\"; seen:\n" << erl_.seen();
    return {};
  }
  /// The lines of the Erlang node up to the first one that starts with `prefix` (included).
  std::vector<std::string> lines_until(const std::string& prefix) {
    std::vector<std::string> out;
    const auto deadline = steady::now() + 30s;
    while (auto l = erl_.line(deadline)) {
      out.push_back(*l);
      if (l->rfind(prefix, 0) == 0) return out;
    }
    ADD_FAILURE() << "no line starting with \"" << prefix << "\"; seen:\n" << erl_.seen();
    return out;
  }

  /// A C++ process (trapping exits or not) that reports every message it gets to `out`: a term
  /// as Erlang prints it, an exit message as "EXIT <from> <reason>"; it ends normally on `go`.
  peeper::pid target(seen& out, bool trap) {
    return peeper::spawn(rt_, [&out, trap]() -> peeper::task<> {
      peeper::trap_exit(trap);
      for (;;) {
        auto op = peeper::receive(120s);
        peeper::message m = co_await op;
        if (!m || m.get_if<go>() != nullptr) co_return;
        if (const auto* t = m.get_if<dist::term>()) {
          out.push(t->to_string());
        } else if (const auto* e = m.get_if<peeper::exit_message>()) {
          out.push("EXIT " + e->from.to_string() + " " + e->reason.to_string());
        }
      }
    });
  }

  static constexpr const char* erl_name = "e1@127.0.0.1";
  static std::string ebin;
  dist_test::epmd epmd_;
  peeper::runtime rt_{{.threads = 2}};
  std::optional<dist::node> node_;
  dist_test::child erl_;
};
std::string dist_erlang_signals::ebin;

// 1. A C++ process linked to an Erlang process that exits.
TEST_F(dist_erlang_signals, cpp_links_to_erlang_processes_and_hears_their_exits) {
  start("{a1, false}, {a2, false}, {a3, false}, {a4, false}, {a5, false}");
  const peeper::pid a1 = pid_of("a1");
  const peeper::pid a2 = pid_of("a2");
  const peeper::pid a3 = pid_of("a3");
  const peeper::pid a4 = pid_of("a4");
  ASSERT_TRUE(node_->is_remote(a1));

  // Trapping: {'EXIT', A1, boom} as an exit_message with the Erlang reason.
  seen trapping;
  peeper::spawn(rt_, [&]() -> peeper::task<> {
    peeper::trap_exit(true);
    peeper::link(a1);
    (void)dist::send(*node_, a1, exit_cmd{atom("boom")});  // after the link (same stand-in)
    auto op = peeper::receive<peeper::exit_message>(30s);
    auto e = co_await op;
    if (!e) {
      trapping.push("timeout");
      co_return;
    }
    trapping.push(std::string(e->from == a1 ? "a1 " : "? ") + e->reason.to_string());
    EXPECT_EQ(e->reason, exit_reason::error("boom"));
    // A link to the dead process: Erlang answers with an exit signal, noproc.
    peeper::link(a1);
    auto op2 = peeper::receive<peeper::exit_message>(30s);
    auto e2 = co_await op2;
    trapping.push(e2 ? std::string(e2->from == a1 ? "a1 " : "? ") + e2->reason.to_string()
                     : "timeout");
  });
  EXPECT_EQ(trapping.pop(), "a1 boom");
  EXPECT_EQ(trapping.pop(), "a1 noproc");
  EXPECT_EQ(line("a1 exiting"), "a1 exiting boom");

  // Not trapping: dies with the reason. {shutdown, going} keeps its shutdown kind.
  for (const auto& [who, reason, want] :
       {std::tuple{a2, atom("boom"), exit_reason::error("boom")},
        std::tuple{a4, dist::term(dist::term_tuple{{atom("shutdown"), atom("going")}}),
                   exit_reason::shutdown("going")}}) {
    peeper_test::event_queue<bool> ready;
    const peeper::pid p = peeper::spawn(rt_, [&, who = who, reason = reason]() -> peeper::task<> {
      auto op = peeper::receive<go>(30s);
      (void)co_await op;
      peeper::link(who);
      (void)dist::send(*node_, who, exit_cmd{reason});
      ready.push(true);
      auto op2 = peeper::receive<go>(30s);
      (void)co_await op2;
    });
    peeper_test::event_queue<exit_reason> ended;
    peeper_test::watch(rt_, p, ended);
    (void)peeper::send(p, go{});
    ASSERT_TRUE(ready.pop());
    EXPECT_EQ(ended.pop(), want);
  }

  // Not trapping, and the Erlang process ends normally: the link's signal is ignored. A
  // trapping process linked too receives {'EXIT', A3, normal}; a call answered after that, and
  // then a message to the plain process, come behind the signal.
  seen plain_events;
  peeper_test::event_queue<bool> plain_linked;
  const peeper::pid plain = peeper::spawn(rt_, [&]() -> peeper::task<> {
    peeper::link(a3);
    plain_linked.push(true);
    auto op = peeper::receive<go>(60s);
    auto g = co_await op;
    plain_events.push(g ? "alive" : "timeout");
  });
  peeper_test::event_queue<exit_reason> plain_ended;
  peeper_test::watch(rt_, plain, plain_ended);
  ASSERT_TRUE(plain_linked.pop());
  seen observer;
  peeper::spawn(rt_, [&]() -> peeper::task<> {
    peeper::trap_exit(true);
    peeper::link(a3);
    (void)dist::send(*node_, a3, exit_cmd{atom("normal")});
    auto op = peeper::receive<peeper::exit_message>(30s);
    auto e = co_await op;
    if (!e) {
      observer.push("timeout");
      co_return;
    }
    observer.push(std::string(e->from == a3 ? "a3 " : "? ") + e->reason.to_string());
    EXPECT_TRUE(e->reason.is_normal());
  });
  EXPECT_EQ(observer.pop(), "a3 normal");
  EXPECT_EQ(pid_of("a5"), pid_of("a5"));  // a round trip behind the exit signals
  (void)peeper::send(plain, go{});
  EXPECT_EQ(plain_events.pop(), "alive");
  EXPECT_EQ(plain_ended.pop(), exit_reason::normal());
}

// 2. An Erlang process (trapping exits) linked to C++ processes that end.
TEST_F(dist_erlang_signals, erlang_links_to_cpp_processes_and_hears_their_exits) {
  start("{t1, true}, {t2, true}, {t3, true}, {t4, true}, {t5, true}");
  seen s1;
  seen s2;
  seen s3;
  seen s4;
  seen s5;
  const peeper::pid q1 = target(s1, false);
  const peeper::pid q2 = target(s2, false);
  const peeper::pid q3 = target(s3, false);
  const peeper::pid q4 = target(s4, false);
  const peeper::pid q5 = target(s5, false);
  ASSERT_TRUE(dist::send(*node_, agent("t1"), link_cmd{q1}));
  ASSERT_TRUE(dist::send(*node_, agent("t2"), link_cmd{q2}));
  ASSERT_TRUE(dist::send(*node_, agent("t3"), link_cmd{q3}));
  ASSERT_TRUE(dist::send(*node_, agent("t4"), link_cmd{q4}));
  // The ack comes from the Erlang process after its link: the link reached the C++ process.
  EXPECT_EQ(s1.pop(), "{ack,t1,linked}");
  EXPECT_EQ(s2.pop(), "{ack,t2,linked}");
  EXPECT_EQ(s3.pop(), "{ack,t3,linked}");
  EXPECT_EQ(s4.pop(), "{ack,t4,linked}");

  (void)peeper::exit(q1, exit_reason::error("boom"));
  EXPECT_EQ(line("t1 EXIT"), "t1 EXIT true boom");
  (void)peeper::exit(q2, exit_reason::kill());
  EXPECT_EQ(line("t2 EXIT"), "t2 EXIT true killed");
  (void)peeper::exit(q3, exit_reason::shutdown("bye"));
  EXPECT_EQ(line("t3 EXIT"), "t3 EXIT true {shutdown,<<\"bye\">>}");
  (void)peeper::send(q4, go{});
  EXPECT_EQ(line("t4 EXIT"), "t4 EXIT true normal");

  // A link to a C++ process that is gone: noproc.
  peeper_test::event_queue<exit_reason> end5;
  peeper_test::watch(rt_, q5, end5);
  (void)peeper::send(q5, go{});
  EXPECT_EQ(end5.pop(), exit_reason::normal());
  ASSERT_TRUE(dist::send(*node_, agent("t5"), link_cmd{q5}));
  EXPECT_EQ(line("t5 EXIT"), "t5 EXIT true noproc");
}

// 3. Monitors, each way. Erlang sends MONITOR_P and MONITOR_P_EXIT only to nodes that announce
// DFLAG_DIST_MONITOR_NAME, which ei's handshake does not: between C++ and Erlang processes a
// monitor fires when the connection is lost (noconnection), not when the process exits (see
// the report; monitors with a reason are tested C++ to C++ in dist_signals_test.cpp).
TEST_F(dist_erlang_signals, monitors_each_way_fire_when_the_connection_is_lost) {
  start("{m1, false}, {w1, false}");
  const peeper::pid m1 = pid_of("m1");
  seen events;
  peeper_test::event_queue<bool> monitoring;
  peeper::spawn(rt_, [&]() -> peeper::task<> {
    const peeper::ref r = peeper::monitor(m1);
    const peeper::ref dropped = peeper::monitor(m1);
    EXPECT_TRUE(peeper::demonitor(dropped, true));
    monitoring.push(true);
    auto op = peeper::receive<peeper::down_message>(30s);
    auto d = co_await op;
    if (!d) {
      events.push("timeout");
      co_return;
    }
    events.push(std::string(d->monitor == r && d->process == m1 ? "m1 " : "? ") +
                d->reason.to_string());
    auto op2 = peeper::receive<peeper::down_message>(0ms);
    auto d2 = co_await op2;
    events.push(d2 ? "another down" : "no other down");
  });
  ASSERT_TRUE(monitoring.pop());
  seen s1;
  const peeper::pid q1 = target(s1, false);
  ASSERT_TRUE(dist::send(*node_, agent("w1"), monitor_cmd{q1}));
  EXPECT_EQ(s1.pop(), "{ack,w1,monitoring}");
  node_->disconnect(erl_name);
  EXPECT_EQ(events.pop(), "m1 noconnection");
  EXPECT_EQ(events.pop(), "no other down");
  EXPECT_EQ(line("w1 DOWN"), "w1 DOWN true noconnection");
  EXPECT_TRUE(peeper::is_alive(q1));
  (void)peeper::send(q1, go{});
}

// 4. exit/2 each way, with OTP's rules: kill kills even a trapping process, normal is ignored by
// one that does not trap, a trapping one gets the message.
TEST_F(dist_erlang_signals, cpp_sends_exit_signals_to_erlang_processes) {
  start("{x1, false}, {x2, false}, {x3, true}, {x4, true}");
  const peeper::pid x1 = pid_of("x1");
  const peeper::pid x2 = pid_of("x2");
  const peeper::pid x3 = pid_of("x3");
  const peeper::pid x4 = pid_of("x4");
  // The sender traps exits and links to x1 and x4 first: their links tell how they ended.
  seen events;
  peeper::spawn(rt_, [&]() -> peeper::task<> {
    peeper::trap_exit(true);
    for (const auto& [who, reason, name] : {std::tuple{x1, exit_reason::error("boom"), "x1 "},
                                            std::tuple{x4, exit_reason::kill(), "x4 "}}) {
      peeper::link(who);
      (void)peeper::exit(who, reason);
      auto op = peeper::receive<peeper::exit_message>(30s);
      auto e = co_await op;
      if (!e) {
        events.push("timeout");
        co_return;
      }
      events.push(std::string(e->from == who ? name : "? ") + e->reason.to_string());
    }
    (void)peeper::exit(x2, exit_reason::normal());
    (void)dist::send(*node_, x2, ping{});  // behind the exit signal (one stand-in)
    (void)peeper::exit(x3, exit_reason::error("boom"));
    (void)dist::send(*node_, x3, ping{});
    events.push("sent");
  });
  EXPECT_EQ(events.pop(), "x1 boom");    // not trapping: ends with the reason
  EXPECT_EQ(events.pop(), "x4 killed");  // trapping, but kill is not trapped
  EXPECT_EQ(events.pop(), "sent");
  // x2 (not trapping) ignored `normal` and answers the ping; x3 (trapping) got the message.
  std::vector<std::string> x2_lines;
  std::vector<std::string> x3_lines;
  const auto deadline = steady::now() + 30s;
  while (x2_lines.empty() || x3_lines.size() < 2) {
    auto l = erl_.line(deadline);
    ASSERT_TRUE(l) << erl_.seen();
    if (l->rfind("x2 ", 0) == 0) x2_lines.push_back(*l);
    if (l->rfind("x3 ", 0) == 0) x3_lines.push_back(*l);
  }
  EXPECT_EQ(x2_lines, std::vector<std::string>{"x2 pong"});
  EXPECT_EQ(x3_lines, (std::vector<std::string>{"x3 EXIT false boom", "x3 pong"}));
}

TEST_F(dist_erlang_signals, erlang_sends_exit_signals_to_cpp_processes) {
  start("{y1, false}, {y2, false}, {y3, false}, {y4, false}");
  seen s1;
  seen s2;
  seen s3;
  seen s4;
  const peeper::pid q1 = target(s1, false);
  const peeper::pid q2 = target(s2, false);
  const peeper::pid q3 = target(s3, true);
  const peeper::pid q4 = target(s4, true);
  peeper_test::event_queue<exit_reason> end1;
  peeper_test::event_queue<exit_reason> end4;
  peeper_test::watch(rt_, q1, end1);
  peeper_test::watch(rt_, q4, end4);

  ASSERT_TRUE(dist::send(*node_, agent("y1"), exit_to_cmd{q1, atom("boom")}));
  EXPECT_EQ(end1.pop(), exit_reason::error("boom"));
  // `normal` to a process that does not trap: ignored; the ack comes after the signal.
  ASSERT_TRUE(dist::send(*node_, agent("y2"), exit_to_cmd{q2, atom("normal")}));
  EXPECT_EQ(s2.pop(), "{ack,y2,sent_exit}");
  EXPECT_TRUE(peeper::is_alive(q2));
  // A trapping process gets the message, from the Erlang process.
  ASSERT_TRUE(dist::send(*node_, agent("y3"), exit_to_cmd{q3, atom("boom")}));
  EXPECT_EQ(s3.pop(), "EXIT " + pid_of("y3").to_string() + " boom");
  EXPECT_EQ(s3.pop(), "{ack,y3,sent_exit}");
  // kill kills a trapping process: killed.
  ASSERT_TRUE(dist::send(*node_, agent("y4"), exit_to_cmd{q4, atom("kill")}));
  EXPECT_EQ(end4.pop(), exit_reason::killed());
  EXPECT_EQ(s4.try_pop(), std::nullopt);
  (void)peeper::send(q2, go{});
  (void)peeper::send(q3, go{});
}

// 5. The Erlang node killed with SIGKILL: links and monitors of its processes get noconnection.
TEST_F(dist_erlang_signals, a_killed_erlang_node_gives_noconnection) {
  start("{k1, false}, {k2, false}");
  const peeper::pid k1 = pid_of("k1");
  const peeper::pid k2 = pid_of("k2");
  seen trapping;
  seen ready;
  peeper::spawn(rt_, [&]() -> peeper::task<> {
    peeper::trap_exit(true);
    peeper::link(k1);
    const peeper::ref r = peeper::monitor(k2);
    ready.push("ready");
    for (int i = 0; i < 2; ++i) {
      auto op = peeper::receive(30s);
      peeper::message m = co_await op;
      if (const auto* e = m.get_if<peeper::exit_message>()) {
        trapping.push(std::string(e->from == k1 ? "exit " : "exit? ") + e->reason.to_string());
      } else if (const auto* d = m.get_if<peeper::down_message>()) {
        trapping.push(std::string(d->monitor == r ? "down " : "down? ") + d->reason.to_string());
      } else {
        trapping.push("timeout");
      }
    }
  });
  peeper_test::event_queue<bool> linked;
  const peeper::pid plain = peeper::spawn(rt_, [&]() -> peeper::task<> {
    peeper::link(k2);
    linked.push(true);
    auto op = peeper::receive<go>(60s);
    (void)co_await op;
  });
  peeper_test::event_queue<exit_reason> ended;
  peeper_test::watch(rt_, plain, ended);
  ASSERT_EQ(ready.pop(), "ready");
  ASSERT_TRUE(linked.pop());
  const auto t0 = steady::now();
  erl_.kill();  // SIGKILL to its process group
  std::vector<std::string> got{*trapping.pop(), *trapping.pop()};
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got[0], "down noconnection");
  EXPECT_EQ(got[1], "exit noconnection");
  EXPECT_EQ(ended.pop(), exit_reason::noconnection());
  // A killed process's socket is closed by its kernel: no tick timeout to wait for.
  const auto took = steady::now() - t0;
  EXPECT_LT(took, 5s) << "detected after "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms";
}

// 6. Unlink from either side: no signal afterwards.
TEST_F(dist_erlang_signals, unlink_from_either_side_silences_the_link) {
  start("{u1, false}, {u2, true}, {u3, true}, {seq, false}");
  const peeper::pid u1 = pid_of("u1");
  // A trapping observer linked to an agent hears of its exit (`cause` must send through the
  // agent's stand-in, behind the link); a round trip to another agent
  // after that, then a message to the process under test, come behind any exit signal the
  // agent sent to it.
  const auto observe_exit = [&](const peeper::pid& agent_pid, const std::function<void()>& cause) {
    seen obs;
    peeper_test::event_queue<bool> linked;
    peeper::spawn(rt_, [&]() -> peeper::task<> {
      peeper::trap_exit(true);
      peeper::link(agent_pid);
      linked.push(true);
      auto op = peeper::receive<peeper::exit_message>(30s);
      auto e = co_await op;
      obs.push(e ? e->reason.to_string() : "timeout");
    });
    EXPECT_TRUE(linked.pop());
    cause();
    EXPECT_EQ(obs.pop(), "boom");
    EXPECT_EQ(pid_of("seq"), pid_of("seq"));
  };

  // C++ unlinks: u1's exit does not reach the (not trapping) process.
  peeper_test::event_queue<bool> unlinked;
  seen cpp_side;
  const peeper::pid p = peeper::spawn(rt_, [&]() -> peeper::task<> {
    peeper::link(u1);
    peeper::unlink(u1);
    unlinked.push(true);
    auto op = peeper::receive<go>(60s);
    auto g = co_await op;
    cpp_side.push(g ? "alive" : "timeout");
  });
  peeper_test::event_queue<exit_reason> p_ended;
  peeper_test::watch(rt_, p, p_ended);
  ASSERT_TRUE(unlinked.pop());
  observe_exit(u1, [&] { EXPECT_TRUE(dist::send(*node_, u1, exit_cmd{atom("boom")})); });
  (void)peeper::send(p, go{});
  EXPECT_EQ(cpp_side.pop(), "alive");
  EXPECT_EQ(p_ended.pop(), exit_reason::normal());

  // Erlang unlinks (UNLINK_ID, acknowledged): u2's exit does not reach the C++ process.
  seen s;
  const peeper::pid q = target(s, false);
  peeper_test::event_queue<exit_reason> q_ended;
  peeper_test::watch(rt_, q, q_ended);
  ASSERT_TRUE(dist::send(*node_, agent("u2"), link_cmd{q}));
  EXPECT_EQ(s.pop(), "{ack,u2,linked}");
  ASSERT_TRUE(dist::send(*node_, agent("u2"), unlink_cmd{q}));
  EXPECT_EQ(s.pop(), "{ack,u2,unlinked}");
  // (The exit command goes through u2's stand-in, behind the observer's link.)
  const peeper::pid u2 = pid_of("u2");
  observe_exit(u2, [&] { EXPECT_TRUE(dist::send(*node_, u2, exit_cmd{atom("boom")})); });
  (void)peeper::send(q, go{});
  EXPECT_EQ(q_ended.pop(), exit_reason::normal());

  // Erlang unlinks, then the C++ process ends: no EXIT for u3. The ping goes through u3's
  // stand-in, behind the exit signal it would forward.
  seen s3;
  const peeper::pid q3 = target(s3, false);
  ASSERT_TRUE(dist::send(*node_, agent("u3"), link_cmd{q3}));
  EXPECT_EQ(s3.pop(), "{ack,u3,linked}");
  ASSERT_TRUE(dist::send(*node_, agent("u3"), unlink_cmd{q3}));
  EXPECT_EQ(s3.pop(), "{ack,u3,unlinked}");
  peeper_test::event_queue<exit_reason> q3_ended;
  peeper_test::watch(rt_, q3, q3_ended);
  (void)peeper::exit(q3, exit_reason::error("boom"));
  EXPECT_EQ(q3_ended.pop(), exit_reason::error("boom"));
  ASSERT_TRUE(dist::send(*node_, pid_of("u3"), ping{}));
  for (const auto& l : lines_until("u3 pong")) {
    EXPECT_EQ(l.find("u3 EXIT"), std::string::npos) << l;
  }
  // And Erlang still works with that connection: a new link, and its exit signal.
  seen s4;
  const peeper::pid q4 = target(s4, false);
  ASSERT_TRUE(dist::send(*node_, agent("u3"), link_cmd{q4}));
  EXPECT_EQ(s4.pop(), "{ack,u3,linked}");
  (void)peeper::exit(q4, exit_reason::error("bang"));
  EXPECT_EQ(line("u3 EXIT"), "u3 EXIT true bang");
}

}  // namespace dist_erlang_signals_test
