#include "peeper/dist/term_reader.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "dist/ei_support.hpp"
#include "dist/external_format.hpp"
#include "dist/utf8.hpp"
#include "peeper/dist/errors.hpp"
#include "peeper/dist/term.hpp"

namespace peeper::dist {
namespace {

term_kind kind_of(std::uint8_t t) noexcept {
  namespace tag = detail::tag;
  switch (t) {
    case tag::small_integer:
    case tag::integer:
    case tag::small_big:
    case tag::large_big:
      return term_kind::integer;
    case tag::float_ext:
    case tag::new_float:
      return term_kind::floating;
    case tag::atom:
    case tag::small_atom:
    case tag::atom_utf8:
    case tag::small_atom_utf8:
      return term_kind::atom;
    case tag::reference:
    case tag::new_reference:
    case tag::newer_reference:
      return term_kind::reference;
    case tag::port:
    case tag::new_port:
    case tag::v4_port:
      return term_kind::port;
    case tag::pid:
    case tag::new_pid:
      return term_kind::pid;
    case tag::small_tuple:
    case tag::large_tuple:
      return term_kind::tuple;
    case tag::map:
      return term_kind::map;
    case tag::nil:
      return term_kind::nil;
    case tag::string:
      return term_kind::string;
    case tag::list:
      return term_kind::list;
    case tag::binary:
      return term_kind::binary;
    case tag::bit_binary:
      return term_kind::bitstring;
    default:  // NEW_FUN_EXT, EXPORT_EXT: term_extent() rejects every other tag
      return term_kind::function;
  }
}

// Sign and magnitude of an integer term, when the magnitude fits 64 bits.
struct integer_parts {
  bool negative = false;
  std::uint64_t magnitude = 0;
  bool fits = true;  // false: beyond 64 bits
};

std::string quoted_preview(std::string_view s) {
  constexpr std::size_t limit = 40;
  std::string out(s.substr(0, limit));
  return s.size() > limit ? out + "..." : out;
}

}  // namespace

term_reader::term_reader(std::span<const char> bytes, pid_context* pids, std::size_t max_depth)
    : bytes_(bytes), pids_(pids), max_depth_(max_depth) {
  detail::ensure_ei_initialized();
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw decode_error(
        fmt::format("an input of {} bytes is beyond ei's limit of 2^31 - 1", bytes.size()), 0);
  }
}

void term_reader::validate_next() {
  if (index_ >= bytes_.size()) {
    fail_at(index_, "expected a term, found end of input");
  }
  if (index_ >= validated_end_) {
    validated_end_ = detail::term_extent(bytes_, index_, max_depth_);
  }
  // A LIST_EXT of no elements, which Erlang never writes, is its tail: [ | T] is T. Step over
  // such headers so that every reading sees T (the tail is a term boundary inside the
  // validated range).
  constexpr std::size_t list_header = 5;
  while (static_cast<std::uint8_t>(bytes_[index_]) == detail::tag::list &&
         detail::get_u32(data() + index_ + 1) == 0) {
    index_ += list_header;
  }
}

void term_reader::fail_at(std::size_t offset, const std::string& message) {
  throw decode_error(fmt::format("{} at byte {}", message, offset), offset);
}

void term_reader::fail(std::string_view expected) {
  const std::string found = describe_next();
  fail_at(index_, fmt::format("expected {}, found {}", expected, found));
}

void term_reader::read_version() {
  if (index_ >= bytes_.size()) {
    fail_at(index_, "expected the version byte 131, found end of input");
  }
  const auto v = static_cast<std::uint8_t>(bytes_[index_]);
  if (v != detail::tag::version) {
    fail_at(index_, fmt::format("expected the version byte 131, found {}", v));
  }
  ++index_;
}

term_kind term_reader::peek() {
  validate_next();
  return kind_of(static_cast<std::uint8_t>(bytes_[index_]));
}

