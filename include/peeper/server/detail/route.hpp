// A route to a process that may be restarting: messages go straight to it
// while it lives and wait in the route while it does not, for its successor
// to take over in order. The instance's worker and keeper each have one.
#pragma once

#include <mutex>
#include <vector>

#include "peeper/runtime/detail/envelope.hpp"
#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper::detail {

class route {
 public:
  /// Delivers `e` to the current process, or keeps it for the next one.
  /// Returns false (leaving `e`) once the route is closed.
  bool deliver(envelope_ptr& e) {
    pid target;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return false;
      target = target_;
    }
    if (target && target.control_block()->push(e)) return true;
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    // The target may have been replaced meanwhile: try the new one, else wait.
    if (target_ && target_ != target && target_.control_block()->push(e)) return true;
    waiting_.push_back(std::move(e));
    return true;
  }

  /// A new process takes over: returns what waited for it (oldest first).
  /// From now on messages go to it.
  std::vector<envelope_ptr> attach(pid p) {
    std::lock_guard lock(mutex_);
    target_ = std::move(p);
    return std::exchange(waiting_, {});
  }

  /// The current process leaves. Returns a lock that keeps senders out until
  /// the caller has handed back what the process did not handle (give_back),
  /// so that nothing overtakes it.
  std::unique_lock<std::mutex> detach(const pid& p) {
    std::unique_lock lock(mutex_);
    if (target_ == p) target_ = pid();
    return lock;
  }
  /// Puts `msgs` (oldest first) ahead of what waits; call with detach's lock held.
  void give_back(std::vector<envelope_ptr> msgs) {
    waiting_.insert(waiting_.begin(), std::make_move_iterator(msgs.begin()),
                    std::make_move_iterator(msgs.end()));
  }

  /// Stops taking messages and returns what waited (to be dropped: calls
  /// among them answer their callers as they are destroyed).
  std::vector<envelope_ptr> close() {
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
  mutable std::mutex mutex_;
  pid target_;                       // guarded by mutex_
  std::vector<envelope_ptr> waiting_;  // guarded by mutex_
  bool closed_ = false;              // guarded by mutex_
};

}  // namespace peeper::detail
