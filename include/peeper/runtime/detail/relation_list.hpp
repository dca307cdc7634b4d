// A process's links or monitors: usually a handful, sometimes a million (a
// DynamicSupervisor's links). The list is one pointer; its entries live in
// one heap block, allocated at the first insertion, searched linearly while
// short; in a block of more than index_threshold entries a hash index keeps
// lookups and removals O(1). Removing moves the last entry into the hole, so the order
// of entries is not kept.
//
// Why not std::vector or std::unordered_set: every process has three such
// lists, mostly empty; at 8 bytes each they fit in the process block, where
// vectors (24 bytes, plus the index pointer) made a separate 120-byte block
// per process, and an unordered_set allocates a bucket array and a node per
// entry. Links and monitors were a third of an idle Peeper instance. A block's
// header is 8 bytes; only blocks big enough for an index have its slot.
//
// The index is open addressing written here rather than a std::unordered_map
// (the first version): it holds 4-byte entry positions in one array twice the
// block's capacity (8 bytes per entry, against a 32-byte node and a bucket),
// and a lookup reads the key from the entry. A process that starts a million
// linked children inserted a million nodes, and rehashing one hashed every
// pid by loading its process's cold block.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "peeper/runtime/detail/block_pool.hpp"

namespace peeper::detail {

/// True for entry types one pointer wide whose bits are all zero only when
/// empty and whose lowest bit is always clear (a wrapped aligned pointer,
/// such as pid): a list holds a lone entry of such a type in its own word.
template <class Entry>
inline constexpr bool single_word_entry = false;

/// Entries of type Entry, each with a unique key given by KeyOf (a stateless
/// function object). Hash hashes keys (stateless; the index mixes its bits,
/// so a plain address or a counter will do).
template <class Entry, class Key, class KeyOf, class Hash = std::hash<Key>>
class relation_list {
 public:
  using iterator = Entry*;
  using const_iterator = const Entry*;
  static constexpr std::size_t index_threshold = 16;
  /// The index's home slot of a key is the bits 32 and up of Hash(key) times this.
  static constexpr std::uint64_t hash_multiplier = 0x9E3779B97F4A7C15ULL;

  relation_list() noexcept = default;
  relation_list(relation_list&& o) noexcept { take(o); }
  relation_list& operator=(relation_list&& o) noexcept {
    if (this != &o) {
      clear();
      take(o);
    }
    return *this;
  }
  relation_list(const relation_list&) = delete;
  relation_list& operator=(const relation_list&) = delete;
  ~relation_list() { clear(); }

  iterator begin() noexcept {
    if (block* b = blk()) return b->entries();
    return single();
  }
  iterator end() noexcept { return begin() + size(); }
  const_iterator begin() const noexcept { return const_cast<relation_list*>(this)->begin(); }
  const_iterator end() const noexcept { return begin() + size(); }
  [[nodiscard]] std::size_t size() const noexcept {
    if (const block* b = blk()) return b->size;
    return bits() != 0 ? 1 : 0;
  }
  [[nodiscard]] bool empty() const noexcept { return bits() == 0; }

  /// The entry with key `k`, or end().
  iterator find(const Key& k) {
    block* b = blk();
    if (b != nullptr && b->indexed()) {
      const std::uint32_t* slot = b->slot_of(k);
      return *slot != 0 ? b->entries() + (*slot - 1) : end();
    }
    return std::find_if(begin(), end(), [&k](const Entry& e) { return KeyOf{}(e) == k; });
  }
  [[nodiscard]] bool contains(const Key& k) { return find(k) != end(); }

