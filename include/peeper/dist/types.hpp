// Plain C++ values for the Erlang terms that have no natural C++ type.
//
// atom, binary, charlist, big_int, erl_pid and erl_ref are what the term codec
// (peeper/dist/codec.hpp) maps to and from Erlang's atoms, binaries, strings (lists of
// characters), integers beyond 64 bits, pids and references. They are regular values:
// copyable, comparable (== and <=>, member by member, which is not Erlang's term order), and
// printable in Erlang syntax by to_string().
#pragma once

#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace peeper::dist {

/// An Erlang atom: `ok`, `'EXIT'`, `'héllo'`. `name` is UTF-8, at most 255 characters (longer
/// names fail to encode).
struct atom {
  std::string name;

  /// Erlang syntax: the name, quoted ('...') when Erlang would need quotes.
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const atom&, const atom&) = default;
  friend std::strong_ordering operator<=>(const atom&, const atom&) = default;
};

/// An Erlang binary (whole bytes; bitstrings are not supported): `<<1,2,3>>`, `<<"text">>`.
struct binary {
  std::vector<std::byte> bytes;

  /// The binary holding the bytes of `text`.
  [[nodiscard]] static binary from(std::string_view text);
  /// The bytes as characters (a view into `bytes`, valid while it is unchanged).
  [[nodiscard]] std::string_view view() const noexcept;
  /// Erlang syntax: <<"text">> when every byte is printable ASCII, else <<1,2,3>>.
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const binary&, const binary&) = default;
  friend std::strong_ordering operator<=>(const binary&, const binary&) = default;
};

/// An Erlang string in list form (a list of character codes 0..255, what Erlang encodes as
/// STRING_EXT): each char of `chars` is one list element, its value read as unsigned. It is the
/// dynamic term's compact form of such lists; std::string is usually the better C++ type.
struct charlist {
  std::string chars;

  /// Erlang syntax: "text" when every character is printable, else [1,2,3].
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const charlist&, const charlist&) = default;
  friend std::strong_ordering operator<=>(const charlist&, const charlist&) = default;
};

/// An integer of any size: sign and magnitude, as Erlang's bignums are encoded. Values that fit
/// 64 bits are valid big_ints too (the codec accepts a big_int for any integer).
class big_int {
 public:
  /// Zero.
  big_int() = default;
  /// The value of `v`.
  template <std::integral Int>
  requires(!std::same_as<Int, bool>) explicit big_int(Int v) {
    auto m = static_cast<std::uint64_t>(v);
    if constexpr (std::is_signed_v<Int>) {
      if (v < 0) {
        negative_ = true;
        m = std::uint64_t{0} - m;  // the magnitude, also for the minimum value
      }
    }
    for (; m != 0; m >>= 8U) {
      magnitude_.push_back(static_cast<std::uint8_t>(m & 0xFFU));
    }
  }
  /// The value (-1)^negative * magnitude, `magnitude` in little-endian bytes (Erlang's order).
  /// High zero bytes are dropped; zero is never negative.
  big_int(bool negative, std::vector<std::uint8_t> magnitude);

  /// Parses an optional '-' and decimal digits. Throws std::invalid_argument on anything else.
  [[nodiscard]] static big_int from_string(std::string_view decimal);

  /// True for values below zero.
  [[nodiscard]] bool negative() const noexcept { return negative_; }
  /// The absolute value, little-endian, without high zero bytes (empty for zero).
  [[nodiscard]] const std::vector<std::uint8_t>& magnitude() const noexcept { return magnitude_; }
  /// The value if it fits std::int64_t, else nullopt.
  [[nodiscard]] std::optional<std::int64_t> to_int64() const noexcept;
  /// The value if it fits std::uint64_t, else nullopt.
  [[nodiscard]] std::optional<std::uint64_t> to_uint64() const noexcept;
  /// Decimal, with a leading '-' when negative.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const big_int&, const big_int&) = default;
  /// Numeric order.
  friend std::strong_ordering operator<=>(const big_int& a, const big_int& b) noexcept;

 private:
  bool negative_ = false;
  std::vector<std::uint8_t> magnitude_;
};

/// A pid as Erlang names it on the wire: the node's name and three numbers. A pid of this node
/// becomes a peeper::pid through a pid_context (peeper/dist/pid_context.hpp).
struct erl_pid {
  std::string node;
  std::uint32_t num = 0;
  std::uint32_t serial = 0;
  std::uint32_t creation = 0;

  /// "<node.num.serial>" (Erlang prints a node index where this prints the node's name).
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const erl_pid&, const erl_pid&) = default;
  friend std::strong_ordering operator<=>(const erl_pid&, const erl_pid&) = default;
};

/// A reference as Erlang names it on the wire: node, creation and 1 to 5 id words (3 for a
/// make_ref() of OTP 25).
struct erl_ref {
  std::string node;
  std::uint32_t creation = 0;
  std::vector<std::uint32_t> ids;

  /// "#Ref<node.id.id.id>", the ids from the most significant, as Erlang prints them.
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const erl_ref&, const erl_ref&) = default;
  friend std::strong_ordering operator<=>(const erl_ref&, const erl_ref&) = default;
};

}  // namespace peeper::dist
