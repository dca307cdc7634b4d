// term_writer: builds Erlang's external term format, one term or header at a time.
//
// The writer owns a growing byte buffer (encoded by Erlang's ei library). write(v) appends v
// through its term_mapping (peeper/dist/mapping.hpp; include peeper/dist/codec.hpp to have
// every mapping); the write_* primitives append one term or container header, for custom
// mappings:
//
//   w.write_tuple_header(2);  // {
//   w.write_atom("ok");       //   ok,
//   w.write(42);              //   42 }
//
// A container header must be followed by exactly its elements (a list's by a tail, usually
// write_nil()); the writer does not check the structure. A whole external term starts with
// write_version() (encode() does it). Not thread-safe: one writer per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "peeper/dist/types.hpp"

namespace peeper::dist {

class pid_context;
class term_writer;

namespace detail {
// Defined in peeper/dist/mapping.hpp: writes `value` through term_mapping<T>.
template <class T>
void write_value(term_writer& w, const T& value);
}  // namespace detail

class term_writer {
 public:
  /// An empty writer. `pids` (not owned, may be null) translates peeper::pids; it must outlive
  /// the writer's use.
  explicit term_writer(pid_context* pids = nullptr) noexcept : pids_(pids) {}

  /// Appends `value` through term_mapping<T>. Returns *this. Throws encode_error when the
  /// value has no encoding (see the mapping), std::bad_alloc.
  template <class T>
  term_writer& write(const T& value) {
    detail::write_value(*this, value);
    return *this;
  }

  /// The version byte (131) that starts an external term.
  void write_version();
  /// An integer (SMALL_INTEGER_EXT, INTEGER_EXT or SMALL_BIG_EXT, the smallest that fits).
  void write_int64(std::int64_t v);
  void write_uint64(std::uint64_t v);
  /// An integer of any size (the smallest encoding that fits, as Erlang does).
  void write_big_int(const big_int& v);
  /// A float (NEW_FLOAT_EXT). Throws encode_error for NaN and infinities (Erlang has none).
  void write_double(double v);
  /// An atom from its UTF-8 name. Throws encode_error if `name` is not valid UTF-8 or is longer
  /// than 255 characters.
  void write_atom(std::string_view name);
  /// A binary. Throws encode_error above 2^31 - 1 bytes (ei's limit).
  void write_binary(std::span<const std::byte> bytes);
  void write_binary(std::string_view bytes);
  /// A list of character codes 0..255 (STRING_EXT up to 65535 of them, a plain list beyond,
  /// [] when empty).
  void write_charlist(std::string_view chars);
  /// A pid. Throws encode_error if the node name is not a valid atom.
  void write_pid(const erl_pid& p);
  /// A reference. Throws encode_error without 1 to 5 ids or with an invalid node name.
  void write_ref(const erl_ref& r);
  /// A tuple header: `arity` elements follow.
  void write_tuple_header(std::size_t arity);
  /// A list header: `length` (> 0) elements follow, then the tail (write_nil() for a proper
  /// list). An empty list is write_nil() alone. Throws encode_error for length 0.
  void write_list_header(std::size_t length);
  /// The empty list [].
  void write_nil();
  /// A map header: `size` key-value pairs follow, each key before its value.
  void write_map_header(std::size_t size);

  /// The bytes written so far (valid until the next write).
  [[nodiscard]] std::span<const char> bytes() const noexcept { return buf_; }
  [[nodiscard]] std::size_t size() const noexcept { return buf_.size(); }
  /// Takes the bytes, leaving the writer empty.
  [[nodiscard]] std::vector<char> release() noexcept { return std::exchange(buf_, {}); }
  /// Drops the bytes (keeping the capacity).
  void clear() noexcept { buf_.clear(); }
  /// The pid_context given at construction (may be null).
  [[nodiscard]] pid_context* pids() const noexcept { return pids_; }

 private:
  std::vector<char> buf_;
  pid_context* pids_ = nullptr;
};

}  // namespace peeper::dist
