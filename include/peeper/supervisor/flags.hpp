// A supervisor's flags: restart strategy, restart intensity, auto_shutdown.
#pragma once

#include <chrono>

namespace peeper {

/// What a supervisor restarts when a child must be restarted: that child
/// (one_for_one); every child, the others stopped first in reverse start
/// order (one_for_all); that child and those started after it (rest_for_one).
enum class strategy { one_for_one, one_for_all, rest_for_one };

/// When significant children end the supervisor: never; when any
/// significant child ends by itself; when all significant children have.
enum class auto_shutdown { never, any_significant, all_significant };

struct supervisor_flags {
  peeper::strategy strategy = peeper::strategy::one_for_one;
  /// More than max_restarts restarts within max_seconds make the supervisor
  /// stop all its children and exit with reason shutdown. At least 0.
  int max_restarts = 3;
  /// The intensity period, on the runtime's clock. Positive.
  std::chrono::milliseconds max_seconds{5000};
  peeper::auto_shutdown auto_shutdown = peeper::auto_shutdown::never;
  friend bool operator==(const supervisor_flags&, const supervisor_flags&) = default;
};

/// "one_for_one", ...
const char* to_string(strategy s) noexcept;
/// "never", "any_significant", "all_significant".
const char* to_string(auto_shutdown a) noexcept;

}  // namespace peeper
