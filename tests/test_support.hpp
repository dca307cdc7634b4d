// Helpers shared by the runtime and gen_server tests: a thread-safe queue
// that processes report to and outside threads wait on, and ways to watch a
// process end without sleeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <peeper/runtime/log.hpp>
#include <peeper/runtime/process.hpp>

namespace peeper_test {

/// A guard against a hang, never a timing assertion: an awaited event that
/// does not happen within it is a failure, whatever the machine's speed.
inline constexpr std::chrono::seconds hang_guard{60};

/// A multi-producer queue an outside thread blocks on. Processes push what
/// they observe; the test pops in order.
template <class T>
class event_queue {
 public:
  void push(T v) {
    // Notifies under the lock: a waiter may destroy the queue as soon as it
    // has its item, so the pusher must be done with it by then.
    std::lock_guard lock(mutex_);
    items_.push_back(std::move(v));
    cv_.notify_all();
  }
  /// The next item; nullopt only if none came within hang_guard.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, hang_guard, [this] { return !items_.empty(); })) return std::nullopt;
    T v = std::move(items_.front());
    items_.pop_front();
    return v;
  }
  /// The next item if one is queued now.
  std::optional<T> try_pop() {
    std::lock_guard lock(mutex_);
    if (items_.empty()) return std::nullopt;
    T v = std::move(items_.front());
    items_.pop_front();
    return v;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<T> items_;
};

/// Spawns a process in `rt` that monitors `p` and reports its exit reason to
/// `out`. In a threaded runtime it returns once the monitor is in place (so an
/// exit right after it is seen as the reason, not as noproc); in a
/// deterministic one the monitor is set by the next step. Returns the
/// watcher's pid.
inline peeper::pid watch(peeper::runtime& rt, const peeper::pid& p,
                         event_queue<peeper::exit_reason>& out) {
  auto ready = std::make_shared<event_queue<bool>>();
  peeper::pid watcher = peeper::spawn(rt, [p, &out, ready]() -> peeper::task<> {
    peeper::ref r = peeper::monitor(p);
    ready->push(true);
    auto op = peeper::receive<peeper::down_message>();
    auto down = co_await op;
    EXPECT_EQ(down->monitor, r);
    EXPECT_EQ(down->process, p);
    out.push(down->reason);
  });
  if (!rt.deterministic()) {
    EXPECT_TRUE(ready->pop());
  }
  return watcher;
}

/// Blocks the calling (outside) thread until `p` has exited; returns its reason.
/// Threaded runtimes only.
inline peeper::exit_reason await_exit(peeper::runtime& rt, const peeper::pid& p) {
  event_queue<peeper::exit_reason> q;
  watch(rt, p, q);
  auto r = q.pop();
  if (!r) {
    ADD_FAILURE() << p << " did not exit";
    return peeper::exit_reason::error("did not exit");
  }
  return *r;
}

/// Deterministic runtimes: runs `body` as a process monitored from its start
/// (spawn_monitor from a parent), steps `rt` until idle, and returns how the
/// process ended (nullopt if it has not ended).
template <class F>
std::optional<peeper::exit_reason> exit_of(peeper::runtime& rt, F body) {
  auto out = std::make_shared<std::optional<peeper::exit_reason>>();
  peeper::spawn(rt, [out, body = std::move(body)]() mutable -> peeper::task<> {
    auto [p, r] = peeper::spawn_monitor(std::move(body));
    auto down = co_await peeper::receive<peeper::down_message>();
    EXPECT_EQ(down->monitor, r);
    EXPECT_EQ(down->process, p);
    *out = down->reason;
  });
  rt.run_until_idle();
  return *out;
}

/// Silences the runtime's log for the scope (tests that crash on purpose).
class quiet_log {
 public:
  quiet_log() : saved_(peeper::get_log_level()) { peeper::set_log_level(peeper::log_level::off); }
  ~quiet_log() { peeper::set_log_level(saved_); }
  quiet_log(const quiet_log&) = delete;
  quiet_log& operator=(const quiet_log&) = delete;

 private:
  peeper::log_level saved_;
};

/// Captures what the runtime logs (level and message, one line each) for the
/// scope, at `level`. Create and read it only while no runtime is running
/// (the sinks of a logger are not meant to change under its writers).
class captured_log {
 public:
  explicit captured_log(peeper::log_level level = peeper::log_level::warn)
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)),
        saved_level_(peeper::get_log_level()) {
    sink_->set_pattern("%l: %v");
    auto& sinks = peeper::detail::logger().sinks();
    saved_sinks_ = sinks;
    sinks.assign(1, sink_);
    peeper::set_log_level(level);
  }
  ~captured_log() {
    peeper::detail::logger().sinks() = saved_sinks_;
    peeper::set_log_level(saved_level_);
  }
  captured_log(const captured_log&) = delete;
  captured_log& operator=(const captured_log&) = delete;

  /// Everything logged so far.
  std::string text() {
    sink_->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  std::vector<spdlog::sink_ptr> saved_sinks_;
  peeper::log_level saved_level_;
};

/// A deterministic runtime.
inline peeper::runtime_options deterministic() {
  return peeper::runtime_options{.deterministic = true};
}

}  // namespace peeper_test
