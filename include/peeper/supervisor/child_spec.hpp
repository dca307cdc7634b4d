// How a supervisor starts, restarts and stops one child: child_spec.
//
// A child_spec names the child (`id`), says how to start it (`start`, a
// coroutine run inside the supervisor process that starts the child linked
// to the supervisor), when to restart it (`restart`), how to stop it
// (`shutdown`), whether it is a worker or a supervisor, and whether its exit
// may end the supervisor (`significant`, with auto_shutdown).
//
//   auto s = peeper::worker_spec<counter>("counter", 0);   // a GenServer child
//   s.restart = peeper::restart_type::transient;           // any field can be overridden
//
// worker_spec<Impl> takes its defaults from a static
// `Impl::child_spec_defaults(child_spec&)` when Impl has one.
#pragma once

#include <chrono>
#include <compare>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "peeper/gen_server/call.hpp"
#include "peeper/gen_server/start.hpp"
#include "peeper/runtime/task.hpp"

namespace peeper {

/// When a child that ended is restarted: permanent always; transient only
/// after an abnormal exit (not normal, shutdown or {shutdown, _}); temporary never.
enum class restart_type { permanent, transient, temporary };
enum class child_type { worker, supervisor };

struct brutal_kill_t {};
/// Shutdown by exit(child, kill) at once.
inline constexpr brutal_kill_t brutal_kill{};

/// How a supervisor stops a child: brutal_kill, a timeout (exit(child,
/// shutdown), then kill if it has not ended in time) or infinity (exit(child,
/// shutdown) and wait as long as it takes). Implicit from each.
class shutdown_t {
 public:
  enum class kind : unsigned char { brutal_kill, timeout, infinity };

  shutdown_t(brutal_kill_t /*b*/) noexcept
      : kind_(kind::brutal_kill) {}  // NOLINT(google-explicit-constructor)
  shutdown_t(infinity_t /*i*/) noexcept
      : kind_(kind::infinity) {}  // NOLINT(google-explicit-constructor)
  /// A timeout, rounded up to whole milliseconds. Negative ones are rejected
  /// when the spec is checked (supervisor_error bad_spec).
  template <class Rep, class Period>
  shutdown_t(std::chrono::duration<Rep, Period> d)  // NOLINT(google-explicit-constructor)
      : kind_(kind::timeout), timeout_(std::chrono::ceil<std::chrono::milliseconds>(d)) {}

  [[nodiscard]] kind what() const noexcept { return kind_; }
  [[nodiscard]] bool is_brutal_kill() const noexcept { return kind_ == kind::brutal_kill; }
  [[nodiscard]] bool is_infinity() const noexcept { return kind_ == kind::infinity; }
  [[nodiscard]] bool is_timeout() const noexcept { return kind_ == kind::timeout; }
  /// The timeout (zero unless is_timeout()).
  [[nodiscard]] std::chrono::milliseconds timeout() const noexcept { return timeout_; }
  /// "brutal_kill", "infinity", "5000 ms".
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const shutdown_t& a, const shutdown_t& b) noexcept = default;

 private:
  kind kind_;
  std::chrono::milliseconds timeout_{0};
};

/// The default shutdown: 5000 ms for workers, infinity for supervisors.
shutdown_t default_shutdown(child_type type) noexcept;

struct child_spec {
  /// Unique among the supervisor's children, not empty.
  std::string id{};
  /// Runs inside the supervisor process and must start the child linked to
  /// it (the calling process), e.g. `co_return co_await start_link<Impl>(arg);`,
  /// returning its outcome: ok (the child's pid), start_errc::ignored (no
  /// process: the spec is kept, without a pid, as OTP's `ignore`), or an
  /// error. An exception escaping it counts as a failed start. The supervisor
  /// waits for it (and handles nothing else meanwhile), as OTP's does.
  std::function<task<start_outcome>()> start{};
  restart_type restart = restart_type::permanent;
  /// Empty: default_shutdown(type).
  std::optional<shutdown_t> shutdown{};
  child_type type = child_type::worker;
  /// With auto_shutdown any_significant / all_significant: this child ending
  /// by itself (not restarted) shuts the supervisor down. Never permanent.
  bool significant = false;
};

/// "permanent", "transient", "temporary".
const char* to_string(restart_type r) noexcept;
/// "worker", "supervisor".
const char* to_string(child_type t) noexcept;

/// A type with a static child_spec_defaults(child_spec&).
template <class Impl>
concept has_child_spec_defaults = requires(child_spec& s) {
  Impl::child_spec_defaults(s);
};

/// The spec of a GenServer child of type Impl started with `arg` (copied for
/// each start) and `opts`: start_link<Impl>(arg, opts). Defaults come from
/// Impl::child_spec_defaults(spec) if Impl defines it; `id` and `start` are
/// set after it, and the caller may change any field of the result.
template <class Impl, class Arg>
requires std::copy_constructible<std::decay_t<Arg>> child_spec
worker_spec(std::string id, Arg&& arg, start_options opts = {}) {
  child_spec s;
  if constexpr (has_child_spec_defaults<Impl>) Impl::child_spec_defaults(s);
  s.id = std::move(id);
  s.start = [a = std::decay_t<Arg>(std::forward<Arg>(arg)), o = std::move(opts)]() {
    // A captureless lambda, not a free function: Clang 14 cannot compile free
    // coroutines under -fsanitize=function (llvm-project issue 49689). Its
    // parameters are copies, so the frame needs nothing of the closure.
    return [](std::decay_t<Arg> a2, start_options o2) -> task<start_outcome> {
      co_return co_await start_link<Impl>(std::move(a2), std::move(o2));
    }(a, o);
  };
  return s;
}

}  // namespace peeper
