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

/// Run with the context when the supervisor is gone (its children stopped),
/// before a stop request is answered. Must not throw.
using context_end = void (*)(void* context) noexcept;

/// As supervisor::start, with shared specs and `context` (see
/// supervisor_context); `at_end` (if not null) runs once the supervisor is
/// gone, if it was started. Throws supervisor_error bad_spec as supervisor::start does.
start_outcome start_supervisor(runtime& rt, shared_specs children, const supervisor_flags& flags,
                               start_options opts, std::shared_ptr<void> context,
                               context_end at_end = nullptr);
/// As supervisor::start_link, with shared specs, `context` and `at_end`.
supervisor_start_op start_supervisor_link(shared_specs children, const supervisor_flags& flags,
                                          start_options opts, std::shared_ptr<void> context,
                                          context_end at_end = nullptr);

/// The context of the supervisor the calling process is (a child's start
/// function runs in its supervisor): what start_supervisor was given, kept
/// until the supervisor is gone. Null for a supervisor started without one.
/// Throws not_in_process outside processes, std::logic_error in a process
/// that is not a supervisor.
const std::shared_ptr<void>& supervisor_context();

}  // namespace peeper::detail
