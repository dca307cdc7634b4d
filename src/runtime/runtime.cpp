// The runtime: process creation, the live-process list, shutdown, and the
// deterministic mode's stepping and virtual clock.
#include "peeper/runtime/runtime.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <new>
#include <vector>

#include "name_table.hpp"
#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/detail/runtime_core.hpp"
#include "peeper/runtime/errors.hpp"
#include "scheduler.hpp"
#include "timer_service.hpp"

namespace peeper::detail {

namespace {

// Pids are unique across every runtime of the program; threads take ids in
// blocks so that spawning on two cores does not contend on one counter.
std::atomic<std::uint64_t> g_next_id{1};
constexpr std::uint64_t id_block = 256;
thread_local std::uint64_t tl_next_id = 0;
thread_local std::uint64_t tl_end_id = 0;

// Live processes, sharded so that spawn and exit on two cores rarely meet.
// A shard is a table of slots, 8 bytes per live process (a process knows its
// slot: two list pointers in every process would cost twice that); freed
// slots are reused first.
constexpr std::size_t live_shards = 16;
struct live_shard {
  std::mutex mutex;
  std::deque<process*> slots;        // guarded by mutex; null: free
  std::vector<std::uint32_t> freed;  // guarded by mutex
};

}  // namespace

struct live_list {
  std::array<live_shard, live_shards> shards;
  std::mutex idle_mutex;
  std::condition_variable idle;  // notified when the last process exits

