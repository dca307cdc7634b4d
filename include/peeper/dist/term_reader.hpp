// term_reader: reads Erlang's external term format from untrusted bytes, safely.
//
// The reader walks a buffer it does not own. Before it hands any term to Erlang's ei decoders
// it checks that the term's whole extent lies inside the buffer, that its tags are known and
// that it nests at most max_depth containers deep, so malformed, truncated or hostile input
// only ever ends in a decode_error (whose message names what was expected, what was found and
// the byte offset): never an out-of-bounds read, an unbounded allocation or a stack overflow.
//
// read<T>() decodes through term_mapping<T> (peeper/dist/mapping.hpp; include
// peeper/dist/codec.hpp to have every mapping); the read_* primitives decode one term or
// container header, for custom mappings:
//
//   r.read_tuple_header(2);          // {ok, N} and nothing else
//   r.expect_atom("ok");
//   auto n = r.read<int>();
//
// A failed read leaves the position unspecified (rewind() to a saved position() to retry).
// Not thread-safe: one reader per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "peeper/dist/types.hpp"

namespace peeper::dist {

class pid_context;
class term_reader;

namespace detail {
// Defined in peeper/dist/mapping.hpp: reads a T through term_mapping<T>.
template <class T>
T read_value(term_reader& r);
}  // namespace detail

/// The kind of the next term, by its external format tag.
enum class term_kind {
  integer,    // SMALL_INTEGER_EXT, INTEGER_EXT, SMALL_BIG_EXT, LARGE_BIG_EXT
  floating,   // NEW_FLOAT_EXT, FLOAT_EXT
  atom,       // ATOM_EXT, SMALL_ATOM_EXT, ATOM_UTF8_EXT, SMALL_ATOM_UTF8_EXT
  reference,  // REFERENCE_EXT, NEW_REFERENCE_EXT, NEWER_REFERENCE_EXT
  port,       // PORT_EXT, NEW_PORT_EXT, V4_PORT_EXT
  pid,        // PID_EXT, NEW_PID_EXT
  tuple,      // SMALL_TUPLE_EXT, LARGE_TUPLE_EXT
  map,        // MAP_EXT
  nil,        // NIL_EXT: []
  string,     // STRING_EXT: a list of character codes 0..255
  list,       // LIST_EXT: a non-empty list, maybe improper
  binary,     // BINARY_EXT
  bitstring,  // BIT_BINARY_EXT
  function,   // NEW_FUN_EXT, EXPORT_EXT
};

class term_reader {
 public:
  /// How deep containers may nest by default (a tuple in a list in a map... counts 3).
  static constexpr std::size_t default_max_depth = 256;

  /// A reader at the start of `bytes` (not copied: they must outlive the reader). `pids` (not
  /// owned, may be null) translates pids into peeper::pids. Throws decode_error if `bytes` is
  /// larger than ei can index (2^31 - 1).
  explicit term_reader(std::span<const char> bytes, pid_context* pids = nullptr,
                       std::size_t max_depth = default_max_depth);

  /// Reads a T through term_mapping<T>. Throws decode_error when the next term is malformed or
  /// is not a T, std::bad_alloc.
  template <class T>
  std::remove_cv_t<T> read() {
    return detail::read_value<std::remove_cv_t<T>>(*this);
  }

  /// Consumes the version byte (131) that starts an external term. Throws decode_error if the
  /// next byte is missing or another.
  void read_version();
  /// The kind of the next term, without consuming it. Throws decode_error at the end of the
  /// buffer or when the next term is malformed.
  [[nodiscard]] term_kind peek();

  /// An integer in [min, max] (the range of the caller's type, for the error message).
  /// Throws decode_error when the next term is not an integer or is out of range.
  std::int64_t read_int64(std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                          std::int64_t max = std::numeric_limits<std::int64_t>::max());
  std::uint64_t read_uint64(std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
  /// An integer of any size.
  big_int read_big_int();
  /// A float (NaN and infinities, which Erlang never sends, are a decode_error).
  double read_double();
  /// An atom (its name as UTF-8, also for Latin-1 encoded atoms).
  atom read_atom();
  /// Consumes the next term if it is the atom `name` and returns true; else returns false and
  /// consumes nothing.
  bool read_atom_if(std::string_view name);
  /// Consumes the atom `name`. Throws decode_error if the next term is anything else.
  void expect_atom(std::string_view name);
  /// A binary (a bitstring with a partial last byte is a decode_error).
  binary read_binary();
  /// A string as UTF-8 text: a binary's bytes as they are, or a charlist (STRING_EXT, [] or a
  /// proper list of Unicode code points) encoded as UTF-8.
  std::string read_string();
  /// A list of character codes 0..255: STRING_EXT, [] or a proper list of such integers.
  charlist read_charlist();
  /// A pid.
  erl_pid read_pid();
  /// A reference.
  erl_ref read_ref();
  /// A tuple header: returns the arity; that many elements follow.
  std::size_t read_tuple_header();
  /// A tuple header of exactly `arity`. Throws decode_error for any other arity.
  void read_tuple_header(std::size_t arity);
  /// A list header: returns the number of elements that follow, then the tail (read_nil() for a
  /// proper list). Returns 0 and consumes [] for the empty list. STRING_EXT is not a list here
  /// (read<std::vector<T>>() and read_charlist() accept it).
  std::size_t read_list_header();
  /// Consumes the empty list []. Throws decode_error for anything else (notably the tail of an
  /// improper list).
  void read_nil();
  /// A map header: returns the number of key-value pairs that follow, each key first.
  std::size_t read_map_header();
  /// Skips the next term, whatever it is (funs and ports included).
  void skip();

  /// The byte offset of the next term.
  [[nodiscard]] std::size_t position() const noexcept { return index_; }
  /// Goes back to `position`, a value position() returned earlier. Throws std::out_of_range if
  /// it is beyond the current position.
  void rewind(std::size_t position);
  /// True when every byte has been read.
  [[nodiscard]] bool at_end() const noexcept { return index_ == bytes_.size(); }
  /// Throws decode_error unless every byte has been read.
  void expect_end() const;
  /// The pid_context given at construction (may be null).
  [[nodiscard]] pid_context* pids() const noexcept { return pids_; }
  /// The nesting limit given at construction.
  [[nodiscard]] std::size_t max_depth() const noexcept { return max_depth_; }

  /// Throws decode_error "expected <expected>, found <a description of the next term> at byte
  /// <position>"; for mappings that reject a well-formed term.
  [[noreturn]] void fail(std::string_view expected);
  /// A short description of the next term ("atom 'ok'", "tuple of 3 elements", "end of
  /// input"...), for error messages. Never throws decode_error.
  [[nodiscard]] std::string describe_next();

 private:
  // Makes sure the term at index_ was validated (bounds, tags, depth); throws decode_error.
  void validate_next();
  // The buffer, for ei (after validate_next()).
  [[nodiscard]] const char* data() const noexcept { return bytes_.data(); }
  [[noreturn]] static void fail_at(std::size_t offset, const std::string& message);

  std::span<const char> bytes_;
  std::size_t index_ = 0;
  // Every term that starts in [index_, validated_end_) lies wholly in the buffer and is well
  // formed: ei may decode it.
  std::size_t validated_end_ = 0;
  pid_context* pids_ = nullptr;
  std::size_t max_depth_ = default_max_depth;
};

}  // namespace peeper::dist
