// The mappings of term and peeper::pid, and the variant's failure message.
#include <memory>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "peeper/dist/builtin_mappings.hpp"
#include "peeper/dist/errors.hpp"

namespace peeper::dist {

void term_mapping<pid>::write(term_writer& w, const pid& v) {
  if (w.pids() == nullptr) {
    throw encode_error(
        "cannot encode a peeper::pid without a pid_context: pass the node's to encode() or "
        "term_writer, or send an erl_pid");
  }
  w.write_pid(w.pids()->to_erl(v));
}

pid term_mapping<pid>::read(term_reader& r) {
  const std::size_t start = r.position();
  const erl_pid p = r.read_pid();
  if (r.pids() == nullptr) {
    throw decode_error(
        fmt::format("cannot decode the pid {} into a peeper::pid without a pid_context (pass the "
                    "node's to decode() or term_reader, or decode an erl_pid) at byte {}",
                    p.to_string(), start),
        start);
  }
  return r.pids()->from_erl(p);
}

namespace {

void write_list(term_writer& w, const term_list& l) {
  if (l.elements.empty()) {
    if (l.tail) {
      term_mapping<term>::write(w, *l.tail);  // [ | T] is T
    } else {
      w.write_nil();
    }
    return;
  }
  w.write_list_header(l.elements.size());
  for (const auto& element : l.elements) {
    term_mapping<term>::write(w, element);
  }
  if (l.tail) {
    term_mapping<term>::write(w, *l.tail);
  } else {
    w.write_nil();
  }
}

// A list's elements and tail. A tail that is itself a list (which Erlang never sends, but the
// format allows) is flattened into the elements, as binary_to_term/1 does.
term read_list(term_reader& r) {
  term_list out;
  for (;;) {
    const term_kind kind = r.peek();
    if (kind == term_kind::nil) {
      r.read_nil();
      break;
    }
    if (kind == term_kind::string) {
      for (const char c : r.read_charlist().chars) {
        out.elements.emplace_back(std::int64_t{static_cast<std::uint8_t>(c)});
      }
      break;
    }
    if (kind != term_kind::list) {
      out.tail = std::make_shared<const term>(term_mapping<term>::read(r));
      break;
    }
    const std::size_t length = r.read_list_header();
    out.elements.reserve(out.elements.size() + length);
    for (std::size_t i = 0; i < length; ++i) {
      out.elements.push_back(term_mapping<term>::read(r));
    }
  }
  return out;
}

}  // namespace

void term_mapping<term>::write(term_writer& w, const term& v) {
  std::visit(
      [&w](const auto& value) {
        using V = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<V, term_list>) {
          write_list(w, value);
        } else if constexpr (std::is_same_v<V, term_tuple>) {
          w.write_tuple_header(value.elements.size());
          for (const auto& element : value.elements) {
            write(w, element);
          }
        } else if constexpr (std::is_same_v<V, term_map>) {
          w.write_map_header(value.entries.size());
          for (const auto& [key, mapped] : value.entries) {
            write(w, key);
            write(w, mapped);
          }
        } else {
          w.write(value);
        }
      },
      v.value());
}

term term_mapping<term>::read(term_reader& r) {
  constexpr std::string_view expected = "a term other than a port, a fun or a bitstring";
  if (r.at_end()) {
    r.fail(expected);
  }
  switch (r.peek()) {
    case term_kind::integer: {
      big_int v = r.read_big_int();
      if (const auto small = v.to_int64()) {
        return *small;
      }
      return v;
    }
    case term_kind::floating:
      return r.read_double();
    case term_kind::atom:
      return r.read_atom();
    case term_kind::reference:
      return r.read_ref();
    case term_kind::pid:
      return r.read_pid();
    case term_kind::tuple: {
      term_tuple out;
      const std::size_t arity = r.read_tuple_header();
      out.elements.reserve(arity);
      for (std::size_t i = 0; i < arity; ++i) {
        out.elements.push_back(read(r));
      }
      return out;
    }
    case term_kind::map: {
      term_map out;
      const std::size_t size = r.read_map_header();
      out.entries.reserve(size);
      for (std::size_t i = 0; i < size; ++i) {
        term key = read(r);
        out.entries.emplace_back(std::move(key), read(r));
      }
      return out;
    }
    case term_kind::nil:
      r.read_nil();
      return term_list{};
    case term_kind::string:
      return r.read_charlist();
    case term_kind::list:
      return read_list(r);
    case term_kind::binary:
      return r.read_binary();
    case term_kind::bitstring:
    case term_kind::port:
    case term_kind::function:
      break;
  }
  r.fail(expected);
}

namespace detail {

void fail_variant(term_reader& r, std::size_t start, const std::string& errors) {
  r.rewind(start);
  r.fail(fmt::format("one of the variant's alternatives [{}]", errors));
}

}  // namespace detail
}  // namespace peeper::dist
