// table<K, V>: the typed handle to a process-owned, ETS-like table.
//
// Make one with make_table<K, V> (make_table.hpp) inside a process. A handle
// is cheap to copy and safe to use from any thread, in or out of processes;
// copies name the same table. What a caller may do depends on the table's
// access (table_access): a forbidden call throws table_error access_denied
// and changes nothing. A thread that is not running a process is never the
// owner, so it may read public and protected tables and write public ones.
//
// Atomicity: every call is atomic and isolated: it sees the table as some
// other call left it, never half-way. That holds for the calls on several
// objects too (insert of a batch, insert_new of a batch, select,
// select_delete, clear, size, to_list). update(key, fn) runs fn under the
// key's write lock, so read-modify-write needs no retry loop; fn must not use
// the same table (it would deadlock on that lock).
//
// Traversal with first / next (and last / prev): every call is atomic on its
// own. For an ordered_set, a walk made while others write returns, in key
// order and exactly once, every key present for the whole walk; next(k)
// works even if k has been erased meanwhile. For the hash kinds the order is
// unspecified but stable while the table does not change; a walk while
// others write may miss or repeat keys, and next(k) throws table_error
// bad_key if k has been erased. For a consistent view of a changing hash
// table use to_list() or select(), which are atomic snapshots.
//
// Every operation throws table_error deleted once the table is deleted (its
// owner died with no heir to take it, or destroy() was called) and for the
// null handle. Exceptions thrown by K's or V's own operations (copy, hash,
// ==, <, allocation) pass through; the table is left valid (objects a batch
// insert had stored before the throw stay stored).
#pragma once

#include <concepts>
#include <initializer_list>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "peeper/table/any_table.hpp"
#include "peeper/table/concepts.hpp"
#include "peeper/table/detail/table_store.hpp"
#include "peeper/table/errors.hpp"

namespace peeper {

template <table_key K, table_value V>
class table : public any_table {
 public:
  using key_type = K;
  using value_type = V;
  /// One key-value pair: what insert takes and select returns.
  using object = std::pair<K, V>;

  /// The null handle.
  table() noexcept = default;
  /// For the library's own use (make_table, table_cast).
  explicit table(std::shared_ptr<detail::table_store<K, V>> store) noexcept
      : any_table(std::move(store)) {}

  // ---- writes: need write access (access_denied otherwise) ------------------

  /// Stores (key, value). A set or ordered_set replaces the key's value; a
  /// bag adds the value unless the key already has an equal one; a
  /// duplicate_bag always adds it.
  void insert(K key, V value) const { store().insert(std::move(key), std::move(value)); }
  /// Stores every object, as one atomic step (as if one by one, in order).
  void insert(std::vector<object> objects) const { store().insert_many(std::move(objects)); }
  void insert(std::initializer_list<object> objects) const {
    store().insert_many(std::vector<object>(objects));
  }
  /// Stores (key, value) only if the key is absent. Returns false (and
  /// stores nothing) if it is present.
  bool insert_new(K key, V value) const {
    return store().insert_new(std::move(key), std::move(value));
  }
  /// Stores every object only if none of their keys is present, atomically.
  /// Returns false (and stores nothing) otherwise.
  bool insert_new(std::vector<object> objects) const {
    return store().insert_new_many(std::move(objects));
  }
  bool insert_new(std::initializer_list<object> objects) const {
    return store().insert_new_many(std::vector<object>(objects));
  }

  /// Removes the key and all its values. Returns false if it was absent.
  bool erase(const K& key) const { return store().erase(key); }
  /// Removes the object (key, value): every copy of it in a duplicate_bag.
  /// Returns false if there was none.
  bool erase_object(const K& key, const V& value) const requires std::equality_comparable<V> {
    return store().erase_object(key, value);
  }
  /// Removes the key and returns its values (empty if it was absent).
  std::vector<V> take(const K& key) const { return store().take(key); }
  /// Removes every object.
  void clear() const { store().clear(); }

