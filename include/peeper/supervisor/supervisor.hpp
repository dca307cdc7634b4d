// Supervisor: a process that starts children, watches them, restarts them
// by a strategy, and stops them in order, with OTP's semantics.
//
//   std::vector<peeper::child_spec> children{
//       peeper::worker_spec<cache>("cache", cache_config{}),
//       peeper::worker_spec<server>("server", 8080),
//   };
//   auto sup = peeper::supervisor::start(rt, children, {.strategy =
//   peeper::strategy::rest_for_one})
//                  .process();
//   peeper::supervisor::which_children(sup);            // newest first, as OTP
//
// The supervisor traps exits. It starts its children in order; if one fails
// to start, it stops those already started (in reverse order) and its own
// start fails with reason {shutdown, {failed_to_start_child, id, reason}}.
// When a child ends, its restart type and the strategy decide what is
// restarted (see flags.hpp and child_spec.hpp); more than max_restarts
// restarts within max_seconds (on the runtime's clock) make the supervisor
// stop every child and exit with reason `shutdown`, which its own supervisor
// sees. A restart whose start fails is retried (each try counts as a
// restart) after the supervisor has handled what is already in its mailbox;
// meanwhile which_children shows the child as `restarting`.
//
// Stopping a child: the supervisor monitors it and sends exit(child,
// shutdown); if the child has not ended within its shutdown time it is
// killed; brutal_kill kills at once; infinity waits. A child that traps exits
// (a GenServer started by start_link) runs its terminate. The supervisor
// never blocks its scheduler thread: it waits for a child's end as a
// suspended coroutine. It stops its children, newest first, and exits when:
// its parent (the process that started it with start_link) exits, with the
// parent's reason; stop() is called, with stop's reason; the runtime shuts
// down, with `shutdown`; intensity or auto_shutdown ends it, with `shutdown`.
//
// Operations: each has a blocking form, for threads outside the runtime
// (inside a process it throws supervisor_error would_block; in
// deterministic mode it drives the runtime until answered), and an async_
// form to co_await inside a process. All wait as long as the supervisor
// takes (OTP's infinity), answer in the supervisor's mailbox order, and
// throw supervisor_error: noproc if the supervisor is not alive,
// not_a_supervisor if the pid runs something else, plus each operation's
// own codes below. Any thread may call them.
#pragma once

#include <string>
#include <vector>

#include "peeper/gen_server/call.hpp"
#include "peeper/gen_server/start.hpp"
#include "peeper/runtime/runtime.hpp"
#include "peeper/supervisor/child_info.hpp"
#include "peeper/supervisor/child_spec.hpp"
#include "peeper/supervisor/detail/operation.hpp"
#include "peeper/supervisor/errors.hpp"
#include "peeper/supervisor/flags.hpp"

namespace peeper::supervisor {

/// Throws supervisor_error(bad_spec) naming the first problem: invalid flags
/// (max_restarts < 0, max_seconds <= 0, an unknown enumerator), an empty or
/// duplicate id, a missing start function, a negative shutdown timeout, a
/// significant permanent child, a significant child with auto_shutdown never.
void check_specs(const std::vector<child_spec>& children, const supervisor_flags& flags = {});

/// Starts a supervisor from a thread outside the runtime (not linked) and
/// waits until it has started every child. Returns ok with its pid, or:
/// already_started (opts.name is taken; process() holds it), init_failed
/// (a child failed to start: reason {shutdown, {failed_to_start_child, id,
/// reason}}; the children started were stopped), timeout (opts.init_timeout
/// passed: the supervisor was killed), stopping. Throws supervisor_error
/// bad_spec (nothing is started; see check_specs) and would_block inside a
/// process.
start_outcome start(runtime& rt, std::vector<child_spec> children, supervisor_flags flags = {},
                    start_options opts = {});

/// co_await start_link(children, ...): starts a supervisor linked to the
/// calling process (its parent: when the parent exits, the supervisor stops
/// its children and exits with the same reason). Yields a start_outcome as
/// start does. Throws supervisor_error bad_spec when called with invalid
/// specs; not_in_process when awaited outside a process.
detail::supervisor_start_op start_link(std::vector<child_spec> children,
                                       supervisor_flags flags = {}, start_options opts = {});

/// The spec of a supervisor child: type supervisor, shutdown infinity,
/// permanent, started with start_link(children, flags, opts). Throws
/// supervisor_error bad_spec for invalid children or flags.
child_spec spec(std::string id, std::vector<child_spec> children, supervisor_flags flags = {},
                start_options opts = {});

/// Every child spec with its process, newest first (OTP's order).
std::vector<child_info> which_children(const pid& sup);
detail::op_awaitable<std::vector<child_info>> async_which_children(const pid& sup);

/// Counts of specs, live children, supervisors and workers.
child_counts count_children(const pid& sup);
detail::op_awaitable<child_counts> async_count_children(const pid& sup);

/// Adds a child spec and starts it (it becomes the newest child). Returns
/// its pid, or the null pid if its start returned ignored (the spec is kept,
/// unless temporary). Throws supervisor_error: bad_spec, already_started
/// (the id is running; process() is it), already_present (the id exists,
/// not running), start_failed (reason() says why; nothing is kept),
/// already_started also when the child's own start found its name taken.
/// On a dynamic supervisor: as dynamic_supervisor::start_child (id ignored).
pid start_child(const pid& sup, child_spec spec);
detail::op_awaitable<pid> async_start_child(const pid& sup, child_spec spec);

/// Stops the child by its shutdown; the spec is kept (temporary ones are
/// deleted). Not restarted, and never counts for auto_shutdown. Succeeds
/// if it was not running. Throws supervisor_error not_found,
/// not_supported (dynamic: use dynamic_supervisor::terminate_child).
void terminate_child(const pid& sup, const std::string& id);
detail::op_awaitable<void> async_terminate_child(const pid& sup, const std::string& id);

/// Starts a child whose spec is kept but that is not running. Returns its
/// pid (null if its start returned ignored). Throws supervisor_error
/// not_found, running, restarting, start_failed, already_started (its name
/// is taken), not_supported (dynamic).
pid restart_child(const pid& sup, const std::string& id);
detail::op_awaitable<pid> async_restart_child(const pid& sup, const std::string& id);

/// Removes a spec whose child is not running. Throws supervisor_error
/// not_found, running, restarting, not_supported (dynamic).
void delete_child(const pid& sup, const std::string& id);
detail::op_awaitable<void> async_delete_child(const pid& sup, const std::string& id);

/// Stops the supervisor: it stops its children (newest first) and exits with
/// `reason`. Returns once it has exited. Throws supervisor_error noproc (not
/// alive), timeout (still stopping after `timeout`; it goes on stopping),
/// would_block (inside a process: use async_stop).
void stop(const pid& sup, exit_reason reason = exit_reason::normal(), timeout_t timeout = infinity);
detail::stop_awaitable async_stop(const pid& sup, exit_reason reason = exit_reason::normal(),
                                  timeout_t timeout = infinity);

}  // namespace peeper::supervisor
