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
  std::map<key, entry> dropped;
  {
    std::lock_guard lock(mutex_);
    dropped.swap(by_time_);
    by_id_.clear();
  }
}

ref timer_service::add(clock::time_point deadline, pid to, envelope_ptr e) {
  ref r = ref::make();
  bool earliest = false;
  {
    std::lock_guard lock(mutex_);
    auto it = by_time_.emplace(key{deadline, r.id()}, entry{std::move(to), std::move(e)}).first;
    by_id_.emplace(r.id(), deadline);
    earliest = it == by_time_.begin();
  }
  if (earliest) wake_.notify_one();
  return r;
}

bool timer_service::cancel(ref timer) {
  entry dropped;  // destroyed outside the lock
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(timer.id());
  if (it == by_id_.end()) return false;
  auto node = by_time_.find(key{it->second, timer.id()});
  dropped = std::move(node->second);
  by_time_.erase(node);
  by_id_.erase(it);
  return true;
}

std::optional<clock::time_point> timer_service::next_deadline() {
  std::lock_guard lock(mutex_);
  if (by_time_.empty()) return std::nullopt;
  return by_time_.begin()->first.first;
}

void timer_service::fire_due(clock::time_point now) {
  std::vector<entry> due;
  {
    std::lock_guard lock(mutex_);
    while (!by_time_.empty() && by_time_.begin()->first.first <= now) {
      auto node = by_time_.extract(by_time_.begin());
      by_id_.erase(node.key().second);
      due.push_back(std::move(node.mapped()));
    }
  }
  for (auto& d : due) process::deliver(d.to.control_block(), std::move(d.e));
}

void timer_service::loop() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (by_time_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto deadline = by_time_.begin()->first.first;
    if (clock::now() < deadline) {
      wake_.wait_until(lock, deadline);
      continue;
    }
    lock.unlock();
    fire_due(clock::now());
    lock.lock();
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
