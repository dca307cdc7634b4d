// set, bag and duplicate_bag: a hash table split into cache-line-aligned
// shards, each an open-addressing flat_map under its own reader-writer lock.
//
// A single-key operation locks the key's shard only, so operations on keys
// of different shards never wait for each other and readers of one shard
// share its lock. Operations on several keys (insert_many, insert_new_many)
// lock the shards they touch, and whole-table operations (size, select,
// select_delete, clear) lock every shard, always in ascending shard order,
// so they are atomic and cannot deadlock.
//
// Bags keep, per key, a vector of values in insertion order (distinct values
// for bag, any for duplicate_bag).
//
// Reads hash the key once, and ask for the key's line in the shard's array
// before they take the shard's lock (flat_map::prefetch): in a large table
// that line is a cache miss, which then overlaps the locking.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>
#include <vector>

#include "peeper/table/concepts.hpp"
#include "peeper/table/detail/flat_map.hpp"
#include "peeper/table/detail/rw_lock.hpp"
#include "peeper/table/detail/table_store.hpp"

namespace peeper::detail {

/// The shard count a hash table gets from its options.
std::size_t shard_count_for(const table_options& options) noexcept;

template <class K, class V, bool Multi>
class hash_table final : public table_store<K, V> {
  using base = table_store<K, V>;
  using slot = std::conditional_t<Multi, std::vector<V>, V>;
  using map = flat_map<K, slot>;
  using pred_ref = function_ref<bool(const K&, const V&)>;

 public:
  using typename base::object;

  hash_table(table_options options, table_types types)
      : base(options, types),
        duplicates_(options.kind == table_kind::duplicate_bag),
        count_(shard_count_for(options)),
        mask_(count_ - 1),
        shards_(make_shards(count_, options.read_concurrency)) {}
  hash_table(const hash_table&) = delete;
  hash_table& operator=(const hash_table&) = delete;
  ~hash_table() override = default;

  // ---- writes ---------------------------------------------------------------
  void insert(K key, V value) override {
    this->check_write();
    const std::uint64_t h = map::hash_of(key);
    shard& s = shards_[index_of_hash(h)];
    s.items.prefetch(h);
    write_guard g(s.lock);
    this->check_live();
    put(s, std::move(key), std::move(value));
  }

  void insert_many(std::vector<object> objects) override {
    this->check_write();
    locked<true> g(*this, shards_for(objects));
    this->check_live();
    for (auto& [k, v] : objects) {
      shard& s = shard_of(k);
      put(s, std::move(k), std::move(v));
    }
  }

  bool insert_new(K key, V value) override {
    this->check_write();
    shard& s = shard_of(key);
    write_guard g(s.lock);
    this->check_live();
    if (s.items.contains(key)) return false;
    put(s, std::move(key), std::move(value));
    return true;
  }

  bool insert_new_many(std::vector<object> objects) override {
    this->check_write();
    locked<true> g(*this, shards_for(objects));
    this->check_live();
    for (const auto& o : objects) {
      if (shard_of(o.first).items.contains(o.first)) return false;
    }
    for (auto& [k, v] : objects) {
      shard& s = shard_of(k);
      put(s, std::move(k), std::move(v));
    }
    return true;
  }

  bool erase(const K& key) override {
    this->check_write();
    shard& s = shard_of(key);
    write_guard g(s.lock);
    this->check_live();
    return s.items.erase(key) > 0;
  }

  bool erase_object(const K& key, const V& value) override {
    this->check_write();
    if constexpr (std::equality_comparable<V>) {
      shard& s = shard_of(key);
      write_guard g(s.lock);
      this->check_live();
      auto* e = s.items.find(key);
      if (e == nullptr) return false;
      if constexpr (Multi) {
        auto removed = std::erase(e->second, value);
        if (e->second.empty()) s.items.erase(key);
        return removed > 0;
      } else {
        if (!(e->second == value)) return false;
        s.items.erase(key);
        return true;
      }
    } else {
      this->fail(table_errc::unsupported, "erase_object needs operator== on values");
    }
  }

  std::vector<V> take(const K& key) override {
    this->check_write();
    shard& s = shard_of(key);
    write_guard g(s.lock);
    this->check_live();
    auto taken = s.items.take(key);
    std::vector<V> out;
    if (!taken) return out;
    if constexpr (Multi) {
      out = std::move(*taken);
    } else {
      out.push_back(std::move(*taken));
    }
    return out;
  }

  bool modify(const K& key, const V* init, function_ref<void(V&)> fn, bool copy) override {
    if constexpr (Multi) {
      this->fail(table_errc::unsupported, "update and update_counter apply to sets only");
    } else {
      this->check_write();
      shard& s = shard_of(key);
      write_guard g(s.lock);
      this->check_live();
      auto* e = s.items.find(key);
      if (e == nullptr) {
        if (init == nullptr) return false;
        V value = *init;
        fn(value);
        s.items.insert_or_assign(key, std::move(value));
        return true;
      }
      if (copy) {
        V value = e->second;
        fn(value);
        e->second = std::move(value);
      } else {
        fn(e->second);
      }
      return true;
    }
  }

