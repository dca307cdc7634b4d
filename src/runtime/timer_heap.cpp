#include "timer_heap.hpp"

#include <utility>

namespace peeper::detail {

namespace {
// A timer ref: the top bit (ref::make() counts up from 1 and never sets it), then 31 bits of
// the slot's generation, then the slot index.
constexpr std::uint64_t timer_bit = std::uint64_t{1} << 63;
constexpr std::uint32_t generation_mask = 0x7fff'ffffU;

ref encode(std::uint32_t index, std::uint32_t generation) {
  return ref::from_id(timer_bit | (std::uint64_t{generation & generation_mask} << 32) | index);
}
}  // namespace

ref timer_heap::add(clock::time_point deadline, pid to, envelope_ptr e) {
  if (free_.empty()) {
    // Grow everything first: the pushes below and in release() then never throw.
    slots_.emplace_back();
    free_.reserve(slots_.size());
    heap_.reserve(slots_.size());
    free_.push_back(static_cast<std::uint32_t>(slots_.size() - 1));
  }
  const std::uint32_t index = free_.back();
  free_.pop_back();
  slot& s = slots_[index];
  s.deadline = deadline;
  s.seq = next_seq_++;
  s.to = std::move(to);
  s.e = std::move(e);
  heap_.push_back(index);
  s.heap_index = static_cast<std::uint32_t>(heap_.size() - 1);
  sift_up(heap_.size() - 1);
  return encode(index, s.generation);
}

std::optional<timer_heap::due_timer> timer_heap::cancel(ref timer) {
  const std::uint64_t id = timer.id();
  if ((id & timer_bit) == 0) return std::nullopt;
  const auto index = static_cast<std::uint32_t>(id);
  const auto generation = static_cast<std::uint32_t>(id >> 32) & generation_mask;
  if (index >= slots_.size()) return std::nullopt;
  slot& s = slots_[index];
  if (s.heap_index == not_queued || (s.generation & generation_mask) != generation) {
    return std::nullopt;
  }
  const std::size_t pos = s.heap_index;
  const std::uint32_t last = heap_.back();
  heap_.pop_back();
  if (last != index) {
    place(pos, last);
    sift_up(pos);
    sift_down(slots_[last].heap_index);
  }
  return release(index);
}

std::optional<clock::time_point> timer_heap::earliest() const {
  if (heap_.empty()) return std::nullopt;
  return slots_[heap_.front()].deadline;
}

std::optional<timer_heap::due_timer> timer_heap::pop_due(clock::time_point now) {
  if (heap_.empty() || slots_[heap_.front()].deadline > now) return std::nullopt;
  const std::uint32_t index = heap_.front();
  const std::uint32_t last = heap_.back();
  heap_.pop_back();
  if (last != index) {
    place(0, last);
    sift_down(0);
  }
  return release(index);
}

void timer_heap::clear() {
  // Destroys the pending envelopes (a call's timeout signal among them) here, at once.
  slots_.clear();
  free_.clear();
  heap_.clear();
}

bool timer_heap::before(std::uint32_t a, std::uint32_t b) const noexcept {
  const slot& x = slots_[a];
  const slot& y = slots_[b];
  return x.deadline < y.deadline || (x.deadline == y.deadline && x.seq < y.seq);
}

void timer_heap::place(std::size_t pos, std::uint32_t index) noexcept {
  heap_[pos] = index;
  slots_[index].heap_index = static_cast<std::uint32_t>(pos);
}

void timer_heap::sift_up(std::size_t pos) noexcept {
  const std::uint32_t index = heap_[pos];
  while (pos > 0) {
    const std::size_t parent = (pos - 1) / 2;
    if (!before(index, heap_[parent])) break;
    place(pos, heap_[parent]);
    pos = parent;
  }
  place(pos, index);
}

void timer_heap::sift_down(std::size_t pos) noexcept {
  const std::uint32_t index = heap_[pos];
  const std::size_t n = heap_.size();
  while (true) {
    std::size_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], index)) break;
    place(pos, heap_[child]);
    pos = child;
  }
  place(pos, index);
}

timer_heap::due_timer timer_heap::release(std::uint32_t index) {
  slot& s = slots_[index];
  due_timer out{std::move(s.to), std::move(s.e)};
  s.to = pid();
  s.heap_index = not_queued;
  ++s.generation;
  free_.push_back(index);
  return out;
}

}  // namespace peeper::detail