  live_shard& shard_of(const process& p) { return shards[p.id() % live_shards]; }
  // Throws std::bad_alloc (nothing changed then).
  void add(process* p) {
    auto& s = shard_of(*p);
    std::lock_guard lock(s.mutex);
    if (!s.freed.empty()) {
      p->live_slot_ = s.freed.back();
      s.freed.pop_back();
      s.slots[p->live_slot_] = p;
      return;
    }
    // 2^32 slots a shard: 512 GB of processes before this could wrap.
    s.slots.push_back(p);
    p->live_slot_ = static_cast<std::uint32_t>(s.slots.size() - 1);
  }
  void remove(process* p) {
    auto& s = shard_of(*p);
    std::lock_guard lock(s.mutex);
    s.slots[p->live_slot_] = nullptr;
    try {
      s.freed.push_back(p->live_slot_);
    } catch (const std::bad_alloc&) {
      // The slot is not reused: a few bytes lost, nothing else.
    }
  }
  std::vector<pid> snapshot(bool roots_only) {
    std::vector<pid> out;
    for (auto& s : shards) {
      std::lock_guard lock(s.mutex);
      for (process* p : s.slots) {
        if (p != nullptr && (!roots_only || p->is_root())) out.push_back(p->self());
      }
    }
    return out;
  }
};

std::uint64_t runtime_core::next_id() noexcept {
  if (tl_next_id == tl_end_id) {
    tl_next_id = g_next_id.fetch_add(id_block, std::memory_order_relaxed);
    tl_end_id = tl_next_id + id_block;
  }
  return tl_next_id++;
}

runtime_core::runtime_core(runtime& owner, const runtime_options& options)
    : owner_(&owner),
      options_(options),
      timers_(std::make_unique<timer_service>()),
      names_(std::make_unique<name_table>()),
      sched_(std::make_unique<scheduler>(*this, options.threads, options.deterministic,
                                         options.budget)),
      live_list_(std::make_unique<live_list>()) {
  if (options.budget < 1) throw bad_argument("runtime_options::budget must be at least 1");
  if (!options_.deterministic) {
    timers_->start();
    sched_->start();
  }
}

runtime_core::~runtime_core() {
  // shutdown() throws only if a scheduler or timer thread cannot be joined: the
  // threads would outlive the state they run on, so there is no safe way on.
  try {
    shutdown();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peeper: runtime shutdown failed: %s\n", e.what());
    std::terminate();
  } catch (...) {
    std::terminate();
  }
}

clock::time_point runtime_core::now() const noexcept {
  if (options_.deterministic) return clock::time_point(virtual_now_);
  return clock::now();
}

pid runtime_core::spawn(std::unique_ptr<behaviour> b, process* link_to, process* monitor_by,
                        std::uint64_t monitor_tag) {
  if (stopping()) throw bad_argument("spawn: the runtime is stopping");
  process* p = process::make(*this, next_id(), b);  // the live list owns this reference
  pid result = p->self();
  if (link_to != nullptr) {
    p->add_link_local(link_to->self());
    link_to->add_link_local(result);
  }
  if (monitor_by != nullptr) {
    p->rel().watchers.insert({monitor_tag, monitor_by->self()});
    monitor_by->rel().monitoring.insert({monitor_tag, result});
  }
  if (current() == nullptr) {
    p->mark_root();
    live_roots_.fetch_add(1, std::memory_order_acq_rel);
  }
  live_.fetch_add(1, std::memory_order_acq_rel);
  live_list_->add(p);
  p->scheduled_.store(true, std::memory_order_relaxed);
  sched_->schedule(p);
  return result;
}

void runtime_core::schedule(process* p) { sched_->schedule(p); }

void runtime_core::on_exited(process* p) noexcept {
  live_list_->remove(p);
  // seq_cst with shutdown's store of stopping_: either it sees the count
  // drop, or we see it stopping and wake it.
  const bool last_root = p->is_root() && live_roots_.fetch_sub(1, std::memory_order_seq_cst) == 1;
  const bool last = live_.fetch_sub(1, std::memory_order_seq_cst) == 1;
  if ((last || last_root) && stopping_.load(std::memory_order_seq_cst)) {
    std::lock_guard lock(live_list_->idle_mutex);
    live_list_->idle.notify_all();
  }
  p->release();
}

void runtime_core::stop_all(bool roots_only) {
  std::vector<pid> targets = live_list_->snapshot(roots_only);
  // Newest first: a tree started from outside is stopped from its root down
  // by its own supervisors; unrelated roots stop in reverse start order.
  std::sort(targets.begin(), targets.end(), [](const pid& a, const pid& b) { return b < a; });
  for (const pid& p : targets) {
    process::deliver(p.control_block(), std::make_unique<envelope>(envelope_kind::stop));
  }
}

bool runtime_core::wait_idle(clock::time_point deadline, bool roots_only) {
  auto idle = [this, roots_only] {
    return (roots_only ? live_roots_ : live_).load(std::memory_order_seq_cst) == 0;
  };
  if (options_.deterministic) {
    while (!idle()) {
      if (step()) continue;
      auto next = timers_->next_deadline();
      if (!next) return false;
      advance(*next - now());
    }
    return true;
  }
  std::unique_lock lock(live_list_->idle_mutex);
  return live_list_->idle.wait_until(lock, deadline, idle);
}

void runtime_core::shutdown() {
  if (on_scheduler_thread()) throw bad_argument("runtime::shutdown called from inside a process");
  if (stopping_.exchange(true, std::memory_order_seq_cst)) return;
  auto deadline = clock::now() + options_.shutdown_timeout;
  // The roots first (each stops what it started), then whatever they left:
  // processes started inside processes but not linked to a root.
  stop_all(true);
  wait_idle(deadline, true);
  if (live() > 0) {
    stop_all(false);
    if (!wait_idle(deadline, false)) {
      for (const pid& p : live_list_->snapshot(false)) {
        process::deliver(p.control_block(),
                         std::make_unique<exit_signal>(pid(), exit_reason::kill(), false));
      }
      wait_idle(clock::now() + options_.shutdown_timeout, false);
    }
  }
  sched_->stop();
  timers_->stop();
}

bool runtime_core::step() {
  if (!options_.deterministic) throw bad_argument("runtime::step: not in deterministic mode");
  return sched_->step();
}

std::size_t runtime_core::run_until_idle() {
  std::size_t n = 0;
  while (step()) ++n;
  return n;
}

void runtime_core::advance(std::chrono::nanoseconds d) {
  if (!options_.deterministic) throw bad_argument("runtime::advance: not in deterministic mode");
  auto target = virtual_now_ + d;
  run_until_idle();
  while (auto next = timers_->next_deadline()) {
    if (next->time_since_epoch() > target) break;
    virtual_now_ = std::max(virtual_now_, next->time_since_epoch());
    timers_->fire_due(now());
    run_until_idle();
  }
  virtual_now_ = target;
}

bool thread_event::wait_until(runtime_core& rt, clock::time_point deadline) {
  if (on_scheduler_thread()) {
    throw bad_argument(
        "blocking wait on a scheduler thread: use co_await in a process, or call from an "
        "outside thread");
  }
  if (!rt.options().deterministic) return sem_.try_acquire_until(deadline);
  while (true) {
    if (sem_.try_acquire()) return true;
    if (rt.step()) continue;
    auto next = rt.timers().next_deadline();
    if (!next || *next > deadline) {
      if (deadline != clock::time_point::max() && deadline > rt.now())
        rt.advance(deadline - rt.now());
      return sem_.try_acquire();
    }
    rt.advance(*next - rt.now());
  }
}

bool on_scheduler_thread() noexcept { return current() != nullptr; }

}  // namespace peeper::detail

namespace peeper {

runtime::runtime(runtime_options options)
    : core_(std::make_unique<detail::runtime_core>(*this, options)) {}

runtime::~runtime() {
  try {
    core_->shutdown();
  } catch (const std::exception& e) {  // see ~runtime_core
    std::fprintf(stderr, "peeper: runtime shutdown failed: %s\n", e.what());
    std::terminate();
  } catch (...) {
    std::terminate();
  }
}

void runtime::shutdown() { core_->shutdown(); }
bool runtime::stopping() const noexcept { return core_->stopping(); }
std::size_t runtime::process_count() const noexcept { return core_->live(); }
unsigned runtime::threads() const noexcept { return core_->sched().threads(); }
bool runtime::deterministic() const noexcept { return core_->options().deterministic; }
std::chrono::steady_clock::time_point runtime::now() const noexcept { return core_->now(); }
bool runtime::step() { return core_->step(); }
std::size_t runtime::run_until_idle() { return core_->run_until_idle(); }
void runtime::advance(std::chrono::nanoseconds d) { core_->advance(d); }

runtime& this_runtime() { return detail::current_or_throw("this_runtime").rt().owner(); }

}  // namespace peeper
