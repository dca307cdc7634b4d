// The pending timers of a runtime: a binary min-heap over a slab of slots.
//
// Arming and cancelling a timer allocates nothing once the slab has grown to
// the number of timers pending at once, which matters because every call
// with a timeout arms one and nearly always cancels it. A timer's ref encodes
// its slot and the slot's generation, so cancel() finds it without a lookup
// table and a stale ref (fired, cancelled, slot reused) is recognised.
// Not thread-safe: timer_service locks around it.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "peeper/runtime/detail/envelope.hpp"
#include "peeper/runtime/detail/runtime_core.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper::detail {

class timer_heap {
 public:
  struct due_timer {
    pid to;
    envelope_ptr e;
  };

  /// Arms a timer; returns its ref (never equal to a ref::make() one).
  ref add(clock::time_point deadline, pid to, envelope_ptr e);
  /// Disarms `timer`; returns what it would have delivered, or nullopt if it is not pending.
  std::optional<due_timer> cancel(ref timer);
  /// The earliest pending deadline, if any.
  [[nodiscard]] std::optional<clock::time_point> earliest() const;
  /// Removes the earliest timer if it is due at `now`.
  std::optional<due_timer> pop_due(clock::time_point now);
  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  /// Drops every pending timer.
  void clear();

 private:
  static constexpr std::uint32_t not_queued = UINT32_MAX;
  struct slot {
    clock::time_point deadline{};
    std::uint64_t seq = 0;  // breaks ties between equal deadlines: first armed fires first
    pid to;
    envelope_ptr e;
    std::uint32_t generation = 0;
    std::uint32_t heap_index = not_queued;
  };

  [[nodiscard]] bool before(std::uint32_t a, std::uint32_t b) const noexcept;
  void place(std::size_t pos, std::uint32_t index) noexcept;
  void sift_up(std::size_t pos) noexcept;
  void sift_down(std::size_t pos) noexcept;
  due_timer release(std::uint32_t index);

  std::vector<slot> slots_;
  std::vector<std::uint32_t> free_;  // slot indices not in use
  std::vector<std::uint32_t> heap_;  // slot indices, earliest (deadline, seq) first
  std::uint64_t next_seq_ = 0;
};

}  // namespace peeper::detail
