// The errors of the supervisor operations: supervisor_errc and supervisor_error.
#pragma once

#include <stdexcept>
#include <string>

#include "peeper/runtime/exit_reason.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper {

enum class supervisor_errc {
  not_found,         // no child with that id (or, dynamic, that pid)
  running,           // restart_child / delete_child: the child is running
  restarting,        // restart_child / delete_child: the child is being restarted
  already_present,   // start_child: a spec with that id exists, not running
  already_started,   // start_child: that id is running (process() is it), or the
                     // child's start found its name taken (process() holds the name)
  not_a_supervisor,  // the process is not a supervisor (another server type)
  not_supported,     // the operation does not apply to this kind of supervisor
                     // (OTP's {error, simple_one_for_one})
  bad_spec,          // an invalid child spec, flags or options (message() says what)
  max_children,      // dynamic: max_children reached
  start_failed,      // the child's start failed: reason() says why
  noproc,            // the supervisor is not alive (reason(): noproc, or why it exited)
  timeout,           // stop: the supervisor did not stop in time
  would_block,       // a blocking operation inside a process: use the async_ form
  calling_self,      // a supervisor operation on the calling supervisor itself
};

/// "not_found", "running", ...
const char* to_string(supervisor_errc code) noexcept;

/// Thrown by the supervisor and dynamic_supervisor operations.
class supervisor_error : public std::runtime_error {
 public:
  supervisor_error(supervisor_errc code, const std::string& message, exit_reason reason = {},
                   pid process = {});
  [[nodiscard]] supervisor_errc code() const noexcept { return code_; }
  /// start_failed: why the start failed; noproc: why the supervisor is gone.
  [[nodiscard]] const exit_reason& reason() const noexcept { return reason_; }
  /// already_started: the running child (or the holder of its name).
  [[nodiscard]] const pid& process() const noexcept { return process_; }

 private:
  supervisor_errc code_;
  exit_reason reason_;
  pid process_;
};

}  // namespace peeper