  /// Sets and ordered_sets: adds `increment` to the key's value and returns
  /// the new value, atomically (integers wrap around). Throws table_error
  /// bad_key if the key is absent, unsupported for a bag kind.
  V update_counter(const K& key, V increment) const requires counter_value<V> {
    V result{};
    if (!store().modify(
            key, nullptr, [&](V& v) { result = v = add(v, increment); }, false)) {
      store().fail(table_errc::bad_key, "update_counter: the key is not in the table");
    }
    return result;
  }
  /// As above, but an absent key is first inserted with `initial`.
  V update_counter(const K& key, V increment, V initial) const requires counter_value<V> {
    V result{};
    store().modify(
        key, &initial, [&](V& v) { result = v = add(v, increment); }, false);
    return result;
  }
  /// Sets and ordered_sets: runs fn(V&) on the key's value under the key's
  /// write lock. fn works on a copy that replaces the value only if fn
  /// returns, so a throwing fn leaves the value as it was (its exception
  /// passes through). Returns false if the key is absent (fn not called).
  /// Throws table_error unsupported for a bag kind.
  template <std::invocable<V&> F>
  bool update(const K& key, F&& fn) const {
    return store().modify(
        key, nullptr, [&](V& v) { fn(v); }, true);
  }
  /// As update, but an absent key is first given a copy of `initial` (fn
  /// then runs on it), so fn always runs.
  template <std::invocable<V&> F>
  void upsert(const K& key, const V& initial, F&& fn) const {
    store().modify(
        key, &initial, [&](V& v) { fn(v); }, true);
  }

  /// Removes every object for which pred(key, value) is true, atomically.
  /// Returns how many it removed. pred runs under the table's locks: it must
  /// not use the table.
  template <std::predicate<const K&, const V&> P>
  std::size_t select_delete(P&& pred) const {
    return store().select_delete([&](const K& k, const V& v) { return pred(k, v); });
  }

  // ---- reads: need read access (access_denied for a private table) ----------

  /// Every value of the key (at most one for sets), in insertion order for
  /// bags; empty if the key is absent.
  [[nodiscard]] std::vector<V> lookup(const K& key) const { return store().lookup(key); }
  /// The key's value (a bag's first one), or nothing: lookup without the
  /// vector, the fast path for sets.
  [[nodiscard]] std::optional<V> find(const K& key) const { return store().find(key); }
  /// Calls fn(const V&) on each value of the key without copying it, under
  /// the key's read lock (fn must not use the table). Returns false if the
  /// key is absent.
  template <std::invocable<const V&> F>
  bool visit(const K& key, F&& fn) const {
    return store().visit(key, [&](const V& v) { fn(v); });
  }
  /// True if the key is present.
  [[nodiscard]] bool member(const K& key) const { return store().member(key); }
  /// How many values the key has (0 or 1 for sets).
  [[nodiscard]] std::size_t count(const K& key) const { return store().count(key); }

  /// Every object for which pred(key, value) is true (ETS's select, match
  /// and match_object in one), as an atomic snapshot: in key order for an
  /// ordered_set, in the table's order otherwise. pred runs under the
  /// table's locks: it must not use the table.
  template <std::predicate<const K&, const V&> P>
  [[nodiscard]] std::vector<object> select(P&& pred) const {
    return store().select([&](const K& k, const V& v) { return pred(k, v); });
  }
  /// Every object, as an atomic snapshot.
  [[nodiscard]] std::vector<object> to_list() const {
    return store().select([](const K&, const V&) { return true; });
  }

  /// The first key (the smallest for an ordered_set), or nothing if empty.
  [[nodiscard]] std::optional<K> first() const { return store().first(); }
  /// The key after `key`, or nothing at the end. Throws table_error bad_key
  /// for a hash kind if `key` is absent (see the traversal note above).
  [[nodiscard]] std::optional<K> next(const K& key) const { return store().next(key); }
  /// The last key (the largest for an ordered_set; first() for hash kinds,
  /// as in ETS).
  [[nodiscard]] std::optional<K> last() const { return store().last(); }
  /// The key before `key` (next() for hash kinds, as in ETS).
  [[nodiscard]] std::optional<K> prev(const K& key) const { return store().prev(key); }

 private:
  detail::table_store<K, V>& store() const {
    // The core is a table_store<K, V>: made so by make_table, checked by table_cast.
    return static_cast<detail::table_store<K, V>&>(core());
  }
  static V add(V a, V b) noexcept {
    if constexpr (std::is_integral_v<V>) {
      using u = std::make_unsigned_t<V>;
      return static_cast<V>(static_cast<u>(static_cast<u>(a) + static_cast<u>(b)));
    } else {
      return static_cast<V>(a + b);
    }
  }
};

/// The typed handle of `t`. Throws table_error bad_type if the table holds
/// other key or value types, deleted for the null handle. (A deleted table
/// converts; using it then throws deleted.)
template <table_key K, table_value V>
table<K, V> table_cast(const any_table& t) {
  if (!t) throw table_error(table_errc::deleted, "table_cast: null table handle");
  if (!t.holds<K, V>()) {
    t.core_ptr()->fail(table_errc::bad_type, "table_cast: the table holds " +
                                                 t.core_ptr()->types().to_string() + ", not " +
                                                 detail::table_types::of<K, V>().to_string());
  }
  return table<K, V>(std::static_pointer_cast<detail::table_store<K, V>>(t.core_ptr()));
}

}  // namespace peeper
