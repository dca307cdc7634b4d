#include "scheduler.hpp"

#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/detail/runtime_core.hpp"

namespace peeper::detail {

namespace {

struct worker_identity {
  const scheduler* owner = nullptr;
  void* worker = nullptr;
};
thread_local worker_identity tl_worker;

constexpr unsigned run_next_streak = 16;  // run-next picks before the FIFO gets a turn
constexpr int spins_before_sleep = 64;

}  // namespace

void scheduler::queue::push(process* p) noexcept {
  p->run_next_ = nullptr;
  if (tail != nullptr) {
    tail->run_next_ = p;
  } else {
    head = p;
  }
  tail = p;
}

process* scheduler::queue::pop() noexcept {
  process* p = head;
  if (p == nullptr) return nullptr;
  head = p->run_next_;
  if (head == nullptr) tail = nullptr;
  p->run_next_ = nullptr;
  return p;
}

scheduler::scheduler(runtime_core& rt, unsigned threads, bool deterministic, int budget)
    : rt_(rt), deterministic_(deterministic), budget_(budget) {
  if (!deterministic_) {
    if (threads == 0) threads = std::max(1U, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < threads; ++i) workers_.push_back(std::make_unique<worker>());
  }
}

scheduler::~scheduler() { stop(); }

void scheduler::start() {
  for (auto& w : workers_) {
    worker* wp = w.get();
    w->thread = std::thread([this, wp] { loop(*wp); });
  }
}

void scheduler::stop() {
  stop_.store(true, std::memory_order_seq_cst);
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  epoch_.notify_all();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  for (auto& w : workers_) {
    std::lock_guard lock(w->mutex);
    if (w->run_next != nullptr) std::exchange(w->run_next, nullptr)->release();
    while (process* p = w->local.pop()) p->release();
  }
  std::lock_guard lock(inject_mutex_);
  while (process* p = inject_.pop()) p->release();
}

bool scheduler::is_worker_thread() const noexcept { return tl_worker.owner == this; }

void scheduler::schedule(process* p) {
  p->add_ref();
  if (tl_worker.owner == this) {
    auto& w = *static_cast<worker*>(tl_worker.worker);
    if (process* prev = std::exchange(w.run_next, p)) push_local(w, prev);
    return;
  }
  push_inject(p);
}

void scheduler::yield(process* p) {
  p->add_ref();
  if (tl_worker.owner == this) {
    push_local(*static_cast<worker*>(tl_worker.worker), p);
  } else {
    push_inject(p);
  }
}

void scheduler::push_local(worker& w, process* p) {
  {
    std::lock_guard lock(w.mutex);
    w.local.push(p);
  }
  w.size.fetch_add(1, std::memory_order_seq_cst);
  wake_one();
}

void scheduler::push_inject(process* p) {
  {
    std::lock_guard lock(inject_mutex_);
    inject_.push(p);
  }
  inject_size_.fetch_add(1, std::memory_order_seq_cst);
  wake_one();
}

void scheduler::wake_one() noexcept {
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    epoch_.notify_one();
  }
}

bool scheduler::any_work() const noexcept {
  if (inject_size_.load(std::memory_order_seq_cst) > 0) return true;
  for (const auto& w : workers_) {
    if (w->size.load(std::memory_order_seq_cst) > 0) return true;
  }
  return false;
}

process* scheduler::next(worker& w) {
  if (w.run_next != nullptr && w.streak < run_next_streak) {
    ++w.streak;
    return std::exchange(w.run_next, nullptr);
  }
  w.streak = 0;
  if (w.size.load(std::memory_order_relaxed) > 0) {
    std::lock_guard lock(w.mutex);
    if (process* p = w.local.pop()) {
      w.size.fetch_sub(1, std::memory_order_relaxed);
      return p;
    }
  }
  if (w.run_next != nullptr) return std::exchange(w.run_next, nullptr);
  if (inject_size_.load(std::memory_order_relaxed) > 0) {
    std::lock_guard lock(inject_mutex_);
    if (process* p = inject_.pop()) {
      inject_size_.fetch_sub(1, std::memory_order_relaxed);
      return p;
    }
  }
  return steal(w);
}

process* scheduler::steal(worker& thief) {
  for (auto& victim : workers_) {
    if (victim.get() == &thief || victim->size.load(std::memory_order_relaxed) == 0) continue;
    queue taken;
    std::size_t n = 0;
    {
      std::lock_guard lock(victim->mutex);
      std::size_t half = (victim->size.load(std::memory_order_relaxed) + 1) / 2;
      while (n < half) {
        process* p = victim->local.pop();
        if (p == nullptr) break;
        taken.push(p);
        ++n;
      }
      victim->size.fetch_sub(n, std::memory_order_relaxed);
    }
    if (n == 0) continue;
    process* first = taken.pop();
    if (n > 1) {
      std::lock_guard lock(thief.mutex);
      while (process* p = taken.pop()) thief.local.push(p);
      thief.size.fetch_add(n - 1, std::memory_order_relaxed);
    }
    return first;
  }
  return nullptr;
}

void scheduler::sleep(worker& w) {
  for (int i = 0; i < spins_before_sleep; ++i) {
    if (any_work() || stop_.load(std::memory_order_relaxed)) return;
    std::this_thread::yield();
  }
  std::uint32_t seen = epoch_.load(std::memory_order_seq_cst);
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  if (!any_work() && !stop_.load(std::memory_order_seq_cst) && w.run_next == nullptr) {
    epoch_.wait(seen, std::memory_order_seq_cst);
  }
  sleepers_.fetch_sub(1, std::memory_order_seq_cst);
}

void scheduler::loop(worker& w) {
  tl_worker = {this, &w};
  while (true) {
    process* p = next(w);
    if (p == nullptr) {
      if (stop_.load(std::memory_order_acquire)) break;
      sleep(w);
      continue;
    }
    p->run(budget_);
    p->release();
  }
  tl_worker = {};
}

bool scheduler::step() {
  process* p = nullptr;
  {
    std::lock_guard lock(inject_mutex_);
    p = inject_.pop();
  }
  if (p == nullptr) return false;
  inject_size_.fetch_sub(1, std::memory_order_relaxed);
  p->run(budget_);
  p->release();
  return true;
}

}  // namespace peeper::detail
