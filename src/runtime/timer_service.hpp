// Timers: envelopes delivered to a process at a deadline.
//
// Threaded mode runs one timer thread that sleeps until the earliest
// deadline. Deterministic mode has no thread: the runtime fires due timers
// when its virtual clock advances.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "peeper/runtime/detail/envelope.hpp"
#include "peeper/runtime/detail/runtime_core.hpp"
#include "peeper/runtime/pid.hpp"
#include "timer_heap.hpp"

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
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  timer_heap timers_;  // guarded by mutex_
  bool stop_ = false;  // guarded by mutex_
  // When the timer thread wakes next (max: not before it is notified). add() notifies it only
  // for an earlier deadline and cancel() never does, so a call that arms and cancels a timeout
  // costs no wake-up of the timer thread: it wakes at the stale deadline and finds nothing due.
  clock::time_point wake_at_ = clock::time_point::max();  // guarded by mutex_
  std::thread thread_;
};

}  // namespace peeper::detail
