// What a table's key and value types must offer.
//
// A key is copyable and equality-comparable, and hashable (std::hash) for
// set / bag / duplicate_bag or ordered by operator< for ordered_set; the kind
// a table is made with is checked against its key type by make_table. A
// value is copyable; a bag (which keeps distinct values) and erase_object
// also need operator== on values, update_counter an arithmetic value.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <type_traits>

namespace peeper {

/// std::hash<K> is enabled.
template <class K>
concept hashable_key = requires(const K& k) {
  { std::hash<K>{}(k) } -> std::convertible_to<std::size_t>;
};

/// a < b orders keys (a strict weak order).
template <class K>
concept ordered_key = requires(const K& a, const K& b) {
  { a < b } -> std::convertible_to<bool>;
};

template <class K>
concept table_key = std::copy_constructible<K> && std::equality_comparable<K> &&
    (hashable_key<K> || ordered_key<K>);

template <class V>
concept table_value = std::copy_constructible<V> && std::is_move_assignable_v<V>;

/// A value update_counter can add to.
template <class V>
concept counter_value = std::is_arithmetic_v<V> && !std::is_same_v<V, bool>;

}  // namespace peeper
