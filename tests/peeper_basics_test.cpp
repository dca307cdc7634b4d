// Peeper instances, the parts that do not need a crash storm: call, cast
// and send (scenario 1), direct GenServer calls to the worker (3), names
// local, global and via (4), a call timing out (8), unexpected messages (9),
// edge states (14), the dictionary (15), init refusing (16), the shape of
// the tree, and instances as children of supervisors.
#include <any>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/supervisor/dynamic_supervisor.hpp>
#include <peeper/supervisor/supervisor.hpp>

#include "peeper_test_support.hpp"

namespace peeper_basics_test {

using namespace peeper_test;
using peeper::call_errc;
using peeper::exit_reason;
using peeper::pid;

// ---- scenario 1: call / cast / send, state across a crash -----------------------

TEST(peeper_basics, call_cast_and_send_reach_the_worker) {
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(5));
  EXPECT_EQ(peeper::call(s, get{}), 5);
  EXPECT_TRUE(peeper::cast(s, inc{2}));
  EXPECT_TRUE(peeper::send(s, inc_info{}));
  EXPECT_EQ(peeper::call(s, inc_call{10}), 18);
  EXPECT_EQ(peeper::call(s, get{}), 18);
}

TEST(peeper_basics, state_survives_a_worker_crash_and_send_works_after_it) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(1));
  peeper::cast(s, inc{4});
  EXPECT_EQ(peeper::call(s, get{}), 5);
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, get{}), 5);
  EXPECT_TRUE(peeper::send(s, inc_info{}));
  EXPECT_TRUE(peeper::cast(s, inc{}));
  EXPECT_EQ(peeper::call(s, get{}), 7);
}

TEST(peeper_basics, restarted_init_receives_the_last_committed_state) {
  quiet_log quiet;
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(3, events));
  expect_event(*events, "init 3");
  peeper::cast(s, inc{4});
  EXPECT_EQ(peeper::call(s, get{}), 7);
  crash_worker(rt, s);
  expect_event(*events, "init 7");
}

TEST(peeper_basics, start_waits_for_init_and_the_first_state_is_the_initial_one) {
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(42, events));
  // init ran before start returned.
  ASSERT_EQ(events->size(), 1U);
  expect_event(*events, "init 42");
  EXPECT_EQ(peeper::call(s, get{}), 42);
}

TEST(peeper_basics, calls_from_inside_a_process_use_async_call) {
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(1));
  event_queue<long> out;
  peeper::spawn(rt, [s, &out]() -> peeper::task<> {
    peeper::cast(s, inc{1});
    peeper::send(s, inc_info{});
    auto op = peeper::async_call(s, inc_call{10});
    long v = co_await op;
    out.push(v);
    // A blocking call inside a process fails fast.
    try {
      (void)peeper::call(s, get{});
      out.push(-1);
    } catch (const peeper::call_error& e) {
      out.push(e.code() == call_errc::would_block ? -2 : -3);
    }
  });
  EXPECT_EQ(out.pop(), 13);
  EXPECT_EQ(out.pop(), -2);
}

// ---- the shape of an instance -------------------------------------------------------

TEST(peeper_basics, an_instance_is_a_supervisor_with_keeper_then_worker) {
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options());
  pid sup = s.supervisor();
  ASSERT_TRUE(sup);
  pid w = peeper::worker(s);
  pid k = peeper::keeper(s);
  ASSERT_TRUE(w);
  ASSERT_TRUE(k);
  EXPECT_NE(w, k);
  EXPECT_NE(w, sup);
  // OTP's order: newest first, so the worker (started second) comes first.
  auto kids = peeper::supervisor::which_children(sup);
  ASSERT_EQ(kids.size(), 2U);
  EXPECT_EQ(kids[0].id, "worker");
  EXPECT_EQ(kids[0].process, w);
  EXPECT_EQ(kids[1].id, "state");
  EXPECT_EQ(kids[1].process, k);
  EXPECT_EQ(kids[0].restart, peeper::restart_type::permanent);
  EXPECT_EQ(kids[1].restart, peeper::restart_type::permanent);
  // which_children of the instance gives the same.
  auto same = peeper::which_children(s);
  ASSERT_EQ(same.size(), 2U);
  EXPECT_EQ(same[0].process, w);
  EXPECT_EQ(same[1].process, k);
  EXPECT_EQ(peeper::worker_ref(s).resolve(), w);
}

/// Kills the instance's child `which` ("worker" or "state"), then expects
/// which_children to report both children running, `which` a new process.
void expect_which_children_after_killing(const std::string& which) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options());
  pid victim = which == "worker" ? peeper::worker(s) : peeper::keeper(s);
  peeper::exit(victim, exit_reason::kill());
  await_exit(rt, victim);
  auto kids = peeper::which_children(s, hang_guard);
  ASSERT_EQ(kids.size(), 2U);
  for (const auto& c : kids) {
    EXPECT_TRUE(peeper::is_alive(c.process)) << c.id;
    EXPECT_NE(c.process, victim) << c.id;
  }
  EXPECT_EQ(kids[0].process, peeper::worker(s));
  EXPECT_EQ(kids[1].process, peeper::keeper(s));
}

