// Helpers of the Peeper tests: a counter server with a message for every
// way a worker can end and a gate that holds callbacks until the test opens
// it. The queues, log captures and exit watchers come from test_support.hpp.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/gen_server/gen_server.hpp>
#include <peeper/runtime/dictionary.hpp>
#include <peeper/runtime/process.hpp>
#include <peeper/server/server.hpp>

#include "test_support.hpp"

namespace peeper_test {

using namespace std::chrono_literals;

using probe = event_queue<std::string>;
using probe_ptr = std::shared_ptr<probe>;

/// Pops the next event of `q` and expects it to be `want`.
inline void expect_event(probe& q, const std::string& want) {
  auto got = q.pop();
  ASSERT_TRUE(got) << "no event, expected: " << want;
  EXPECT_EQ(*got, want);
}

/// Expects `f` to throw call_error with `code`; returns it.
template <class F>
std::optional<peeper::call_error> expect_call_error(peeper::call_errc code, F&& f) {
  try {
    f();
  } catch (const peeper::call_error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e;
  }
  ADD_FAILURE() << "expected call_error " << peeper::to_string(code);
  return std::nullopt;
}

// ---- a gate: holds callers until opened ------------------------------------------

struct pass {};
struct open_gate {};

struct gate_state {
  bool open = false;
  std::vector<peeper::from> held;
};

/// pass{} answers true once the gate is open; until then callers wait.
struct gate : peeper::gen_server<gate, gate_state> {
  peeper::call_result<bool> handle_call(pass /*p*/, const peeper::from& f, gate_state& s) {
    if (s.open) return peeper::reply(true);
    s.held.push_back(f);
    return peeper::noreply();
  }
  auto handle_cast(open_gate /*o*/, gate_state& s) {
    s.open = true;
    for (auto& f : s.held) f.reply(true);
    s.held.clear();
    return peeper::noreply();
  }
};
using gate_ref = peeper::server_ref<gate>;

inline gate_ref start_gate(peeper::runtime& rt) {
  return peeper::start<gate>(rt, gate_state{}).value();
}

// ---- the counter ------------------------------------------------------------------

struct cstate {
  long n = 0;
  std::vector<int> seen;  // tags of tagged messages, in handling order
  probe_ptr events;       // init, terminate and blocking callbacks report here
  gate_ref init_gate;     // if set, init waits for it (a slow restart)
};

// Calls (reply the value asked for).
struct get {};
struct get_seen {};
struct inc_call {
  long by = 1;
};
struct tagged_call {
  int tag = 0;
};
struct fail_call {};  // changes the state, then throws
struct stop_call {    // returns stop without a reply
  peeper::exit_reason reason;
};
struct stop_reply_call {  // replies, then stops
  peeper::exit_reason reason;
};
struct block_call {  // waits for the gate, then replies n
  gate_ref g;
};
struct block_then_fail {  // waits for the gate, then throws
  gate_ref g;
};
struct dict_get {
  std::string key;
};
struct ask_keeper {  // asks that keeper for the state: the n it got, if any
  peeper::pid keeper;
};
// Casts.
struct inc {
  long by = 1;
};
struct tagged {
  int tag = 0;
};
struct fail_cast {};  // changes the state, then throws
struct stop_cast {
  peeper::exit_reason reason;
};
struct inc_then_stop {
  peeper::exit_reason reason;
};
struct block_cast {  // waits for the gate
  gate_ref g;
};
struct dict_put {
  std::string key;
  std::string value;
};
struct set_init_gate {  // the next inits wait for this gate
  gate_ref g;
};
// Plain messages (send).
struct inc_info {};
struct tag_info {
  int tag = 0;
};

inline void report(const cstate& s, const std::string& e) {
  if (s.events) s.events->push(e);
}

struct counter : peeper::gen_server<counter, cstate> {
  peeper::task<cstate> init(cstate s) {
    report(s, "init " + std::to_string(s.n));
    if (s.init_gate.resolve()) {
      auto op = peeper::async_call(s.init_gate, pass{}, peeper::infinity);
      co_await op;
    }
    co_return s;
  }

