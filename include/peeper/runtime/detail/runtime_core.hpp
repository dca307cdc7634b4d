// The runtime's internals shared by the layers: process creation, the
// scheduler entry point, timers, names and the outside-thread wait.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <semaphore>

#include "peeper/runtime/detail/envelope.hpp"
#include "peeper/runtime/pid.hpp"
#include "peeper/runtime/runtime.hpp"

namespace peeper::detail {

class behaviour;
class process;
class scheduler;
class timer_service;
class name_table;
struct live_list;

using clock = std::chrono::steady_clock;

class runtime_core {
 public:
  runtime_core(runtime& owner, const runtime_options& options);
  runtime_core(const runtime_core&) = delete;
  runtime_core& operator=(const runtime_core&) = delete;
  ~runtime_core();

  runtime& owner() noexcept { return *owner_; }
  [[nodiscard]] const runtime_options& options() const noexcept { return options_; }

  /// Creates a process running `b`. If `link_to` is set, the two are linked
  /// before the process starts; if `monitor_tag` is nonzero, `monitor_by`
  /// monitors it under that tag. Throws bad_argument once stopping, or if
  /// `b` is not at the start of its object (see process::make).
  pid spawn(std::unique_ptr<behaviour> b, process* link_to = nullptr, process* monitor_by = nullptr,
            std::uint64_t monitor_tag = 0);
  /// Puts `p` (whose scheduled_ flag the caller set) on a run queue.
  void schedule(process* p);
  /// Called by a process that has finished exiting.
  void on_exited(process* p) noexcept;

  [[nodiscard]] clock::time_point now() const noexcept;
  timer_service& timers() noexcept { return *timers_; }
  name_table& names() noexcept { return *names_; }
  scheduler& sched() noexcept { return *sched_; }
  [[nodiscard]] bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  [[nodiscard]] std::size_t live() const noexcept { return live_.load(std::memory_order_acquire); }

  void shutdown();
  // Deterministic mode.
  bool step();
  std::size_t run_until_idle();
  void advance(std::chrono::nanoseconds d);

 private:
  friend class scheduler;
  std::uint64_t next_id() noexcept;
  void stop_all(bool roots_only);
  /// Waits until no process (or, with roots_only, no process started from
  /// outside) is alive, or `deadline`. True if that happened.
  bool wait_idle(clock::time_point deadline, bool roots_only);

  runtime* owner_;
  runtime_options options_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> live_{0};
  std::atomic<std::size_t> live_roots_{0};  // live processes started from outside processes
  std::atomic<std::uint64_t> ids_{0};
  std::unique_ptr<timer_service> timers_;
  std::unique_ptr<name_table> names_;
  std::unique_ptr<scheduler> sched_;
  std::unique_ptr<live_list> live_list_;
  std::chrono::nanoseconds virtual_now_{0};
};

/// A one-shot event an outside (non-runtime) thread waits on; in
/// deterministic mode the wait drives the runtime until it happens.
class thread_event {
 public:
  /// Any thread. Call at most once.
  void notify() noexcept { sem_.release(); }
  /// Waits until notified or `deadline`. Returns true if notified. Throws
  /// bad_argument if called on a scheduler thread (it would block it).
  bool wait_until(runtime_core& rt, clock::time_point deadline);

 private:
  std::binary_semaphore sem_{0};
};

/// True if the calling thread is one of a runtime's scheduler threads or is
/// running a process.
bool on_scheduler_thread() noexcept;

}  // namespace peeper::detail
