// Peeper's listener and commits: on_state_changed after each commit and
// on_terminate when a worker ends, in commit order, off the worker (a slow
// or throwing hook never stalls or crashes the server); read-only callbacks
// commit nothing; a custom commit; the keeper hands the state only to the
// current worker of its own instance.
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "peeper/server/detail/state_cell.hpp"
#include "peeper_test_support.hpp"

namespace peeper_listener_test {

using namespace peeper_test;
using peeper::exit_reason;
using peeper::pid;

using event_log = event_queue<std::string>;

/// A listener writing "old->new" and "terminate <reason> <n>" to `log`.
peeper::listener<cstate> recording(const std::shared_ptr<event_log>& log) {
  peeper::listener<cstate> l;
  l.on_state_changed = [log](const cstate& old_state, const cstate& new_state) {
    log->push(std::to_string(old_state.n) + "->" + std::to_string(new_state.n));
  };
  l.on_terminate = [log](const exit_reason& r, const cstate& s) {
    log->push("terminate " + r.to_string() + " " + std::to_string(s.n));
  };
  return l;
}

peeper::server_options<cstate> with_listener(peeper::listener<cstate> l, long n = 0) {
  auto o = counter_options(n);
  o.listener = std::move(l);
  return o;
}

TEST(peeper_listener, on_state_changed_sees_every_commit_in_order) {
  peeper::runtime rt;
  auto log = std::make_shared<event_log>();
  auto s = start_counter(rt, with_listener(recording(log)));
  expect_event(*log, "0->0");  // init's commit
  for (int i = 0; i < 20; ++i) peeper::cast(s, inc{1});
  EXPECT_EQ(peeper::call(s, inc_call{5}), 25);
  peeper::send(s, inc_info{});
  EXPECT_EQ(peeper::call(s, get{}), 26);
  for (long i = 0; i < 20; ++i)
    expect_event(*log, std::to_string(i) + "->" + std::to_string(i + 1));
  expect_event(*log, "20->25");
  expect_event(*log, "25->26");
}

TEST(peeper_listener, commits_from_many_clients_are_seen_in_commit_order) {
  peeper::runtime rt;
  auto log = std::make_shared<event_log>();
  auto s = start_counter(rt, with_listener(recording(log)));
  expect_event(*log, "0->0");
  std::vector<std::thread> clients;
  clients.reserve(4);
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < 25; ++i) peeper::cast(s, inc{1});
      (void)peeper::call(s, get{});
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(peeper::call(s, get{}), 100);
  // Whoever sent them, commits are numbered by the worker: the listener sees 0..100 in order.
  for (long i = 0; i < 100; ++i)
    expect_event(*log, std::to_string(i) + "->" + std::to_string(i + 1));
}

TEST(peeper_listener, on_terminate_gets_the_reason_and_the_last_committed_state) {
  quiet_log quiet;
  peeper::runtime rt;
  auto log = std::make_shared<event_log>();
  auto s = start_counter(rt, with_listener(recording(log), 3));
  expect_event(*log, "3->3");
  peeper::cast(s, inc{1});
  expect_event(*log, "3->4");
  crash_worker(rt, s);
  expect_event(*log, "terminate killed 4");
  expect_event(*log, "4->4");    // the next worker's init commits the preserved state
  peeper::cast(s, fail_cast{});  // the +1000 is not committed
  expect_event(*log, "terminate {exception, std::runtime_error: fail_cast} 4");
  expect_event(*log, "4->4");
  peeper::cast(s, stop_cast{exit_reason::shutdown("bye")});
  expect_event(*log, "terminate {shutdown, bye} 4");
  expect_event(*log, "4->4");
  peeper::cast(s, inc_then_stop{exit_reason::normal()});
  expect_event(*log, "4->5");
  expect_event(*log, "terminate normal 5");
  expect_event(*log, "5->5");
}

TEST(peeper_listener, stopping_the_instance_delivers_on_terminate_and_pending_events) {
  peeper::runtime rt;
  auto log = std::make_shared<event_log>();
  auto gate = std::make_shared<std::promise<void>>();
  auto l = recording(log);
  // The first commit's hook blocks the keeper, so later events are still queued
  // for it when the stop comes: they must be delivered before the keeper ends.
  l.on_state_changed = [log, opened = gate->get_future().share()](const cstate& o,
                                                                  const cstate& n) {
    opened.wait();
    log->push(std::to_string(o.n) + "->" + std::to_string(n.n));
  };
  auto s = start_counter(rt, with_listener(l, 7));
  peeper::cast(s, inc{1});
  EXPECT_EQ(peeper::call(s, get{}), 8);
  std::thread stopper([&] { peeper::stop(s); });
  gate->set_value();
  stopper.join();
  expect_event(*log, "7->7");
  expect_event(*log, "7->8");
  expect_event(*log, "terminate shutdown 8");
}

