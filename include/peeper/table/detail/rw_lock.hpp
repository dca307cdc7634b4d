// The reader-writer lock of a table shard, with an optional reader-slot mode
// (table_options::read_concurrency).
//
// Plain mode is one 32-bit word: a writer bit and a reader count. A reader
// takes it with one fetch_add (one atomic instruction, where a
// std::shared_mutex makes a library call and a compare-exchange loop each
// way) and backs off if a writer holds or waits for it: writers go first. A
// writer sets the bit, then waits for the readers to drain. Waiters spin
// briefly, then yield, then sleep in std::atomic::wait; whoever releases
// what they wait for notifies them.
//
// Reader-slot mode gives every thread a slot (a counter on its own cache
// line): a reader only touches its slot and a writer flag it reads, so
// readers on different cores never write to a shared line and scale; a
// writer raises the flag and waits until every slot is empty, so writes cost
// O(slots). Writers are serialised by the same writer bit.
//
// Read ownership is per call, not per thread: lock_shared() returns the slot
// it used, and unlock_shared() takes it back, so a guard released on another
// thread stays correct. No table operation holds a lock while it suspends.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace peeper::detail {

/// The assumed cache-line size (std::hardware_destructive_interference_size
/// varies with compiler flags, which would change the layout between units).
inline constexpr std::size_t cache_line = 64;

class rw_lock {
 public:
  /// A lock in plain mode.
  rw_lock() noexcept;
  rw_lock(const rw_lock&) = delete;
  /// Switches to reader-slot mode; only before the lock is first used.
  void use_reader_slots();
  rw_lock& operator=(const rw_lock&) = delete;
  ~rw_lock();

  void lock() noexcept {
    acquire_writer_bit();
    if (slots_) {
      wait_for_readers();
    } else {
      wait_for_plain_readers();
    }
  }
  void unlock() noexcept {
    if (slots_) writer_.store(false, std::memory_order_seq_cst);
    state_.fetch_and(~writer_bit, std::memory_order_release);
    state_.notify_all();
  }

  /// Returns the token to give back to unlock_shared.
  std::uint32_t lock_shared() noexcept {
    if (!slots_) {
      if ((state_.fetch_add(reader_unit, std::memory_order_acquire) & writer_bit) != 0) {
        lock_shared_slow();
      }
      return 0;
    }
    const std::uint32_t slot = this_thread_slot();
    auto& count = slots_[slot].count;
    while (true) {
      // Dekker-style with the writer: we announce ourselves, then look for a
      // writer; it raises its flag, then looks for us. Both seq_cst, so at
      // least one of us sees the other.
      count.fetch_add(1, std::memory_order_seq_cst);
      if (!writer_.load(std::memory_order_seq_cst)) return slot;
      count.fetch_sub(1, std::memory_order_release);
      wait_for_writer();
    }
  }
  void unlock_shared(std::uint32_t token) noexcept {
    if (!slots_) {
      // The last reader a waiting writer waits for wakes it.
      if (state_.fetch_sub(reader_unit, std::memory_order_release) == writer_bit + reader_unit) {
        state_.notify_all();
      }
      return;
    }
    slots_[token].count.fetch_sub(1, std::memory_order_release);
  }

 private:
  struct alignas(cache_line) reader_slot {
    std::atomic<std::uint32_t> count{0};
  };
  static constexpr std::uint32_t writer_bit = 1;
  static constexpr std::uint32_t reader_unit = 2;

  static std::uint32_t this_thread_slot() noexcept;
  void acquire_writer_bit() noexcept;
  void wait_for_plain_readers() noexcept;
  void lock_shared_slow() noexcept;
  void wait_for_readers() noexcept;
  void wait_for_writer() const noexcept;

  // Plain mode: the writer bit and 2 x the readers. Both modes: the writer bit.
  std::atomic<std::uint32_t> state_{0};
  std::atomic<bool> writer_{false};
  // Run-time sized; null in plain mode.
  std::unique_ptr<reader_slot[]> slots_;  // NOLINT(modernize-avoid-c-arrays)
};

/// Holds a read lock for its scope.
class read_guard {
 public:
  explicit read_guard(rw_lock& l) : lock_(&l), token_(l.lock_shared()) {}
  read_guard(const read_guard&) = delete;
  read_guard& operator=(const read_guard&) = delete;
  ~read_guard() { lock_->unlock_shared(token_); }

 private:
  rw_lock* lock_;
  std::uint32_t token_;
};

/// Holds the write lock for its scope.
class write_guard {
 public:
  explicit write_guard(rw_lock& l) : lock_(&l) { l.lock(); }
  write_guard(const write_guard&) = delete;
  write_guard& operator=(const write_guard&) = delete;
  ~write_guard() { lock_->unlock(); }

 private:
  rw_lock* lock_;
};

}  // namespace peeper::detail
