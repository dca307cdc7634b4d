// Randomized: clients (outside threads and processes) send random
// operations while crashes are injected at random points (kills, exit
// signals, exceptions in callbacks, stop returns, the keeper killed), and a
// model of the expected state is checked. Sequentially, after every step;
// concurrently, at the end (every increment counted, each client's messages
// in its order). Seeds are fixed: a failure names the seed and the step.
#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "peeper_test_support.hpp"

namespace peeper_random_test {

using namespace peeper_test;
using peeper::call_errc;
using peeper::exit_reason;
using peeper::pid;

enum class op_kind {
  cast_inc,
  call_inc,
  send_inc,
  cast_tag,
  send_tag,
  read,
  direct_call_inc,
  direct_cast_inc,
  // crashes
  kill_worker,
  exit_worker,
  fail_cast,
  fail_call,
  stop_cast,
  stop_call,
  inc_then_stop,
  kill_keeper,
};

bool is_crash(op_kind k) { return k >= op_kind::kill_worker; }

const std::vector<exit_reason>& reasons() {
  static const std::vector<exit_reason> r{exit_reason::normal(), exit_reason::shutdown(),
                                          exit_reason::shutdown("random"),
                                          exit_reason::error("random")};
  return r;
}

struct op {
  op_kind kind = op_kind::read;
  long by = 1;
  int tag = 0;
  exit_reason reason;
  bool from_process = false;
};

/// What a client observed: the reply (or -1), or the error.
struct outcome {
  long value = -1;
  std::optional<call_errc> error;
  exit_reason reason;
};

/// Runs a message op from the calling outside thread.
outcome run_from_thread(const counter_instance& s, const op& o) {
  outcome r;
  try {
    switch (o.kind) {
      case op_kind::cast_inc:
        r.value = peeper::cast(s, inc{o.by}) ? 1 : 0;
        break;
      case op_kind::call_inc:
        r.value = peeper::call(s, inc_call{o.by}, hang_guard);
        break;
      case op_kind::send_inc:
        r.value = peeper::send(s, inc_info{}) ? 1 : 0;
        break;
      case op_kind::cast_tag:
        r.value = peeper::cast(s, tagged{o.tag}) ? 1 : 0;
        break;
      case op_kind::send_tag:
        r.value = peeper::send(s, tag_info{o.tag}) ? 1 : 0;
        break;
      case op_kind::read:
        r.value = peeper::call(s, get{}, hang_guard);
        break;
      case op_kind::direct_call_inc:
        r.value = peeper::call(peeper::worker_ref(s, hang_guard), inc_call{o.by}, hang_guard);
        break;
      case op_kind::direct_cast_inc:
        r.value = peeper::cast(peeper::worker_ref(s, hang_guard), inc{o.by}) ? 1 : 0;
        break;
      case op_kind::kill_worker:
        peeper::exit(peeper::worker(s, hang_guard), exit_reason::kill());
        break;
      case op_kind::exit_worker:
        peeper::exit(peeper::worker(s, hang_guard), o.reason);
        break;
      case op_kind::fail_cast:
        peeper::cast(s, fail_cast{});
        break;
      case op_kind::fail_call:
        r.value = peeper::call(s, fail_call{}, hang_guard);
        break;
      case op_kind::stop_cast:
        peeper::cast(s, stop_cast{o.reason});
        break;
      case op_kind::stop_call:
        r.value = peeper::call(s, stop_call{o.reason}, hang_guard);
        break;
      case op_kind::inc_then_stop:
        peeper::cast(s, inc_then_stop{o.reason});
        break;
      case op_kind::kill_keeper:
        peeper::exit(peeper::keeper(s), exit_reason::kill());
        break;
    }
  } catch (const peeper::call_error& e) {
    r.error = e.code();
    r.reason = e.reason();
  }
  return r;
}

/// Runs a message op from inside a process (kills are for threads: they
/// need the current worker, which only outside threads wait for). A
/// captureless lambda, not a free function: Clang 14 cannot compile free
/// coroutines under -fsanitize=function (llvm-project issue 49689).
const auto run_in_process = [](counter_instance s, op o) -> peeper::task<outcome> {
  outcome r;
  try {
    switch (o.kind) {
      case op_kind::cast_inc:
        r.value = peeper::cast(s, inc{o.by}) ? 1 : 0;
        break;
      case op_kind::call_inc: {
        auto c = peeper::async_call(s, inc_call{o.by}, hang_guard);
        r.value = co_await c;
        break;
      }
      case op_kind::send_inc:
        r.value = peeper::send(s, inc_info{}) ? 1 : 0;
        break;
      case op_kind::cast_tag:
        r.value = peeper::cast(s, tagged{o.tag}) ? 1 : 0;
        break;
      case op_kind::send_tag:
        r.value = peeper::send(s, tag_info{o.tag}) ? 1 : 0;
        break;
      case op_kind::read: {
        auto c = peeper::async_call(s, get{}, hang_guard);
        r.value = co_await c;
        break;
      }
      case op_kind::fail_cast:
        peeper::cast(s, fail_cast{});
        break;
      case op_kind::fail_call: {
        auto c = peeper::async_call(s, fail_call{}, hang_guard);
        r.value = co_await c;
        break;
      }
      case op_kind::stop_cast:
        peeper::cast(s, stop_cast{o.reason});
        break;
      case op_kind::stop_call: {
        auto c = peeper::async_call(s, stop_call{o.reason}, hang_guard);
        r.value = co_await c;
        break;
      }
      case op_kind::inc_then_stop:
        peeper::cast(s, inc_then_stop{o.reason});
        break;
      default:
        ADD_FAILURE() << "not an op for a process";
        break;
    }
  } catch (const peeper::call_error& e) {
    r.error = e.code();
    r.reason = e.reason();
  }
  co_return r;
};

bool process_can_run(op_kind k) {
  return k != op_kind::direct_call_inc && k != op_kind::direct_cast_inc &&
         k != op_kind::kill_worker && k != op_kind::exit_worker && k != op_kind::kill_keeper;
}

/// Runs `o` in a fresh process and waits for its outcome.
outcome run_via_process(peeper::runtime& rt, const counter_instance& s, const op& o) {
  auto out = std::make_shared<event_queue<outcome>>();
  peeper::spawn(rt, [s, o, out]() -> peeper::task<> {
    auto t = run_in_process(s, o);
    out->push(co_await t);
  });
  auto r = out->pop();
  if (!r) {
    ADD_FAILURE() << "the client process did not report";
    return {};
  }
  return *r;
}

op random_op(std::mt19937& rng, int& next_tag, bool crashes_from_threads) {
  // Weights: mostly messages, about one step in five a crash.
  static const std::vector<std::pair<op_kind, int>> weights{
      {op_kind::cast_inc, 12},       {op_kind::call_inc, 8},        {op_kind::send_inc, 5},
      {op_kind::cast_tag, 6},        {op_kind::send_tag, 3},        {op_kind::read, 5},
      {op_kind::direct_call_inc, 3}, {op_kind::direct_cast_inc, 3}, {op_kind::kill_worker, 3},
      {op_kind::exit_worker, 2},     {op_kind::fail_cast, 2},       {op_kind::fail_call, 2},
      {op_kind::stop_cast, 2},       {op_kind::stop_call, 2},       {op_kind::inc_then_stop, 1},
      {op_kind::kill_keeper, 2},
  };
  int total = 0;
  for (const auto& [k, w] : weights) total += w;
  int pick = std::uniform_int_distribution<int>(0, total - 1)(rng);
  op o;
  for (const auto& [k, w] : weights) {
    if (pick < w) {
      o.kind = k;
      break;
    }
    pick -= w;
  }
  o.by = std::uniform_int_distribution<long>(1, 5)(rng);
  o.tag = next_tag++;
  o.reason = reasons()[std::uniform_int_distribution<std::size_t>(0, reasons().size() - 1)(rng)];
  if (o.kind == op_kind::exit_worker && o.reason.is_normal())
    o.reason = exit_reason::error("random");
  o.from_process = process_can_run(o.kind) && std::uniform_int_distribution<int>(0, 1)(rng) == 1;
  if (!crashes_from_threads && !process_can_run(o.kind)) o.from_process = false;
  return o;
}

std::string describe(const op& o) {
  static const char* names[] = {"cast_inc",    "call_inc",    "send_inc",        "cast_tag",
                                "send_tag",    "read",        "direct_call_inc", "direct_cast_inc",
                                "kill_worker", "exit_worker", "fail_cast",       "fail_call",
                                "stop_cast",   "stop_call",   "inc_then_stop",   "kill_keeper"};
  return std::string(names[static_cast<int>(o.kind)]) + " by " + std::to_string(o.by) + " tag " +
         std::to_string(o.tag) + " reason " + o.reason.to_string() +
         (o.from_process ? " (process)" : " (thread)");
}

// ---- one client at a time, the model checked after every step
// -------------------------------------

void run_sequential(std::uint32_t seed, peeper::strategy strategy, int steps) {
  SCOPED_TRACE("seed " + std::to_string(seed) + ", strategy " + peeper::to_string(strategy));
  quiet_log quiet;
  peeper::runtime rt;
  auto o = counter_options(0);
  o.strategy = strategy;
  o.max_restarts = 1000000;  // crashes are the point here
  auto s = start_counter(rt, o);
  std::mt19937 rng(seed);
  int next_tag = 1;
  long model = 0;
  std::vector<int> seen;
  for (int step = 0; step < steps; ++step) {
    op o2 = random_op(rng, next_tag, true);
    SCOPED_TRACE("step " + std::to_string(step) + ": " + describe(o2));
    outcome r = o2.from_process ? run_via_process(rt, s, o2) : run_from_thread(s, o2);
    switch (o2.kind) {
      case op_kind::cast_inc:
        EXPECT_EQ(r.value, 1);
        model += o2.by;
        break;
      case op_kind::call_inc:
        EXPECT_FALSE(r.error) << r.reason;
        model += o2.by;
        EXPECT_EQ(r.value, model);
        break;
      // Direct to a pid: after a crash step the pid may name the worker that
      // is ending. Reaching its mailbox is enough (it is handed over); not
      // reaching it (noproc, false) means nothing happened.
      case op_kind::direct_cast_inc:
        if (r.value == 1) model += o2.by;
        break;
      case op_kind::direct_call_inc:
        if (r.error) {
          EXPECT_EQ(r.error, call_errc::noproc);
        } else {
          model += o2.by;
          EXPECT_EQ(r.value, model);
        }
        break;
      case op_kind::send_inc:
        EXPECT_EQ(r.value, 1);
        model += 1;
        break;
      case op_kind::cast_tag:
      case op_kind::send_tag:
        EXPECT_EQ(r.value, 1);
        seen.push_back(o2.tag);
        break;
      case op_kind::read:
        EXPECT_EQ(r.value, model);
        break;
      case op_kind::fail_call:
        EXPECT_EQ(r.error, call_errc::exited);
        EXPECT_EQ(r.reason, exit_reason::exception("std::runtime_error", "fail_call"));
        break;
      case op_kind::stop_call:
        EXPECT_EQ(r.error, call_errc::exited);
        EXPECT_EQ(r.reason, o2.reason);
        break;
      case op_kind::inc_then_stop:
        model += 1;
        break;
      default:  // kills, exit signals, fail_cast, stop_cast: nothing committed changes
        break;
    }
    // Sometimes check at once (the crash may still be in progress), sometimes
    // after a burst: the next step runs before the restart either way.
    if (std::uniform_int_distribution<int>(0, 2)(rng) != 0) {
      ASSERT_EQ(peeper::call(s, get{}, hang_guard), model);
      ASSERT_EQ(peeper::call(s, get_seen{}, hang_guard), seen);
    }
  }
  EXPECT_EQ(peeper::call(s, get{}, hang_guard), model);
  EXPECT_EQ(peeper::call(s, get_seen{}, hang_guard), seen);
  ::testing::Test::RecordProperty("final_state", std::to_string(model));
  ::testing::Test::RecordProperty("tags", std::to_string(seen.size()));
  // And once more after a last crash.
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, get{}, hang_guard), model);
  EXPECT_EQ(peeper::call(s, get_seen{}, hang_guard), seen);
}