TEST(peeper_basics, which_children_waits_for_a_restarting_worker) {
  expect_which_children_after_killing("worker");
}

TEST(peeper_basics, which_children_waits_for_a_restarting_keeper) {
  expect_which_children_after_killing("state");
}

TEST(peeper_basics, stop_ends_the_whole_tree_and_runs_terminate) {
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(0, events));
  expect_event(*events, "init 0");
  pid sup = s.supervisor();
  pid w = peeper::worker(s);
  pid k = peeper::keeper(s);
  peeper::stop(s);
  EXPECT_FALSE(peeper::is_alive(sup));
  EXPECT_FALSE(peeper::is_alive(w));
  EXPECT_FALSE(peeper::is_alive(k));
  EXPECT_FALSE(s.supervisor());
  EXPECT_FALSE(peeper::worker(s));
  expect_call_error(call_errc::noproc, [&] { (void)peeper::call(s, get{}); });
  EXPECT_FALSE(peeper::cast(s, inc{}));
  EXPECT_FALSE(peeper::send(s, inc_info{}));
  EXPECT_THROW(peeper::stop(s), peeper::supervisor_error);
}

TEST(peeper_basics, stop_with_a_reason_ends_the_supervisor_with_it) {
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options());
  pid sup = s.supervisor();
  event_queue<exit_reason> down;
  watch(rt, sup, down);
  peeper::stop(s, exit_reason::shutdown("bye"));
  EXPECT_EQ(down.pop(), exit_reason::shutdown("bye"));
}

// ---- scenario 3: direct GenServer calls to the worker ---------------------------

TEST(peeper_basics, direct_gen_server_calls_to_the_worker_mix_with_peeper_calls) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(1));
  auto direct = peeper::worker_ref(s);
  EXPECT_EQ(peeper::call(direct, get{}), 1);
  EXPECT_EQ(peeper::call(direct, inc_call{2}), 3);
  EXPECT_EQ(peeper::call(s, inc_call{3}), 6);
  EXPECT_TRUE(peeper::cast(direct, inc{4}));
  EXPECT_EQ(peeper::call(s, get{}), 10);
  EXPECT_TRUE(peeper::send(direct, inc_info{}));
  EXPECT_EQ(peeper::call(direct, get{}), 11);
  // Direct changes are committed like any: they survive a crash.
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, get{}), 11);
  // The old reference names the dead worker; a fresh one reaches the new.
  expect_call_error(call_errc::noproc, [&] { (void)peeper::call(direct, get{}); });
  EXPECT_EQ(peeper::call(peeper::worker_ref(s), get{}), 11);
}

TEST(peeper_basics, direct_gen_server_calls_by_the_worker_name_follow_restarts) {
  quiet_log quiet;
  peeper::runtime rt;
  auto o = counter_options(2);
  o.name = "direct";
  auto s = start_counter(rt, o);
  peeper::server_ref<counter> by_name(rt, peeper::worker_name("direct"));
  EXPECT_EQ(peeper::call(by_name, inc_call{1}), 3);
  crash_worker(rt, s);
  // The new worker registers the name as its init begins (worker() may
  // return it a moment before): a Peeper call is answered after that.
  EXPECT_EQ(peeper::call(s, inc_call{1}), 4);
  EXPECT_EQ(peeper::call(by_name, get{}), 4);
  EXPECT_EQ(peeper::call(by_name, inc_call{1}), 5);
  EXPECT_EQ(peeper::call(s, get{}), 5);
}

TEST(peeper_basics, direct_calls_from_a_process_mix_with_peeper_calls) {
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options());
  auto direct = peeper::worker_ref(s);
  event_queue<long> out;
  peeper::spawn(rt, [s, direct, &out]() -> peeper::task<> {
    for (int i = 0; i < 10; ++i) {
      auto a = peeper::async_call(direct, inc_call{1});
      out.push(co_await a);
      auto b = peeper::async_call(s, inc_call{1});
      out.push(co_await b);
    }
  });
  for (long i = 1; i <= 20; ++i) EXPECT_EQ(out.pop(), i);
}

// ---- scenario 4: names ------------------------------------------------------------

TEST(peeper_basics, worker_name_appends_gen_server_in_the_same_scope) {
  auto reg = std::make_shared<peeper::registry>();
  EXPECT_EQ(peeper::worker_name("x"), peeper::name("x.GenServer"));
  EXPECT_EQ(peeper::worker_name(peeper::name::global("x")), peeper::name::global("x.GenServer"));
  EXPECT_EQ(peeper::worker_name(peeper::name::via(reg, "x")),
            peeper::name::via(reg, "x.GenServer"));
}

