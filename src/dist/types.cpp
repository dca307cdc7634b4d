#include "peeper/dist/types.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "dist/utf8.hpp"

namespace peeper::dist {
namespace {

bool is_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool is_atom_char(char c) noexcept {
  return is_lower(c) || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '@';
}

bool is_reserved_word(std::string_view s) noexcept {
  // Erlang's reserved words (maybe and else only with the maybe feature, quoted anyway).
  static constexpr auto words = std::to_array<std::string_view>(
      {"after", "and",   "andalso", "band",   "begin",   "bnot", "bor", "bsl",  "bsr", "bxor",
       "case",  "catch", "cond",    "div",    "else",    "end",  "fun", "if",   "let", "maybe",
       "not",   "of",    "or",      "orelse", "receive", "rem",  "try", "when", "xor"});
  return std::find(words.begin(), words.end(), s) != words.end();
}

// Appends `c` as it appears inside quotes `quote` (' for atoms, " for strings).
void append_escaped(std::string& out, char c, char quote) {
  switch (c) {
    case '\n':
      out += "\\n";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\\':
      out += "\\\\";
      return;
    default:
      break;
  }
  if (c == quote) {
    out += '\\';
    out += c;
  } else if (static_cast<std::uint8_t>(c) < 0x20U || c == 0x7F) {
    out += fmt::format("\\{:03o}", static_cast<std::uint8_t>(c));
  } else {
    out += c;
  }
}

}  // namespace

std::string atom::to_string() const {
  const bool plain = !name.empty() && is_lower(name.front()) &&
                     std::all_of(name.begin(), name.end(), is_atom_char) && !is_reserved_word(name);
  if (plain) {
    return name;
  }
  std::string out = "'";
  for (const char c : name) {
    append_escaped(out, c, '\'');
  }
  return out + "'";
}

binary binary::from(std::string_view text) {
  binary b;
  b.bytes.resize(text.size());
  std::transform(text.begin(), text.end(), b.bytes.begin(),
                 [](char c) { return static_cast<std::byte>(c); });
  return b;
}

std::string_view binary::view() const noexcept {
  // std::byte and char may alias each other.
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string binary::to_string() const {
  const bool printable = !bytes.empty() && std::all_of(bytes.begin(), bytes.end(), [](std::byte b) {
    const auto v = std::to_integer<std::uint8_t>(b);
    return (v >= 0x20U && v < 0x7FU) || v == '\n' || v == '\t' || v == '\r';
  });
  if (printable) {
    std::string out = "<<\"";
    for (const char c : view()) {
      append_escaped(out, c, '"');
    }
    return out + "\">>";
  }
  std::string out = "<<";
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out += fmt::format("{}{}", i == 0 ? "" : ",", std::to_integer<unsigned>(bytes[i]));
  }
  return out + ">>";
}

std::string charlist::to_string() const {
  const bool printable = !chars.empty() && std::all_of(chars.begin(), chars.end(), [](char c) {
    const auto v = static_cast<std::uint8_t>(c);
    return (v >= 0x20U && v < 0x7FU) || v >= 0xA0U || v == '\n' || v == '\t' || v == '\r';
  });
  if (chars.empty()) {
    return "[]";
  }
  std::string out;
  if (printable) {
    out = "\"";
    for (const char c : chars) {
      if (static_cast<std::uint8_t>(c) >= 0xA0U) {
        detail::append_utf8(out, static_cast<std::uint8_t>(c));
      } else {
        append_escaped(out, c, '"');
      }
    }
    return out + "\"";
  }
  out = "[";
  for (std::size_t i = 0; i < chars.size(); ++i) {
    out += fmt::format("{}{}", i == 0 ? "" : ",", static_cast<std::uint8_t>(chars[i]));
  }
  return out + "]";
}

big_int::big_int(bool negative, std::vector<std::uint8_t> magnitude)
    : magnitude_(std::move(magnitude)) {
  while (!magnitude_.empty() && magnitude_.back() == 0) {
    magnitude_.pop_back();
  }
  negative_ = negative && !magnitude_.empty();
}

big_int big_int::from_string(std::string_view decimal) {
  const bool negative = !decimal.empty() && decimal.front() == '-';
  const std::string_view digits = negative ? decimal.substr(1) : decimal;
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw std::invalid_argument(fmt::format("big_int: not a decimal integer: '{}'", decimal));
  }
  std::vector<std::uint8_t> magnitude;
  for (const char c : digits) {
    auto carry = static_cast<std::uint32_t>(c - '0');
    for (auto& byte : magnitude) {
      const std::uint32_t v = byte * 10U + carry;
      byte = static_cast<std::uint8_t>(v & 0xFFU);
      carry = v >> 8U;
    }
    for (; carry != 0; carry >>= 8U) {
      magnitude.push_back(static_cast<std::uint8_t>(carry & 0xFFU));
    }
  }
  return {negative, std::move(magnitude)};
}