  /// Adds `e` unless an entry has its key; true if added.
  bool insert(Entry e) {
    if (contains(KeyOf{}(e))) return false;
    if constexpr (inline_one) {
      if (empty()) {
        ::new (static_cast<void*>(word_.data())) Entry(std::move(e));
        if (bits() != 0) return true;
        Entry* held = std::launder(reinterpret_cast<Entry*>(word_.data()));  // an empty entry: goes
        e = std::move(*held);                                                // in a block, below
        held->~Entry();
        set_bits(0);
      }
    }
    if (size() == capacity()) grow();
    block& b = *blk();
    ::new (static_cast<void*>(b.entries() + b.size)) Entry(std::move(e));
    ++b.size;
    if (b.indexed()) b.index_last();
    return true;
  }
  /// Removes the entry at `it` (the last entry moves into its place; the
  /// last entry's removal frees the block).
  void erase(iterator it) {
    block* bp = blk();
    if (bp == nullptr) {  // the lone inline entry
      clear();
      return;
    }
    block& b = *bp;
    Entry* last = b.entries() + b.size - 1;
    if (b.indexed()) {
      b.unindex(b.slot_of(KeyOf{}(*it)));
      if (it != last) *b.slot_of(KeyOf{}(*last)) = static_cast<std::uint32_t>(it - begin()) + 1;
    }
    if (it != last) *it = std::move(*last);
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
    if (block* b = blk()) {
      std::destroy_n(b->entries(), b->size);
      if (b->indexed()) std::destroy_at(b->slot());
      block_pool::deallocate(pool_class(b->capacity), b);
    } else if (Entry* e = single()) {
      e->~Entry();
    }
    set_bits(0);
  }

 private:
  static constexpr bool inline_one = single_word_entry<Entry>;
  static_assert(!inline_one ||
                (sizeof(Entry) == sizeof(void*) && alignof(Entry) <= alignof(void*) &&
                 std::is_nothrow_move_constructible_v<Entry>));

  // The index: positions + 1 of the entries (0: a free slot), at most half
  // full, found by linear probing from the key's home slot.
  using index_slot = std::vector<std::uint32_t>;
  // The header, followed by `capacity` entries, then (in blocks of more than
  // index_threshold entries only) the slot of the index.
  struct alignas(Entry) block {
    std::uint32_t size = 0;
    std::uint32_t capacity = 0;
    Entry* entries() noexcept { return reinterpret_cast<Entry*>(this + 1); }
    [[nodiscard]] bool indexed() const noexcept { return capacity > index_threshold; }
    index_slot* slot() noexcept {
      return std::launder(reinterpret_cast<index_slot*>(reinterpret_cast<unsigned char*>(this) +
                                                        slot_offset(capacity)));
    }
    // The index has 2 * capacity slots (capacity is a power of two).
    [[nodiscard]] std::size_t mask() const noexcept { return 2 * std::size_t{capacity} - 1; }
    [[nodiscard]] std::size_t home(const Key& k) const noexcept {
      // Fibonacci hashing: the high bits of the product depend on all of the hash's.
      const std::uint64_t h = std::uint64_t{Hash{}(k)} * hash_multiplier;
      return static_cast<std::size_t>(h >> 32U) & mask();
    }
    /// The slot holding `k`'s position, or the free slot where it would go.
    std::uint32_t* slot_of(const Key& k) noexcept {
      std::uint32_t* ix = slot()->data();
      std::size_t i = home(k);
      while (ix[i] != 0 && !(KeyOf{}(entries()[ix[i] - 1]) == k)) i = (i + 1) & mask();
      return ix + i;
    }
    /// Indexes the last entry.
    void index_last() noexcept { *slot_of(KeyOf{}(entries()[size - 1])) = size; }
    /// Frees `hole`, moving later entries of its probe run back so that
    /// every entry stays reachable from its home slot.
    void unindex(const std::uint32_t* hole) noexcept {
      std::uint32_t* ix = slot()->data();
      auto i = static_cast<std::size_t>(hole - ix);
      for (std::size_t j = (i + 1) & mask(); ix[j] != 0; j = (j + 1) & mask()) {
        const std::size_t h = home(KeyOf{}(entries()[ix[j] - 1]));
        // Stays if its home lies cyclically in (i, j]: the hole is not on its path.
        const bool stays = i < j ? (i < h && h <= j) : (i < h || h <= j);
        if (!stays) {
          ix[i] = ix[j];
          i = j;
        }
      }
      ix[i] = 0;
    }
  };
  static std::size_t slot_offset(std::size_t cap) noexcept {
    const std::size_t end = sizeof(block) + cap * sizeof(Entry);
    return (end + alignof(index_slot) - 1) / alignof(index_slot) * alignof(index_slot);
  }
  // Blocks come from the runtime's pool (those up to its largest class): a
  // process's list lives and ends on its scheduler thread, whose cache needs no lock.
  static std::uint8_t pool_class(std::size_t cap) noexcept {
    return block_pool::class_of(block_bytes(cap), alignof(block));
  }
  static std::size_t block_bytes(std::size_t cap) noexcept {
    return cap > index_threshold ? slot_offset(cap) + sizeof(index_slot)
                                 : sizeof(block) + cap * sizeof(Entry);
  }
  static_assert(alignof(Entry) <= alignof(std::max_align_t));
  static constexpr std::uintptr_t block_tag = inline_one ? 1 : 0;

