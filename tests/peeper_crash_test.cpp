// Peeper instances under crashes: every way a worker can end (scenario 2),
// what the caller of a call in flight sees, crashes in a row (10, 11),
// concurrent clients (12), restart intensity (13), and what goes beyond the
// original: no queued message lost to a crash, messages sent during a
// restart delivered, the state kept under one_for_all and when the keeper
// dies, and calls that never ask the supervisor.
#include <algorithm>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/supervisor/supervisor.hpp>

#include "peeper_test_support.hpp"

namespace peeper_crash_test {

using namespace peeper_test;
using peeper::call_errc;
using peeper::exit_reason;
using peeper::pid;

/// Starts `f` on a thread of its own; the future holds its result or exception.
template <class F>
auto on_thread(F f) {
  return std::async(std::launch::async, std::move(f));
}

/// Expects the future to end in call_error `code` with `reason`.
template <class T>
void expect_exited(std::future<T>& f, const exit_reason& reason) {
  try {
    (void)f.get();
    ADD_FAILURE() << "expected call_error exited (" << reason << ")";
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), call_errc::exited) << e.what();
    EXPECT_EQ(e.reason(), reason) << e.what();
  }
}

const exit_reason fail_cast_reason = exit_reason::exception("std::runtime_error", "fail_cast");
const exit_reason fail_call_reason = exit_reason::exception("std::runtime_error", "fail_call");

// ---- scenario 2: every way the worker ends -----------------------------------------------

/// Ends the worker of a counter at 10 by an exit signal with `reason`;
/// expects a new worker with the state, and `reason` as the old one's end.
void check_exit_signal(const exit_reason& reason, const exit_reason& ended_with) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(10));
  pid w = peeper::worker(s);
  event_queue<exit_reason> down;
  watch(rt, w, down);
  peeper::exit(w, reason);
  EXPECT_EQ(down.pop(), ended_with);
  pid next = peeper::worker(s, hang_guard);
  EXPECT_TRUE(next);
  EXPECT_NE(next, w);
  EXPECT_EQ(peeper::call(s, get{}), 10);
  EXPECT_EQ(peeper::call(s, inc_call{1}), 11);
}

TEST(peeper_crash, a_worker_killed_with_kill_restarts_with_the_state) {
  check_exit_signal(exit_reason::kill(), exit_reason::killed());
}

TEST(peeper_crash, a_worker_ended_by_an_exit_signal_shutdown_restarts_with_the_state) {
  check_exit_signal(exit_reason::shutdown(), exit_reason::shutdown());
}

TEST(peeper_crash, a_worker_ended_by_an_exit_signal_shutdown_with_detail_restarts_with_the_state) {
  check_exit_signal(exit_reason::shutdown("detail"), exit_reason::shutdown("detail"));
}

TEST(peeper_crash, a_worker_ended_by_an_exit_signal_with_a_custom_reason_restarts_with_the_state) {
  check_exit_signal(exit_reason::error("custom"), exit_reason::error("custom"));
}

TEST(peeper_crash, an_exit_signal_normal_is_ignored_by_the_worker) {
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(10));
  pid w = peeper::worker(s);
  EXPECT_TRUE(peeper::exit(w, exit_reason::normal()));
  EXPECT_EQ(peeper::call(s, inc_call{1}), 11);
  EXPECT_EQ(peeper::worker(s), w);
  EXPECT_TRUE(peeper::is_alive(w));
}

/// The worker of a counter at 10 returns stop(reason) from a cast: it is
/// restarted (permanent), terminate ran, the state is kept.
void check_stop_return(const exit_reason& reason) {
  quiet_log quiet;
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(10, events));
  expect_event(*events, "init 10");
  pid w = peeper::worker(s);
  event_queue<exit_reason> down;
  watch(rt, w, down);
  peeper::cast(s, stop_cast{reason});
  EXPECT_EQ(down.pop(), reason);
  expect_event(*events, "terminate " + reason.to_string());
  expect_event(*events, "init 10");
  EXPECT_NE(peeper::worker(s, hang_guard), w);
  EXPECT_EQ(peeper::call(s, get{}), 10);
}

TEST(peeper_crash, a_worker_stopping_normal_is_restarted_with_the_state) {
  check_stop_return(exit_reason::normal());
}

TEST(peeper_crash, a_worker_stopping_with_shutdown_is_restarted_with_the_state) {
  check_stop_return(exit_reason::shutdown());
}