void check_named(peeper::runtime& rt, const peeper::name& n) {
  auto o = counter_options(7);
  o.name = n;
  auto started = start_counter(rt, o);
  pid sup = started.supervisor();
  // The name is the supervisor's; the worker has worker_name(n).
  EXPECT_EQ(peeper::whereis(rt, n), sup);
  EXPECT_EQ(peeper::whereis(rt, peeper::worker_name(n)), peeper::worker(started));
  // A handle by name reaches it.
  counter_instance by_name(rt, n);
  EXPECT_EQ(by_name.supervisor(), sup);
  EXPECT_EQ(peeper::call(by_name, inc_call{1}), 8);
  EXPECT_TRUE(peeper::cast(by_name, inc{}));
  EXPECT_TRUE(peeper::send(by_name, inc_info{}));
  EXPECT_EQ(peeper::call(started, get{}), 10);
  // The name is taken while it runs.
  auto again = peeper::start<counter>(rt, o);
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(again.error(), peeper::start_errc::already_started);
  EXPECT_EQ(again.process(), sup);
  // stop unregisters both names.
  peeper::stop(by_name);
  EXPECT_FALSE(peeper::whereis(rt, n));
  EXPECT_FALSE(peeper::whereis(rt, peeper::worker_name(n)));
  expect_call_error(call_errc::noproc, [&] { (void)peeper::call(by_name, get{}); });
  // A new instance can take the name; the handle by name follows it.
  auto next = start_counter(rt, o);
  EXPECT_EQ(peeper::whereis(rt, n), next.supervisor());
  EXPECT_EQ(peeper::call(by_name, get{}), 7);
  peeper::stop(next);
}

TEST(peeper_basics, a_local_name_registers_the_supervisor_and_the_worker) {
  peeper::runtime rt;
  check_named(rt, "local_counter");
}

TEST(peeper_basics, a_global_name_registers_the_supervisor_and_the_worker) {
  peeper::runtime rt;
  check_named(rt, peeper::name::global("global_counter"));
}

TEST(peeper_basics, a_via_name_registers_the_supervisor_and_the_worker) {
  peeper::runtime rt;
  auto reg = std::make_shared<peeper::registry>();
  check_named(rt, peeper::name::via(reg, "via_counter"));
  EXPECT_EQ(reg->size(), 0U);
}

TEST(peeper_basics, the_worker_name_moves_to_the_restarted_worker) {
  quiet_log quiet;
  peeper::runtime rt;
  auto o = counter_options();
  o.name = peeper::name::global("moving");
  auto s = start_counter(rt, o);
  pid next = crash_worker(rt, s);
  (void)peeper::call(s, get{});  // answered once the new worker's init ran: it has registered
  EXPECT_EQ(peeper::whereis(rt, peeper::worker_name(peeper::name::global("moving"))), next);
  EXPECT_EQ(peeper::whereis(rt, peeper::name::global("moving")), s.supervisor());
}

TEST(peeper_basics, a_name_of_another_state_type_is_refused) {
  peeper::runtime rt;
  auto o = counter_options();
  o.name = "typed";
  auto s = start_counter(rt, o);
  peeper::instance<peeper_test::gate> wrong(rt, "typed");  // gate's state is gate_state, not cstate
  EXPECT_THROW((void)wrong.core(), peeper::bad_argument);
  peeper::stop(s);
}

TEST(peeper_basics, an_unknown_name_gives_noproc) {
  peeper::runtime rt;
  counter_instance nobody(rt, "nobody");
  EXPECT_FALSE(nobody.supervisor());
  EXPECT_FALSE(peeper::worker(nobody));
  EXPECT_FALSE(peeper::keeper(nobody));
  expect_call_error(call_errc::noproc, [&] { (void)peeper::call(nobody, get{}); });
  EXPECT_FALSE(peeper::cast(nobody, inc{}));
  EXPECT_FALSE(peeper::send(nobody, inc_info{}));
  EXPECT_THROW((void)peeper::which_children(nobody), peeper::supervisor_error);
  EXPECT_THROW(peeper::stop(nobody), peeper::supervisor_error);
}

// ---- instances as children of supervisors -----------------------------------------

