// The map inside a hash-table shard: open addressing with linear probing and
// backward-shift deletion, keys and values stored inline in one array.
//
// A lookup of a present key usually touches one cache line (a node-based
// std::unordered_map touches two or three), which is most of the cost of a
// lookup in a large table. Not thread-safe: the shard's lock guards it.
// Positions change when the map grows or an entry is erased, so a position
// is only meaningful while the map does not change.
//
// prefetch(hash) is the one member callable without the lock: it asks the
// CPU to start loading the line where the key's probe begins, from a copy of
// the array's address and size kept in relaxed atomics (a stale or torn pair
// names a wrong line, which costs nothing: a prefetch never faults). A table
// issues it before taking the shard's lock, so that the cache miss of a
// lookup in a large table overlaps the locking instead of following it.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace peeper::detail {

template <class K, class T>
class flat_map {
 public:
  using entry = std::pair<K, T>;
  static constexpr std::size_t npos = ~std::size_t{0};

  flat_map() = default;
  flat_map(const flat_map& o) : slots_(o.slots_), size_(o.size_), mask_(o.mask_), shift_(o.shift_) {
    publish();
  }
  flat_map& operator=(const flat_map& o) {
    if (this != &o) flat_map(o).swap(*this);
    return *this;
  }
  flat_map(flat_map&& o) noexcept { swap(o); }
  flat_map& operator=(flat_map&& o) noexcept {
    flat_map(std::move(o)).swap(*this);
    return *this;
  }
  ~flat_map() = default;
  void swap(flat_map& o) noexcept {
    slots_.swap(o.slots_);
    std::swap(size_, o.size_);
    std::swap(mask_, o.mask_);
    std::swap(shift_, o.shift_);
    publish();
    o.publish();
  }

