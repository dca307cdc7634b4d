// Where callers find an instance's core without asking its supervisor: by
// the supervisor's pid (the supervisor shares its context, the core, with
// other threads until it ends), and by the instance's name (which a transfer
// switches from the old core to the new one at once, so that a name never
// resolves to nothing while an instance moves).
#pragma once

#include <memory>

#include "peeper/runtime/names.hpp"
#include "peeper/runtime/pid.hpp"
#include "peeper/runtime/runtime.hpp"
#include "peeper/supervisor/detail/shared_specs.hpp"

namespace peeper::detail {

class core_base;

/// The instance is gone: closes its core (run by its supervisor once it has
/// let go of its children; again, harmlessly, after a failed start) and
/// forgets its name.
void end_instance(void* core) noexcept;
/// The kind of an instance supervisor's context: its core.
extern const context_kind instance_kind;

/// Makes the calling process (the instance's supervisor, whose context is
/// `core`) find `core` by its pid, and the instance's name (if any) find it
/// too. Throws not_in_process / std::logic_error outside a supervisor.
void register_instance(const std::shared_ptr<core_base>& core);
/// The core of the instance whose supervisor is `supervisor` (while that
/// supervisor lives), or null.
std::shared_ptr<core_base> find_instance(const pid& supervisor);
/// Points `n` at `core` (replacing what it pointed at).
void bind_instance_name(runtime& rt, const name& n, const std::shared_ptr<core_base>& core);
/// The core `n` points at, or null.
std::shared_ptr<core_base> find_instance(runtime& rt, const name& n);
/// Forgets `core` (under its supervisor's pid and its name, if they still point at it).
void forget_instance(const core_base& core);

}  // namespace peeper::detail
