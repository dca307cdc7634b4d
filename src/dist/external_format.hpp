// Erlang's external term format, as far as the codec checks it itself: tags, and a
// bounds-checked walk over one term that proves ei may decode it.
//
// ei's decoders trust their input: they read lengths from the buffer and never compare them
// with its size (ei_decode_* takes no size at all), and FLOAT_EXT goes through sscanf, which
// may run past the term. The reader therefore calls term_extent() on every term before any ei
// call touches it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace peeper::dist::detail {

// The tags (one byte before each term).
namespace tag {
inline constexpr std::uint8_t version = 131;
inline constexpr std::uint8_t new_float = 'F';
inline constexpr std::uint8_t bit_binary = 'M';
inline constexpr std::uint8_t new_pid = 'X';
inline constexpr std::uint8_t new_port = 'Y';
inline constexpr std::uint8_t newer_reference = 'Z';
inline constexpr std::uint8_t small_integer = 'a';
inline constexpr std::uint8_t integer = 'b';
inline constexpr std::uint8_t float_ext = 'c';
inline constexpr std::uint8_t atom = 'd';
inline constexpr std::uint8_t reference = 'e';
inline constexpr std::uint8_t port = 'f';
inline constexpr std::uint8_t pid = 'g';
inline constexpr std::uint8_t small_tuple = 'h';
inline constexpr std::uint8_t large_tuple = 'i';
inline constexpr std::uint8_t nil = 'j';
inline constexpr std::uint8_t string = 'k';
inline constexpr std::uint8_t list = 'l';
inline constexpr std::uint8_t binary = 'm';
inline constexpr std::uint8_t small_big = 'n';
inline constexpr std::uint8_t large_big = 'o';
inline constexpr std::uint8_t new_fun = 'p';
inline constexpr std::uint8_t export_ext = 'q';
inline constexpr std::uint8_t new_reference = 'r';
inline constexpr std::uint8_t small_atom = 's';
inline constexpr std::uint8_t map = 't';
inline constexpr std::uint8_t fun = 'u';
inline constexpr std::uint8_t atom_utf8 = 'v';
inline constexpr std::uint8_t small_atom_utf8 = 'w';
inline constexpr std::uint8_t v4_port = 'x';
}  // namespace tag

// Erlang's limits: atoms have at most 255 characters (UTF-8: at most 4 bytes each), references
// at most 5 id words.
inline constexpr std::size_t max_atom_chars = 255;
inline constexpr std::size_t max_atom_bytes = 4 * max_atom_chars;
inline constexpr std::size_t max_ref_ids = 5;

// The offset just past the term that starts at `offset` in `bytes`. Throws decode_error if the
// term does not lie wholly inside `bytes`, has an unknown or unsupported tag (atom cache
// references, compressed terms, the obsolete FUN_EXT), breaks a limit above, or nests more
// than `max_depth` containers deep.
std::size_t term_extent(std::span<const char> bytes, std::size_t offset, std::size_t max_depth);

// Big-endian unsigned integers at `p` (the caller checked the bounds).
inline std::uint32_t get_u8(const char* p) noexcept { return static_cast<std::uint8_t>(*p); }
inline std::uint32_t get_u16(const char* p) noexcept { return (get_u8(p) << 8U) | get_u8(p + 1); }
inline std::uint32_t get_u32(const char* p) noexcept {
  return (get_u16(p) << 16U) | get_u16(p + 2);
}

}  // namespace peeper::dist::detail
