// Where callers find an instance's core without asking its supervisor: by
// the supervisor's pid, and by the instance's name (which a transfer
// switches from the old core to the new one at once, so that a name never
// resolves to nothing while an instance moves).
#pragma once

#include <memory>

#include "peeper/runtime/names.hpp"
#include "peeper/runtime/pid.hpp"
#include "peeper/runtime/runtime.hpp"

namespace peeper::detail {

class core_base;

void register_instance(const pid& supervisor, const std::shared_ptr<core_base>& core);
/// The core of the instance whose supervisor is `supervisor`, or null.
std::shared_ptr<core_base> find_instance(const pid& supervisor);
/// Points `n` at `core` (replacing what it pointed at).
void bind_instance_name(runtime& rt, const name& n, const std::shared_ptr<core_base>& core);
/// The core `n` points at, or null.
std::shared_ptr<core_base> find_instance(runtime& rt, const name& n);
/// Forgets `core` (under its supervisor's pid and its name, if they still point at it).
void forget_instance(const core_base& core);

}  // namespace peeper::detail
