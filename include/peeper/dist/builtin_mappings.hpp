// The term mappings that come with the codec: standard types and the dist value types.
//
//   C++                               Erlang (encoding)        also decodes from
//   bool                              true | false
//   integral types (char, int...)     integer                  (range-checked: out of range is
//                                                               a decode_error, never truncated)
//   double, float                     float                    (not from integers)
//   std::string                       binary (UTF-8 bytes;     charlist: STRING_EXT, [] or a
//                                     Elixir strings are        list of code points (UTF-8
//                                     binaries)                 encoded into the string)
//   std::vector<T>                    proper list ([] if       STRING_EXT when T is integral
//                                     empty)
//   std::pair<A, B>, std::tuple<...>  tuple of that arity
//   std::map, std::unordered_map      map                      (duplicate keys: decode_error)
//   std::optional<T>                  undefined | T            (so optional<atom> cannot hold
//                                                               the atom undefined)
//   std::monostate                    undefined
//   std::variant<Ts...>               the held alternative     the first alternative that
//                                                               decodes, in order
//   atom, binary, charlist            atom, binary, charlist
//   big_int                           integer (any size)
//   erl_pid, erl_ref                  pid, reference
//   peeper::pid                       pid (needs a pid_context on the writer / reader)
//   term                              any term but ports and funs
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "peeper/dist/errors.hpp"
#include "peeper/dist/mapping.hpp"
#include "peeper/dist/pid_context.hpp"
#include "peeper/dist/term.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper::dist {

template <>
struct term_mapping<bool> {
  static void write(term_writer& w, bool v) { w.write_atom(v ? "true" : "false"); }
  static bool read(term_reader& r) {
    if (r.read_atom_if("true")) {
      return true;
    }
    if (r.read_atom_if("false")) {
      return false;
    }
    r.fail("boolean (true or false)");
  }
};

