#include "timer_service.hpp"

#include <vector>

#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/errors.hpp"
#include "peeper/runtime/runtime.hpp"
#include "peeper/runtime/timer.hpp"

namespace peeper::detail {

void timer_service::start() {
  thread_ = std::thread([this] { loop(); });
}

void timer_service::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  timer_heap dropped;  // the envelopes are destroyed outside the lock
  {
    std::lock_guard lock(mutex_);
    std::swap(dropped, timers_);
  }
}

ref timer_service::add(clock::time_point deadline, pid to, envelope_ptr e) {
  bool wake = false;
  ref r;
  {
    std::lock_guard lock(mutex_);
    r = timers_.add(deadline, std::move(to), std::move(e));
    if (deadline < wake_at_) {
      wake_at_ = deadline;
      wake = true;
    }
  }
  if (wake) wake_.notify_one();
  return r;
}

bool timer_service::cancel(ref timer) {
  std::optional<timer_heap::due_timer> dropped;  // destroyed outside the lock
  std::lock_guard lock(mutex_);
  dropped = timers_.cancel(timer);
  return dropped.has_value();
}

std::optional<clock::time_point> timer_service::next_deadline() {
  std::lock_guard lock(mutex_);
  return timers_.earliest();
}

void timer_service::fire_due(clock::time_point now) {
  std::vector<timer_heap::due_timer> due;
  {
    std::lock_guard lock(mutex_);
    while (auto d = timers_.pop_due(now)) due.push_back(std::move(*d));
  }
  for (auto& d : due) process::deliver(d.to.control_block(), std::move(d.e));
}

void timer_service::loop() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    const auto now = clock::now();
    const auto earliest = timers_.earliest();
    if (earliest && *earliest <= now) {
      lock.unlock();
      fire_due(now);
      lock.lock();
      continue;
    }
    wake_at_ = earliest.value_or(clock::time_point::max());
    if (wake_at_ == clock::time_point::max()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, wake_at_);
    }
  }
}

ref start_timer(const pid& to, std::chrono::nanoseconds after, envelope_ptr e) {
  if (!to) throw bad_argument("send_after: null pid");
  runtime_core& rt = to.control_block()->rt();
  return rt.timers().add(rt.now() + after, to, std::move(e));
}

}  // namespace peeper::detail

namespace peeper {
bool cancel_timer(runtime& rt, ref timer) { return rt.core().timers().cancel(timer); }
}  // namespace peeper
