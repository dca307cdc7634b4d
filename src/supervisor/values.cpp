// Names of the supervisor layer's enumerations, and its error type.
#include <string>

#include <peeper/supervisor/child_spec.hpp>
#include <peeper/supervisor/errors.hpp>
#include <peeper/supervisor/flags.hpp>

namespace peeper {

std::string shutdown_t::to_string() const {
  switch (kind_) {
    case kind::brutal_kill:
      return "brutal_kill";
    case kind::infinity:
      return "infinity";
    case kind::timeout:
      break;
  }
  return std::to_string(timeout_.count()) + " ms";
}

shutdown_t default_shutdown(child_type type) noexcept {
  if (type == child_type::supervisor) return infinity;
  return std::chrono::milliseconds(5000);
}

const char* to_string(restart_type r) noexcept {
  switch (r) {
    case restart_type::permanent:
      return "permanent";
    case restart_type::transient:
      return "transient";
    case restart_type::temporary:
      return "temporary";
  }
  return "unknown";
}

const char* to_string(child_type t) noexcept {
  switch (t) {
    case child_type::worker:
      return "worker";
    case child_type::supervisor:
      return "supervisor";
  }
  return "unknown";
}

const char* to_string(strategy s) noexcept {
  switch (s) {
    case strategy::one_for_one:
      return "one_for_one";
    case strategy::one_for_all:
      return "one_for_all";
    case strategy::rest_for_one:
      return "rest_for_one";
  }
  return "unknown";
}

const char* to_string(auto_shutdown a) noexcept {
  switch (a) {
    case auto_shutdown::never:
      return "never";
    case auto_shutdown::any_significant:
      return "any_significant";
    case auto_shutdown::all_significant:
      return "all_significant";
  }
  return "unknown";
}

const char* to_string(supervisor_errc code) noexcept {
  switch (code) {
    case supervisor_errc::not_found:
      return "not_found";
    case supervisor_errc::running:
      return "running";
    case supervisor_errc::restarting:
      return "restarting";
    case supervisor_errc::already_present:
      return "already_present";
    case supervisor_errc::already_started:
      return "already_started";
    case supervisor_errc::not_a_supervisor:
      return "not_a_supervisor";
    case supervisor_errc::not_supported:
      return "not_supported";
    case supervisor_errc::bad_spec:
      return "bad_spec";
    case supervisor_errc::max_children:
      return "max_children";
    case supervisor_errc::start_failed:
      return "start_failed";
    case supervisor_errc::noproc:
      return "noproc";
    case supervisor_errc::timeout:
      return "timeout";
    case supervisor_errc::would_block:
      return "would_block";
    case supervisor_errc::calling_self:
      return "calling_self";
  }
  return "unknown";
}

supervisor_error::supervisor_error(supervisor_errc code, const std::string& message,
                                   exit_reason reason, pid process)
    : std::runtime_error(std::string("supervisor: ") + peeper::to_string(code) +
                         (message.empty() ? "" : ": " + message)),
      code_(code),
      reason_(std::move(reason)),
      process_(std::move(process)) {}

}  // namespace peeper
