// A mutex in 4 bytes, for objects there are millions of (a Peeper
// instance's core and routes hold four locks; std::mutex is 40 bytes each,
// a sixth of an idle instance). Uncontended lock and unlock are one atomic
// operation each; a contended lock spins briefly, then sleeps in the kernel
// (std::atomic::wait is a futex on Linux). Not recursive, not fair.
//
// Why by hand: Debian's libabsl-dev has an 8-byte absl::Mutex, but its
// prebuilt libraries are not instrumented, so ThreadSanitizer would not see
// their synchronisation and would report races on everything they guard.
// This is the classic three-state futex mutex (Drepper, "Futexes Are
// Tricky") on std::atomic, which every sanitizer understands.
#pragma once

#include <atomic>
#include <cstdint>

namespace peeper::detail {

class small_mutex {
 public:
  small_mutex() = default;
  small_mutex(const small_mutex&) = delete;
  small_mutex& operator=(const small_mutex&) = delete;

  void lock() noexcept {
    std::uint32_t c = unlocked;
    if (state_.compare_exchange_strong(c, locked, std::memory_order_acquire,
                                       std::memory_order_relaxed))
      return;
    // Critical sections here are a few pointer moves: a short spin usually wins.
    for (int i = 0; i < spin_limit && c != contended; ++i) {
      c = unlocked;
      if (state_.load(std::memory_order_relaxed) == unlocked &&
          state_.compare_exchange_weak(c, locked, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return;
    }
    // From here the lock is marked contended, so its unlock wakes a sleeper.
    c = state_.exchange(contended, std::memory_order_acquire);
    while (c != unlocked) {
      state_.wait(contended, std::memory_order_relaxed);
      c = state_.exchange(contended, std::memory_order_acquire);
    }
  }
  bool try_lock() noexcept {
    std::uint32_t c = unlocked;
    return state_.compare_exchange_strong(c, locked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  void unlock() noexcept {
    if (state_.exchange(unlocked, std::memory_order_release) == contended) state_.notify_one();
  }

 private:
  static constexpr std::uint32_t unlocked = 0;
  static constexpr std::uint32_t locked = 1;     // no one waits
  static constexpr std::uint32_t contended = 2;  // someone may sleep in wait()
  static constexpr int spin_limit = 64;
  std::atomic<std::uint32_t> state_{unlocked};
};

}  // namespace peeper::detail