TEST(peeper_listener, hooks_run_in_the_keeper_not_in_the_worker) {
  peeper::runtime rt;
  auto where = std::make_shared<event_queue<pid>>();
  peeper::listener<cstate> l;
  l.on_state_changed = [where](const cstate&, const cstate&) { where->push(peeper::self()); };
  auto s = start_counter(rt, with_listener(l));
  auto first = where->pop();
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, peeper::keeper(s));
  EXPECT_NE(*first, peeper::worker(s));
}

TEST(peeper_listener, a_throwing_hook_neither_stalls_nor_crashes_the_server) {
  quiet_log quiet;
  peeper::runtime rt;
  auto log = std::make_shared<event_log>();
  peeper::listener<cstate> l;
  l.on_state_changed = [log](const cstate& /*o*/, const cstate& n) {
    log->push(std::to_string(n.n));
    if (n.n % 2 == 1) throw std::runtime_error("odd");
  };
  l.on_terminate = [log](const exit_reason& /*r*/, const cstate& /*s*/) {
    log->push("terminate");
    throw std::logic_error("terminate hook");
  };
  auto s = start_counter(rt, with_listener(l));
  expect_event(*log, "0");
  pid w = peeper::worker(s);
  pid k = peeper::keeper(s);
  for (int i = 0; i < 10; ++i) peeper::cast(s, inc{1});
  EXPECT_EQ(peeper::call(s, get{}), 10);
  for (int i = 1; i <= 10; ++i) expect_event(*log, std::to_string(i));
  crash_worker(rt, s);
  expect_event(*log, "terminate");
  expect_event(*log, "10");
  EXPECT_EQ(peeper::call(s, inc_call{1}), 11);
  expect_event(*log, "11");
  // Neither the hooks' exceptions nor the crash touched the keeper.
  EXPECT_EQ(peeper::keeper(s), k);
  EXPECT_NE(peeper::worker(s), w);
}

TEST(peeper_listener, a_slow_hook_does_not_stall_the_server) {
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  auto log = std::make_shared<event_log>();
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  peeper::listener<cstate> l;
  l.on_state_changed = [log, released](const cstate& /*o*/, const cstate& n) {
    if (n.n == 1) {
      log->push("hook waits");
      released.wait();  // blocks the keeper's thread until the test is done
    }
    log->push(std::to_string(n.n));
  };
  auto s = start_counter(rt, with_listener(l));
  expect_event(*log, "0");
  peeper::cast(s, inc{1});
  expect_event(*log, "hook waits");
  // The keeper is stuck in its hook; the worker answers and commits on.
  for (long i = 2; i <= 101; ++i) EXPECT_EQ(peeper::call(s, inc_call{1}), i);
  EXPECT_EQ(log->size(), 0U);
  release->set_value();
  for (long i = 1; i <= 101; ++i) expect_event(*log, std::to_string(i));
}

TEST(peeper_listener, listener_events_waiting_for_a_killed_keeper_go_to_the_next_one_in_order) {
  quiet_log quiet;
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  auto log = std::make_shared<event_log>();
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  peeper::listener<cstate> l;
  l.on_state_changed = [log, released](const cstate& o, const cstate& n) {
    if (n.n == 1 && o.n == 0) {
      log->push("hook waits");
      released.wait();
    }
    log->push(std::to_string(o.n) + "->" + std::to_string(n.n));
  };
  auto s = start_counter(rt, with_listener(l));
  expect_event(*log, "0->0");
  peeper::cast(s, inc{1});
  expect_event(*log, "hook waits");
  for (int i = 0; i < 9; ++i) peeper::cast(s, inc{1});
  EXPECT_EQ(peeper::call(s, get{}), 10);  // events 2..10 wait in the keeper's mailbox
  pid k = peeper::keeper(s);
  pid w = peeper::worker(s);
  peeper::exit(k, exit_reason::kill());  // handled once the hook returns
  release->set_value();
  await_exit(rt, k);
  for (long i = 0; i < 10; ++i)
    expect_event(*log, std::to_string(i) + "->" + std::to_string(i + 1));
  // Nothing twice, nothing more.
  EXPECT_EQ(peeper::call(s, inc_call{1}), 11);
  expect_event(*log, "10->11");
  EXPECT_EQ(log->size(), 0U);
  EXPECT_EQ(peeper::worker(s), w);
}

// ---- what commits ---------------------------------------------------------------------------

TEST(peeper_listener, a_read_only_callback_commits_nothing) {
  peeper::runtime rt;
  auto log = std::make_shared<event_log>();
  auto s = start_counter(rt, with_listener(recording(log), 7));
  expect_event(*log, "7->7");
  gate_ref g = start_gate(rt);
  peeper::cast(g, open_gate{});
  // const State& callbacks: calls, a cast, a coroutine call.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(peeper::call(s, get{}), 7);
  EXPECT_EQ(peeper::call(s, get_seen{}), std::vector<int>{});
  EXPECT_EQ(peeper::call(s, dict_get{"x"}), std::nullopt);
  EXPECT_EQ(peeper::call(s, block_call{g}), 7);
  peeper::cast(s, dict_put{"x", "y"});
  peeper::cast(s, block_cast{g});
  // A mutating one: its event is the next the listener sees.
  peeper::cast(s, inc{1});
  expect_event(*log, "7->8");
  EXPECT_EQ(peeper::call(s, get{}), 8);
  EXPECT_EQ(log->size(), 0U);
}

