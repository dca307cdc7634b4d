// ordered_set: a std::map in key order under one reader-writer lock (with
// reader slots under read_concurrency, so that readers on different cores
// do not contend). Every operation, whole-table ones included, is atomic.
//
// Traversal: next(k) and prev(k) are answered from the key order, whether or
// not k is still in the table, so a first/next walk made while others write
// returns, in ascending order and exactly once, every key present for the
// whole walk (keys inserted or erased meanwhile may or may not appear).
#pragma once

#include <map>
#include <vector>

#include "peeper/table/concepts.hpp"
#include "peeper/table/detail/rw_lock.hpp"
#include "peeper/table/detail/table_store.hpp"

namespace peeper::detail {

template <class K, class V>
class ordered_table final : public table_store<K, V> {
  using base = table_store<K, V>;
  using pred_ref = function_ref<bool(const K&, const V&)>;

 public:
  using typename base::object;

  ordered_table(table_options options, table_types types) : base(options, types) {
    if (options.read_concurrency) lock_.use_reader_slots();
  }
  ordered_table(const ordered_table&) = delete;
  ordered_table& operator=(const ordered_table&) = delete;
  ~ordered_table() override = default;

  // ---- writes ---------------------------------------------------------------
  void insert(K key, V value) override {
    this->check_write();
    write_guard g(lock_);
    this->check_live();
    items_.insert_or_assign(std::move(key), std::move(value));
  }
  void insert_many(std::vector<object> objects) override {
    this->check_write();
    write_guard g(lock_);
    this->check_live();
    for (auto& [k, v] : objects) items_.insert_or_assign(std::move(k), std::move(v));
  }
  bool insert_new(K key, V value) override {
    this->check_write();
    write_guard g(lock_);
    this->check_live();
    return items_.try_emplace(std::move(key), std::move(value)).second;
  }
  bool insert_new_many(std::vector<object> objects) override {
    this->check_write();
    write_guard g(lock_);
    this->check_live();
    for (const auto& o : objects) {
      if (items_.contains(o.first)) return false;
    }
    for (auto& [k, v] : objects) items_.insert_or_assign(std::move(k), std::move(v));
    return true;
  }
  bool erase(const K& key) override {
    this->check_write();
    write_guard g(lock_);
    this->check_live();
    return items_.erase(key) > 0;
  }
  bool erase_object(const K& key, const V& value) override {
    this->check_write();
    if constexpr (std::equality_comparable<V>) {
      write_guard g(lock_);
      this->check_live();
      auto it = items_.find(key);
      if (it == items_.end() || !(it->second == value)) return false;
      items_.erase(it);
      return true;
    } else {
      this->fail(table_errc::unsupported, "erase_object needs operator== on values");
    }
  }
  std::vector<V> take(const K& key) override {
    this->check_write();
    write_guard g(lock_);
    this->check_live();
    auto node = items_.extract(key);
    std::vector<V> out;
    if (!node.empty()) out.push_back(std::move(node.mapped()));
    return out;
  }
  bool modify(const K& key, const V* init, function_ref<void(V&)> fn, bool copy) override {
    this->check_write();
    write_guard g(lock_);
    this->check_live();
    auto it = items_.find(key);
    if (it == items_.end()) {
      if (init == nullptr) return false;
      V value = *init;
      fn(value);
      items_.emplace(key, std::move(value));
      return true;
    }
    if (copy) {
      V value = it->second;
      fn(value);
      it->second = std::move(value);
    } else {
      fn(it->second);
    }
    return true;
  }
  void clear() override {
    this->check_write();
    write_guard g(lock_);
    this->check_live();
    items_.clear();
  }
  std::size_t select_delete(pred_ref pred) override {
    this->check_write();
    write_guard g(lock_);
    this->check_live();
    return std::erase_if(items_, [&](const auto& kv) { return pred(kv.first, kv.second); });
  }

  // ---- reads ----------------------------------------------------------------
  std::vector<V> lookup(const K& key) const override {
    this->check_read();
    read_guard g(lock_);
    this->check_live();
    auto it = items_.find(key);
    if (it == items_.end()) return {};
    return {it->second};
  }
  std::optional<V> find(const K& key) const override {
    this->check_read();
    read_guard g(lock_);
    this->check_live();
    auto it = items_.find(key);
    if (it == items_.end()) return std::nullopt;
    return it->second;
  }
  bool visit(const K& key, function_ref<void(const V&)> fn) const override {
    this->check_read();
    read_guard g(lock_);
    this->check_live();
    auto it = items_.find(key);
    if (it == items_.end()) return false;
    fn(it->second);
    return true;
  }
  bool member(const K& key) const override {
    this->check_read();
    read_guard g(lock_);
    this->check_live();
    return items_.contains(key);
  }
  std::size_t count(const K& key) const override { return member(key) ? 1 : 0; }
  std::size_t object_count() const override {
    read_guard g(lock_);
    this->check_live();
    return items_.size();
  }
  std::vector<object> select(pred_ref pred) const override {
    this->check_read();
    read_guard g(lock_);
    this->check_live();
    std::vector<object> out;
    for (const auto& [k, v] : items_) {
      if (pred(k, v)) out.emplace_back(k, v);
    }
    return out;
  }
  std::optional<K> first() const override {
    this->check_read();
    read_guard g(lock_);
    this->check_live();
    if (items_.empty()) return std::nullopt;
    return items_.begin()->first;
  }
  std::optional<K> last() const override {
    this->check_read();
    read_guard g(lock_);
    this->check_live();
    if (items_.empty()) return std::nullopt;
    return items_.rbegin()->first;
  }
  std::optional<K> next(const K& key) const override {
    this->check_read();
    read_guard g(lock_);
    this->check_live();
    auto it = items_.upper_bound(key);
    if (it == items_.end()) return std::nullopt;
    return it->first;
  }
  std::optional<K> prev(const K& key) const override {
    this->check_read();
    read_guard g(lock_);
    this->check_live();
    auto it = items_.lower_bound(key);
    if (it == items_.begin()) return std::nullopt;
    return std::prev(it)->first;
  }

 protected:
  void clear_data() noexcept override {
    std::map<K, V> doomed;
    {
      write_guard g(lock_);
      doomed.swap(items_);
    }
  }

 private:
  mutable rw_lock lock_;
  std::map<K, V> items_;
};

}  // namespace peeper::detail