  /// The hash every member taking one expects: std::hash of the key.
  [[nodiscard]] static std::uint64_t hash_of(const K& key) {
    return static_cast<std::uint64_t>(std::hash<K>{}(key));
  }
  /// Starts loading the line where the probe for a key of this hash begins.
  /// Safe without the lock, and while others change the map (see above).
  void prefetch(std::uint64_t hash) const noexcept {
    const auto* base = hint_base_.load(std::memory_order_relaxed);
    if (base == nullptr) return;
    const std::size_t i = home_of(hash, hint_shift_.load(std::memory_order_relaxed));
    __builtin_prefetch(base + i);
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  /// The entry of `key`, or nullptr.
  [[nodiscard]] const entry* find(const K& key) const {
    const std::size_t i = position(key);
    return i == npos ? nullptr : &*slots_[i];
  }
  /// As find(key), given hash_of(key).
  [[nodiscard]] const entry* find(const K& key, std::uint64_t hash) const {
    const std::size_t i = position(key, hash);
    return i == npos ? nullptr : &*slots_[i];
  }
  entry* find(const K& key) {
    const std::size_t i = position(key);
    return i == npos ? nullptr : &*slots_[i];
  }
  [[nodiscard]] bool contains(const K& key) const { return position(key) != npos; }

  /// The entry of `key`, made with a value-initialised T if absent; and
  /// whether it was made.
  std::pair<entry*, bool> try_emplace(K key) {
    if (std::size_t i = position(key); i != npos) return {&*slots_[i], false};
    reserve_one();
    std::size_t i = home(key);
    while (slots_[i]) i = (i + 1) & mask_;
    slots_[i].emplace(std::move(key), T{});
    ++size_;
    return {&*slots_[i], true};
  }
  /// Sets the value of `key`, adding it if absent.
  void insert_or_assign(K key, T value) {
    if (entry* e = find(key)) {
      e->second = std::move(value);
      return;
    }
    reserve_one();
    std::size_t i = home(key);
    while (slots_[i]) i = (i + 1) & mask_;
    slots_[i].emplace(std::move(key), std::move(value));
    ++size_;
  }
  /// Removes `key`. Returns false if it was absent.
  bool erase(const K& key) { return take(key).has_value(); }
  /// Removes `key` and returns its value, or nothing if it was absent.
  std::optional<T> take(const K& key) {
    std::size_t i = position(key);
    if (i == npos) return std::nullopt;
    std::optional<T> out(std::move(slots_[i]->second));
    remove_at(i);
    return out;
  }
  void clear() noexcept {
    slots_.clear();
    slots_.shrink_to_fit();
    size_ = 0;
    mask_ = 0;
    publish();
  }

  // ---- positions (iteration) ------------------------------------------------
  /// The first occupied position at or after `from`, or npos.
  [[nodiscard]] std::size_t next_position(std::size_t from) const noexcept {
    for (std::size_t i = from; i < slots_.size(); ++i) {
      if (slots_[i]) return i;
    }
    return npos;
  }
  /// The position of `key`, or npos.
  [[nodiscard]] std::size_t position(const K& key) const {
    if (size_ == 0) return npos;
    return position(key, hash_of(key));
  }
  /// As position(key), given hash_of(key).
  [[nodiscard]] std::size_t position(const K& key, std::uint64_t hash) const {
    if (size_ == 0) return npos;
    for (std::size_t i = home_of(hash, shift_);; i = (i + 1) & mask_) {
      if (!slots_[i]) return npos;
      if (slots_[i]->first == key) return i;
    }
  }
  [[nodiscard]] const entry& at(std::size_t position) const noexcept { return *slots_[position]; }
  entry& at(std::size_t position) noexcept { return *slots_[position]; }

  /// Calls fn(entry&) on every entry.
  template <class F>
  void for_each(F&& fn) {
    for (auto& s : slots_) {
      if (s) fn(*s);
    }
  }
  template <class F>
  void for_each(F&& fn) const {
    for (const auto& s : slots_) {
      if (s) fn(*s);
    }
  }

 private:
  [[nodiscard]] std::size_t home(const K& key) const { return home_of(hash_of(key), shift_); }
  // Fibonacci hashing: the high bits of the product, so that keys whose
  // std::hash differs only in high bits (or is the identity) spread. The
  // shift alone gives the index's range (capacity = 2^(64 - shift)).
  [[nodiscard]] static std::size_t home_of(std::uint64_t hash, unsigned shift) noexcept {
    if (shift >= 64) return 0;
    return static_cast<std::size_t>((hash * 0x9E3779B97F4A7C15ULL) >> shift);
  }
  void publish() noexcept {
    hint_base_.store(slots_.empty() ? nullptr : slots_.data(), std::memory_order_relaxed);
    hint_shift_.store(shift_, std::memory_order_relaxed);
  }

  // At most 3/4 full, so that probe sequences stay short.
  void reserve_one() {
    if ((size_ + 1) * 4 <= slots_.size() * 3) return;
    const std::size_t capacity = slots_.empty() ? 8 : slots_.size() * 2;
    std::vector<std::optional<entry>> old(capacity);
    old.swap(slots_);
    mask_ = capacity - 1;
    shift_ = static_cast<unsigned>(64 - std::countr_zero(capacity));
    publish();
    for (auto& s : old) {
      if (!s) continue;
      std::size_t i = home(s->first);
      while (slots_[i]) i = (i + 1) & mask_;
      slots_[i].emplace(std::move(*s));
    }
  }

  // Backward-shift deletion: entries after the hole that may live earlier
  // move back, so that no probe sequence is broken and no tombstone is left.
  void remove_at(std::size_t hole) {
    std::size_t j = hole;
    while (true) {
      j = (j + 1) & mask_;
      if (!slots_[j]) break;
      const std::size_t want = home(slots_[j]->first);
      // Does `want` lie cyclically in (hole, j]? Then the entry stays.
      const bool stays = hole <= j ? (hole < want && want <= j) : (hole < want || want <= j);
      if (stays) continue;
      slots_[hole] = std::move(slots_[j]);
      hole = j;
    }
    slots_[hole].reset();
    --size_;
  }

  std::vector<std::optional<entry>> slots_;
  std::size_t size_ = 0;
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
  // For prefetch(): the array and shift as of the last change of either.
  std::atomic<const std::optional<entry>*> hint_base_{nullptr};
  std::atomic<unsigned> hint_shift_{64};
};

}  // namespace peeper::detail