TEST(peeper_random, one_client_at_a_time_with_random_crashes_matches_the_model_one_for_one) {
  run_sequential(1, peeper::strategy::one_for_one, 300);
}

TEST(peeper_random, one_client_at_a_time_with_random_crashes_matches_the_model_one_for_all) {
  run_sequential(2, peeper::strategy::one_for_all, 300);
}

TEST(peeper_random, one_client_at_a_time_with_random_crashes_matches_the_model_rest_for_one) {
  run_sequential(3, peeper::strategy::rest_for_one, 300);
}

// ---- many clients at once, crashes injected by the clients, totals checked at the end
// --------------

/// What one client did: the increments that must count, the tags it sent (in order).
struct client_record {
  long increments = 0;
  std::vector<int> tags;
};

/// Applies `o`'s outcome to `rec`; crashes are not counted (their changes are not committed).
void account(const op& o, const outcome& r, client_record& rec) {
  switch (o.kind) {
    case op_kind::cast_inc:
    case op_kind::direct_cast_inc:
      // A direct cast that found the worker gone is lost (a pid, not the
      // instance); one that reached its mailbox is handled, by it or its successor.
      if (r.value == 1) rec.increments += o.by;
      break;
    case op_kind::call_inc:
      EXPECT_FALSE(r.error) << describe(o) << ": " << r.reason;
      if (!r.error) rec.increments += o.by;
      break;
    case op_kind::direct_call_inc:
      // The worker asked for may be gone (noproc) or be handing its mailbox over.
      if (!r.error) rec.increments += o.by;
      break;
    case op_kind::send_inc:
      EXPECT_EQ(r.value, 1);
      rec.increments += 1;
      break;
    case op_kind::cast_tag:
    case op_kind::send_tag:
      EXPECT_EQ(r.value, 1);
      rec.tags.push_back(o.tag);
      break;
    case op_kind::inc_then_stop:
      rec.increments += 1;
      break;
    case op_kind::fail_call:
      EXPECT_EQ(r.error, call_errc::exited);
      break;
    case op_kind::stop_call:
      EXPECT_EQ(r.error, call_errc::exited);
      break;
    default:
      break;
  }
}

