// Helpers of the supervisor and dynamic_supervisor tests: a log that
// processes write to and tests read (and outside threads wait on), a
// GenServer worker that records its start and terminate, and children that
// misbehave on purpose (fail to start, ignore shutdown).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/gen_server/gen_server.hpp>
#include <peeper/runtime/log.hpp>
#include <peeper/runtime/process.hpp>
#include <peeper/supervisor/dynamic_supervisor.hpp>
#include <peeper/supervisor/supervisor.hpp>

namespace sup_test {

using namespace std::chrono_literals;
using peeper::exit_reason;
using peeper::pid;

/// A guard against hangs, never a timing assertion.
inline constexpr std::chrono::seconds hang_guard{60};

/// What processes observed, in order. Thread-safe.
class event_log {
 public:
  void add(std::string e) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(e));
    }
    cv_.notify_all();
  }
  [[nodiscard]] std::vector<std::string> all() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  /// The events from index `from` on.
  [[nodiscard]] std::vector<std::string> since(std::size_t from) const {
    std::lock_guard lock(mutex_);
    return {events_.begin() + static_cast<std::ptrdiff_t>(std::min(from, events_.size())),
            events_.end()};
  }
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mutex_);
    return events_.size();
  }
  [[nodiscard]] std::size_t count(const std::string& e) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count(events_.begin(), events_.end(), e));
  }
  /// Threaded runtimes: waits until `e` was logged `n` times; false after hang_guard.
  bool wait_count(const std::string& e, std::size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, hang_guard, [&] {
      return static_cast<std::size_t>(std::count(events_.begin(), events_.end(), e)) >= n;
    });
  }
  void clear() {
    std::lock_guard lock(mutex_);
    events_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
};
using log_ptr = std::shared_ptr<event_log>;

// ---- a GenServer worker ------------------------------------------------------

struct worker_arg {
  std::string name;
  log_ptr log;
  bool trap = true;  // trap exits, so that terminate runs on shutdown
};
struct ping {};
/// Makes the worker stop with `reason`.
struct stop_with {
  exit_reason reason;
};

/// Logs "start <name>" in init and "stop <name>" in terminate.
struct worker : peeper::gen_server<worker, worker_arg> {
  worker_arg init(worker_arg a) {
    if (a.trap) peeper::trap_exit(true);
    a.log->add("start " + a.name);
    return a;
  }
  auto handle_call(ping /*p*/, const worker_arg& s) { return peeper::reply(s.name); }
  auto handle_cast(stop_with m, const worker_arg& /*s*/) { return peeper::stop(m.reason); }
  void terminate(const exit_reason& /*r*/, worker_arg& s) { s.log->add("stop " + s.name); }
};

inline peeper::child_spec worker_child(
    const std::string& id, const log_ptr& log,
    peeper::restart_type restart = peeper::restart_type::permanent, bool trap = true) {
  auto s = peeper::worker_spec<worker>(id, worker_arg{id, log, trap});
  s.restart = restart;
  return s;
}

/// A GenServer with child_spec defaults.
struct defaulted : peeper::gen_server<defaulted, int> {
  static void child_spec_defaults(peeper::child_spec& s) {
    s.id = "ignored";
    s.restart = peeper::restart_type::transient;
    s.shutdown = 250ms;
  }
};

// ---- misbehaving children --------------------------------------------------------

/// A start that fails with error("boom") (no process).
inline peeper::child_spec failing_child(const std::string& id, const log_ptr& log) {
  peeper::child_spec s;
  s.id = id;
  s.start = [id, log]() -> peeper::task<peeper::start_outcome> {
    log->add("fail " + id);
    co_return peeper::start_outcome(peeper::start_errc::init_failed, exit_reason::error("boom"),
                                    {});
  };
  return s;
}

/// A start that returns ignore.
inline peeper::child_spec ignored_child(
    const std::string& id, peeper::restart_type restart = peeper::restart_type::permanent) {
  peeper::child_spec s;
  s.id = id;
  s.restart = restart;
  s.start = []() -> peeper::task<peeper::start_outcome> {
    co_return peeper::start_outcome(peeper::start_errc::ignored, exit_reason::normal(), {});
  };
  return s;
}