TEST(peeper_crash, a_worker_stopping_with_shutdown_and_detail_is_restarted_with_the_state) {
  check_stop_return(exit_reason::shutdown("detail"));
}

TEST(peeper_crash, a_worker_stopping_with_a_custom_reason_is_restarted_with_the_state) {
  check_stop_return(exit_reason::error("custom"));
}

TEST(peeper_crash, a_state_changed_before_a_stop_return_is_committed) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(10));
  pid w = peeper::worker(s);
  peeper::cast(s, inc_then_stop{exit_reason::normal()});
  await_restart(rt, s, w);
  EXPECT_EQ(peeper::call(s, get{}), 11);
}

TEST(peeper_crash, an_exception_in_a_cast_restarts_the_worker_without_its_half_done_change) {
  quiet_log quiet;
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(10, events));
  expect_event(*events, "init 10");
  pid w = peeper::worker(s);
  event_queue<exit_reason> down;
  watch(rt, w, down);
  peeper::cast(s, fail_cast{});
  EXPECT_EQ(down.pop(), fail_cast_reason);
  expect_event(*events, "terminate " + fail_cast_reason.to_string());
  expect_event(*events, "init 10");  // not 1010: the change made before the throw is not committed
  EXPECT_EQ(peeper::call(s, get{}), 10);
}

TEST(peeper_crash, an_exception_in_a_call_answers_its_caller_with_the_reason) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(10));
  pid w = peeper::worker(s);
  auto e = expect_call_error(call_errc::exited, [&] { (void)peeper::call(s, fail_call{}); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason(), fail_call_reason);
  await_restart(rt, s, w);
  EXPECT_EQ(peeper::call(s, get{}), 10);
}

TEST(peeper_crash, an_exception_in_handle_info_restarts_the_worker) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(3));
  pid w = peeper::worker(s);
  peeper::send(s, inc_info{});
  peeper::cast(s, fail_cast{});
  peeper::send(s, inc_info{});
  await_restart(rt, s, w);
  EXPECT_EQ(peeper::call(s, get{}), 5);
}

/// A call's callback returns stop(reason) without replying: its caller gets
/// exited with the reason; the worker is restarted with the state.
void check_stop_in_call(const exit_reason& reason) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(10));
  pid w = peeper::worker(s);
  auto e = expect_call_error(call_errc::exited, [&] { (void)peeper::call(s, stop_call{reason}); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason(), reason);
  await_restart(rt, s, w);
  EXPECT_EQ(peeper::call(s, get{}), 10);
}

TEST(peeper_crash, a_call_stopping_normal_answers_exited_normal) {
  check_stop_in_call(exit_reason::normal());
}
TEST(peeper_crash, a_call_stopping_with_shutdown_answers_exited_shutdown) {
  check_stop_in_call(exit_reason::shutdown());
}
TEST(peeper_crash, a_call_stopping_with_shutdown_and_detail_answers_exited_with_it) {
  check_stop_in_call(exit_reason::shutdown("x"));
}
TEST(peeper_crash, a_call_stopping_with_a_custom_reason_answers_exited_with_it) {
  check_stop_in_call(exit_reason::error("custom"));
}

TEST(peeper_crash, a_call_replying_then_stopping_gets_its_reply) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(10));
  pid w = peeper::worker(s);
  EXPECT_EQ(peeper::call(s, stop_reply_call{exit_reason::error("after reply")}), 10);
  await_restart(rt, s, w);
  EXPECT_EQ(peeper::call(s, get{}), 10);
}

/// A call is in its callback (waiting for a gate) when the worker gets an
/// exit signal `reason`: its caller gets exited with how the worker ended.
void check_call_in_flight(const exit_reason& reason, const exit_reason& ended_with) {
  quiet_log quiet;
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(10, events));
  expect_event(*events, "init 10");
  gate_ref g = start_gate(rt);
  pid w = peeper::worker(s);
  auto f = on_thread([&] { return peeper::call(s, block_call{g}, hang_guard); });
  expect_event(*events, "blocked");
  peeper::exit(w, reason);
  expect_exited(f, ended_with);
  await_restart(rt, s, w);
  EXPECT_EQ(peeper::call(s, get{}), 10);
}