  // The list's word, read and written as bits (it may hold an Entry object).
  [[nodiscard]] std::uintptr_t bits() const noexcept {
    std::uintptr_t w = 0;
    std::memcpy(&w, word_.data(), sizeof w);
    return w;
  }
  void set_bits(std::uintptr_t w) noexcept { std::memcpy(word_.data(), &w, sizeof w); }
  /// The block, or null (empty, or a lone inline entry).
  [[nodiscard]] block* blk() const noexcept {
    const std::uintptr_t w = bits();
    if (inline_one && (w & block_tag) == 0) return nullptr;
    return reinterpret_cast<block*>(w & ~block_tag);  // NOLINT(performance-no-int-to-ptr)
  }
  /// The lone inline entry, or null.
  Entry* single() noexcept {
    if constexpr (inline_one) {
      const std::uintptr_t w = bits();
      if (w != 0 && (w & block_tag) == 0)
        return std::launder(reinterpret_cast<Entry*>(word_.data()));
    }
    return nullptr;
  }
  void set_block(block* b) noexcept { set_bits(reinterpret_cast<std::uintptr_t>(b) | block_tag); }
  /// Moves o's entries here (this list is empty); o ends empty.
  void take(relation_list& o) noexcept {
    if constexpr (inline_one) {
      if (Entry* e = o.single()) {
        ::new (static_cast<void*>(word_.data())) Entry(std::move(*e));
        e->~Entry();
        o.set_bits(0);
        return;
      }
    }
    set_bits(o.bits());
    o.set_bits(0);
  }

  [[nodiscard]] std::size_t capacity() const noexcept {
    if (const block* b = blk()) return b->capacity;
    return bits() != 0 ? 1 : 0;
  }
  void grow() {
    const std::size_t cap = capacity() == 0 ? 1 : capacity() * 2;
    index_slot index;
    if (cap > index_threshold) index.resize(2 * cap);  // zeroed
    auto* next = ::new (block_pool::allocate(pool_class(cap), block_bytes(cap))) block;
    next->capacity = static_cast<std::uint32_t>(cap);
    static_assert(std::is_nothrow_move_constructible_v<Entry>);
    if (block* b = blk()) {
      std::uninitialized_move_n(b->entries(), b->size, next->entries());
      next->size = b->size;
      clear();
    } else if (Entry* e = single()) {
      ::new (static_cast<void*>(next->entries())) Entry(std::move(*e));
      next->size = 1;
      clear();
    }
    set_block(next);
    if (next->indexed()) {
      ::new (static_cast<void*>(next->slot())) index_slot(std::move(index));
      const std::uint32_t n = next->size;
      for (next->size = 1; next->size <= n; ++next->size) next->index_last();
      next->size = n;
    }
  }

  // Null when empty; else the block's address (tagged with block_tag), or
  // the lone entry itself when inline_one.
  alignas(void*) std::array<unsigned char, sizeof(void*)> word_{};
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
