// Errors of the term codec.
//
// decode_error: bytes that are not the Erlang term the caller asked for (malformed, truncated,
// nested too deep, or a well-formed term of another shape: an atom where an integer was
// expected, an integer out of the target type's range...). Its message says what was expected,
// what was found and at which byte offset; offset() gives the offset alone.
// encode_error: a C++ value that has no Erlang encoding (an atom longer than 255 characters, a
// binary over 4 GiB, a peeper::pid written without a pid_context...).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace peeper::dist {

/// Bytes that do not decode into the requested type. Thrown by term_reader, decode() and the
/// mappings' read functions; never thrown by try_decode().
class decode_error : public std::runtime_error {
 public:
  /// `what` is the full message; `offset` the byte offset (from the start of the buffer given to
  /// the reader) where the offending term starts.
  decode_error(const std::string& what, std::size_t offset)
      : std::runtime_error(what), offset_(offset) {}
  /// Byte offset of the offending term in the decoded buffer.
  [[nodiscard]] std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

/// A value with no Erlang encoding. Thrown by term_writer, encode() and the mappings' write
/// functions.
class encode_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace peeper::dist
