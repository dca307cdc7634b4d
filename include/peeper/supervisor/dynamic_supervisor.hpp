// DynamicSupervisor: a supervisor that starts no child by itself and takes
// children one by one at run time, restarting them one_for_one (Elixir's
// DynamicSupervisor; OTP's simple_one_for_one).
//
//   auto sup = peeper::dynamic_supervisor::start(rt, {.max_children = 1000}).process();
//   pid room = peeper::dynamic_supervisor::start_child(sup,
//   peeper::dynamic_supervisor::worker_child<game_room>(cfg));
//   peeper::dynamic_supervisor::terminate_child(sup, room);
//
// Each child's start receives the supervisor's extra_arguments (OTP
// prepends them to every child's start arguments). Restarts, intensity,
// shutdown of one child and the operations' threading and errors are as in
// supervisor.hpp. When the supervisor stops, it stops all its children at
// once (exit(shutdown) to each, each killed after its own shutdown time),
// as OTP does for simple_one_for_one.
#pragma once

#include <any>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "peeper/gen_server/call.hpp"
#include "peeper/gen_server/start.hpp"
#include "peeper/runtime/runtime.hpp"
#include "peeper/runtime/task.hpp"
#include "peeper/supervisor/child_info.hpp"
#include "peeper/supervisor/child_spec.hpp"
#include "peeper/supervisor/detail/operation.hpp"
#include "peeper/supervisor/errors.hpp"
#include "peeper/supervisor/flags.hpp"

namespace peeper::dynamic_supervisor {

struct options {
  /// Intensity and period, as supervisor_flags.
  int max_restarts = 3;
  std::chrono::milliseconds max_seconds{5000};
  /// start_child fails with max_children once this many children exist
  /// (running or being restarted). Empty: no limit.
  std::optional<std::size_t> max_children{};
  /// Passed to every child's start function.
  std::vector<std::any> extra_arguments{};
  /// As supervisor_flags::auto_shutdown (an addition to Elixir's options; OTP's
  /// simple_one_for_one has it): all_significant ends the supervisor when no
  /// significant child is left.
  peeper::auto_shutdown auto_shutdown = peeper::auto_shutdown::never;
};

/// A dynamic child: how to start it (given the supervisor's
/// extra_arguments; must start the child linked to the calling process, as
/// child_spec::start), and how to restart and stop it.
struct child {
  std::function<task<start_outcome>(const std::vector<std::any>& extra)> start{};
  restart_type restart = restart_type::permanent;
  /// Empty: default_shutdown(type).
  std::optional<shutdown_t> shutdown{};
  child_type type = child_type::worker;
  bool significant = false;
};

/// A GenServer child of type Impl started with start_link<Impl>(arg, opts);
/// defaults from Impl::child_spec_defaults if it has one. The extra
/// arguments are not passed to Impl (its init takes one argument): write
/// the start function by hand to use them.
template <class Impl, class Arg>
requires std::copy_constructible<std::decay_t<Arg>> child worker_child(Arg&& arg,
                                                                       start_options opts = {}) {
  child_spec s = worker_spec<Impl>(std::string(), std::forward<Arg>(arg), std::move(opts));
  return child{[f = std::move(s.start)](const std::vector<std::any>& /*extra*/) { return f(); },
               s.restart, s.shutdown, s.type, s.significant};
}

/// Throws supervisor_error bad_spec: max_restarts < 0, max_seconds <= 0.
void check_options(const options& opts);

/// Starts a dynamic supervisor from an outside thread (not linked). Returns
/// as supervisor::start; throws supervisor_error bad_spec, would_block.
start_outcome start(runtime& rt, options opts = {}, start_options start_opts = {});
/// co_await start_link(...): started linked to the calling process.
detail::supervisor_start_op start_link(options opts = {}, start_options start_opts = {});
/// Its spec as a child of another supervisor (type supervisor, shutdown
/// infinity, permanent).
child_spec spec(std::string id, options opts = {}, start_options start_opts = {});

/// Starts a child. Returns its pid, or the null pid if its start returned
/// ignored (nothing is kept). Throws supervisor_error: bad_spec (no start
/// function, a negative shutdown, significant and permanent, significant
/// with auto_shutdown never), max_children, start_failed (reason() says
/// why), already_started (the child's name is taken; process() holds it).
pid start_child(const pid& sup, child c);
detail::op_awaitable<pid> async_start_child(const pid& sup, child c);
/// The same from a child_spec (its id is ignored).
pid start_child(const pid& sup, child_spec spec);
detail::op_awaitable<pid> async_start_child(const pid& sup, child_spec spec);

/// Stops the child by its shutdown and forgets it. Throws supervisor_error
/// not_found (not a child of this supervisor).
void terminate_child(const pid& sup, const pid& child);
detail::op_awaitable<void> async_terminate_child(const pid& sup, const pid& child);

/// Every child (id empty), ordered by pid.
std::vector<child_info> which_children(const pid& sup);
detail::op_awaitable<std::vector<child_info>> async_which_children(const pid& sup);
/// specs: children (running or being restarted); active: running.
child_counts count_children(const pid& sup);
detail::op_awaitable<child_counts> async_count_children(const pid& sup);

/// As supervisor::stop.
void stop(const pid& sup, exit_reason reason = exit_reason::normal(), timeout_t timeout = infinity);
detail::stop_awaitable async_stop(const pid& sup, exit_reason reason = exit_reason::normal(),
                                  timeout_t timeout = infinity);

}  // namespace peeper::dynamic_supervisor
