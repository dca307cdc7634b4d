// Logging of crash reports and warnings, through spdlog.
//
// The runtime logs to the spdlog logger named "peeper" (created on first use
// with a colour console sink unless the program registered one under that
// name first). The initial level comes from the environment variable
// PEEPER_LOG_LEVEL (trace, debug, info, warn, error, off), else `warn`.
#pragma once

#include <memory>

namespace spdlog {
class logger;
}

namespace peeper {

enum class log_level { trace, debug, info, warn, error, off };

/// Sets the level of the "peeper" logger. Thread-safe.
void set_log_level(log_level level);
/// The current level of the "peeper" logger.
log_level get_log_level();

namespace detail {
/// The logger the runtime and the layers above write to.
spdlog::logger& logger();
}  // namespace detail

}  // namespace peeper