TEST(peeper_random,
     many_clients_with_random_crashes_lose_no_increment_and_keep_each_clients_order) {
  quiet_log quiet;
  peeper::runtime rt;
  auto o = counter_options(0);
  o.max_restarts = 1000000;
  auto s = start_counter(rt, o);
  constexpr int clients = 8;  // half threads, half processes
  constexpr int ops_per_client = 150;
  std::vector<client_record> records(clients);
  std::vector<std::thread> threads;
  event_queue<int> processes_done;
  std::atomic<int> crashes{0};

  for (int c = 0; c < clients; ++c) {
    const bool is_thread = c % 2 == 0;
    auto body_ops = std::make_shared<std::vector<op>>();
    std::mt19937 rng(1000 + static_cast<std::uint32_t>(c));
    int next_tag = c * 100000;
    for (int i = 0; i < ops_per_client; ++i) {
      op x = random_op(rng, next_tag, is_thread);
      // Rarer crashes than in the sequential test: 8 clients inject them.
      if (is_crash(x.kind) && std::uniform_int_distribution<int>(0, 3)(rng) != 0)
        x.kind = op_kind::cast_inc;
      if (!is_thread && !process_can_run(x.kind)) x.kind = op_kind::cast_inc;
      body_ops->push_back(x);
    }
    if (is_thread) {
      threads.emplace_back([&s, &records, &crashes, c, body_ops] {
        for (const op& x : *body_ops) {
          if (is_crash(x.kind)) crashes.fetch_add(1, std::memory_order_relaxed);
          account(x, run_from_thread(s, x), records[static_cast<std::size_t>(c)]);
        }
        (void)peeper::call(s, get{}, hang_guard);  // this client's casts are handled
      });
    } else {
      peeper::spawn(rt, [s, &records, &crashes, &processes_done, c, body_ops]() -> peeper::task<> {
        for (const op& x : *body_ops) {
          if (is_crash(x.kind)) crashes.fetch_add(1, std::memory_order_relaxed);
          auto t = run_in_process(s, x);
          outcome r = co_await t;
          account(x, r, records[static_cast<std::size_t>(c)]);
        }
        auto last = peeper::async_call(s, get{}, hang_guard);
        co_await last;
        processes_done.push(c);
      });
    }
  }
  for (auto& t : threads) t.join();
  for (int c = 0; c < clients / 2; ++c) EXPECT_TRUE(processes_done.pop());
  EXPECT_GT(crashes.load(), 0);

  long expected = 0;
  for (const auto& r : records) expected += r.increments;
  ::testing::Test::RecordProperty("final_state", std::to_string(expected));
  ::testing::Test::RecordProperty("crashes", std::to_string(crashes.load()));
  EXPECT_EQ(peeper::call(s, get{}, hang_guard), expected);
  auto seen = peeper::call(s, get_seen{}, hang_guard);
  for (int c = 0; c < clients; ++c) {
    std::vector<int> mine;
    for (int t : seen) {
      if (t / 100000 == c) mine.push_back(t);
    }
    EXPECT_EQ(mine, records[static_cast<std::size_t>(c)].tags) << "client " << c;
  }
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, get{}, hang_guard), expected);
}

}  // namespace peeper_random_test
