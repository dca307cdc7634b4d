// Timers: envelopes delivered to a process at a deadline.
//
// Threaded mode runs one timer thread that sleeps until the earliest
// deadline. Deterministic mode has no thread: the runtime fires due timers
// when its virtual clock advances.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

#include "peeper/runtime/detail/envelope.hpp"
#include "peeper/runtime/detail/runtime_core.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper::detail {

class timer_service {
 public:
  timer_service() = default;
  timer_service(const timer_service&) = delete;
  timer_service& operator=(const timer_service&) = delete;
  ~timer_service() { stop(); }

  /// Starts the timer thread (threaded mode).
  void start();
  /// Joins the thread and drops pending timers.
  void stop();
  /// Delivers `e` to `to` at `deadline`; returns the timer's reference.
  ref add(clock::time_point deadline, pid to, envelope_ptr e);
  /// True if the timer was pending (it will not fire).
  bool cancel(ref timer);
  /// The earliest pending deadline.
  std::optional<clock::time_point> next_deadline();
  /// Delivers every timer due at `now`, in deadline order.
  void fire_due(clock::time_point now);

 private:
  struct entry {
    pid to;
    envelope_ptr e;
  };
  using key = std::pair<clock::time_point, std::uint64_t>;
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<key, entry> by_time_;                                // guarded by mutex_
  std::unordered_map<std::uint64_t, clock::time_point> by_id_;  // guarded by mutex_
  bool stop_ = false;                                           // guarded by mutex_
  std::thread thread_;
};

}  // namespace peeper::detail