std::optional<std::uint64_t> big_int::to_uint64() const noexcept {
  if (negative_ || magnitude_.size() > sizeof(std::uint64_t)) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (std::size_t i = magnitude_.size(); i-- > 0;) {
    v = (v << 8U) | magnitude_[i];
  }
  return v;
}

std::optional<std::int64_t> big_int::to_int64() const noexcept {
  if (magnitude_.size() > sizeof(std::uint64_t)) {
    return std::nullopt;
  }
  std::uint64_t m = 0;
  for (std::size_t i = magnitude_.size(); i-- > 0;) {
    m = (m << 8U) | magnitude_[i];
  }
  constexpr std::uint64_t limit = std::uint64_t{1} << 63U;
  if (negative_) {
    if (m > limit) {
      return std::nullopt;
    }
    return m == limit ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(m);
  }
  if (m >= limit) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(m);
}

std::string big_int::to_string() const {
  if (magnitude_.empty()) {
    return "0";
  }
  // Repeated division of the magnitude (as base-2^32 words) by 10^9.
  std::vector<std::uint32_t> words((magnitude_.size() + 3) / 4, 0);
  for (std::size_t i = 0; i < magnitude_.size(); ++i) {
    words[i / 4] |= static_cast<std::uint32_t>(magnitude_[i]) << (8U * (i % 4));
  }
  std::vector<std::uint32_t> chunks;  // base 10^9, least significant first
  constexpr std::uint64_t base = 1'000'000'000;
  while (!words.empty()) {
    std::uint64_t remainder = 0;
    for (std::size_t i = words.size(); i-- > 0;) {
      const std::uint64_t v = (remainder << 32U) | words[i];
      words[i] = static_cast<std::uint32_t>(v / base);
      remainder = v % base;
    }
    chunks.push_back(static_cast<std::uint32_t>(remainder));
    while (!words.empty() && words.back() == 0) {
      words.pop_back();
    }
  }
  std::string out = negative_ ? "-" : "";
  out += fmt::format("{}", chunks.back());
  for (std::size_t i = chunks.size() - 1; i-- > 0;) {
    out += fmt::format("{:09}", chunks[i]);
  }
  return out;
}

std::strong_ordering operator<=>(const big_int& a, const big_int& b) noexcept {
  if (a.negative_ != b.negative_) {
    return a.negative_ ? std::strong_ordering::less : std::strong_ordering::greater;
  }
  // Same sign: compare magnitudes, the other way round for negatives.
  const auto& x = a.negative_ ? b.magnitude_ : a.magnitude_;
  const auto& y = a.negative_ ? a.magnitude_ : b.magnitude_;
  if (x.size() != y.size()) {
    return x.size() <=> y.size();
  }
  return std::lexicographical_compare_three_way(x.rbegin(), x.rend(), y.rbegin(), y.rend());
}

std::string erl_pid::to_string() const { return fmt::format("<{}.{}.{}>", node, num, serial); }

std::string erl_ref::to_string() const {
  std::string out = "#Ref<" + node;
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    out += fmt::format(".{}", *it);
  }
  return out + ">";
}

}  // namespace peeper::dist