/// Commits only `n` into the saved state (a user's cheap commit for big
/// states): `scratch` is never saved, so a restart shows the initial one.
/// With a long scratch the state is small and trivially copyable, which the
/// core keeps without a lock (state_cell.hpp): the hook decides all the same.
template <class Scratch>
Scratch initial_scratch();
template <>
std::string initial_scratch() {
  return "initial";
}
template <>
long initial_scratch() {
  return 100;
}
std::string text(const std::string& s) { return s; }
std::string text(long v) { return std::to_string(v); }

template <class Scratch>
struct partial_state {
  long n = 0;
  Scratch scratch = initial_scratch<Scratch>();
  int commits = 0;
};
template <class Scratch>
struct touch {
  Scratch scratch;
};
struct read_partial {};
template <class Scratch>
struct partial : peeper::gen_server<partial<Scratch>, partial_state<Scratch>> {
  void commit(partial_state<Scratch>& saved, partial_state<Scratch>& live) {
    saved.n = live.n;
    saved.commits += 1;
    live.commits = saved.commits;
  }
  auto handle_cast(touch<Scratch> m, partial_state<Scratch>& s) {
    s.n += 1;
    s.scratch = m.scratch;
    return peeper::noreply();
  }
  auto handle_call(read_partial /*m*/, const partial_state<Scratch>& s) {
    return peeper::reply(std::to_string(s.n) + " " + text(s.scratch) + " " +
                         std::to_string(s.commits));
  }
};
static_assert(peeper::detail::state_cell_kind_of<partial_state<long>>() ==
              peeper::detail::state_cell_kind::sequence);

template <class Scratch>
peeper::instance<partial<Scratch>> start_partial(peeper::runtime& rt) {
  return peeper::start<partial<Scratch>>(rt, peeper::server_options<partial_state<Scratch>>{})
      .value();
}

TEST(peeper_listener, a_custom_commit_decides_what_is_saved) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_partial<std::string>(rt);
  EXPECT_EQ(peeper::call(s, read_partial{}), "0 initial 1");  // init committed once
  peeper::cast(s, touch<std::string>{"a"});
  peeper::cast(s, touch<std::string>{"b"});
  EXPECT_EQ(peeper::call(s, read_partial{}), "2 b 3");  // the read did not commit
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, read_partial{}), "2 initial 4");  // restarted from what commit saved
}

TEST(peeper_listener, a_custom_commit_decides_what_is_saved_of_a_small_state) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_partial<long>(rt);
  EXPECT_EQ(peeper::call(s, read_partial{}), "0 100 1");
  peeper::cast(s, touch<long>{1});
  peeper::cast(s, touch<long>{2});
  EXPECT_EQ(peeper::call(s, read_partial{}), "2 2 3");
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, read_partial{}), "2 100 4");
}

// ---- the keeper answers only the current worker ------------------------------------------------

using keeper_ref = peeper::server_ref<peeper::detail::keeper_impl<cstate>>;

TEST(peeper_listener, the_keeper_hands_the_state_only_to_the_current_worker) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_counter(rt, counter_options(5));
  auto other = start_counter(rt, counter_options(9));
  keeper_ref k(peeper::keeper(s));
  // An outside thread: nothing.
  EXPECT_EQ(peeper::call(k, peeper::detail::fetch_state{}), std::nullopt);
  // Another process: nothing.
  event_queue<bool> from_process;
  peeper::spawn(rt, [k, &from_process]() -> peeper::task<> {
    auto op = peeper::async_call(k, peeper::detail::fetch_state{});
    std::optional<cstate> got = co_await op;
    from_process.push(got.has_value());
  });
  EXPECT_EQ(from_process.pop(), false);
  // The worker of another instance: nothing.
  EXPECT_EQ(peeper::call(other, ask_keeper{peeper::keeper(s)}), std::nullopt);
  // Its own worker: the state.
  EXPECT_EQ(peeper::call(s, ask_keeper{peeper::keeper(s)}), 5);
  // After a restart, the new worker is the current one.
  peeper::cast(s, inc{1});
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, ask_keeper{peeper::keeper(s)}), 6);
  // And after the keeper's restart, the new keeper answers it too.
  pid old_keeper = peeper::keeper(s);
  peeper::exit(old_keeper, exit_reason::kill());
  await_exit(rt, old_keeper);
  // The supervisor answers after handling the keeper's exit, which came first.
  (void)peeper::which_children(s);
  pid new_keeper = peeper::keeper(s);
  ASSERT_TRUE(new_keeper);
  EXPECT_NE(new_keeper, old_keeper);
  EXPECT_EQ(peeper::call(s, ask_keeper{new_keeper}), 6);
  EXPECT_EQ(peeper::call(keeper_ref(new_keeper), peeper::detail::fetch_state{}), std::nullopt);
}

}  // namespace peeper_listener_test