TEST(peeper_basics, an_instance_is_a_child_of_a_supervisor_through_server_spec) {
  quiet_log quiet;
  peeper::runtime rt;
  auto o = counter_options(3);
  o.name = "supervised";
  auto spec = peeper::server_spec<counter>("counter", o);
  EXPECT_EQ(spec.type, peeper::child_type::supervisor);
  EXPECT_EQ(spec.restart, peeper::restart_type::permanent);
  auto top = peeper::supervisor::start(rt, {spec}).process();
  ASSERT_TRUE(top);
  counter_instance s(rt, "supervised");
  auto kids = peeper::supervisor::which_children(top);
  ASSERT_EQ(kids.size(), 1U);
  EXPECT_EQ(kids[0].id, "counter");
  EXPECT_EQ(kids[0].process, s.supervisor());
  EXPECT_EQ(kids[0].type, peeper::child_type::supervisor);
  EXPECT_EQ(peeper::call(s, inc_call{1}), 4);
  // A worker crash stays inside the instance.
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, get{}), 4);
  EXPECT_EQ(peeper::supervisor::which_children(top)[0].process, kids[0].process);
  // Stopping the top supervisor stops the instance.
  pid inner = s.supervisor();
  peeper::supervisor::stop(top);
  EXPECT_FALSE(peeper::is_alive(inner));
  EXPECT_FALSE(peeper::whereis(rt, "supervised"));
}

TEST(peeper_basics, an_instance_restarted_by_its_supervisor_starts_fresh_under_its_name) {
  quiet_log quiet;
  peeper::runtime rt;
  auto o = counter_options(3);
  o.name = "fresh";
  auto top = peeper::supervisor::start(rt, {peeper::server_spec<counter>("counter", o)},
                                       {.max_restarts = 1000})
                 .process();
  counter_instance s(rt, "fresh");
  EXPECT_EQ(peeper::call(s, inc_call{1}), 4);
  pid inner = s.supervisor();
  pid old_worker = peeper::worker(s);
  peeper::exit(inner, exit_reason::kill());
  await_exit(rt, inner);
  await_exit(rt, old_worker);
  // The top supervisor starts a new instance from the spec's state. (Its
  // first try may find "fresh.GenServer" still held by the old worker, which
  // dies through its link a moment later: OTP's behaviour; the supervisor
  // tries again.)
  const auto give_up = std::chrono::steady_clock::now() + hang_guard;
  pid restarted;
  while (!restarted && std::chrono::steady_clock::now() < give_up) {
    auto kids = peeper::supervisor::which_children(top);
    ASSERT_EQ(kids.size(), 1U);
    restarted = kids[0].process;
    if (!restarted) std::this_thread::yield();
  }
  ASSERT_TRUE(restarted);
  EXPECT_EQ(restarted, s.supervisor());
  pid w = peeper::worker(s, hang_guard);
  ASSERT_TRUE(w);
  EXPECT_NE(s.supervisor(), inner);
  EXPECT_EQ(peeper::call(s, get{}), 3);
  peeper::supervisor::stop(top);
}

TEST(peeper_basics, an_unnamed_child_instance_is_reached_by_its_pid) {
  quiet_log quiet;
  peeper::runtime rt;
  auto dyn = peeper::dynamic_supervisor::start(rt).process();
  pid p = peeper::dynamic_supervisor::start_child(
      dyn, peeper::server_child<counter>(counter_options(5)));
  ASSERT_TRUE(p);
  counter_instance s(p);
  EXPECT_EQ(s.supervisor(), p);
  EXPECT_EQ(peeper::call(s, inc_call{1}), 6);
  EXPECT_TRUE(peeper::cast(s, inc{1}));
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, get{}), 7);
  EXPECT_EQ(peeper::which_children(s).size(), 2U);
  // The pid of another state type's instance, or of no instance at all.
  EXPECT_THROW((void)peeper::worker(peeper::instance<gate>(p)), peeper::bad_argument);
  counter_instance nobody(dyn);
  EXPECT_FALSE(nobody.supervisor());
  expect_call_error(call_errc::noproc, [&] { (void)peeper::call(nobody, get{}); });
  EXPECT_FALSE(peeper::cast(nobody, inc{}));
  peeper::stop(s);
  EXPECT_FALSE(peeper::is_alive(p));
  EXPECT_FALSE(peeper::cast(s, inc{}));
}

TEST(peeper_basics, an_instance_is_a_child_of_a_dynamic_supervisor_through_server_child) {
  quiet_log quiet;
  peeper::runtime rt;
  auto dyn = peeper::dynamic_supervisor::start(rt).process();
  ASSERT_TRUE(dyn);
  std::vector<pid> sups;
  for (int i = 0; i < 3; ++i) {
    auto o = counter_options(i * 10);
    o.name = "dyn" + std::to_string(i);
    pid p = peeper::dynamic_supervisor::start_child(dyn, peeper::server_child<counter>(o));
    ASSERT_TRUE(p);
    sups.push_back(p);
  }
  auto kids = peeper::dynamic_supervisor::which_children(dyn);
  ASSERT_EQ(kids.size(), 3U);
  for (const auto& k : kids) EXPECT_EQ(k.type, peeper::child_type::supervisor);
  for (int i = 0; i < 3; ++i) {
    counter_instance s(rt, "dyn" + std::to_string(i));
    EXPECT_EQ(s.supervisor(), sups[static_cast<std::size_t>(i)]);
    EXPECT_EQ(peeper::call(s, inc_call{1}), i * 10 + 1);
  }
  // A name taken by a running instance: already_started.
  auto o = counter_options();
  o.name = "dyn0";
  try {
    (void)peeper::dynamic_supervisor::start_child(dyn, peeper::server_child<counter>(o));
    ADD_FAILURE() << "expected already_started";
  } catch (const peeper::supervisor_error& e) {
    EXPECT_EQ(e.code(), peeper::supervisor_errc::already_started);
    EXPECT_EQ(e.process(), sups[0]);
  }
  peeper::dynamic_supervisor::terminate_child(dyn, sups[1]);
  EXPECT_FALSE(peeper::whereis(rt, "dyn1"));
  EXPECT_EQ(peeper::dynamic_supervisor::which_children(dyn).size(), 2U);
  peeper::dynamic_supervisor::stop(dyn);
  EXPECT_FALSE(peeper::whereis(rt, "dyn0"));
}

