// The term codec: C++ values to Erlang's external term format and back.
//
// This header is the one to include: it brings the reader and writer, the mapping
// customisation point (peeper/dist/mapping.hpp) and the built-in mappings
// (peeper/dist/builtin_mappings.hpp, with the table of what maps to what).
//
//   std::vector<char> bytes = dist::encode(std::tuple{dist::atom{"ok"}, 42});
//   auto v = dist::decode<std::tuple<dist::atom, int>>(bytes);      // throws decode_error
//   auto m = dist::try_decode<my_message>(bytes);                    // nullopt if it is not one
//
// Decoding never trusts its input: malformed, truncated, too deeply nested or mistyped bytes
// end in a decode_error (or nullopt), never in a crash. Every function here is thread-safe
// (each call uses its own reader or writer); a pid_context passed in is called on the calling
// thread.
#pragma once

#include <cstddef>
#include <exception>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "peeper/dist/builtin_mappings.hpp"
#include "peeper/dist/errors.hpp"
#include "peeper/dist/mapping.hpp"
#include "peeper/dist/pid_context.hpp"
#include "peeper/dist/term.hpp"
#include "peeper/dist/term_reader.hpp"
#include "peeper/dist/term_writer.hpp"
#include "peeper/dist/types.hpp"

namespace peeper::dist {

/// Options of decode() and try_decode().
struct decode_options {
  /// Translates pids into peeper::pids (needed only to decode a peeper::pid); not owned.
  pid_context* pids = nullptr;
  /// The input starts with the version byte 131, as a whole external term does (ei's messages
  /// and term_to_binary/1's output). False for a term inside a larger buffer.
  bool version = true;
  /// Bytes left after the term are an error (false: they are ignored).
  bool whole_buffer = true;
  /// How deep containers may nest.
  std::size_t max_depth = term_reader::default_max_depth;
};

/// `value` as an external term: the version byte 131, then the term. Throws encode_error when
/// the value (or a part of it) has no encoding, std::bad_alloc.
template <term_mappable T>
[[nodiscard]] std::vector<char> encode(const T& value, pid_context* pids = nullptr) {
  term_writer w(pids);
  w.write_version();
  w.write(value);
  return w.release();
}

/// The T encoded in `bytes`. Throws decode_error when the bytes are malformed, truncated,
/// nested deeper than options.max_depth, start without the version byte (options.version),
/// leave bytes over (options.whole_buffer) or hold a term that T's mapping does not accept;
/// whatever a custom mapping's read() or the pid_context throws; std::bad_alloc.
template <term_mappable T>
[[nodiscard]] std::remove_cv_t<T> decode(std::span<const char> bytes,
                                         const decode_options& options = {}) {
  term_reader r(bytes, options.pids, options.max_depth);
  if (options.version) {
    r.read_version();
  }
  auto value = r.read<T>();
  if (options.whole_buffer) {
    r.expect_end();
  }
  return value;
}

/// Like decode(), but a failure is nullopt instead of an exception: any std::exception but
/// std::bad_alloc (which propagates) makes it nullopt, and its message goes to `*error` when
/// `error` is not null.
template <term_mappable T>
[[nodiscard]] std::optional<std::remove_cv_t<T>> try_decode(std::span<const char> bytes,
                                                            const decode_options& options = {},
                                                            std::string* error = nullptr) {
  try {
    return decode<T>(bytes, options);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    if (error != nullptr) {
      *error = e.what();
    }
    return std::nullopt;
  }
}

}  // namespace peeper::dist