template <std::integral T>
requires(!std::same_as<T, bool>) struct term_mapping<T> {
  static void write(term_writer& w, T v) {
    if constexpr (std::is_signed_v<T>) {
      w.write_int64(v);
    } else {
      w.write_uint64(v);
    }
  }
  static T read(term_reader& r) {
    if constexpr (std::is_signed_v<T>) {
      return static_cast<T>(
          r.read_int64(std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
    } else {
      return static_cast<T>(r.read_uint64(std::numeric_limits<T>::max()));
    }
  }
};

template <>
struct term_mapping<double> {
  static void write(term_writer& w, double v) { w.write_double(v); }
  static double read(term_reader& r) { return r.read_double(); }
};

/// Encoded as a double; decoding rejects finite values beyond float's range.
template <>
struct term_mapping<float> {
  static void write(term_writer& w, float v) { w.write_double(v); }
  static float read(term_reader& r) {
    const std::size_t start = r.position();
    const double v = r.read_double();
    if (v > std::numeric_limits<float>::max() || v < std::numeric_limits<float>::lowest()) {
      r.rewind(start);
      r.fail("float within the range of C++ float");
    }
    return static_cast<float>(v);
  }
};

template <>
struct term_mapping<std::string> {
  static void write(term_writer& w, const std::string& v) { w.write_binary(std::string_view(v)); }
  static std::string read(term_reader& r) { return r.read_string(); }
};

template <>
struct term_mapping<atom> {
  static void write(term_writer& w, const atom& v) { w.write_atom(v.name); }
  static atom read(term_reader& r) { return r.read_atom(); }
};

template <>
struct term_mapping<binary> {
  static void write(term_writer& w, const binary& v) { w.write_binary(v.bytes); }
  static binary read(term_reader& r) { return r.read_binary(); }
};

template <>
struct term_mapping<charlist> {
  static void write(term_writer& w, const charlist& v) { w.write_charlist(v.chars); }
  static charlist read(term_reader& r) { return r.read_charlist(); }
};

template <>
struct term_mapping<big_int> {
  static void write(term_writer& w, const big_int& v) { w.write_big_int(v); }
  static big_int read(term_reader& r) { return r.read_big_int(); }
};

template <>
struct term_mapping<erl_pid> {
  static void write(term_writer& w, const erl_pid& v) { w.write_pid(v); }
  static erl_pid read(term_reader& r) { return r.read_pid(); }
};

template <>
struct term_mapping<erl_ref> {
  static void write(term_writer& w, const erl_ref& v) { w.write_ref(v); }
  static erl_ref read(term_reader& r) { return r.read_ref(); }
};

/// A local pid, translated by the writer's / reader's pid_context. Throws encode_error /
/// decode_error when there is none.
template <>
struct term_mapping<pid> {
  static void write(term_writer& w, const pid& v);
  static pid read(term_reader& r);
};

/// Any term but ports and funs.
template <>
struct term_mapping<term> {
  static void write(term_writer& w, const term& v);
  static term read(term_reader& r);
};

template <>
struct term_mapping<std::monostate> {
  static void write(term_writer& w, std::monostate /*unused*/) { w.write_atom("undefined"); }
  static std::monostate read(term_reader& r) {
    r.expect_atom("undefined");
    return {};
  }
};

template <term_mappable T>
struct term_mapping<std::optional<T>> {
  static void write(term_writer& w, const std::optional<T>& v) {
    if (v) {
      w.write(*v);
    } else {
      w.write_atom("undefined");
    }
  }
  static std::optional<T> read(term_reader& r) {
    if (r.read_atom_if("undefined")) {
      return std::nullopt;
    }
    return r.read<T>();
  }
};

template <term_mappable T, class Allocator>
struct term_mapping<std::vector<T, Allocator>> {
  static void write(term_writer& w, const std::vector<T, Allocator>& v) {
    if (!v.empty()) {
      w.write_list_header(v.size());
      for (const auto& element : v) {
        w.write(element);
      }
    }
    w.write_nil();
  }
  static std::vector<T, Allocator> read(term_reader& r) {
    std::vector<T, Allocator> v;
    if constexpr (std::integral<T> && !std::same_as<T, bool>) {
      if (r.peek() == term_kind::string) {
        // Erlang sends lists of small integers as STRING_EXT: each byte is one element.
        const std::size_t start = r.position();
        const charlist chars = r.read_charlist();
        v.reserve(chars.chars.size());
        for (const char c : chars.chars) {
          const auto code = static_cast<unsigned char>(c);
          if (!std::in_range<T>(code)) {
            r.rewind(start);
            r.fail("list of integers within the element type's range");
          }
          v.push_back(static_cast<T>(code));
        }
        return v;
      }
    }
    const std::size_t length = r.read_list_header();
    v.reserve(length);  // bounded: the reader checked that the list's bytes are all there
    for (std::size_t i = 0; i < length; ++i) {
      v.push_back(r.read<T>());
    }
    if (length != 0) {
      r.read_nil();
    }
    return v;
  }
};

template <term_mappable A, term_mappable B>
struct term_mapping<std::pair<A, B>> {
  static void write(term_writer& w, const std::pair<A, B>& v) {
    w.write_tuple_header(2);
    w.write(v.first);
    w.write(v.second);
  }
  static std::pair<A, B> read(term_reader& r) {
    r.read_tuple_header(2);
    A first = r.read<A>();
    return {std::move(first), r.read<B>()};
  }
};

template <term_mappable... Ts>
struct term_mapping<std::tuple<Ts...>> {
  static void write(term_writer& w, const std::tuple<Ts...>& v) {
    w.write_tuple_header(sizeof...(Ts));
    std::apply([&](const auto&... element) { (w.write(element), ...); }, v);
  }
  static std::tuple<Ts...> read(term_reader& r) {
    r.read_tuple_header(sizeof...(Ts));
    // Braced initialisation evaluates the elements in order.
    return std::tuple<Ts...>{r.read<Ts>()...};
  }
};

namespace detail {

template <class Map>
void write_map(term_writer& w, const Map& m) {
  w.write_map_header(m.size());
  for (const auto& [key, value] : m) {
    w.write(key);
    w.write(value);
  }
}

template <class Map>
Map read_map(term_reader& r) {
  Map m;
  const std::size_t size = r.read_map_header();
  for (std::size_t i = 0; i < size; ++i) {
    const std::size_t key_position = r.position();
    auto key = r.read<typename Map::key_type>();
    auto value = r.read<typename Map::mapped_type>();
    if (!m.try_emplace(std::move(key), std::move(value)).second) {
      r.rewind(key_position);
      r.fail("map without duplicate keys (after conversion to the C++ key type)");
    }
  }
  return m;
}

}  // namespace detail

template <term_mappable K, term_mappable V, class Compare, class Allocator>
struct term_mapping<std::map<K, V, Compare, Allocator>> {
  static void write(term_writer& w, const std::map<K, V, Compare, Allocator>& m) {
    detail::write_map(w, m);
  }
  static std::map<K, V, Compare, Allocator> read(term_reader& r) {
    return detail::read_map<std::map<K, V, Compare, Allocator>>(r);
  }
};

template <term_mappable K, term_mappable V, class Hash, class Equal, class Allocator>
struct term_mapping<std::unordered_map<K, V, Hash, Equal, Allocator>> {
  static void write(term_writer& w, const std::unordered_map<K, V, Hash, Equal, Allocator>& m) {
    detail::write_map(w, m);
  }
  static std::unordered_map<K, V, Hash, Equal, Allocator> read(term_reader& r) {
    return detail::read_map<std::unordered_map<K, V, Hash, Equal, Allocator>>(r);
  }
};

namespace detail {
// Throws decode_error "expected one of the variant's alternatives (<errors>), found ...".
[[noreturn]] void fail_variant(term_reader& r, std::size_t start, const std::string& errors);

template <class Variant, std::size_t I>
bool try_alternative(term_reader& r, std::size_t start, std::optional<Variant>& out,
                     std::string& errors) {
  try {
    out.emplace(std::in_place_index<I>, r.read<std::variant_alternative_t<I, Variant>>());
    return true;
  } catch (const decode_error& e) {
    errors += errors.empty() ? "" : "; ";
    errors += e.what();
    r.rewind(start);
    return false;
  }
}
}  // namespace detail

template <term_mappable... Ts>
struct term_mapping<std::variant<Ts...>> {
  static void write(term_writer& w, const std::variant<Ts...>& v) {
    std::visit([&](const auto& alternative) { w.write(alternative); }, v);
  }
  static std::variant<Ts...> read(term_reader& r) {
    const std::size_t start = r.position();
    std::optional<std::variant<Ts...>> out;
    std::string errors;
    const bool found = [&]<std::size_t... Is>(std::index_sequence<Is...>) {
      return (detail::try_alternative<std::variant<Ts...>, Is>(r, start, out, errors) || ...);
    }
    (std::index_sequence_for<Ts...>{});
    if (!found) {
      detail::fail_variant(r, start, errors);
    }
    return *std::move(out);
  }
};

}  // namespace peeper::dist