namespace {
// Reads the integer at *index (validated) without ei for bignums: ei_decode_longlong handles
// them too, but reports a value beyond 64 bits only as a failure.
integer_parts integer_at(std::span<const char> bytes, std::size_t& index) {
  const char* p = bytes.data() + index;
  const auto t = static_cast<std::uint8_t>(*p);
  integer_parts out;
  if (t == detail::tag::small_integer || t == detail::tag::integer) {
    int i = static_cast<int>(index);
    EI_LONGLONG v = 0;
    if (ei_decode_longlong(bytes.data(), &i, &v) < 0) {
      throw decode_error(fmt::format("malformed integer at byte {}", index), index);
    }
    index = static_cast<std::size_t>(i);
    out.negative = v < 0;
    out.magnitude = out.negative ? std::uint64_t{0} - static_cast<std::uint64_t>(v)
                                 : static_cast<std::uint64_t>(v);
    return out;
  }
  const bool small = t == detail::tag::small_big;
  const std::size_t n = small ? detail::get_u8(p + 1) : detail::get_u32(p + 1);
  const char* sign = p + (small ? 2 : 5);
  const char* digits = sign + 1;
  out.negative = *sign != 0;
  std::size_t significant = n;
  while (significant > 0 && digits[significant - 1] == 0) {
    --significant;
  }
  if (significant > sizeof(std::uint64_t)) {
    out.fits = false;
  } else {
    for (std::size_t i = significant; i-- > 0;) {
      out.magnitude = (out.magnitude << 8U) | static_cast<std::uint8_t>(digits[i]);
    }
  }
  out.negative = out.negative && (significant != 0);
  index = static_cast<std::size_t>(digits - bytes.data()) + n;
  return out;
}
}  // namespace

std::int64_t term_reader::read_int64(std::int64_t min, std::int64_t max) {
  const std::size_t start = index_;
  const auto expected = [&] { return fmt::format("integer in [{}, {}]", min, max); };
  if (peek() != term_kind::integer) {
    fail(expected());
  }
  const integer_parts v = integer_at(bytes_, index_);
  constexpr std::uint64_t limit = std::uint64_t{1} << 63U;
  bool ok = v.fits && (v.negative ? v.magnitude <= limit : v.magnitude < limit);
  std::int64_t value = 0;
  if (ok) {
    value = !v.negative            ? static_cast<std::int64_t>(v.magnitude)
            : v.magnitude == limit ? std::numeric_limits<std::int64_t>::min()
                                   : -static_cast<std::int64_t>(v.magnitude);
    ok = value >= min && value <= max;
  }
  if (!ok) {
    index_ = start;
    fail(expected());
  }
  return value;
}

std::uint64_t term_reader::read_uint64(std::uint64_t max) {
  const std::size_t start = index_;
  const auto expected = [&] { return fmt::format("integer in [0, {}]", max); };
  if (peek() != term_kind::integer) {
    fail(expected());
  }
  const integer_parts v = integer_at(bytes_, index_);
  if (!v.fits || v.negative || v.magnitude > max) {
    index_ = start;
    fail(expected());
  }
  return v.magnitude;
}

big_int term_reader::read_big_int() {
  if (peek() != term_kind::integer) {
    fail("integer");
  }
  const char* p = data() + index_;
  const auto t = static_cast<std::uint8_t>(*p);
  if (t == detail::tag::small_integer || t == detail::tag::integer) {
    const integer_parts v = integer_at(bytes_, index_);
    big_int magnitude(v.magnitude);
    return v.negative ? big_int(true, std::vector<std::uint8_t>(magnitude.magnitude())) : magnitude;
  }
  const bool small = t == detail::tag::small_big;
  const std::size_t n = small ? detail::get_u8(p + 1) : detail::get_u32(p + 1);
  const char* sign = p + (small ? 2 : 5);
  const auto* digits = reinterpret_cast<const std::uint8_t*>(sign + 1);
  big_int out(*sign != 0, std::vector<std::uint8_t>(digits, digits + n));
  index_ = static_cast<std::size_t>(sign + 1 - data()) + n;
  return out;
}

