#include "dist/external_format.hpp"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "peeper/dist/errors.hpp"

namespace peeper::dist::detail {
namespace {

// A recursive walk; the recursion is bounded by max_depth, each level a small frame.
class extent_walker {
 public:
  extent_walker(std::span<const char> bytes, std::size_t max_depth) noexcept
      : bytes_(bytes), max_depth_(max_depth) {}

  std::size_t term(std::size_t at, std::size_t depth) {
    need(at, 1, "a term");
    const auto t = static_cast<std::uint8_t>(bytes_[at]);
    const std::size_t body = at + 1;
    switch (t) {
      case tag::small_integer:
        return fixed(at, 1, "SMALL_INTEGER_EXT");
      case tag::integer:
        return fixed(at, 4, "INTEGER_EXT");
      case tag::float_ext:
        return fixed(at, 31, "FLOAT_EXT");
      case tag::new_float:
        return fixed(at, 8, "NEW_FLOAT_EXT");
      case tag::atom:
      case tag::small_atom:
      case tag::atom_utf8:
      case tag::small_atom_utf8:
        return atom(at);
      case tag::nil:
        return body;
      case tag::string:
        return sized(at, 2, "STRING_EXT");
      case tag::binary:
        return sized(at, 4, "BINARY_EXT");
      case tag::bit_binary: {
        need(body, 5, "BIT_BINARY_EXT");
        const std::size_t length = get_u32(ptr(body));
        const std::uint32_t bits = get_u8(ptr(body + 4));
        if (bits < 1 || bits > 8 || (length == 0 && bits != 8)) {
          fail(at, fmt::format("malformed BIT_BINARY_EXT ({} bits in the last byte)", bits));
        }
        need(body + 5, length, "BIT_BINARY_EXT");
        return body + 5 + length;
      }
      case tag::small_big:
      case tag::large_big: {
        const std::size_t size_bytes = t == tag::small_big ? 1 : 4;
        need(body, size_bytes + 1, "a big integer header");
        const std::size_t n = size_bytes == 1 ? get_u8(ptr(body)) : get_u32(ptr(body));
        need(body + size_bytes + 1, n, "a big integer");
        return body + size_bytes + 1 + n;
      }
      case tag::small_tuple:
      case tag::large_tuple: {
        const std::size_t size_bytes = t == tag::small_tuple ? 1 : 4;
        need(body, size_bytes, "a tuple header");
        const std::size_t arity = size_bytes == 1 ? get_u8(ptr(body)) : get_u32(ptr(body));
        return elements(at, body + size_bytes, arity, depth);
      }
      case tag::list: {
        need(body, 4, "a list header");
        const std::size_t end = elements(at, body + 4, get_u32(ptr(body)), depth);
        return term(end, depth + 1);  // the tail
      }
      case tag::map: {
        need(body, 4, "a map header");
        const std::size_t pairs = get_u32(ptr(body));
        return elements(at, body + 4, 2 * pairs, depth);
      }
      case tag::pid:
        return fixed_after(node(at, body), 9, "PID_EXT");
      case tag::new_pid:
        return fixed_after(node(at, body), 12, "NEW_PID_EXT");
      case tag::port:
        return fixed_after(node(at, body), 5, "PORT_EXT");
      case tag::new_port:
        return fixed_after(node(at, body), 8, "NEW_PORT_EXT");
      case tag::v4_port:
        return fixed_after(node(at, body), 12, "V4_PORT_EXT");
      case tag::reference:
        return fixed_after(node(at, body), 5, "REFERENCE_EXT");
      case tag::new_reference:
      case tag::newer_reference: {
        need(body, 2, "a reference header");
        const std::size_t ids = get_u16(ptr(body));
        if (ids < 1 || ids > max_ref_ids) {
          fail(at,
               fmt::format("malformed reference ({} id words; 1 to {} allowed)", ids, max_ref_ids));
        }
        const std::size_t creation = t == tag::new_reference ? 1 : 4;
        const std::size_t after_node = node(at, body + 2);
        need(after_node, creation + 4 * ids, "a reference");
        return after_node + creation + 4 * ids;
      }
      case tag::new_fun: {
        // Size counts itself and everything after the tag.
        need(body, 4, "NEW_FUN_EXT");
        const std::size_t size = get_u32(ptr(body));
        if (size < 4) {
          fail(at, "malformed NEW_FUN_EXT (size below 4)");
        }
        need(body, size, "NEW_FUN_EXT");
        return body + size;
      }
      case tag::export_ext: {
        check_depth(at, depth);
        std::size_t end = body;
        for (int i = 0; i < 3; ++i) {
          end = term(end, depth + 1);
        }
        return end;
      }
      case tag::fun:
        return fail(at, "unsupported term: the obsolete FUN_EXT");
      default:
        return fail(at, fmt::format("unknown or unsupported term tag {}", t));
    }
  }

