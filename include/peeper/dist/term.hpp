// term: any Erlang term, as a dynamic C++ value.
//
// A term owns a tree of values: integers (std::int64_t, or big_int beyond 64 bits), floats
// (double), atoms, binaries, charlists, lists (proper or improper), tuples, maps, pids and
// references. Ports and funs have no term form: decoding one into a term is a decode_error.
// term is what a receiver decodes into when it accepts anything; typed mappings
// (peeper/dist/mapping.hpp) are the usual way in and out.
//
//   term t = term_tuple{{atom{"ok"}, 42}};
//   t.to_string();                            // "{ok,42}"
//   t.as<term_tuple>().elements[1].as<std::int64_t>();  // 42
#pragma once

#include <concepts>
#include <cstdint>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "peeper/dist/types.hpp"

namespace peeper::dist {

class term;

/// A list: `[1, 2, 3]`, or an improper list `[1, 2 | tail]` when `tail` is set. The empty list
/// `[]` (nil) has no elements and no tail. The tail is shared and immutable: copying a list is
/// a deep copy of the elements and a shared reference to the tail.
struct term_list {
  std::vector<term> elements;
  std::shared_ptr<const term> tail;

  /// True unless the list has a tail other than [].
  [[nodiscard]] bool proper() const noexcept { return tail == nullptr; }
  /// Element-wise equality, tails compared by value.
  friend bool operator==(const term_list& a, const term_list& b);
};

/// A tuple: `{ok, 42}`.
struct term_tuple {
  std::vector<term> elements;
  friend bool operator==(const term_tuple& a, const term_tuple& b);
};

/// A map: `#{a => 1}`, its entries in the order they were decoded or built (no duplicate keys
/// are checked for here; the encoder sends them as they are).
struct term_map {
  std::vector<std::pair<term, term>> entries;
  friend bool operator==(const term_map& a, const term_map& b);
};

/// Any Erlang term. The default term is the empty list [].
class term {
 public:
  using value_type = std::variant<std::int64_t, big_int, double, atom, binary, charlist, term_list,
                                  term_tuple, term_map, erl_pid, erl_ref>;

  // What the converting constructor takes: anything but a term that initialises value_type.
  template <class V>
  static constexpr bool is_value =
      !std::is_same_v<std::remove_cvref_t<V>, term> && std::is_constructible_v<value_type, V&&>;

  /// The empty list [].
  term() : value_(term_list{}) {}
  /// A term holding `v`: any alternative of value_type, or what converts to exactly one
  /// (an int becomes std::int64_t).
  template <class V, std::enable_if_t<is_value<V>, int> = 0>
  term(V&& v) : value_(std::forward<V>(v)) {}

  /// The integer `v`: std::int64_t when it fits, else big_int.
  template <std::integral Int>
  requires(!std::same_as<Int, bool>) [[nodiscard]] static term integer(Int v) {
    if constexpr (std::is_signed_v<Int> || sizeof(Int) < sizeof(std::int64_t)) {
      return term(static_cast<std::int64_t>(v));
    } else {
      if (v <= static_cast<Int>(std::numeric_limits<std::int64_t>::max())) {
        return term(static_cast<std::int64_t>(v));
      }
      return term(big_int(v));
    }
  }

  /// The held alternative.
  [[nodiscard]] const value_type& value() const noexcept { return value_; }
  [[nodiscard]] value_type& value() noexcept { return value_; }
  /// True if the held alternative is T.
  template <class T>
  [[nodiscard]] bool is() const noexcept {
    return std::holds_alternative<T>(value_);
  }
  /// The held T. Throws std::bad_variant_access if the term holds another alternative.
  template <class T>
  [[nodiscard]] const T& as() const {
    return std::get<T>(value_);
  }
  template <class T>
  [[nodiscard]] T& as() {
    return std::get<T>(value_);
  }
  /// The held T, or nullptr.
  template <class T>
  [[nodiscard]] const T* get_if() const noexcept {
    return std::get_if<T>(&value_);
  }
  /// True for the empty list [] (an empty term_list or an empty charlist).
  [[nodiscard]] bool is_nil() const noexcept;

  /// Erlang syntax, as io:format("~p") writes it on one line: `{ok,[1,2|3],#{a => <<"b">>}}`.
  /// Pids and references print with their node's name (erl_pid::to_string()).
  [[nodiscard]] std::string to_string() const;

  /// Exact equality (Erlang's =:=): 1 and 1.0 differ; a charlist equals the list of the same
  /// character codes, and a big_int the std::int64_t of the same value.
  friend bool operator==(const term& a, const term& b);
  friend std::ostream& operator<<(std::ostream& os, const term& t) { return os << t.to_string(); }

 private:
  value_type value_;
};

}  // namespace peeper::dist
