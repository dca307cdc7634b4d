// A process's links or monitors: usually a handful, sometimes a million (a
// DynamicSupervisor's links). The list is one pointer; its entries live in
// one heap block, allocated at the first insertion, searched linearly while
// short; past index_threshold entries a hash index by key keeps lookups and
// removals O(1). Removing moves the last entry into the hole, so the order
// of entries is not kept.
//
// Why not std::vector or std::unordered_set: every process has three such
// lists, mostly empty; at 8 bytes each they fit in the process block, where
// vectors (24 bytes, plus the index pointer) made a separate 120-byte block
// per process, and an unordered_set allocates a bucket array and a node per
// entry. Links and monitors were a third of an idle Peeper instance.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace peeper::detail {

/// Entries of type Entry, each with a unique key given by KeyOf (a stateless function object).
template <class Entry, class Key, class KeyOf>
class relation_list {
 public:
  using iterator = Entry*;
  using const_iterator = const Entry*;
  static constexpr std::size_t index_threshold = 16;

  relation_list() noexcept = default;
  relation_list(relation_list&& o) noexcept : block_(std::exchange(o.block_, nullptr)) {}
  relation_list& operator=(relation_list&& o) noexcept {
    if (this != &o) {
      clear();
      block_ = std::exchange(o.block_, nullptr);
    }
    return *this;
  }
  relation_list(const relation_list&) = delete;
  relation_list& operator=(const relation_list&) = delete;
  ~relation_list() { clear(); }

  iterator begin() noexcept { return block_ != nullptr ? block_->entries() : nullptr; }
  iterator end() noexcept { return block_ != nullptr ? block_->entries() + block_->size : nullptr; }
  const_iterator begin() const noexcept { return block_ != nullptr ? block_->entries() : nullptr; }
  const_iterator end() const noexcept {
    return block_ != nullptr ? block_->entries() + block_->size : nullptr;
  }
  [[nodiscard]] std::size_t size() const noexcept { return block_ != nullptr ? block_->size : 0; }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }

  /// The entry with key `k`, or end().
  iterator find(const Key& k) {
    if (block_ != nullptr && block_->index) {
      auto it = block_->index->find(k);
      return it == block_->index->end() ? end() : begin() + it->second;
    }
    return std::find_if(begin(), end(), [&k](const Entry& e) { return KeyOf{}(e) == k; });
  }
  [[nodiscard]] bool contains(const Key& k) { return find(k) != end(); }

  /// Adds `e` unless an entry has its key; true if added.
  bool insert(Entry e) {
    if (contains(KeyOf{}(e))) return false;
    if (size() == capacity()) grow();
    block& b = *block_;
    ::new (static_cast<void*>(b.entries() + b.size)) Entry(std::move(e));
    ++b.size;
    if (b.index) {
      b.index->emplace(KeyOf{}(b.entries()[b.size - 1]), b.size - 1);
    } else if (b.size > index_threshold) {
      b.index = std::make_unique<std::unordered_map<Key, std::size_t>>();
      for (std::size_t i = 0; i < b.size; ++i) b.index->emplace(KeyOf{}(b.entries()[i]), i);
    }
    return true;
  }
  /// Removes the entry at `it` (the last entry moves into its place; the
  /// last entry's removal frees the block).
  void erase(iterator it) {
    block& b = *block_;
    const auto i = static_cast<std::size_t>(it - begin());
    Entry* last = b.entries() + b.size - 1;
    if (b.index) b.index->erase(KeyOf{}(*it));
    if (it != last) {
      *it = std::move(*last);
      if (b.index) (*b.index)[KeyOf{}(*it)] = i;
    }
    last->~Entry();
    if (--b.size == 0) clear();  // most monitors are brief: an empty list holds no block
  }
  /// Removes the entry with key `k`; returns how many were removed (0 or 1).
  std::size_t erase(const Key& k) {
    auto it = find(k);
    if (it == end()) return 0;
    erase(it);
    return 1;
  }
  /// Removes every entry and frees the block.
  void clear() noexcept {
    if (block_ == nullptr) return;
    std::destroy_n(block_->entries(), block_->size);
    block_->~block();
    ::operator delete(block_);
    block_ = nullptr;
  }

 private:
  // The header, followed by `capacity` entries.
  struct alignas(Entry) block {
    std::uint32_t size = 0;
    std::uint32_t capacity = 0;
    std::unique_ptr<std::unordered_map<Key, std::size_t>> index;  // once past index_threshold
    Entry* entries() noexcept { return reinterpret_cast<Entry*>(this + 1); }
  };
  static_assert(alignof(Entry) <= alignof(std::max_align_t));

  [[nodiscard]] std::size_t capacity() const noexcept {
    return block_ != nullptr ? block_->capacity : 0;
  }
  void grow() {
    const std::size_t cap = capacity() == 0 ? 1 : capacity() * 2;
    auto* next = ::new (::operator new(sizeof(block) + cap * sizeof(Entry))) block;
    next->capacity = static_cast<std::uint32_t>(cap);
    if (block_ != nullptr) {
      static_assert(std::is_nothrow_move_constructible_v<Entry>);
      std::uninitialized_move_n(block_->entries(), block_->size, next->entries());
      next->size = block_->size;
      next->index = std::move(block_->index);
      clear();
    }
    block_ = next;
  }

  block* block_ = nullptr;
};

struct identity_key {
  template <class T>
  const T& operator()(const T& v) const noexcept {
    return v;
  }
};
struct first_key {
  template <class Pair>
  const auto& operator()(const Pair& p) const noexcept {
    return p.first;
  }
};

}  // namespace peeper::detail