TEST(peeper_crash, a_call_in_flight_when_the_worker_is_killed_answers_exited_killed) {
  check_call_in_flight(exit_reason::kill(), exit_reason::killed());
}
TEST(peeper_crash, a_call_in_flight_when_the_worker_gets_shutdown_answers_exited_shutdown) {
  check_call_in_flight(exit_reason::shutdown(), exit_reason::shutdown());
}
TEST(peeper_crash,
     a_call_in_flight_when_the_worker_gets_shutdown_with_detail_answers_exited_with_it) {
  check_call_in_flight(exit_reason::shutdown("x"), exit_reason::shutdown("x"));
}
TEST(peeper_crash, a_call_in_flight_when_the_worker_gets_a_custom_reason_answers_exited_with_it) {
  check_call_in_flight(exit_reason::error("custom"), exit_reason::error("custom"));
}

TEST(peeper_crash, a_call_in_flight_when_the_worker_gets_normal_is_answered) {
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(10, events));
  expect_event(*events, "init 10");
  gate_ref g = start_gate(rt);
  auto f = on_thread([&] { return peeper::call(s, block_call{g}, hang_guard); });
  expect_event(*events, "blocked");
  peeper::exit(peeper::worker(s),
               exit_reason::normal());  // ignored: the worker does not trap exits
  peeper::cast(g, open_gate{});
  EXPECT_EQ(f.get(), 10);
}

// ---- beyond the original: nothing queued is lost to a crash -------------------------------

TEST(peeper_crash, messages_queued_behind_a_crashing_call_are_handled_in_order_by_the_next_worker) {
  quiet_log quiet;
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(0, events));
  expect_event(*events, "init 0");
  gate_ref g = start_gate(rt);
  pid w = peeper::worker(s);
  auto crashing = on_thread([&] { return peeper::call(s, block_then_fail{g}, hang_guard); });
  expect_event(*events, "blocked");
  // Queued behind the call in its callback: casts, plain messages, a call.
  for (int i = 1; i <= 10; ++i) peeper::cast(s, tagged{i});
  for (int i = 11; i <= 15; ++i) peeper::send(s, tag_info{i});
  for (int i = 16; i <= 20; ++i) peeper::cast(s, tagged{i});
  peeper::cast(s, inc{5});
  event_queue<int> answered;
  peeper::spawn(rt, [s, &answered]() -> peeper::task<> {
    auto op = peeper::async_call(s, tagged_call{21}, hang_guard);
    answered.push(co_await op);
  });
  peeper::cast(g, open_gate{});
  expect_exited(crashing, exit_reason::exception("std::runtime_error", "block_then_fail"));
  expect_event(*events, "terminate {exception, std::runtime_error: block_then_fail}");
  expect_event(*events, "init 0");
  EXPECT_EQ(answered.pop(), 21);
  EXPECT_EQ(peeper::call(s, get_seen{}), iota(1, 21));
  EXPECT_EQ(peeper::call(s, get{}), 5);  // the crashed call's change is not committed
  EXPECT_NE(peeper::worker(s), w);
}

TEST(peeper_crash,
     messages_queued_when_the_worker_is_killed_are_handled_in_order_by_the_next_worker) {
  quiet_log quiet;
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(0, events));
  expect_event(*events, "init 0");
  gate_ref g = start_gate(rt);
  pid w = peeper::worker(s);
  auto blocked = on_thread([&] { return peeper::call(s, block_call{g}, hang_guard); });
  expect_event(*events, "blocked");
  for (int i = 1; i <= 50; ++i) {
    if (i % 3 == 0) {
      peeper::send(s, tag_info{i});
    } else {
      peeper::cast(s, tagged{i});
    }
  }
  peeper::exit(w, exit_reason::kill());
  expect_exited(blocked, exit_reason::killed());
  EXPECT_EQ(peeper::call(s, get_seen{}), iota(1, 50));
}

// A server that monitors what it is told to and reports the DOWNs it gets.
struct watch_it {
  pid p;
};
struct watching : peeper::gen_server<watching, cstate> {
  auto handle_cast(watch_it m, const cstate& s) {
    (void)peeper::monitor(m.p);
    report(s, "watching");
    return peeper::noreply();
  }
  peeper::task<peeper::noreply_t<>> handle_cast(block_cast m, const cstate& s) {
    report(s, "blocked");
    auto op = peeper::async_call(m.g, pass{}, peeper::infinity);
    co_await op;
    co_return peeper::noreply();
  }
  auto handle_call(get_seen /*m*/, const cstate& s) { return peeper::reply(s.seen); }
  auto handle_info(peeper::message& m, cstate& s) {
    if (m.is<peeper::down_message>()) report(s, "down");
    if (auto* t = m.get_if<tag_info>()) s.seen.push_back(t->tag);
    return peeper::noreply();
  }
};