/// A plain process that traps exits and ignores them all: only kill ends
/// it. Logs "start <id>" when it runs and "got exit <id>" per exit signal.
inline peeper::child_spec stubborn_child(const std::string& id, const log_ptr& log,
                                         peeper::shutdown_t shutdown) {
  peeper::child_spec s;
  s.id = id;
  s.shutdown = shutdown;
  s.start = [id, log]() -> peeper::task<peeper::start_outcome> {
    pid p = peeper::spawn_link([id, log]() -> peeper::task<> {
      peeper::trap_exit(true);
      log->add("start " + id);
      while (true) {
        co_await peeper::receive<peeper::exit_message>();
        log->add("got exit " + id);
      }
    });
    co_return peeper::start_outcome(p);
  };
  return s;
}

/// A plain process that traps exits and, on one, waits `delay` (on the
/// runtime's clock) before exiting with `shutdown`.
inline peeper::child_spec slow_child(const std::string& id, const log_ptr& log,
                                     std::chrono::milliseconds delay, peeper::shutdown_t shutdown) {
  peeper::child_spec s;
  s.id = id;
  s.shutdown = shutdown;
  s.start = [id, log, delay]() -> peeper::task<peeper::start_outcome> {
    pid p = peeper::spawn_link([id, log, delay]() -> peeper::task<> {
      peeper::trap_exit(true);
      co_await peeper::receive<peeper::exit_message>();
      co_await peeper::receive(delay);  // nothing else comes: times out
      log->add("stop " + id);
      peeper::trap_exit(false);
      peeper::exit(peeper::self(), exit_reason::shutdown());
      co_await peeper::receive();  // the exit signal ends us here
    });
    co_return peeper::start_outcome(p);
  };
  return s;
}

// ---- observing ----------------------------------------------------------------------

/// Spawns a process that logs "<label> down <reason>" when `p` ends.
inline void watch(peeper::runtime& rt, const pid& p, const log_ptr& log, const std::string& label) {
  peeper::spawn(rt, [p, log, label]() -> peeper::task<> {
    peeper::monitor(p);
    auto d = co_await peeper::receive<peeper::down_message>();
    log->add(label + " down " + d->reason.to_string());
  });
}

/// The process of child `id` (null if not running or absent).
inline pid child_pid(const pid& sup, const std::string& id) {
  for (const auto& c : peeper::supervisor::which_children(sup)) {
    if (c.id == id) return c.process;
  }
  return {};
}

/// The ids of which_children, in its order.
inline std::vector<std::string> child_ids(const pid& sup) {
  std::vector<std::string> out;
  for (const auto& c : peeper::supervisor::which_children(sup)) out.push_back(c.id);
  return out;
}

/// The events of `log` that begin with "start " or "stop ", from `from` on.
inline std::vector<std::string> lifecycle(const event_log& log, std::size_t from = 0) {
  std::vector<std::string> out;
  for (auto& e : log.since(from)) {
    if (e.rfind("start ", 0) == 0 || e.rfind("stop ", 0) == 0) out.push_back(e);
  }
  return out;
}

/// Silences the runtime's log (the tests crash children on purpose).
class quiet_log {
 public:
  quiet_log() : saved_(peeper::get_log_level()) { peeper::set_log_level(peeper::log_level::off); }
  ~quiet_log() { peeper::set_log_level(saved_); }
  quiet_log(const quiet_log&) = delete;
  quiet_log& operator=(const quiet_log&) = delete;

 private:
  peeper::log_level saved_;
};

inline peeper::runtime_options deterministic() {
  return peeper::runtime_options{.deterministic = true};
}

/// Expects `f` to throw supervisor_error with `code`; returns it.
template <class F>
peeper::supervisor_error expect_error(peeper::supervisor_errc code, F&& f) {
  try {
    f();
  } catch (const peeper::supervisor_error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e;
  }
  ADD_FAILURE() << "expected supervisor_error " << peeper::to_string(code);
  return peeper::supervisor_error(code, "not thrown");
}

}  // namespace sup_test