TEST(peeper_basics, start_link_inside_a_process_links_the_instance) {
  quiet_log quiet;
  peeper::runtime rt;
  event_queue<counter_instance> started;
  gate_ref g = start_gate(rt);
  pid parent = peeper::spawn(rt, [&started, g]() -> peeper::task<> {
    auto op = peeper::start_link<counter>(counter_options(9));
    auto r = co_await op;
    EXPECT_TRUE(r.ok()) << r.to_string();
    if (r.ok()) started.push(r.value());
    auto w = peeper::async_call(g, pass{}, peeper::infinity);
    co_await w;
  });
  auto s = started.pop();
  ASSERT_TRUE(s);
  pid sup = s->supervisor();
  ASSERT_TRUE(sup);
  EXPECT_EQ(peeper::call(*s, get{}), 9);
  // The parent's end takes the instance down.
  event_queue<exit_reason> down;
  watch(rt, sup, down);
  peeper::exit(parent, exit_reason::error("parent gone"));
  EXPECT_EQ(down.pop(), exit_reason::error("parent gone"));
  expect_call_error(call_errc::noproc, [&] { (void)peeper::call(*s, get{}); });
}

// ---- scenario 8: a call that times out on the client --------------------------------

TEST(peeper_basics, a_call_timing_out_leaves_the_server_alive_with_its_state) {
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(4, events));
  expect_event(*events, "init 4");
  gate_ref g = start_gate(rt);
  pid w = peeper::worker(s);
  expect_call_error(call_errc::timeout, [&] { (void)peeper::call(s, block_call{g}, 20ms); });
  peeper::cast(g, open_gate{});
  // The late reply is dropped; the server goes on with its state.
  EXPECT_EQ(peeper::call(s, inc_call{1}), 5);
  EXPECT_EQ(peeper::worker(s), w);
  EXPECT_TRUE(peeper::is_alive(w));
}

// ---- scenario 9: unexpected messages --------------------------------------------------

struct stranger {
  std::string text;
};
/// A server with no handle_info.
struct plain : peeper::gen_server<plain, int> {
  auto handle_call(get /*m*/, const int& n) { return peeper::reply(n); }
  auto handle_cast(inc m, int& n) {
    n += static_cast<int>(m.by);
    return peeper::noreply();
  }
};

TEST(peeper_basics, unexpected_messages_do_not_crash_the_server) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = peeper::start<plain>(rt, peeper::server_options<int>{.state = 2}).value();
  pid w = peeper::worker(s);
  EXPECT_TRUE(peeper::send(s, stranger{"hello"}));
  EXPECT_TRUE(peeper::send(s, 42));
  EXPECT_TRUE(peeper::send(w, std::string("raw")));
  EXPECT_TRUE(peeper::send(w, peeper::exit_message{pid(), exit_reason::error("fake")}));
  // A call meant for another server type, sent straight to the worker.
  expect_call_error(call_errc::bad_call,
                    [&] { (void)peeper::call(peeper::server_ref<counter>(w), get{}); });
  EXPECT_TRUE(peeper::cast(peeper::server_ref<counter>(w), inc{}));
  peeper::cast(s, inc{3});
  EXPECT_EQ(peeper::call(s, get{}), 5);
  EXPECT_EQ(peeper::worker(s), w);
}

TEST(peeper_basics, unexpected_messages_go_to_handle_info_when_there_is_one) {
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(1));
  pid w = peeper::worker(s);
  EXPECT_TRUE(peeper::send(s, stranger{"x"}));
  EXPECT_TRUE(peeper::send(s, 3.5));
  EXPECT_TRUE(peeper::send(w, stranger{"y"}));
  EXPECT_EQ(peeper::call(s, get{}), 1);
  EXPECT_EQ(peeper::worker(s), w);
}

// ---- scenario 14: edge states ----------------------------------------------------------