TEST(peeper_crash, a_killed_workers_own_down_messages_do_not_reach_the_next_worker) {
  quiet_log quiet;
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  peeper::server_options<cstate> o;
  o.state.events = events;
  auto s = peeper::start<watching>(rt, o).value();
  pid watched = peeper::spawn(rt, []() -> peeper::task<> { (void)co_await peeper::receive(); });
  peeper::cast(s, watch_it{watched});
  expect_event(*events, "watching");
  gate_ref g = start_gate(rt);
  peeper::cast(s, block_cast{g});
  expect_event(*events, "blocked");
  // Queued behind the blocked cast: the DOWN of the worker's monitor, between two messages.
  peeper::send(s, tag_info{1});
  peeper::exit(watched, exit_reason::kill());
  (void)await_exit(rt, watched);  // the worker's DOWN was queued before the watcher's
  peeper::send(s, tag_info{2});
  // Two crashes before the backlog is reached: the second worker dies before its own
  // hand-over mark, the third still filters the first's DOWN.
  peeper::exit(peeper::worker(s), exit_reason::kill());
  peeper::exit(peeper::worker(s, hang_guard), exit_reason::kill());
  EXPECT_EQ(peeper::call(s, get_seen{}, hang_guard), (std::vector<int>{1, 2}));
  EXPECT_EQ(events->size(), 0U) << "a DOWN meant for a killed worker reached its successor";
}

TEST(peeper_crash, a_crashing_cast_in_the_queue_is_the_only_message_dropped) {
  quiet_log quiet;
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(0, events));
  expect_event(*events, "init 0");
  gate_ref g = start_gate(rt);
  peeper::cast(s, block_cast{g});
  expect_event(*events, "blocked");
  for (int i = 1; i <= 5; ++i) peeper::cast(s, tagged{i});
  peeper::cast(s, fail_cast{});
  for (int i = 6; i <= 10; ++i) peeper::cast(s, tagged{i});
  peeper::cast(s, inc{1});
  peeper::cast(s, fail_cast{});
  peeper::send(s, tag_info{11});
  peeper::cast(g, open_gate{});
  EXPECT_EQ(peeper::call(s, get_seen{}), iota(1, 11));
  EXPECT_EQ(peeper::call(s, get{}), 1);
  // Two crashes, two restarts: init ran three times in all.
  expect_event(*events, "terminate " + fail_cast_reason.to_string());
  expect_event(*events, "init 0");
  expect_event(*events, "terminate " + fail_cast_reason.to_string());
  expect_event(*events, "init 1");
}

TEST(peeper_crash, the_callers_of_queued_calls_get_their_replies_after_a_crash) {
  quiet_log quiet;
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(0, events));
  expect_event(*events, "init 0");
  gate_ref g = start_gate(rt);
  peeper::cast(s, block_cast{g});
  expect_event(*events, "blocked");
  peeper::cast(s, fail_cast{});
  // Calls from outside threads and from processes, queued behind the crash.
  std::vector<std::future<long>> threads;
  threads.reserve(4);
  for (int i = 0; i < 4; ++i) {
    threads.push_back(on_thread([&] { return peeper::call(s, inc_call{1}, hang_guard); }));
  }
  event_queue<long> from_processes;
  for (int i = 0; i < 4; ++i) {
    peeper::spawn(rt, [s, &from_processes]() -> peeper::task<> {
      auto op = peeper::async_call(s, inc_call{1}, hang_guard);
      from_processes.push(co_await op);
    });
  }
  peeper::cast(g, open_gate{});
  std::vector<long> got;
  for (auto& f : threads) got.push_back(f.get());
  for (int i = 0; i < 4; ++i) got.push_back(from_processes.pop().value_or(-1));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<long>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(peeper::call(s, get{}), 8);
}

// ---- beyond the original: messages sent during a restart ------------------------------------

struct release_sup {};