double term_reader::read_double() {
  if (peek() != term_kind::floating) {
    fail("float");
  }
  const std::size_t start = index_;
  double v = 0;
  if (static_cast<std::uint8_t>(bytes_[index_]) == detail::tag::new_float) {
    int i = static_cast<int>(index_);
    if (ei_decode_double(data(), &i, &v) < 0) {
      fail_at(start, "malformed float");
    }
    index_ = static_cast<std::size_t>(i);
  } else {
    // FLOAT_EXT: 31 bytes of printf("%.20e") text, NUL-padded. ei would sscanf() it, which can
    // read past the 31 bytes; parse a NUL-terminated copy instead.
    constexpr std::size_t text_size = 31;
    std::array<char, text_size + 1> text{};
    std::memcpy(text.data(), data() + index_ + 1, text_size);
    const char* end = text.data() + std::strlen(text.data());
    const auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc{} || ptr == text.data()) {
      fail_at(start, "malformed FLOAT_EXT float");
    }
    index_ += 1 + text_size;
  }
  if (!std::isfinite(v)) {
    fail_at(start, "a float that is NaN or infinite (Erlang has none)");
  }
  return v;
}

atom term_reader::read_atom() {
  if (peek() != term_kind::atom) {
    fail("atom");
  }
  const std::size_t start = index_;
  const char* p = data() + index_;
  const auto t = static_cast<std::uint8_t>(*p);
  const bool small = t == detail::tag::small_atom || t == detail::tag::small_atom_utf8;
  const bool utf8 = t == detail::tag::atom_utf8 || t == detail::tag::small_atom_utf8;
  const std::size_t length = small ? detail::get_u8(p + 1) : detail::get_u16(p + 1);
  const char* raw = p + (small ? 2 : 3);

  std::array<char, MAXATOMLEN_UTF8> name{};
  int i = static_cast<int>(index_);
  if (ei_decode_atom_as(data(), &i, name.data(), MAXATOMLEN_UTF8, ERLANG_UTF8, nullptr, nullptr) <
      0) {
    fail_at(start, "malformed atom (too long, or not valid UTF-8)");
  }
  // ei NUL-terminates but atoms may hold NUL: the length is the raw one, plus one byte per
  // Latin-1 character that became two in UTF-8.
  std::size_t decoded_length = length;
  if (!utf8) {
    for (std::size_t k = 0; k < length; ++k) {
      decoded_length += (static_cast<std::uint8_t>(raw[k]) >= 0x80U) ? 1 : 0;
    }
  }
  atom out{std::string(name.data(), decoded_length)};
  const auto chars = detail::utf8_length(out.name);
  if (!chars || *chars > detail::max_atom_chars) {
    fail_at(start, "malformed atom (not valid UTF-8, or longer than 255 characters)");
  }
  index_ = static_cast<std::size_t>(i);
  return out;
}

bool term_reader::read_atom_if(std::string_view name) {
  if (at_end() || peek() != term_kind::atom) {
    return false;
  }
  const std::size_t start = index_;
  if (read_atom().name == name) {
    return true;
  }
  index_ = start;  // a term boundary inside the validated range: no need to validate again
  return false;
}

void term_reader::expect_atom(std::string_view name) {
  if (!read_atom_if(name)) {
    fail("atom " + atom{std::string(name)}.to_string());
  }
}

binary term_reader::read_binary() {
  if (peek() != term_kind::binary) {
    fail("binary");
  }
  const std::size_t start = index_;
  const std::size_t length = detail::get_u32(data() + index_ + 1);
  binary out;
  out.bytes.resize(length);
  int i = static_cast<int>(index_);
  long decoded = 0;
  if (ei_decode_binary(data(), &i, out.bytes.data(), &decoded) < 0 ||
      static_cast<std::size_t>(decoded) != length) {
    fail_at(start, "malformed binary");
  }
  index_ = static_cast<std::size_t>(i);
  return out;
}

