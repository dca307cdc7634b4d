// A route to a process that may be restarting: messages go straight to it
// while it lives and wait in the route while it does not, for its successor
// to take over in order. The instance's worker and keeper each have one.
#pragma once

#include <mutex>

#include "peeper/runtime/detail/envelope.hpp"
#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/detail/small_mutex.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper::detail {

class route {
 public:
  /// Delivers `e` to the current process, or keeps it for the next one.
  /// Returns false (leaving `e`) once the route is closed. `to_target(pid)`
  /// runs under the route's lock just before `e` is pushed to a process
  /// (a call names its answering server there, with no second lock).
  template <class ToTarget>
  bool deliver(envelope_ptr& e, ToTarget&& to_target) {
    // Pushed under the lock: a process that leaves detaches under it too, so
    // what it gives back always goes ahead of what is sent after (and the
    // target's pid needs no copy: it cannot be released meanwhile).
    std::lock_guard lock(mutex_);
    if (next_ != nullptr) return next_->deliver(e, to_target);
    if (closed_) return false;
    if (target_) {
      to_target(target_);
      if (target_.control_block()->push(e)) return true;
    }
    waiting_.push_back(std::move(e));  // no process, or it is exiting: wait for the next
    return true;
  }
  bool deliver(envelope_ptr& e) {
    return deliver(e, [](const pid& /*target*/) {});
  }

  /// A new process takes over: returns what waited for it (oldest first).
  /// From now on messages go to it.
  envelope_list attach(pid p) {
    std::lock_guard lock(mutex_);
    target_ = std::move(p);
    return std::exchange(waiting_, {});
  }

  /// The current process leaves. Returns a lock that keeps senders out until
  /// the caller has handed back what the process did not handle (give_back),
  /// so that nothing overtakes it.
  std::unique_lock<small_mutex> detach(const pid& p) {
    std::unique_lock lock(mutex_);
    if (target_ == p) target_ = pid();
    return lock;
  }
  /// Releases the lock detach returned, once its owner let go of it
  /// (unique_lock::release) to keep it across calls.
  void unlock_detached() noexcept { mutex_.unlock(); }
  /// Puts `msgs` (oldest first) ahead of what waits, in O(1); call with
  /// detach's lock held. Once the route is closed nobody will take them:
  /// they are returned.
  envelope_list give_back(envelope_list msgs) {
    if (next_ != nullptr) {
      std::lock_guard next_lock(next_->mutex_);
      next_->waiting_.splice_front(std::move(msgs));
      return {};
    }
    if (closed_) return msgs;
    waiting_.splice_front(std::move(msgs));
    return {};
  }

  /// From now on, everything for this route goes to `next` (which must not
  /// have a process yet): what waits here moves there, messages sent here
  /// are forwarded, and what the current process gives back goes ahead of
  /// them there. The current process no longer receives anything.
  void redirect(route& next) {
    std::lock_guard lock(mutex_);
    std::lock_guard next_lock(next.mutex_);
    next.waiting_ = std::exchange(waiting_, {});
    next_ = &next;
    target_ = pid();
  }

  /// Stops taking messages and returns what waited (to be dropped: calls
  /// among them answer their callers as they are destroyed).
  envelope_list close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    target_ = pid();
    return std::exchange(waiting_, {});
  }

  [[nodiscard]] pid target() const {
    std::lock_guard lock(mutex_);
    return target_;
  }

 private:
  // The small fields last: the core packs its own into the tail padding.
  route* next_ = nullptr;  // guarded by mutex_; set once, kept alive by the owner of both
  pid target_;             // guarded by mutex_
  envelope_list waiting_;  // guarded by mutex_
  mutable small_mutex mutex_;
  bool closed_ = false;  // guarded by mutex_
};

}  // namespace peeper::detail