/// Makes the supervisor `sup` busy: a start_child whose start waits (in the
/// supervisor) for a release_sup message. Returns the thread that called
/// start_child; it ends once the supervisor is released.
std::thread busy_supervisor(const pid& sup, const probe_ptr& events) {
  peeper::child_spec c;
  c.id = "blocker";
  c.restart = peeper::restart_type::temporary;
  c.start = [events]() {
    return [](probe_ptr ev) -> peeper::task<peeper::start_outcome> {
      ev->push("supervisor busy");
      auto op = peeper::receive<release_sup>();
      co_await op;
      co_return peeper::start_outcome(peeper::start_errc::ignored, exit_reason::normal(), {});
    }(events);
  };
  return std::thread([sup, c] { EXPECT_FALSE(peeper::supervisor::start_child(sup, c)); });
}

TEST(peeper_crash, calls_never_ask_the_supervisor) {
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options());
  pid sup = s.supervisor();
  std::thread busy = busy_supervisor(sup, events);
  expect_event(*events, "supervisor busy");
  // The supervisor handles nothing now; the instance still answers.
  for (long i = 1; i <= 100; ++i) {
    EXPECT_EQ(peeper::call(s, inc_call{1}), 2 * i - 1);
    EXPECT_TRUE(peeper::cast(s, inc{1}));
  }
  EXPECT_TRUE(peeper::send(s, inc_info{}));
  EXPECT_EQ(peeper::call(peeper::worker_ref(s), get{}), 201);
  EXPECT_TRUE(peeper::keeper(s));
  peeper::send(sup, release_sup{});
  busy.join();
  EXPECT_EQ(peeper::supervisor::which_children(sup).size(), 2U);
}

TEST(peeper_crash, casts_sends_and_calls_made_while_no_worker_runs_are_delivered_in_order) {
  quiet_log quiet;
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(7));
  pid sup = s.supervisor();
  std::thread busy = busy_supervisor(sup, events);
  expect_event(*events, "supervisor busy");
  pid w = peeper::worker(s);
  peeper::exit(w, exit_reason::kill());
  await_exit(rt, w);
  // The supervisor cannot restart the worker yet: nobody runs.
  EXPECT_FALSE(peeper::worker(s, 0ms));
  EXPECT_TRUE(peeper::cast(s, tagged{1}));
  EXPECT_TRUE(peeper::send(s, tag_info{2}));
  EXPECT_TRUE(peeper::cast(s, inc{1}));
  EXPECT_TRUE(peeper::cast(s, tagged{3}));
  auto call = on_thread([&] { return peeper::call(s, tagged_call{4}, hang_guard); });
  event_queue<int> from_process;
  peeper::spawn(rt, [s, &from_process]() -> peeper::task<> {
    auto op = peeper::async_call(s, tagged_call{5}, hang_guard);
    from_process.push(co_await op);
  });
  peeper::send(sup, release_sup{});
  busy.join();
  EXPECT_EQ(call.get(), 4);
  EXPECT_EQ(from_process.pop(), 5);
  auto seen = peeper::call(s, get_seen{});
  ASSERT_EQ(seen.size(), 5U);
  // One sender's messages keep their order; the two calls come from others.
  std::vector<int> main_thread;
  for (int t : seen) {
    if (t <= 3) main_thread.push_back(t);
  }
  EXPECT_EQ(main_thread, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(peeper::call(s, get{}), 8);
}

TEST(peeper_crash, messages_sent_while_the_next_worker_runs_init_are_handled_after_it) {
  quiet_log quiet;
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(0, events));
  expect_event(*events, "init 0");
  gate_ref init_gate = start_gate(rt);
  peeper::cast(s, set_init_gate{init_gate});
  peeper::cast(s, tagged{1});
  pid w = peeper::worker(s);
  peeper::exit(w, exit_reason::kill());
  expect_event(*events, "init 0");  // waiting in init
  for (int i = 2; i <= 10; ++i) peeper::cast(s, tagged{i});
  peeper::send(s, tag_info{11});
  auto call = on_thread([&] { return peeper::call(s, tagged_call{12}, hang_guard); });
  peeper::cast(init_gate, open_gate{});
  EXPECT_EQ(call.get(), 12);
  EXPECT_EQ(peeper::call(s, get_seen{}), iota(1, 12));
}

// ---- beyond the original: the state survives any restart inside the instance ------------------

