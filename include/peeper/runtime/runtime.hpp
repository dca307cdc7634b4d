// The runtime: a pool of scheduler threads running lightweight processes,
// with their names and timers.
//
// Threaded mode (the default) runs processes on `threads` OS threads, one
// per core unless told otherwise; idle threads steal work from busy ones,
// and a process that has handled `budget` messages in a row yields so that
// others progress. Deterministic mode runs no thread at all: the program
// steps the scheduler by hand (step, run_until_idle) and moves a virtual
// clock (advance), so tests of ordering and timeouts repeat exactly.
//
// Destroying the runtime shuts it down: every process is stopped (running
// its terminate logic), the threads are joined, and everything is freed.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

namespace peeper {

namespace detail {
class runtime_core;
}

struct runtime_options {
  /// Scheduler threads; 0 means one per core. Ignored in deterministic mode.
  unsigned threads = 0;
  /// No threads: the program runs processes with step() / run_until_idle().
  bool deterministic = false;
  /// Messages a process handles before yielding to others.
  int budget = 64;
  /// How long shutdown waits for processes to stop before killing them.
  std::chrono::milliseconds shutdown_timeout{5000};
};

class runtime {
 public:
  /// Starts the scheduler threads. Throws bad_argument for a budget < 1.
  explicit runtime(runtime_options options = {});
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;
  /// Shuts down (see shutdown()).
  ~runtime();

  /// Stops every process: first those started from outside any process,
  /// newest first (a supervisor stops its children in order), then any left;
  /// each runs its terminate logic. Processes still alive after
  /// shutdown_timeout are killed. Then joins the threads. Idempotent; must
  /// not be called from inside a process (throws bad_argument).
  void shutdown();
  /// True once shutdown() has begun; spawning then throws bad_argument.
  [[nodiscard]] bool stopping() const noexcept;

  /// Live processes.
  [[nodiscard]] std::size_t process_count() const noexcept;
  /// Scheduler threads (0 in deterministic mode).
  [[nodiscard]] unsigned threads() const noexcept;
  [[nodiscard]] bool deterministic() const noexcept;
  /// The runtime's clock: steady_clock, or the virtual clock in deterministic mode.
  [[nodiscard]] std::chrono::steady_clock::time_point now() const noexcept;

  // ---- deterministic mode only (each throws bad_argument in threaded mode) ----
  /// Runs one time slice of the next runnable process. False if none is runnable.
  bool step();
  /// Steps until no process is runnable. Returns the slices run.
  std::size_t run_until_idle();
  /// Moves the virtual clock forward by `d`, firing due timers in order and
  /// running the processes they wake (run_until_idle after each).
  void advance(std::chrono::nanoseconds d);

  /// For the library's own use.
  [[nodiscard]] detail::runtime_core& core() noexcept { return *core_; }

 private:
  std::unique_ptr<detail::runtime_core> core_;
};

/// The runtime of the calling process. Throws not_in_process elsewhere.
runtime& this_runtime();

}  // namespace peeper
