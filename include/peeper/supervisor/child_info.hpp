// What which_children and count_children report.
#pragma once

#include <cstddef>
#include <string>

#include "peeper/runtime/pid.hpp"
#include "peeper/supervisor/child_spec.hpp"

namespace peeper {

struct child_info {
  /// The spec's id; empty for dynamic children.
  std::string id{};
  /// The running process; null if not running (or being restarted).
  pid process{};
  /// True while the supervisor retries a restart that failed.
  bool restarting = false;
  child_type type = child_type::worker;
  restart_type restart = restart_type::permanent;
  /// The spec's shutdown (its default filled in) and significant flag (OTP
  /// does not report these; a transfer carries them to the target).
  shutdown_t shutdown = default_shutdown(child_type::worker);
  bool significant = false;
};

struct child_counts {
  /// Child specs (static), children (dynamic), running or not.
  std::size_t specs = 0;
  /// Children with a live process.
  std::size_t active = 0;
  /// Specs of type supervisor / worker, running or not.
  std::size_t supervisors = 0;
  std::size_t workers = 0;
};

}  // namespace peeper