  void clear() override {
    this->check_write();
    locked<true> g(*this, all_shards());
    this->check_live();
    for (std::size_t i = 0; i < count_; ++i) shards_[i].items.clear();
  }

  std::size_t select_delete(pred_ref pred) override {
    this->check_write();
    locked<true> g(*this, all_shards());
    this->check_live();
    std::size_t removed = 0;
    std::vector<K> doomed;
    for (std::size_t i = 0; i < count_; ++i) {
      map& items = shards_[i].items;
      items.for_each([&](typename map::entry& e) {
        if constexpr (Multi) {
          const K& k = e.first;
          removed += std::erase_if(e.second, [&](const V& v) { return pred(k, v); });
          if (e.second.empty()) doomed.push_back(k);
        } else if (pred(e.first, e.second)) {
          doomed.push_back(e.first);
          ++removed;
        }
      });
      for (const K& k : doomed) items.erase(k);
      doomed.clear();
    }
    return removed;
  }

  // ---- reads ----------------------------------------------------------------
  std::vector<V> lookup(const K& key) const override {
    this->check_read();
    const std::uint64_t h = map::hash_of(key);
    const shard& s = prefetched(h);
    read_guard g(s.lock);
    this->check_live();
    const auto* e = s.items.find(key, h);
    if (e == nullptr) return {};
    if constexpr (Multi) {
      return e->second;
    } else {
      return {e->second};
    }
  }

  std::optional<V> find(const K& key) const override {
    this->check_read();
    const std::uint64_t h = map::hash_of(key);
    const shard& s = prefetched(h);
    read_guard g(s.lock);
    this->check_live();
    const auto* e = s.items.find(key, h);
    if (e == nullptr) return std::nullopt;
    if constexpr (Multi) {
      return e->second.front();
    } else {
      return e->second;
    }
  }

  bool visit(const K& key, function_ref<void(const V&)> fn) const override {
    this->check_read();
    const std::uint64_t h = map::hash_of(key);
    const shard& s = prefetched(h);
    read_guard g(s.lock);
    this->check_live();
    const auto* e = s.items.find(key, h);
    if (e == nullptr) return false;
    if constexpr (Multi) {
      for (const V& v : e->second) fn(v);
    } else {
      fn(e->second);
    }
    return true;
  }

  bool member(const K& key) const override {
    this->check_read();
    const std::uint64_t h = map::hash_of(key);
    const shard& s = prefetched(h);
    read_guard g(s.lock);
    this->check_live();
    return s.items.find(key, h) != nullptr;
  }

  std::size_t count(const K& key) const override {
    this->check_read();
    const std::uint64_t h = map::hash_of(key);
    const shard& s = prefetched(h);
    read_guard g(s.lock);
    this->check_live();
    const auto* e = s.items.find(key, h);
    if (e == nullptr) return 0;
    if constexpr (Multi) {
      return e->second.size();
    } else {
      return 1;
    }
  }

  std::size_t object_count() const override {
    locked<false> g(*this, all_shards());
    this->check_live();
    std::size_t n = 0;
    for (std::size_t i = 0; i < count_; ++i) {
      if constexpr (Multi) {
        shards_[i].items.for_each([&](const auto& e) { n += e.second.size(); });
      } else {
        n += shards_[i].items.size();
      }
    }
    return n;
  }

  std::vector<object> select(pred_ref pred) const override {
    this->check_read();
    locked<false> g(*this, all_shards());
    this->check_live();
    std::vector<object> out;
    for (std::size_t i = 0; i < count_; ++i) {
      shards_[i].items.for_each([&](const auto& e) {
        if constexpr (Multi) {
          for (const V& v : e.second) {
            if (pred(e.first, v)) out.emplace_back(e.first, v);
          }
        } else if (pred(e.first, e.second)) {
          out.emplace_back(e.first, e.second);
        }
      });
    }
    return out;
  }

  // Hash order: shard by shard, each in its map's order. Stable while the
  // table does not change; next() of a key that is no longer there throws.
  std::optional<K> first() const override {
    this->check_read();
    return first_from(0);
  }
  std::optional<K> last() const override { return first(); }
  std::optional<K> next(const K& key) const override {
    this->check_read();
    const std::size_t i = index_of(key);
    {
      const shard& s = shards_[i];
      read_guard g(s.lock);
      this->check_live();
      const std::size_t at = s.items.position(key);
      if (at == map::npos) {
        this->fail(table_errc::bad_key,
                   "next: the key is not in the table (a hash table "
                   "continues a traversal only from a present key)");
      }
      if (auto after = s.items.next_position(at + 1); after != map::npos) {
        return s.items.at(after).first;
      }
    }
    return first_from(i + 1);
  }
  std::optional<K> prev(const K& key) const override { return next(key); }

