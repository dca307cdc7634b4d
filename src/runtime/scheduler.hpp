// The scheduler: run queues and the threads that empty them.
//
// Threaded mode: each worker thread has a local FIFO plus a "run next" slot
// that holds the process it most recently woke, so a call and its reply run
// back to back on one core; the slot gives way to the FIFO after a streak so
// that others are not starved. Work from outside threads goes to a shared
// injection queue. An idle worker steals half of another's FIFO, then sleeps
// until new work is announced.
// Deterministic mode: one FIFO, no thread; step() runs one slice.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace peeper::detail {

class process;
class runtime_core;

class scheduler {
 public:
  scheduler(runtime_core& rt, unsigned threads, bool deterministic, int budget);
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;
  ~scheduler();

  /// Starts the worker threads (threaded mode).
  void start();
  /// Stops and joins the workers; releases whatever is still queued.
  void stop();
  /// Queues `p`, whose scheduled_ flag the caller set. Takes a reference.
  void schedule(process* p);
  /// As schedule, for a process ending its own slice: goes to the back.
  void yield(process* p);
  /// Deterministic mode: runs one slice. False if nothing is runnable.
  bool step();
  [[nodiscard]] unsigned threads() const noexcept { return static_cast<unsigned>(workers_.size()); }
  /// True if the calling thread is one of this scheduler's workers.
  [[nodiscard]] bool is_worker_thread() const noexcept;

 private:
  struct queue {
    void push(process* p) noexcept;
    process* pop() noexcept;
    process* head = nullptr;
    process* tail = nullptr;
  };
  struct worker {
    std::mutex mutex;
    queue local;  // guarded by mutex
    std::atomic<std::size_t> size{0};
    process* run_next = nullptr;  // only the worker's own thread touches it
    unsigned streak = 0;
    std::thread thread;
  };

  void loop(worker& w);
  process* next(worker& w);
  process* steal(worker& thief);
  void push_local(worker& w, process* p);
  void push_inject(process* p);
  void wake_one() noexcept;
  void sleep(worker& w);
  [[nodiscard]] bool any_work() const noexcept;

  runtime_core& rt_;
  bool deterministic_;
  int budget_;
  std::vector<std::unique_ptr<worker>> workers_;
  mutable std::mutex inject_mutex_;
  queue inject_;  // guarded by inject_mutex_
  std::atomic<std::size_t> inject_size_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<std::uint32_t> epoch_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace peeper::detail