TEST(peeper_crash, the_state_survives_one_for_all_restarts_of_keeper_and_worker) {
  quiet_log quiet;
  peeper::runtime rt;
  auto o = counter_options(1);
  o.strategy = peeper::strategy::one_for_all;
  auto s = start_counter(rt, o);
  peeper::cast(s, inc{1});
  peeper::cast(s, dict_put{"k", "v"});
  EXPECT_EQ(peeper::call(s, get{}), 2);
  // The worker dies: both restart.
  pid k = peeper::keeper(s);
  pid w = peeper::worker(s);
  peeper::exit(w, exit_reason::kill());
  await_exit(rt, k);
  await_restart(rt, s, w);
  EXPECT_EQ(peeper::call(s, get{}), 2);
  EXPECT_EQ(peeper::call(s, dict_get{"k"}), "v");
  EXPECT_NE(peeper::keeper(s), k);
  // The keeper dies: both restart again.
  peeper::cast(s, inc{1});
  k = peeper::keeper(s);
  w = peeper::worker(s);
  peeper::exit(k, exit_reason::kill());
  await_restart(rt, s, w);
  EXPECT_EQ(peeper::call(s, get{}), 3);
  EXPECT_EQ(peeper::call(s, dict_get{"k"}), "v");
}

TEST(peeper_crash, the_state_survives_when_the_keeper_alone_is_killed) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(1));
  peeper::cast(s, inc{1});
  pid w = peeper::worker(s);
  for (int i = 0; i < 3; ++i) {
    // keeper() is null while the keeper restarts: which_children waits for it.
    (void)peeper::which_children(s);
    pid k = peeper::keeper(s);
    ASSERT_TRUE(k);
    peeper::exit(k, exit_reason::kill());
    await_exit(rt, k);
    EXPECT_EQ(peeper::call(s, inc_call{1}), 3 + i);
  }
  EXPECT_EQ(peeper::worker(s), w);  // one_for_one: the worker went on
  // Changes made after the keeper's restarts are kept across a worker crash.
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, get{}), 5);
}

TEST(peeper_crash, the_state_survives_rest_for_one_restarts) {
  quiet_log quiet;
  peeper::runtime rt;
  auto o = counter_options(1);
  o.strategy = peeper::strategy::rest_for_one;
  auto s = start_counter(rt, o);
  peeper::cast(s, inc{1});
  pid k = peeper::keeper(s);
  pid w = peeper::worker(s);
  peeper::exit(k, exit_reason::kill());  // the worker, started after it, restarts too
  await_restart(rt, s, w);
  EXPECT_EQ(peeper::call(s, get{}), 2);
  pid k2 = peeper::keeper(s);
  crash_worker(rt, s);  // the keeper, started before it, stays
  EXPECT_EQ(peeper::keeper(s), k2);
  EXPECT_EQ(peeper::call(s, get{}), 2);
}

TEST(peeper_crash, the_keeper_and_worker_dying_together_lose_nothing_committed) {
  quiet_log quiet;
  peeper::runtime rt;
  auto o = counter_options();
  o.strategy = peeper::strategy::one_for_all;
  auto s = start_counter(rt, o);
  for (int round = 1; round <= 10; ++round) {
    peeper::cast(s, inc{1});
    pid k = peeper::keeper(s);
    pid w = peeper::worker(s);
    peeper::exit(k, exit_reason::kill());
    peeper::exit(w, exit_reason::kill());
    await_restart(rt, s, w);
    EXPECT_EQ(peeper::call(s, get{}), round);
  }
}

// ---- scenarios 10 and 11: crashes in a row ---------------------------------------------------

TEST(peeper_crash, five_kills_in_a_row_then_five_increment_and_kill_rounds_give_five) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options());
  for (int i = 0; i < 5; ++i) {
    pid w = peeper::worker(s, hang_guard);
    peeper::exit(w, exit_reason::kill());
    await_exit(rt, w);
  }
  for (int i = 0; i < 5; ++i) {
    pid w = peeper::worker(s, hang_guard);
    peeper::cast(s, inc{1});
    peeper::exit(w, exit_reason::kill());
    await_exit(rt, w);
  }
  EXPECT_EQ(peeper::call(s, get{}), 5);
}

TEST(peeper_crash, fifty_rounds_of_call_cast_kill_count_every_round) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options());
  for (long round = 0; round < 50; ++round) {
    EXPECT_EQ(peeper::call(s, inc_call{1}), 2 * round + 1);
    pid w = peeper::worker(s);
    peeper::cast(s, inc{1});
    peeper::exit(w, exit_reason::kill());
    await_exit(rt, w);
  }
  EXPECT_EQ(peeper::call(s, get{}), 100);
}

// ---- scenario 12: concurrent clients ----------------------------------------------------------