std::string term_reader::read_string() {
  const std::size_t start = index_;
  constexpr std::string_view expected = "string (a binary or a list of character codes)";
  if (at_end()) {
    fail(expected);
  }
  switch (peek()) {
    case term_kind::binary:
      return std::string(read_binary().view());
    case term_kind::string:
    case term_kind::nil:
      return detail::latin1_to_utf8(read_charlist().chars);
    case term_kind::list: {
      const std::size_t length = read_list_header();
      std::string out;
      out.reserve(length);
      for (std::size_t k = 0; k < length; ++k) {
        const std::size_t at = index_;
        const auto code = static_cast<std::uint32_t>(read_int64(0, 0x10FFFF));
        if (!detail::append_utf8(out, code)) {
          fail_at(at, fmt::format("expected a Unicode code point, found the surrogate {}", code));
        }
      }
      read_nil();
      return out;
    }
    default:
      index_ = start;
      fail(expected);
  }
}

charlist term_reader::read_charlist() {
  constexpr std::string_view expected = "list of character codes 0..255";
  if (at_end()) {
    fail(expected);
  }
  switch (peek()) {
    case term_kind::nil:
      ++index_;
      return {};
    case term_kind::string: {
      const std::size_t start = index_;
      const std::size_t length = detail::get_u16(data() + index_ + 1);
      std::string chars(length + 1, '\0');
      int i = static_cast<int>(index_);
      if (ei_decode_string(data(), &i, chars.data()) < 0) {
        fail_at(start, "malformed string");
      }
      chars.resize(length);
      index_ = static_cast<std::size_t>(i);
      return {std::move(chars)};
    }
    case term_kind::list: {
      const std::size_t length = read_list_header();
      charlist out;
      out.chars.reserve(length);
      for (std::size_t k = 0; k < length; ++k) {
        out.chars += static_cast<char>(static_cast<std::uint8_t>(read_int64(0, 255)));
      }
      read_nil();
      return out;
    }
    default:
      fail(expected);
  }
}

erl_pid term_reader::read_pid() {
  if (peek() != term_kind::pid) {
    fail("pid");
  }
  const std::size_t start = index_;
  const std::size_t end = detail::term_extent(bytes_, index_, max_depth_);
  erlang_pid e{};
  int i = static_cast<int>(index_);
  if (ei_decode_pid(data(), &i, &e) < 0 || static_cast<std::size_t>(i) != end) {
    fail_at(start, "malformed pid");
  }
  erl_pid out{std::string(e.node), e.num, e.serial, e.creation};
  if (!detail::utf8_length(out.node)) {
    fail_at(start, "malformed pid (its node name is not valid UTF-8)");
  }
  index_ = end;
  return out;
}

erl_ref term_reader::read_ref() {
  if (peek() != term_kind::reference) {
    fail("reference");
  }
  const std::size_t start = index_;
  const std::size_t end = detail::term_extent(bytes_, index_, max_depth_);
  erlang_ref e{};
  int i = static_cast<int>(index_);
  if (ei_decode_ref(data(), &i, &e) < 0 || static_cast<std::size_t>(i) != end || e.len < 1 ||
      static_cast<std::size_t>(e.len) > detail::max_ref_ids) {
    fail_at(start, "malformed reference");
  }
  erl_ref out{std::string(e.node), e.creation,
              std::vector<std::uint32_t>(std::begin(e.n), std::begin(e.n) + e.len)};
  if (!detail::utf8_length(out.node)) {
    fail_at(start, "malformed reference (its node name is not valid UTF-8)");
  }
  index_ = end;
  return out;
}

std::size_t term_reader::read_tuple_header() {
  if (peek() != term_kind::tuple) {
    fail("tuple");
  }
  int i = static_cast<int>(index_);
  int arity = 0;
  if (ei_decode_tuple_header(data(), &i, &arity) < 0 || arity < 0) {
    fail_at(index_, "malformed tuple");
  }
  index_ = static_cast<std::size_t>(i);
  return static_cast<std::size_t>(arity);
}