 protected:
  void clear_data() noexcept override {
    for (std::size_t i = 0; i < count_; ++i) {
      map doomed;
      {
        write_guard g(shards_[i].lock);
        doomed.swap(shards_[i].items);
      }
    }  // values destroyed outside the lock
  }
  std::size_t shard_count() const noexcept override { return count_; }

 private:
  struct alignas(cache_line) shard {
    mutable rw_lock lock;
    map items;
  };

  // Locks the given shards (ascending, distinct) for its scope.
  template <bool Write>
  class locked {
   public:
    locked(const hash_table& t, std::vector<std::size_t> which)
        : table_(&t), which_(std::move(which)) {
      std::size_t done = 0;
      try {
        for (; done < which_.size(); ++done) {
          rw_lock& l = t.shards_[which_[done]].lock;
          if constexpr (Write) {
            l.lock();
          } else {
            token_ = l.lock_shared();
          }
        }
      } catch (...) {
        which_.resize(done);
        release();
        throw;
      }
    }
    locked(const locked&) = delete;
    locked& operator=(const locked&) = delete;
    ~locked() { release(); }

   private:
    void release() noexcept {
      // Release in the reverse order of acquisition.
      for (auto it = which_.rbegin(); it != which_.rend(); ++it) {
        rw_lock& l = table_->shards_[*it].lock;
        if constexpr (Write) {
          l.unlock();
        } else {
          l.unlock_shared(token_);
        }
      }
      which_.clear();
    }
    const hash_table* table_;
    std::vector<std::size_t> which_;
    std::uint32_t token_ = 0;  // the same slot for every shard: one thread locks them all
  };

  // NOLINTNEXTLINE(modernize-avoid-c-arrays): a run-time sized array of non-movable shards
  static std::unique_ptr<shard[]> make_shards(std::size_t n, bool reader_slots) {
    auto out = std::make_unique<shard[]>(n);  // NOLINT(modernize-avoid-c-arrays)
    if (reader_slots) {
      for (std::size_t i = 0; i < n; ++i) out[i].lock.use_reader_slots();
    }
    return out;
  }

  static std::uint64_t mix(std::uint64_t h) noexcept {
    h ^= h >> 32;
    h *= 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
    return h;
  }
  [[nodiscard]] std::size_t index_of(const K& key) const noexcept {
    return index_of_hash(map::hash_of(key));
  }
  [[nodiscard]] std::size_t index_of_hash(std::uint64_t h) const noexcept {
    return static_cast<std::size_t>(mix(h)) & mask_;
  }
  // The shard of a key of hash `h`, the key's line in it already on its way
  // to the cache (see flat_map::prefetch): the miss overlaps the locking.
  const shard& prefetched(std::uint64_t h) const noexcept {
    const shard& s = shards_[index_of_hash(h)];
    s.items.prefetch(h);
    return s;
  }
  shard& shard_of(const K& key) noexcept { return shards_[index_of(key)]; }
  const shard& shard_of(const K& key) const noexcept { return shards_[index_of(key)]; }

  std::vector<std::size_t> all_shards() const {
    std::vector<std::size_t> out(count_);
    for (std::size_t i = 0; i < count_; ++i) out[i] = i;
    return out;
  }
  std::vector<std::size_t> shards_for(const std::vector<object>& objects) const {
    std::vector<std::size_t> out;
    out.reserve(objects.size());
    for (const auto& o : objects) out.push_back(index_of(o.first));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  std::optional<K> first_from(std::size_t from) const {
    for (std::size_t i = from; i < count_; ++i) {
      const shard& s = shards_[i];
      read_guard g(s.lock);
      this->check_live();
      if (auto at = s.items.next_position(0); at != map::npos) return s.items.at(at).first;
    }
    return std::nullopt;
  }

  // The caller holds s's write lock.
  void put(shard& s, K key, V value) {
    if constexpr (Multi) {
      auto [e, fresh] = s.items.try_emplace(std::move(key));
      try {
        if constexpr (std::equality_comparable<V>) {
          if (!duplicates_ &&
              std::find(e->second.begin(), e->second.end(), value) != e->second.end()) {
            return;
          }
        }
        e->second.push_back(std::move(value));
      } catch (...) {
        if (fresh) s.items.erase(K(e->first));
        throw;
      }
    } else {
      s.items.insert_or_assign(std::move(key), std::move(value));
    }
  }

  const bool duplicates_;
  const std::size_t count_;
  const std::size_t mask_;
  // Run-time sized, and a shard (holding a lock) is not movable.
  std::unique_ptr<shard[]> shards_;  // NOLINT(modernize-avoid-c-arrays)
};

}  // namespace peeper::detail