struct read_box {};
template <class S>
struct put_box {
  S value;
};
template <class S>
struct box : peeper::gen_server<box<S>, S> {
  auto handle_call(read_box /*m*/, const S& s) { return peeper::reply(s); }
  auto handle_cast(put_box<S> m, S& s) {
    s = std::move(m.value);
    return peeper::noreply();
  }
};

template <class S>
void check_preserved(const S& initial, const S& changed) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = peeper::start<box<S>>(rt, peeper::server_options<S>{.state = initial}).value();
  EXPECT_EQ(peeper::call(s, read_box{}), initial);
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, read_box{}), initial);
  peeper::cast(s, put_box<S>{changed});
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, read_box{}), changed);
  crash_worker(rt, s, exit_reason::error("again"));
  EXPECT_EQ(peeper::call(s, read_box{}), changed);
}

TEST(peeper_basics, an_empty_optional_state_is_preserved) {
  check_preserved<std::optional<int>>(std::nullopt, std::nullopt);
  check_preserved<std::optional<int>>(7, std::nullopt);
}

TEST(peeper_basics, an_empty_map_state_is_preserved) {
  check_preserved<std::map<std::string, int>>({}, {});
  check_preserved<std::map<std::string, int>>({{"a", 1}}, {});
}

TEST(peeper_basics, a_large_state_is_preserved_exactly) {
  std::vector<std::string> big;
  for (int i = 0; i < 10000; ++i) big.push_back("item " + std::to_string(i));
  std::vector<std::string> changed = big;
  changed[5000] = "changed";
  changed.emplace_back("one more");
  check_preserved(big, changed);
  check_preserved(std::vector<std::string>{}, big);
}

// ---- scenario 15: the dictionary --------------------------------------------------------

struct key_type {
  int a = 0;
  std::string b;
  friend bool operator==(const key_type&, const key_type&) = default;
};

}  // namespace peeper_basics_test

template <>
struct std::hash<peeper_basics_test::key_type> {
  std::size_t operator()(const peeper_basics_test::key_type& k) const noexcept {
    return std::hash<std::string>{}(k.b) ^ static_cast<std::size_t>(k.a);
  }
};

namespace peeper_basics_test {

struct fill_dict {};
struct dict_size {};
struct check_dict {};

using shaped_map = std::map<std::string, std::vector<int>>;

/// Puts keys of every shape into its dictionary and checks them.
struct dict_server : peeper::gen_server<dict_server, int> {
  auto handle_cast(fill_dict /*m*/, const int& /*s*/) {
    using peeper::this_process::put;
    put("atom", std::string("string key"));
    put(std::string("string"), 1);
    put(42, std::string("int key"));
    put(std::make_pair(1, std::string("pair")), 2.5);
    put(std::make_tuple(1, 2, std::string("tuple")), std::vector<int>{1, 2, 3});
    put(std::vector<int>{4, 5, 6}, shaped_map{{"map", {7, 8}}});
    put(key_type{9, "custom"}, std::make_tuple(std::string("a"), 1));
    put(true, std::optional<int>{});
    return peeper::noreply();
  }
  auto handle_call(dict_size /*m*/, const int& /*s*/) {
    return peeper::reply(peeper::this_process::keys().size());
  }
  auto handle_call(check_dict /*m*/, const int& /*s*/) {
    namespace tp = peeper::this_process;
    std::vector<std::string> wrong;
    auto* a = tp::get<std::string>("atom");
    if (a == nullptr || *a != "string key") wrong.emplace_back("atom");
    auto* b = tp::get<int>(std::string("string"));
    if (b == nullptr || *b != 1) wrong.emplace_back("string");
    auto* c = tp::get<std::string>(42);
    if (c == nullptr || *c != "int key") wrong.emplace_back("int");
    auto* d = tp::get<double>(std::make_pair(1, std::string("pair")));
    if (d == nullptr || *d != 2.5) wrong.emplace_back("pair");
    auto* e = tp::get<std::vector<int>>(std::make_tuple(1, 2, std::string("tuple")));
    if (e == nullptr || *e != std::vector<int>{1, 2, 3}) wrong.emplace_back("tuple");
    auto* f = tp::get<shaped_map>(std::vector<int>{4, 5, 6});
    if (f == nullptr || *f != shaped_map{{"map", {7, 8}}}) wrong.emplace_back("vector");
    auto* g = tp::get<std::tuple<std::string, int>>(key_type{9, "custom"});
    if (g == nullptr || *g != std::make_tuple(std::string("a"), 1)) wrong.emplace_back("custom");
    auto* h = tp::get<std::optional<int>>(true);
    if (h == nullptr || h->has_value()) wrong.emplace_back("bool");
    return peeper::reply(wrong);
  }
};

TEST(peeper_basics, dictionary_entries_of_every_shape_survive_crashes) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = peeper::start<dict_server>(rt, peeper::server_options<int>{}).value();
  peeper::cast(s, fill_dict{});
  EXPECT_EQ(peeper::call(s, dict_size{}), 8U);
  EXPECT_EQ(peeper::call(s, check_dict{}), std::vector<std::string>{});
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, dict_size{}), 8U);
  EXPECT_EQ(peeper::call(s, check_dict{}), std::vector<std::string>{});
  crash_worker(rt, s, exit_reason::shutdown("x"));
  EXPECT_EQ(peeper::call(s, check_dict{}), std::vector<std::string>{});
}

