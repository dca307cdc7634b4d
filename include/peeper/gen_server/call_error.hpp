// The errors of call, stop and start.
#pragma once

#include <stdexcept>
#include <string>

#include "peeper/runtime/exit_reason.hpp"

namespace peeper {

enum class call_errc {
  timeout,       // no reply within the timeout (the server may still answer: the reply is dropped)
  noproc,        // no process: a dead pid, or a name that resolves to nothing
  exited,        // the server exited before replying; reason() says why
  calling_self,  // a server called itself (it would wait for itself forever)
  would_block,   // a blocking call from inside a process: use co_await async_call
  bad_call,      // the process is not a server of the type the request was made for
  no_reply,      // the server dropped the request without replying
  bad_reply,     // the reply was not of the type the caller expects
};

/// "timeout", "noproc", ...
const char* to_string(call_errc code) noexcept;

/// Thrown by call / async_call / stop. `reason()` is the server's exit reason
/// for `exited`, and noproc / normal otherwise.
class call_error : public std::runtime_error {
 public:
  call_error(call_errc code, exit_reason reason, const std::string& context)
      : std::runtime_error(context + ": " + to_string(code) +
                           (code == call_errc::exited ? " (" + reason.to_string() + ")" : "")),
        code_(code),
        reason_(std::move(reason)) {}
  [[nodiscard]] call_errc code() const noexcept { return code_; }
  [[nodiscard]] const exit_reason& reason() const noexcept { return reason_; }

 private:
  call_errc code_;
  exit_reason reason_;
};

}  // namespace peeper
