// Where an instance's core keeps its committed state. A commit follows every
// callback that changes the state, so for small states the lock around it
// was a measurable part of a cast (two atomic read-modify-writes, ~5 % of
// a cast's time in the side-by-side benchmark). Small trivially copyable
// states need none:
//   - up to 8 bytes: one atomic word, stored and loaded whole;
//   - up to 64 bytes: a sequence lock over atomic words (Boehm, "Can seqlocks
//     get along with programming language memory models?", 2012): the one
//     writer stores plain words, a reader retries if a write overlapped it;
//   - anything else: the state itself, under the core's mutex.
// One writer at a time: the instance's worker commits, and a transfer resets
// the state of a core no worker runs on yet. Readers may be any thread.
// Every cell offers load(mutex), store(state, mutex) and update(f, mutex)
// (f changes the state: a user's commit hook); only the locked one uses the
// core's mutex, and only it updates in place.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>

#include "peeper/runtime/detail/small_mutex.hpp"

namespace peeper::detail {

enum class state_cell_kind : std::uint8_t { word, sequence, locked };

template <class State>
constexpr state_cell_kind state_cell_kind_of() noexcept {
  if (!std::is_trivially_copyable_v<State> || alignof(State) > 8 || sizeof(State) > 64) {
    return state_cell_kind::locked;
  }
  return sizeof(State) <= 8 ? state_cell_kind::word : state_cell_kind::sequence;
}

template <class State, state_cell_kind = state_cell_kind_of<State>()>
class state_cell;

/// The trivially copyable State whose bytes begin at `p`.
template <class State>
State state_from_bytes(const void* p) noexcept {
  std::array<unsigned char, sizeof(State)> bytes;
  std::memcpy(bytes.data(), p, sizeof(State));
  return std::bit_cast<State>(bytes);
}

/// A state of up to 8 bytes in one atomic word (4 bytes if it fits: an idle
/// instance with an int state stays in its pool block).
template <class State>
class state_cell<State, state_cell_kind::word> {
  using word = std::conditional_t<sizeof(State) <= 4, std::uint32_t, std::uint64_t>;

 public:
  explicit state_cell(State s) noexcept : word_(pack(s)) {}
  [[nodiscard]] State load(small_mutex& /*unused*/) const noexcept {
    return unpack(word_.load(std::memory_order_acquire));
  }
  void store(const State& s, small_mutex& /*unused*/) noexcept {
    word_.store(pack(s), std::memory_order_release);
  }
  /// Runs f(State&) on a copy and stores it (by the one writer).
  template <class F>
  void update(F f, small_mutex& m) {
    State s = load(m);
    f(s);
    store(s, m);
  }

 private:
  static word pack(const State& s) noexcept {
    word w = 0;
    std::memcpy(&w, &s, sizeof(State));
    return w;
  }
  static State unpack(word w) noexcept { return state_from_bytes<State>(&w); }
  std::atomic<word> word_;
};

/// A state of up to 64 bytes under a sequence lock: the writer makes the count
/// odd, stores the words, makes it even again; a reader that saw an odd count,
/// or a different one after its copy, copies again.
template <class State>
class state_cell<State, state_cell_kind::sequence> {
  static constexpr std::size_t words = (sizeof(State) + 7) / 8;
  using buffer = std::array<std::uint64_t, words>;

 public:
  explicit state_cell(const State& s) noexcept { write(s); }
  [[nodiscard]] State load(small_mutex& /*unused*/) const noexcept {
    buffer b;
    for (;;) {
      const std::uint32_t before = seq_.load(std::memory_order_acquire);
      if ((before & 1U) == 0) {
        for (std::size_t i = 0; i < words; ++i) b[i] = words_[i].load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (seq_.load(std::memory_order_relaxed) == before) break;
      }
      std::this_thread::yield();  // a write is under way (its thread may have been preempted)
    }
    return state_from_bytes<State>(b.data());
  }
  void store(const State& s, small_mutex& /*unused*/) noexcept { write(s); }
  /// Runs f(State&) on a copy and stores it (by the one writer).
  template <class F>
  void update(F f, small_mutex& m) {
    State s = load(m);
    f(s);
    write(s);
  }

 private:
  void write(const State& s) noexcept {
    buffer b{};
    std::memcpy(b.data(), &s, sizeof(State));
    const std::uint32_t n = seq_.load(std::memory_order_relaxed);
    seq_.store(n + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);  // the odd count before any word
    for (std::size_t i = 0; i < words; ++i) words_[i].store(b[i], std::memory_order_relaxed);
    seq_.store(n + 2, std::memory_order_release);
  }

  std::atomic<std::uint32_t> seq_{0};
  std::array<std::atomic<std::uint64_t>, words> words_{};
};

/// Any other state, under the core's mutex (passed in: the cell does not
/// keep a pointer to it, which would be 8 bytes of every instance).
template <class State>
class state_cell<State, state_cell_kind::locked> {
 public:
  explicit state_cell(State s) : state_(std::move(s)) {}
  [[nodiscard]] State load(small_mutex& m) const {
    std::lock_guard lock(m);
    return state_;
  }
  template <class S>
  void store(S&& s, small_mutex& m) {
    std::lock_guard lock(m);
    state_ = std::forward<S>(s);
  }
  /// Runs f(State&) on the state in place, under the lock.
  template <class F>
  void update(F f, small_mutex& m) {
    std::lock_guard lock(m);
    f(state_);
  }

 private:
  State state_;
};

}  // namespace peeper::detail