TEST(peeper_basics, dictionary_changes_after_a_restart_are_kept_too) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options());
  peeper::cast(s, dict_put{"k", "v1"});
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, dict_get{"k"}), "v1");
  peeper::cast(s, dict_put{"k", "v2"});
  peeper::cast(s, dict_put{"other", "o"});
  peeper::cast(s, fail_cast{});  // an exception: still a restart that keeps the dictionary
  EXPECT_EQ(peeper::call(s, dict_get{"k"}), "v2");
  EXPECT_EQ(peeper::call(s, dict_get{"other"}), "o");
  EXPECT_EQ(peeper::call(s, dict_get{"none"}), std::nullopt);
}

// ---- scenario 16: init refusing -----------------------------------------------------------

enum class init_mode { ok, stop, ignore };
struct pstate {
  int n = 0;
  init_mode mode = init_mode::ok;
  int inits = 0;
};
struct set_mode {
  init_mode mode;
};
struct read_pstate {};

struct picky : peeper::gen_server<picky, pstate> {
  peeper::init_result<pstate> init(pstate s) {
    if (s.mode == init_mode::stop) return peeper::stop(exit_reason::error("no thanks"));
    if (s.mode == init_mode::ignore) return peeper::ignore;
    s.inits += 1;
    return s;
  }
  auto handle_call(read_pstate /*m*/, const pstate& s) {
    return peeper::reply(std::make_pair(s.n, s.inits));
  }
  auto handle_cast(set_mode m, pstate& s) {
    s.mode = m.mode;
    return peeper::noreply();
  }
  auto handle_cast(inc m, pstate& s) {
    s.n += static_cast<int>(m.by);
    return peeper::noreply();
  }
};

TEST(peeper_basics, init_returning_stop_at_start_warns_and_keeps_the_initial_state) {
  captured_log log;
  {
    peeper::runtime rt;
    auto r =
        peeper::start<picky>(rt, peeper::server_options<pstate>{.state = {5, init_mode::stop, 0}});
    ASSERT_TRUE(r.ok()) << r.to_string();
    auto s = r.value();
    EXPECT_EQ(peeper::call(s, read_pstate{}), std::make_pair(5, 0));
    peeper::cast(s, inc{1});
    EXPECT_EQ(peeper::call(s, read_pstate{}), std::make_pair(6, 0));
  }
  std::string text = log.text();
  EXPECT_NE(text.find("warning: Peeper server"), std::string::npos) << text;
  EXPECT_NE(text.find("init must return ok, it returned stop (no thanks); the state is kept"),
            std::string::npos)
      << text;
}

TEST(peeper_basics, init_returning_ignore_at_start_warns_and_keeps_the_initial_state) {
  captured_log log;
  {
    peeper::runtime rt;
    auto r = peeper::start<picky>(
        rt, peeper::server_options<pstate>{.state = {3, init_mode::ignore, 0}});
    ASSERT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(peeper::call(r.value(), read_pstate{}), std::make_pair(3, 0));
  }
  std::string text = log.text();
  EXPECT_NE(text.find("init must return ok, it returned ignore; the state is kept"),
            std::string::npos)
      << text;
}

TEST(peeper_basics, init_refusing_on_a_restart_warns_and_keeps_the_preserved_state) {
  captured_log log(peeper::log_level::warn);
  {
    peeper::runtime rt;
    auto s = peeper::start<picky>(rt, peeper::server_options<pstate>{}).value();
    EXPECT_EQ(peeper::call(s, read_pstate{}), std::make_pair(0, 1));
    peeper::cast(s, inc{4});
    peeper::cast(s, set_mode{init_mode::stop});
    EXPECT_EQ(peeper::call(s, read_pstate{}), std::make_pair(4, 1));  // the casts are handled
    crash_worker(rt, s);
    // init refused: the state is the preserved one, unchanged by init.
    EXPECT_EQ(peeper::call(s, read_pstate{}), std::make_pair(4, 1));
    peeper::cast(s, set_mode{init_mode::ignore});
    EXPECT_EQ(peeper::call(s, read_pstate{}), std::make_pair(4, 1));
    crash_worker(rt, s);
    EXPECT_EQ(peeper::call(s, read_pstate{}), std::make_pair(4, 1));
    // A valid init works again.
    peeper::cast(s, set_mode{init_mode::ok});
    EXPECT_EQ(peeper::call(s, read_pstate{}), std::make_pair(4, 1));
    crash_worker(rt, s);
    EXPECT_EQ(peeper::call(s, read_pstate{}), std::make_pair(4, 2));
  }
  std::string text = log.text();
  EXPECT_NE(text.find("it returned stop (no thanks); the state is kept"), std::string::npos)
      << text;
  EXPECT_NE(text.find("it returned ignore; the state is kept"), std::string::npos) << text;
}