  auto handle_call(get /*m*/, const cstate& s) { return peeper::reply(s.n); }
  auto handle_call(get_seen /*m*/, const cstate& s) { return peeper::reply(s.seen); }
  auto handle_call(inc_call m, cstate& s) {
    s.n += m.by;
    return peeper::reply(s.n);
  }
  auto handle_call(tagged_call m, cstate& s) {
    s.seen.push_back(m.tag);
    return peeper::reply(m.tag);
  }
  peeper::call_result<long> handle_call(fail_call /*m*/, cstate& s) {
    s.n += 1000;
    throw std::runtime_error("fail_call");
  }
  peeper::call_result<long> handle_call(stop_call m, const cstate& /*s*/) {
    return peeper::stop(m.reason);
  }
  peeper::call_result<long> handle_call(stop_reply_call m, const cstate& s) {
    return peeper::stop(m.reason, s.n);
  }
  peeper::task<peeper::reply_t<long>> handle_call(block_call m, const cstate& s) {
    report(s, "blocked");
    auto op = peeper::async_call(m.g, pass{}, peeper::infinity);
    co_await op;
    co_return peeper::reply(s.n);
  }
  peeper::task<peeper::call_result<long>> handle_call(block_then_fail m, cstate& s) {
    report(s, "blocked");
    auto op = peeper::async_call(m.g, pass{}, peeper::infinity);
    co_await op;
    s.n += 1000;
    throw std::runtime_error("block_then_fail");
  }
  peeper::task<peeper::reply_t<std::optional<long>>> handle_call(ask_keeper m,
                                                                 const cstate& /*s*/) {
    peeper::server_ref<peeper::detail::keeper_impl<cstate>> k(m.keeper);
    auto op = peeper::async_call(k, peeper::detail::fetch_state{});
    std::optional<cstate> got = co_await op;
    co_return peeper::reply(got ? std::optional<long>(got->n) : std::nullopt);
  }
  auto handle_call(dict_get m, const cstate& /*s*/) {
    auto* v = peeper::this_process::get<std::string>(m.key);
    return peeper::reply(v != nullptr ? std::optional<std::string>(*v) : std::nullopt);
  }

  auto handle_cast(inc m, cstate& s) {
    s.n += m.by;
    return peeper::noreply();
  }
  auto handle_cast(tagged m, cstate& s) {
    s.seen.push_back(m.tag);
    return peeper::noreply();
  }
  peeper::noreply_t<> handle_cast(fail_cast /*m*/, cstate& s) {
    s.n += 1000;
    throw std::runtime_error("fail_cast");
  }
  auto handle_cast(stop_cast m, const cstate& /*s*/) { return peeper::stop(m.reason); }
  auto handle_cast(inc_then_stop m, cstate& s) {
    s.n += 1;
    return peeper::stop(m.reason);
  }
  peeper::task<peeper::noreply_t<>> handle_cast(block_cast m, const cstate& s) {
    report(s, "blocked");
    auto op = peeper::async_call(m.g, pass{}, peeper::infinity);
    co_await op;
    co_return peeper::noreply();
  }
  auto handle_cast(dict_put m, const cstate& /*s*/) {
    peeper::this_process::put(m.key, std::string(m.value));
    return peeper::noreply();
  }

  auto handle_cast(set_init_gate m, cstate& s) {
    s.init_gate = m.g;
    return peeper::noreply();
  }

  auto handle_info(peeper::message& m, cstate& s) {
    if (m.is<inc_info>()) s.n += 1;
    if (auto* t = m.get_if<tag_info>()) s.seen.push_back(t->tag);
    return peeper::noreply();
  }

  void terminate(const peeper::exit_reason& r, cstate& s) {
    report(s, "terminate " + r.to_string());
  }
};

using counter_instance = peeper::instance<counter>;

/// Options for a counter starting at `n`.
inline peeper::server_options<cstate> counter_options(long n = 0, probe_ptr events = nullptr) {
  peeper::server_options<cstate> o;
  o.state.n = n;
  o.state.events = std::move(events);
  return o;
}

/// Starts a counter (throws if it does not start).
inline counter_instance start_counter(peeper::runtime& rt, peeper::server_options<cstate> o) {
  return peeper::start<counter>(rt, std::move(o)).value();
}

/// Ends the current worker with an exit signal and waits until it is gone
/// and its successor runs. Returns the successor.
template <class Impl>
peeper::pid crash_worker(peeper::runtime& rt, const peeper::instance<Impl>& s,
                         peeper::exit_reason reason = peeper::exit_reason::kill()) {
  peeper::pid w = peeper::worker(s);
  EXPECT_TRUE(w);
  peeper::exit(w, std::move(reason));
  await_exit(rt, w);
  peeper::pid next = peeper::worker(s, hang_guard);
  EXPECT_TRUE(next);
  EXPECT_NE(next, w);
  return next;
}

/// Waits until the worker `old` has exited and another runs; returns it.
template <class Impl>
peeper::pid await_restart(peeper::runtime& rt, const peeper::instance<Impl>& s,
                          const peeper::pid& old) {
  await_exit(rt, old);
  peeper::pid next = peeper::worker(s, hang_guard);
  EXPECT_TRUE(next);
  EXPECT_NE(next, old);
  return next;
}

/// A vector 1..n.
inline std::vector<int> iota(int from, int to) {
  std::vector<int> v;
  for (int i = from; i <= to; ++i) v.push_back(i);
  return v;
}

}  // namespace peeper_test