void term_reader::read_tuple_header(std::size_t arity) {
  const std::size_t start = index_;
  const auto expected = [&] { return fmt::format("tuple of {} elements", arity); };
  if (at_end() || peek() != term_kind::tuple) {
    fail(expected());
  }
  if (read_tuple_header() != arity) {
    index_ = start;
    fail(expected());
  }
}

std::size_t term_reader::read_list_header() {
  const term_kind kind = peek();
  if (kind != term_kind::list && kind != term_kind::nil) {
    fail("list");
  }
  int i = static_cast<int>(index_);
  int length = 0;
  if (ei_decode_list_header(data(), &i, &length) < 0 || length < 0) {
    fail_at(index_, "malformed list");
  }
  index_ = static_cast<std::size_t>(i);
  return static_cast<std::size_t>(length);
}

void term_reader::read_nil() {
  if (at_end() || peek() != term_kind::nil) {
    fail("[] (the end of a proper list)");
  }
  ++index_;
}

std::size_t term_reader::read_map_header() {
  if (peek() != term_kind::map) {
    fail("map");
  }
  int i = static_cast<int>(index_);
  int size = 0;
  if (ei_decode_map_header(data(), &i, &size) < 0 || size < 0) {
    fail_at(index_, "malformed map");
  }
  index_ = static_cast<std::size_t>(i);
  return static_cast<std::size_t>(size);
}

void term_reader::skip() {
  validate_next();
  index_ = detail::term_extent(bytes_, index_, max_depth_);
}

void term_reader::rewind(std::size_t position) {
  if (position > index_) {
    throw std::out_of_range(
        fmt::format("term_reader::rewind({}) beyond the position {}", position, index_));
  }
  index_ = position;
  // Not trusted to be a term boundary: validate again from there.
  validated_end_ = position;
}

void term_reader::expect_end() const {
  if (!at_end()) {
    fail_at(index_, fmt::format("expected the end of the input, found {} more bytes",
                                bytes_.size() - index_));
  }
}

std::string term_reader::describe_next() {
  if (at_end()) {
    return "end of input";
  }
  try {
    validate_next();
  } catch (const decode_error& e) {
    return fmt::format("a malformed term ({})", e.what());
  }
  // Decode from a copy, so the position does not move.
  term_reader copy = *this;
  try {
    switch (copy.peek()) {
      case term_kind::integer:
        return "integer " + quoted_preview(copy.read_big_int().to_string());
      case term_kind::floating:
        return "float " + term(copy.read_double()).to_string();
      case term_kind::atom:
        return "atom " + copy.read_atom().to_string();
      case term_kind::reference:
        return "reference " + copy.read_ref().to_string();
      case term_kind::port:
        return "a port";
      case term_kind::pid:
        return "pid " + copy.read_pid().to_string();
      case term_kind::tuple: {
        const std::size_t arity = copy.read_tuple_header();
        if (arity > 0 && copy.peek() == term_kind::atom) {
          return fmt::format("tuple {{{}, ...}} of {} elements", copy.read_atom().to_string(),
                             arity);
        }
        return fmt::format("tuple of {} elements", arity);
      }
      case term_kind::map:
        return fmt::format("map of {} entries", copy.read_map_header());
      case term_kind::nil:
        return "[]";
      case term_kind::string:
        return "string " + quoted_preview(copy.read_charlist().to_string());
      case term_kind::list:
        return fmt::format("list of {} elements", copy.read_list_header());
      case term_kind::binary:
        return fmt::format("binary of {} bytes", detail::get_u32(data() + index_ + 1));
      case term_kind::bitstring:
        return "a bitstring (not whole bytes)";
      case term_kind::function:
        return "a fun";
    }
  } catch (const decode_error& e) {
    return fmt::format("a malformed term ({})", e.what());
  }
  return "an unknown term";
}

}  // namespace peeper::dist
