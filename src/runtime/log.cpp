#include "peeper/runtime/log.hpp"

#include <cstdlib>
#include <string_view>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace peeper {

namespace {

spdlog::level::level_enum to_spdlog(log_level l) {
  switch (l) {
    case log_level::trace:
      return spdlog::level::trace;
    case log_level::debug:
      return spdlog::level::debug;
    case log_level::info:
      return spdlog::level::info;
    case log_level::warn:
      return spdlog::level::warn;
    case log_level::error:
      return spdlog::level::err;
    case log_level::off:
      return spdlog::level::off;
  }
  return spdlog::level::warn;
}

std::shared_ptr<spdlog::logger> make_logger() {
  if (auto existing = spdlog::get("peeper")) return existing;
  auto l = spdlog::stderr_color_mt("peeper");
  l->set_level(spdlog::level::warn);
  if (const char* env = std::getenv("PEEPER_LOG_LEVEL")) {
    l->set_level(spdlog::level::from_str(env));
  }
  return l;
}

}  // namespace

namespace detail {
spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = make_logger();
  return *instance;
}
}  // namespace detail

void set_log_level(log_level level) { detail::logger().set_level(to_spdlog(level)); }

log_level get_log_level() {
  switch (detail::logger().level()) {
    case spdlog::level::trace:
      return log_level::trace;
    case spdlog::level::debug:
      return log_level::debug;
    case spdlog::level::info:
      return log_level::info;
    case spdlog::level::warn:
      return log_level::warn;
    case spdlog::level::err:
    case spdlog::level::critical:
      return log_level::error;
    default:
      return log_level::off;
  }
}

}  // namespace peeper