TEST(peeper_basics, a_valid_init_works) {
  peeper::runtime rt;
  auto s = peeper::start<picky>(rt, peeper::server_options<pstate>{.state = {2, init_mode::ok, 0}})
               .value();
  EXPECT_EQ(peeper::call(s, read_pstate{}), std::make_pair(2, 1));
}

/// init throws: start fails cleanly (nothing is left, the name is free).
struct throws_in_init : peeper::gen_server<throws_in_init, int> {
  int init(int /*n*/) { throw std::runtime_error("bad init"); }
  auto handle_call(get /*m*/, const int& n) { return peeper::reply(n); }
};

TEST(peeper_basics, init_throwing_at_start_fails_the_start_and_leaves_nothing) {
  quiet_log quiet;
  peeper::runtime rt(
      peeper::runtime_options{.deterministic = true});  // to see the end of every process
  peeper::server_options<int> o;
  o.name = "thrower";
  auto r = peeper::start<throws_in_init>(rt, o);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), peeper::start_errc::init_failed);
  EXPECT_THROW((void)r.value(), peeper::start_error);
  rt.run_until_idle();
  EXPECT_EQ(rt.process_count(), 0U);
  EXPECT_FALSE(peeper::whereis(rt, "thrower"));
  EXPECT_FALSE(peeper::whereis(rt, peeper::worker_name("thrower")));
  peeper::instance<throws_in_init> by_name(rt, "thrower");
  expect_call_error(call_errc::noproc, [&] { (void)peeper::call(by_name, get{}); });
}

// ---- the rest of GenServer's callbacks and actions in a worker ----------------------------

struct start_continue {
  long by = 0;
};
struct ask_timeout {};

/// handle_continue, an idle timeout and code_change, each changing the state.
struct evolving : peeper::gen_server<evolving, cstate> {
  auto handle_cast(start_continue m, cstate& /*s*/) {
    return peeper::noreply(peeper::continue_with(m.by));
  }
  auto handle_continue(long by, cstate& s) {
    s.n += by;
    report(s, "continued");
    return peeper::noreply();
  }
  auto handle_call(get /*m*/, const cstate& s) { return peeper::reply(s.n); }
  auto handle_call(ask_timeout /*m*/, const cstate& s) { return peeper::reply(s.n, 1ms); }
  auto handle_info(peeper::message& m, cstate& s) {
    if (m.is<peeper::timeout_message>()) {
      s.n += 100;
      report(s, "timeout");
    }
    return peeper::noreply();
  }
  void code_change(cstate& s, const std::any& extra) { s.n += std::any_cast<long>(extra); }
};

TEST(peeper_basics, continue_timeout_and_code_change_commit_their_changes) {
  quiet_log quiet;
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = peeper::start<evolving>(rt, counter_options(0, events)).value();
  peeper::cast(s, start_continue{5});
  expect_event(*events, "continued");
  EXPECT_EQ(peeper::call(s, ask_timeout{}), 5);
  expect_event(*events, "timeout");  // no message came within 1 ms of the reply
  EXPECT_EQ(peeper::call(s, get{}), 105);
  peeper::code_change(peeper::worker(s), std::any(1000L));
  EXPECT_EQ(peeper::call(s, get{}), 1105);
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, get{}), 1105);
}

/// init waits for a gate that nobody opens.
struct stuck_in_init : peeper::gen_server<stuck_in_init, gate_ref> {
  peeper::task<gate_ref> init(gate_ref g) {
    auto op = peeper::async_call(g, pass{}, peeper::infinity);
    co_await op;
    co_return g;
  }
};

TEST(peeper_basics, an_init_taking_longer_than_init_timeout_fails_the_start) {
  quiet_log quiet;
  peeper::runtime rt(peeper::runtime_options{.deterministic = true});  // virtual time
  peeper::server_options<gate_ref> o;
  o.name = "stuck";
  o.state = start_gate(rt);
  o.init_timeout = 10ms;
  auto r = peeper::start<stuck_in_init>(rt, o);
  EXPECT_FALSE(r.ok());
  rt.run_until_idle();
  EXPECT_EQ(rt.process_count(), 1U);  // the gate
  EXPECT_FALSE(peeper::whereis(rt, "stuck"));
  EXPECT_FALSE(peeper::whereis(rt, peeper::worker_name("stuck")));
}

}  // namespace peeper_basics_test
