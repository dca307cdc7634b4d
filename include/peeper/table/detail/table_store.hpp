// The typed interface every table implementation provides (hash_table for
// set / bag / duplicate_bag, ordered_table for ordered_set). table<K, V>
// forwards to it; the contracts are documented on table<K, V>.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "peeper/table/detail/function_ref.hpp"
#include "peeper/table/detail/table_core.hpp"

namespace peeper::detail {

template <class K, class V>
class table_store : public table_core {
 public:
  using object = std::pair<K, V>;
  using table_core::table_core;

  virtual void insert(K key, V value) = 0;
  virtual void insert_many(std::vector<object> objects) = 0;
  virtual bool insert_new(K key, V value) = 0;
  virtual bool insert_new_many(std::vector<object> objects) = 0;

  [[nodiscard]] virtual std::vector<V> lookup(const K& key) const = 0;
  [[nodiscard]] virtual std::optional<V> find(const K& key) const = 0;
  virtual bool visit(const K& key, function_ref<void(const V&)> fn) const = 0;
  [[nodiscard]] virtual bool member(const K& key) const = 0;
  [[nodiscard]] virtual std::size_t count(const K& key) const = 0;

  virtual bool erase(const K& key) = 0;
  virtual bool erase_object(const K& key, const V& value) = 0;
  virtual std::vector<V> take(const K& key) = 0;
  /// Applies `fn` to the value of `key` (a set's only value), first inserting
  /// *init if the key is absent and init is set. With `copy`, fn works on a
  /// copy that replaces the value only if fn returns normally. Returns false
  /// if the key was absent and there was no init.
  virtual bool modify(const K& key, const V* init, function_ref<void(V&)> fn, bool copy) = 0;
  virtual void clear() = 0;

  [[nodiscard]] virtual std::vector<object> select(
      function_ref<bool(const K&, const V&)> pred) const = 0;
  virtual std::size_t select_delete(function_ref<bool(const K&, const V&)> pred) = 0;

  [[nodiscard]] virtual std::optional<K> first() const = 0;
  [[nodiscard]] virtual std::optional<K> last() const = 0;
  [[nodiscard]] virtual std::optional<K> next(const K& key) const = 0;
  [[nodiscard]] virtual std::optional<K> prev(const K& key) const = 0;
};

}  // namespace peeper::detail
