// The slow paths of rw_lock: waiting in both modes, slot assignment.
#include "peeper/table/detail/rw_lock.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <thread>

namespace peeper::detail {

namespace {

// One slot per hardware thread (a power of two, 2 to 64): scheduler threads,
// one per core, get distinct slots; further threads share them, which is
// correct, only slower.
std::uint32_t slot_count() noexcept {
  static const std::uint32_t n = [] {
    const unsigned hw = std::max(2U, std::thread::hardware_concurrency());
    return std::bit_ceil(std::min(hw, 64U));
  }();
  return n;
}

std::atomic<std::uint32_t> next_slot{0};
thread_local std::uint32_t tl_slot = ~std::uint32_t{0};

void backoff(unsigned& spins) noexcept {
  if (++spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    return;
  }
  std::this_thread::yield();
}

// Waits until `word` may no longer hold `seen`: spins, yields, then sleeps
// until a notify (the releases that waiters depend on all notify).
void await_change(const std::atomic<std::uint32_t>& word, std::uint32_t seen,
                  unsigned& spins) noexcept {
  if (spins < 128) {
    backoff(spins);
    return;
  }
  word.wait(seen, std::memory_order_relaxed);
}

}  // namespace

rw_lock::rw_lock() noexcept = default;
rw_lock::~rw_lock() = default;

void rw_lock::use_reader_slots() {
  // NOLINTNEXTLINE(modernize-avoid-c-arrays): a fixed run of cache lines, sized once
  slots_ = std::make_unique<reader_slot[]>(slot_count());
}

std::uint32_t rw_lock::this_thread_slot() noexcept {
  if (tl_slot == ~std::uint32_t{0}) {
    tl_slot = next_slot.fetch_add(1, std::memory_order_relaxed) & (slot_count() - 1);
  }
  return tl_slot;
}

void rw_lock::acquire_writer_bit() noexcept {
  unsigned spins = 0;
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  while (true) {
    if ((s & writer_bit) == 0) {
      if (state_.compare_exchange_weak(s, s | writer_bit, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return;
      }
      continue;
    }
    await_change(state_, s, spins);
    s = state_.load(std::memory_order_relaxed);
  }
}

void rw_lock::wait_for_plain_readers() noexcept {
  unsigned spins = 0;
  std::uint32_t s = state_.load(std::memory_order_acquire);
  while (s != writer_bit) {
    await_change(state_, s, spins);
    s = state_.load(std::memory_order_acquire);
  }
}

void rw_lock::lock_shared_slow() noexcept {
  unsigned spins = 0;
  while (true) {
    // A writer holds the lock or waits for it: step back (waking it if it
    // waited for us alone), wait until it is done, try again.
    if (state_.fetch_sub(reader_unit, std::memory_order_relaxed) == writer_bit + reader_unit) {
      state_.notify_all();
    }
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    while ((s & writer_bit) != 0) {
      await_change(state_, s, spins);
      s = state_.load(std::memory_order_relaxed);
    }
    if ((state_.fetch_add(reader_unit, std::memory_order_acquire) & writer_bit) == 0) return;
  }
}

void rw_lock::wait_for_readers() noexcept {
  writer_.store(true, std::memory_order_seq_cst);
  const std::uint32_t n = slot_count();
  for (std::uint32_t i = 0; i < n; ++i) {
    unsigned spins = 0;
    while (slots_[i].count.load(std::memory_order_seq_cst) != 0) backoff(spins);
  }
}

void rw_lock::wait_for_writer() const noexcept {
  unsigned spins = 0;
  while (writer_.load(std::memory_order_acquire)) backoff(spins);
}

}  // namespace peeper::detail