 private:
  [[nodiscard]] const char* ptr(std::size_t at) const noexcept { return bytes_.data() + at; }

  [[noreturn]] static std::size_t fail(std::size_t at, const std::string& what) {
    throw decode_error(fmt::format("malformed term at byte {}: {}", at, what), at);
  }

  // `n` bytes of `what` must start at `at`.
  void need(std::size_t at, std::size_t n, const char* what) const {
    if (at > bytes_.size() || n > bytes_.size() - at) {
      throw decode_error(fmt::format("truncated term at byte {}: {} needs {} bytes, {} left", at,
                                     what, n, at > bytes_.size() ? 0 : bytes_.size() - at),
                         at);
    }
  }

  void check_depth(std::size_t at, std::size_t depth) const {
    if (depth >= max_depth_) {
      fail(at, fmt::format("terms nested deeper than {} levels", max_depth_));
    }
  }

  std::size_t fixed(std::size_t at, std::size_t n, const char* what) const {
    need(at + 1, n, what);
    return at + 1 + n;
  }
  std::size_t fixed_after(std::size_t body, std::size_t n, const char* what) const {
    need(body, n, what);
    return body + n;
  }

  // A length-prefixed run of bytes.
  std::size_t sized(std::size_t at, std::size_t size_bytes, const char* what) const {
    need(at + 1, size_bytes, what);
    const char* size = ptr(at + 1);
    const std::size_t n = size_bytes == 1   ? get_u8(size)
                          : size_bytes == 2 ? get_u16(size)
                                            : get_u32(size);
    need(at + 1 + size_bytes, n, what);
    return at + 1 + size_bytes + n;
  }

  std::size_t atom(std::size_t at) const {
    const auto t = static_cast<std::uint8_t>(bytes_[at]);
    const bool small = t == tag::small_atom || t == tag::small_atom_utf8;
    const bool utf8 = t == tag::atom_utf8 || t == tag::small_atom_utf8;
    const std::size_t end = sized(at, small ? 1 : 2, "an atom");
    const std::size_t length = end - at - (small ? 2 : 3);
    if (length > (utf8 ? max_atom_bytes : max_atom_chars)) {
      fail(at,
           fmt::format("atom of {} bytes (at most {} characters allowed)", length, max_atom_chars));
    }
    return end;
  }

  // The node name of a pid, port or reference: an atom at `at_node`; returns its end.
  std::size_t node(std::size_t at, std::size_t at_node) const {
    need(at_node, 1, "a node name");
    const auto t = static_cast<std::uint8_t>(bytes_[at_node]);
    if (t != tag::atom && t != tag::small_atom && t != tag::atom_utf8 &&
        t != tag::small_atom_utf8) {
      fail(at, "pid, port or reference whose node name is not an atom");
    }
    return atom(at_node);
  }

  // `count` terms from `at_first`, one level deeper than the container at `at`.
  std::size_t elements(std::size_t at, std::size_t at_first, std::size_t count, std::size_t depth) {
    check_depth(at, depth);
    std::size_t end = at_first;
    // Each element takes at least one byte, so a count beyond the bytes left fails fast.
    if (count > bytes_.size() - std::min(at_first, bytes_.size())) {
      throw decode_error(fmt::format("truncated term at byte {}: a container of {} elements "
                                     "needs more than the {} bytes left",
                                     at, count, bytes_.size() - std::min(at_first, bytes_.size())),
                         at);
    }
    for (std::size_t i = 0; i < count; ++i) {
      end = term(end, depth + 1);
    }
    return end;
  }

  std::span<const char> bytes_;
  std::size_t max_depth_;
};

}  // namespace

std::size_t term_extent(std::span<const char> bytes, std::size_t offset, std::size_t max_depth) {
  return extent_walker(bytes, max_depth).term(offset, 0);
}

}  // namespace peeper::dist::detail
