// Supervisors whose child specs are shared: many supervisors of one shape
// (every Peeper instance of a server type) hold the same specs, not copies,
// and each holds a context its children's start functions read. This keeps
// a supervisor of two children at a few dozen bytes per child where a copy
// of each spec (id, start function, options) would take about 120.
#pragma once

#include <memory>
#include <vector>

#include "peeper/gen_server/start.hpp"
#include "peeper/runtime/runtime.hpp"
#include "peeper/supervisor/child_spec.hpp"
#include "peeper/supervisor/detail/operation.hpp"
#include "peeper/supervisor/flags.hpp"

namespace peeper::detail {

using shared_specs = std::vector<std::shared_ptr<const child_spec>>;

/// What kind of object a supervisor's context is. Its address identifies the
/// kind: a supervisor shares its context with other threads under it (see
/// shared_context). `at_end` (if not null) runs with the context when the
/// supervisor is gone (its children stopped), before a stop request is
/// answered; it must not throw.
struct context_kind {
  void (*at_end)(void* context) noexcept = nullptr;
};

/// As supervisor::start, with shared specs and `context` of kind `kind`
/// (see supervisor_context; `kind` may be null for a context no other thread
/// looks up and nothing ends). Throws supervisor_error bad_spec as
/// supervisor::start does.
start_outcome start_supervisor(runtime& rt, shared_specs children, const supervisor_flags& flags,
                               start_options opts, std::shared_ptr<void> context,
                               const context_kind* kind = nullptr);
/// As supervisor::start_link, with shared specs, `context` and `kind`.
supervisor_start_op start_supervisor_link(shared_specs children, const supervisor_flags& flags,
                                          start_options opts, std::shared_ptr<void> context,
                                          const context_kind* kind = nullptr);

/// The context of the supervisor the calling process is (a child's start
/// function runs in its supervisor): what start_supervisor was given, kept
/// until the supervisor is gone. Null for a supervisor started without one.
/// Throws not_in_process outside processes, std::logic_error in a process
/// that is not a supervisor.
const std::shared_ptr<void>& supervisor_context();

/// Lets other threads find the calling supervisor's context through its pid
/// (shared_context), until the supervisor ends. Throws as supervisor_context.
void share_supervisor_context();
/// Any thread: the context of the supervisor `supervisor` if it shares one
/// of kind `kind` and has not ended; null otherwise (a pid that is not a
/// local supervisor's included).
std::shared_ptr<void> shared_context(const pid& supervisor, const context_kind& kind);

}  // namespace peeper::detail
