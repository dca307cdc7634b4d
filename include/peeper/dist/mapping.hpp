// term_mapping<T>: how a C++ type maps to an Erlang term, declared once per type.
//
// A mapping is a specialisation of peeper::dist::term_mapping in one of two forms.
//
// Declarative: a tag, fields (pointers to data members), or both.
//
//   struct point { int x = 0; int y = 0; };
//   template <> struct peeper::dist::term_mapping<point> {
//     static constexpr std::string_view tag = "point";
//     static constexpr auto fields = std::make_tuple(&point::x, &point::y);
//   };
//
//   tag and fields      {point, X, Y}   (a tagged tuple, Erlang's record convention)
//   fields only         {X, Y}
//   tag only            point           (the bare atom: `struct get {};` tagged "get" is what
//                                        gen_server:call(Name, get) sends)
//
// Decoding checks the arity and the tag, then reads each field in order into a
// value-initialised T (T must be default-constructible; each field's type must be mappable).
//
// Custom: two static functions, for anything else (other shapes, validation, versioning):
//
//   template <> struct peeper::dist::term_mapping<celsius> {
//     static void write(term_writer& w, const celsius& c) { w.write_double(c.value); }
//     static celsius read(term_reader& r) { return celsius{r.read_double()}; }
//   };
//
// read() throws decode_error for a term it does not accept (term_reader::fail() builds one);
// write() throws encode_error for a value that has no encoding. When both forms are present,
// the custom functions are used. The built-in mappings (std types and the dist value types)
// are in peeper/dist/builtin_mappings.hpp.
#pragma once

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "peeper/dist/term_reader.hpp"
#include "peeper/dist/term_writer.hpp"

namespace peeper::dist {

/// The customisation point: specialise it for your type (see above).
template <class T>
struct term_mapping;

namespace detail {

template <class T>
inline constexpr bool is_member_pointer_tuple = false;
template <class... Ms>
inline constexpr bool is_member_pointer_tuple<std::tuple<Ms...>> =
    (std::is_member_object_pointer_v<Ms> && ...);

}  // namespace detail

/// T's mapping has static write(term_writer&, const T&) and read(term_reader&) -> T.
template <class T>
concept custom_term_mapping = requires(term_writer& w, term_reader& r, const T& v) {
  term_mapping<T>::write(w, v);
  { term_mapping<T>::read(r) } -> std::same_as<T>;
};

/// T's mapping has a tag (convertible to std::string_view) and/or fields (a std::tuple of
/// pointers to data members).
template <class T>
concept declarative_term_mapping =
    (
        requires { std::string_view{term_mapping<T>::tag}; } ||
        requires {
          requires detail::is_member_pointer_tuple<
              std::remove_cvref_t<decltype(term_mapping<T>::fields)>>;
        }) &&
    std::default_initializable<T>;

/// T has a term_mapping in either form.
template <class T>
concept term_mappable =
    custom_term_mapping<std::remove_cvref_t<T>> || declarative_term_mapping<std::remove_cvref_t<T>>;

namespace detail {

template <class T>
concept has_tag = requires {
  std::string_view{term_mapping<T>::tag};
};
template <class T>
concept has_fields = requires {
  term_mapping<T>::fields;
};

template <class T>
constexpr std::size_t field_count() {
  if constexpr (has_fields<T>) {
    return std::tuple_size_v<std::remove_cvref_t<decltype(term_mapping<T>::fields)>>;
  } else {
    return 0;
  }
}

// "{point, _, _}", "point", "{_, _}": the expected shape, for error messages.
template <class T>
std::string declared_shape() {
  std::string tag;
  if constexpr (has_tag<T>) {
    tag = atom{std::string(term_mapping<T>::tag)}.to_string();
    if constexpr (!has_fields<T>) {
      return tag;
    }
  }
  std::string shape = "{" + tag;
  for (std::size_t i = 0; i < field_count<T>(); ++i) {
    shape += (i == 0 && tag.empty()) ? "_" : ", _";
  }
  return shape + "}";
}

template <class T>
void write_declared(term_writer& w, const T& value) {
  if constexpr (has_tag<T> && !has_fields<T>) {
    w.write_atom(term_mapping<T>::tag);
  } else {
    w.write_tuple_header(field_count<T>() + (has_tag<T> ? 1 : 0));
    if constexpr (has_tag<T>) {
      w.write_atom(term_mapping<T>::tag);
    }
    std::apply([&](auto... member) { (w.write(value.*member), ...); }, term_mapping<T>::fields);
  }
}

template <class T>
T read_declared(term_reader& r) {
  T value{};
  if constexpr (has_tag<T> && !has_fields<T>) {
    if (!r.read_atom_if(term_mapping<T>::tag)) {
      r.fail(declared_shape<T>());
    }
  } else {
    const std::size_t start = r.position();
    constexpr std::size_t arity = field_count<T>() + (has_tag<T> ? 1 : 0);
    if (r.peek() != term_kind::tuple || r.read_tuple_header() != arity) {
      r.rewind(start);
      r.fail(declared_shape<T>());
    }
    if constexpr (has_tag<T>) {
      if (!r.read_atom_if(term_mapping<T>::tag)) {
        r.rewind(start);
        r.fail(declared_shape<T>());
      }
    }
    std::apply(
        [&](auto... member) {
          ((value.*member = r.read<std::remove_cvref_t<decltype(value.*member)>>()), ...);
        },
        term_mapping<T>::fields);
  }
  return value;
}

template <class T>
void write_value(term_writer& w, const T& value) {
  static_assert(term_mappable<T>,
                "no term_mapping for this type: specialise peeper::dist::term_mapping<T> "
                "(see peeper/dist/mapping.hpp), or include peeper/dist/codec.hpp for the "
                "built-in mappings");
  if constexpr (custom_term_mapping<T>) {
    term_mapping<T>::write(w, value);
  } else if constexpr (declarative_term_mapping<T>) {
    write_declared(w, value);
  }
}

template <class T>
T read_value(term_reader& r) {
  static_assert(term_mappable<T>,
                "no term_mapping for this type: specialise peeper::dist::term_mapping<T> "
                "(see peeper/dist/mapping.hpp), or include peeper/dist/codec.hpp for the "
                "built-in mappings");
  if constexpr (custom_term_mapping<T>) {
    return term_mapping<T>::read(r);
  } else {
    return read_declared<T>(r);
  }
}

}  // namespace detail
}  // namespace peeper::dist