TEST(peeper_crash, twenty_concurrent_clients_casting_five_increments_give_one_hundred) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options());
  event_queue<long> done;
  std::vector<std::thread> threads;
  threads.reserve(10);
  for (int c = 0; c < 10; ++c) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) peeper::cast(s, inc{1});
      done.push(peeper::call(s, get{}));  // after this sender's casts
    });
    peeper::spawn(rt, [s, &done]() -> peeper::task<> {
      for (int i = 0; i < 5; ++i) peeper::cast(s, inc{1});
      auto op = peeper::async_call(s, get{});
      done.push(co_await op);
    });
  }
  for (int c = 0; c < 20; ++c) EXPECT_TRUE(done.pop());
  for (auto& t : threads) t.join();
  EXPECT_EQ(peeper::call(s, get{}), 100);
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, get{}), 100);
}

// ---- scenario 13: restart intensity ----------------------------------------------------------

void expect_gone(peeper::runtime& rt, const counter_instance& s, const peeper::name& n) {
  EXPECT_FALSE(peeper::whereis(rt, n));
  EXPECT_FALSE(peeper::whereis(rt, peeper::worker_name(n)));
  EXPECT_FALSE(s.supervisor());
  EXPECT_FALSE(peeper::worker(s));
  expect_call_error(call_errc::noproc, [&] { (void)peeper::call(s, get{}); });
  EXPECT_FALSE(peeper::cast(s, inc{}));
  EXPECT_FALSE(peeper::send(s, inc_info{}));
  counter_instance by_name(rt, n);
  expect_call_error(call_errc::noproc, [&] { (void)peeper::call(by_name, get{}); });
}

TEST(peeper_crash, restart_intensity_exceeded_takes_the_instance_down_and_the_name_is_free_again) {
  quiet_log quiet;
  peeper::runtime rt(
      peeper::runtime_options{.deterministic = true});  // three crashes within 1 s, surely
  auto o = counter_options(5);
  o.name = "intense";
  o.strategy = peeper::strategy::one_for_all;
  o.max_restarts = 2;
  o.max_seconds = 1000ms;
  auto s = start_counter(rt, o);
  pid sup = s.supervisor();
  for (int i = 0; i < 2; ++i) {
    peeper::cast(s, inc{1});
    peeper::exit(peeper::worker(s), exit_reason::kill());
    rt.run_until_idle();
    EXPECT_TRUE(peeper::is_alive(sup));
    EXPECT_EQ(peeper::call(s, get{}), 6 + i);
  }
  peeper::exit(peeper::worker(s), exit_reason::kill());
  rt.run_until_idle();
  EXPECT_FALSE(peeper::is_alive(sup));
  expect_gone(rt, s, "intense");
  // A new instance starts under the same name, from its initial state.
  auto next = start_counter(rt, o);
  EXPECT_EQ(peeper::whereis(rt, "intense"), next.supervisor());
  counter_instance by_name(rt, "intense");
  EXPECT_EQ(peeper::call(by_name, get{}), 5);
  peeper::stop(next);
}

TEST(peeper_crash, restart_intensity_exceeded_on_a_threaded_runtime_ends_the_instance_cleanly) {
  quiet_log quiet;
  peeper::runtime rt;
  auto o = counter_options(5);
  o.name = peeper::name::global("intense");
  o.strategy = peeper::strategy::one_for_all;
  o.max_restarts = 2;
  o.max_seconds = std::chrono::hours(1);  // no timing involved
  auto s = start_counter(rt, o);
  pid sup = s.supervisor();
  event_queue<exit_reason> down;
  watch(rt, sup, down);
  crash_worker(rt, s);
  crash_worker(rt, s);
  peeper::exit(peeper::worker(s), exit_reason::kill());
  EXPECT_EQ(down.pop(), exit_reason::shutdown());
  expect_gone(rt, s, peeper::name::global("intense"));
  auto next = start_counter(rt, o);
  EXPECT_EQ(peeper::call(next, get{}), 5);
}

