// Errors the runtime reports by exception.
//
// Operations that act on another process never throw because it is dead:
// they report "no process" through their return value (send -> false,
// exit -> false, monitor -> a DOWN with noproc). Exceptions are for misuse
// (calling a process-only function outside a process) and for conflicts
// (a name that is already taken).
#pragma once

#include <stdexcept>
#include <string>

#include "peeper/runtime/pid.hpp"

namespace peeper {

/// A function that acts on "the calling process" was called from a thread
/// that is not running one.
class not_in_process : public std::logic_error {
 public:
  explicit not_in_process(const std::string& what)
      : std::logic_error(what + ": must be called from inside a process") {}
};

/// register_name found the name taken. `holder()` is the process that has it.
class name_taken : public std::runtime_error {
 public:
  name_taken(const std::string& name, pid holder)
      : std::runtime_error("name " + name + " is already registered to " + holder.to_string()),
        holder_(std::move(holder)) {}
  [[nodiscard]] const pid& holder() const noexcept { return holder_; }

 private:
  pid holder_;
};

/// An argument outside what the function accepts (e.g. a null pid where a
/// process is required, an empty name, a runtime stopped or stopping).
class bad_argument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace peeper
