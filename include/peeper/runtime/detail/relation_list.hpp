// A process's links or monitors: usually a handful, sometimes a million (a
// DynamicSupervisor's links). The entries live in one vector, searched
// linearly while short; past index_threshold entries a hash index by key
// keeps lookups and removals O(1). Removing moves the last entry into the
// hole, so the order of entries is not kept.
//
// Why not std::unordered_set/map: an empty one is 56 bytes, its first
// insertion allocates a 104-byte bucket array and a node per entry, which
// made links and monitors a third of an idle Peeper instance's memory.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace peeper::detail {

/// Entries of type Entry, each with a unique key given by KeyOf (a stateless function object).
template <class Entry, class Key, class KeyOf>
class relation_list {
 public:
  using iterator = typename std::vector<Entry>::iterator;
  using const_iterator = typename std::vector<Entry>::const_iterator;
  static constexpr std::size_t index_threshold = 16;

  iterator begin() noexcept { return entries_.begin(); }
  iterator end() noexcept { return entries_.end(); }
  const_iterator begin() const noexcept { return entries_.begin(); }
  const_iterator end() const noexcept { return entries_.end(); }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }

  /// The entry with key `k`, or end().
  iterator find(const Key& k) {
    if (index_) {
      auto it = index_->find(k);
      return it == index_->end() ? end() : begin() + static_cast<std::ptrdiff_t>(it->second);
    }
    return std::find_if(begin(), end(), [&k](const Entry& e) { return KeyOf{}(e) == k; });
  }
  [[nodiscard]] bool contains(const Key& k) { return find(k) != end(); }

  /// Adds `e` unless an entry has its key; true if added.
  bool insert(Entry e) {
    if (contains(KeyOf{}(e))) return false;
    entries_.push_back(std::move(e));
    if (index_) {
      index_->emplace(KeyOf{}(entries_.back()), entries_.size() - 1);
    } else if (entries_.size() > index_threshold) {
      index_ = std::make_unique<std::unordered_map<Key, std::size_t>>();
      for (std::size_t i = 0; i < entries_.size(); ++i) index_->emplace(KeyOf{}(entries_[i]), i);
    }
    return true;
  }
  /// Removes the entry at `it` (the last entry moves into its place).
  void erase(iterator it) {
    const auto i = static_cast<std::size_t>(it - begin());
    if (index_) index_->erase(KeyOf{}(entries_[i]));
    if (i + 1 != entries_.size()) {
      entries_[i] = std::move(entries_.back());
      if (index_) (*index_)[KeyOf{}(entries_[i])] = i;
    }
    entries_.pop_back();
  }
  /// Removes the entry with key `k`; returns how many were removed (0 or 1).
  std::size_t erase(const Key& k) {
    auto it = find(k);
    if (it == end()) return 0;
    erase(it);
    return 1;
  }

 private:
  std::vector<Entry> entries_;
  std::unique_ptr<std::unordered_map<Key, std::size_t>> index_;  // once past index_threshold
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