TEST(peeper_crash, calls_waiting_for_a_worker_when_the_instance_ends_get_an_error) {
  quiet_log quiet;
  peeper::runtime rt;
  auto events = std::make_shared<probe>();
  auto o = counter_options(0, events);
  o.max_restarts = 0;  // the first crash ends the instance
  auto s = start_counter(rt, o);
  expect_event(*events, "init 0");
  gate_ref g = start_gate(rt);
  pid sup = s.supervisor();
  auto blocked = on_thread([&] { return peeper::call(s, block_call{g}, hang_guard); });
  expect_event(*events, "blocked");
  auto queued = on_thread([&] { return peeper::call(s, get{}, hang_guard); });
  peeper::exit(peeper::worker(s), exit_reason::kill());
  expect_exited(blocked, exit_reason::killed());
  // The queued call had no worker left: it fails, it does not hang.
  try {
    (void)queued.get();
    ADD_FAILURE() << "expected an error";
  } catch (const peeper::call_error& e) {
    EXPECT_TRUE(e.code() == call_errc::noproc || e.code() == call_errc::exited) << e.what();
  }
  await_exit(rt, sup);
}

// ---- the reason a caller gets names the worker that ended its call
// -------------------------------

/// Deterministic runtimes: runs a process that calls `s` and reports how the call ended.
void client_call(peeper::runtime& rt, const counter_instance& s, block_call m,
                 event_queue<std::string>& out) {
  peeper::spawn(rt, [s, m, &out]() -> peeper::task<> {
    try {
      auto op = peeper::async_call(s, m, peeper::infinity);
      long v = co_await op;
      out.push("reply " + std::to_string(v));
    } catch (const peeper::call_error& e) {
      out.push(std::string(peeper::to_string(e.code())) + " " + e.reason().to_string());
    }
  });
}

TEST(peeper_crash,
     a_call_carried_to_the_next_worker_and_killed_there_answers_with_the_next_workers_reason) {
  quiet_log quiet;
  peeper::runtime rt(peeper::runtime_options{.deterministic = true});
  auto s = start_counter(rt, counter_options(3));
  gate_ref g = start_gate(rt);
  gate_ref g2 = start_gate(rt);
  peeper::cast(s, block_cast{g});
  rt.run_until_idle();
  event_queue<std::string> out;
  client_call(rt, s, block_call{g2}, out);
  rt.run_until_idle();  // the call waits in the first worker's mailbox
  pid first = peeper::worker(s);
  peeper::exit(first, exit_reason::error("first"));
  rt.run_until_idle();  // the next worker took the call and waits in it
  pid next = peeper::worker(s);
  ASSERT_TRUE(next);
  ASSERT_NE(next, first);
  EXPECT_FALSE(out.try_pop());
  peeper::exit(next, exit_reason::kill());
  rt.run_until_idle();
  EXPECT_EQ(out.try_pop(), "exited killed");
  EXPECT_EQ(peeper::call(s, get{}), 3);
}

TEST(peeper_crash, a_call_sent_while_no_worker_runs_and_killed_in_flight_answers_exited) {
  quiet_log quiet;
  peeper::runtime rt(peeper::runtime_options{.deterministic = true});
  auto events = std::make_shared<probe>();
  auto s = start_counter(rt, counter_options(3));
  gate_ref g2 = start_gate(rt);
  pid sup = s.supervisor();
  // A busy supervisor (see busy_supervisor), from a process: blocking calls would drive forever.
  peeper::child_spec c;
  c.id = "blocker";
  c.restart = peeper::restart_type::temporary;
  c.start = [events]() {
    return [](probe_ptr ev) -> peeper::task<peeper::start_outcome> {
      ev->push("supervisor busy");
      auto op = peeper::receive<release_sup>();
      co_await op;
      co_return peeper::start_outcome(peeper::start_errc::ignored, exit_reason::normal(), {});
    }(events);
  };
  peeper::spawn(rt, [sup, c]() -> peeper::task<> {
    auto op = peeper::supervisor::async_start_child(sup, c);
    co_await op;
  });
  rt.run_until_idle();
  EXPECT_EQ(events->try_pop(), "supervisor busy");
  pid first = peeper::worker(s);
  peeper::exit(first, exit_reason::kill());
  rt.run_until_idle();
  EXPECT_FALSE(peeper::worker(s, 0ms));
  event_queue<std::string> out;
  client_call(rt, s, block_call{g2}, out);
  rt.run_until_idle();  // the call waits for a worker
  peeper::send(sup, release_sup{});
  rt.run_until_idle();  // the next worker took the call and waits in it
  pid next = peeper::worker(s);
  ASSERT_TRUE(next);
  EXPECT_FALSE(out.try_pop());
  peeper::exit(next, exit_reason::kill());
  rt.run_until_idle();
  EXPECT_EQ(out.try_pop(), "exited killed");
}

}  // namespace peeper_crash_test
