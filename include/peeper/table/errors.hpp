// Errors the table layer reports by exception.
//
// Every refused table operation throws table_error with a table_errc code
// saying why; a refused operation never changes the table. Misuse that is
// the runtime's business keeps the runtime's exceptions: make_table outside
// a process throws peeper::not_in_process.
#pragma once

#include <stdexcept>
#include <string>

namespace peeper {

/// Why a table operation was refused.
enum class table_errc : unsigned char {
  /// The caller may not do this: a write to a protected or private table, or
  /// a read of a private one, by a process (or thread) that is not its owner.
  access_denied = 1,
  /// The table was deleted (by its owner's death, or destroy()), or the
  /// handle is null.
  deleted,
  /// make_table: a live table of the runtime already has this name.
  name_taken,
  /// A checked conversion (table_cast, find_table) asked for other key or
  /// value types than the table holds.
  bad_type,
  /// The key is not in the table where the operation needs it (update_counter
  /// without a default; next / prev of an erased key in a hash table).
  bad_key,
  /// give_away / set_heir by a process that is not the owner.
  not_owner,
  /// give_away / set_heir / an heir option naming an unusable process: null,
  /// not alive, already the owner, or in another runtime.
  bad_target,
  /// The operation does not apply to this kind of table (update on a bag), or
  /// the key / value types cannot make this kind (a bag of values without ==).
  unsupported,
};

/// "access_denied", "deleted", ...
const char* to_string(table_errc code) noexcept;

/// Thrown by table operations; code() says why, what() says it in words.
class table_error : public std::runtime_error {
 public:
  table_error(table_errc code, const std::string& what) : std::runtime_error(what), code_(code) {}
  [[nodiscard]] table_errc code() const noexcept { return code_; }

 private:
  table_errc code_;
};

}  // namespace peeper
