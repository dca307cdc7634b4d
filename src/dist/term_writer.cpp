#include "peeper/dist/term_writer.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "dist/ei_support.hpp"
#include "dist/external_format.hpp"
#include "dist/utf8.hpp"
#include "peeper/dist/errors.hpp"

namespace peeper::dist {
namespace {

// Appends one ei encoding to `buf`: ei's encoders compute the size when given a null buffer,
// so the buffer grows by exactly what the term needs.
template <class Encode>
void append(std::vector<char>& buf, const char* what, Encode encode) {
  detail::ensure_ei_initialized();
  int size = 0;
  if (encode(nullptr, &size) < 0) {
    throw encode_error(fmt::format("cannot encode {}", what));
  }
  const std::size_t old = buf.size();
  buf.resize(old + static_cast<std::size_t>(size));
  int index = 0;
  if (encode(buf.data() + old, &index) < 0 || index != size) {
    buf.resize(old);
    throw encode_error(fmt::format("cannot encode {}", what));
  }
}

int to_int_size(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw encode_error(fmt::format("{} of {} elements or bytes is beyond ei's limit", what, n));
  }
  return static_cast<int>(n);
}

void check_node_name(const std::string& node, const char* what) {
  const auto chars = detail::utf8_length(node);
  if (!chars || *chars > detail::max_atom_chars || node.size() >= MAXATOMLEN_UTF8) {
    throw encode_error(
        fmt::format("cannot encode {}: its node name is not a valid atom (UTF-8, at most {} "
                    "characters)",
                    what, detail::max_atom_chars));
  }
}

}  // namespace

void term_writer::write_version() {
  append(buf_, "the version byte", [](char* b, int* i) { return ei_encode_version(b, i); });
}

void term_writer::write_int64(std::int64_t v) {
  // ei writes INTEGER_EXT only within 28 bits (an old limit) and SMALL_BIG_EXT beyond; Erlang
  // writes INTEGER_EXT for all of int32's range. Both decode alike; be byte-for-byte Erlang.
  const bool integer_ext = (v < 0 || v > std::numeric_limits<std::uint8_t>::max()) &&
                           v >= std::numeric_limits<std::int32_t>::min() &&
                           v <= std::numeric_limits<std::int32_t>::max();
  if (integer_ext) {
    const auto u = static_cast<std::uint32_t>(static_cast<std::int32_t>(v));
    buf_.push_back(static_cast<char>(detail::tag::integer));
    for (const unsigned shift : {24U, 16U, 8U, 0U}) {
      buf_.push_back(static_cast<char>((u >> shift) & 0xFFU));
    }
    return;
  }
  append(buf_, "an integer", [v](char* b, int* i) { return ei_encode_longlong(b, i, v); });
}

void term_writer::write_uint64(std::uint64_t v) {
  if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    write_int64(static_cast<std::int64_t>(v));
    return;
  }
  append(buf_, "an integer", [v](char* b, int* i) { return ei_encode_ulonglong(b, i, v); });
}

void term_writer::write_big_int(const big_int& v) {
  if (const auto small = v.to_int64()) {
    write_int64(*small);
    return;
  }
  // Beyond 64 bits: SMALL_BIG_EXT or LARGE_BIG_EXT (sign byte, magnitude little-endian), written
  // directly: ei's erlang_big wants the digits in 16-bit words.
  const auto& m = v.magnitude();
  if (m.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw encode_error("cannot encode a big integer of more than 2^32 - 1 bytes");
  }
  const auto n = static_cast<std::uint32_t>(m.size());
  if (n <= std::numeric_limits<std::uint8_t>::max()) {
    buf_.push_back(static_cast<char>(detail::tag::small_big));
    buf_.push_back(static_cast<char>(n));
  } else {
    buf_.push_back(static_cast<char>(detail::tag::large_big));
    for (const unsigned shift : {24U, 16U, 8U, 0U}) {
      buf_.push_back(static_cast<char>((n >> shift) & 0xFFU));
    }
  }
  buf_.push_back(static_cast<char>(v.negative() ? 1 : 0));
  buf_.insert(buf_.end(), m.begin(), m.end());
}

void term_writer::write_double(double v) {
  if (!std::isfinite(v)) {
    throw encode_error(fmt::format("cannot encode the float {}: Erlang has no NaN or infinity", v));
  }
  append(buf_, "a float", [v](char* b, int* i) { return ei_encode_double(b, i, v); });
}

void term_writer::write_atom(std::string_view name) {
  const auto chars = detail::utf8_length(name);
  if (!chars || *chars > detail::max_atom_chars) {
    throw encode_error(
        fmt::format("cannot encode the atom '{}': not UTF-8, or longer than {} characters",
                    name.substr(0, 64), detail::max_atom_chars));
  }
  const int length = static_cast<int>(name.size());
  append(buf_, "an atom", [&](char* b, int* i) {
    return ei_encode_atom_len_as(b, i, name.data(), length, ERLANG_UTF8, ERLANG_UTF8);
  });
}

void term_writer::write_binary(std::span<const std::byte> bytes) {
  const long length = to_int_size(bytes.size(), "a binary");
  append(buf_, "a binary",
         [&](char* b, int* i) { return ei_encode_binary(b, i, bytes.data(), length); });
}

void term_writer::write_binary(std::string_view bytes) {
  write_binary(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

void term_writer::write_charlist(std::string_view chars) {
  const int length = to_int_size(chars.size(), "a charlist");
  append(buf_, "a charlist",
         [&](char* b, int* i) { return ei_encode_string_len(b, i, chars.data(), length); });
}

void term_writer::write_pid(const erl_pid& p) {
  check_node_name(p.node, "a pid");
  erlang_pid e{};
  p.node.copy(e.node, p.node.size());
  e.num = p.num;
  e.serial = p.serial;
  e.creation = p.creation;
  append(buf_, "a pid", [&](char* b, int* i) { return ei_encode_pid(b, i, &e); });
}

void term_writer::write_ref(const erl_ref& r) {
  check_node_name(r.node, "a reference");
  if (r.ids.empty() || r.ids.size() > detail::max_ref_ids) {
    throw encode_error(fmt::format("cannot encode a reference with {} ids (1 to {} allowed)",
                                   r.ids.size(), detail::max_ref_ids));
  }
  erlang_ref e{};
  r.node.copy(e.node, r.node.size());
  e.len = static_cast<int>(r.ids.size());
  std::copy(r.ids.begin(), r.ids.end(), std::begin(e.n));
  e.creation = r.creation;
  append(buf_, "a reference", [&](char* b, int* i) { return ei_encode_ref(b, i, &e); });
}

void term_writer::write_tuple_header(std::size_t arity) {
  const int n = to_int_size(arity, "a tuple");
  append(buf_, "a tuple header", [n](char* b, int* i) { return ei_encode_tuple_header(b, i, n); });
}

void term_writer::write_list_header(std::size_t length) {
  if (length == 0) {
    throw encode_error("a list header needs at least one element (write_nil() for [])");
  }
  const int n = to_int_size(length, "a list");
  append(buf_, "a list header", [n](char* b, int* i) { return ei_encode_list_header(b, i, n); });
}

void term_writer::write_nil() {
  append(buf_, "[]", [](char* b, int* i) { return ei_encode_empty_list(b, i); });
}

void term_writer::write_map_header(std::size_t size) {
  const int n = to_int_size(size, "a map");
  append(buf_, "a map header", [n](char* b, int* i) { return ei_encode_map_header(b, i, n); });
}

}  // namespace peeper::dist
