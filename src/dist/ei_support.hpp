// Private to peeper::dist: Erlang's ei.h, and its one-time initialisation.
#pragma once

#include <ei.h>

namespace peeper::dist::detail {

// Calls ei_init() once per process (thread-safe); every reader and writer calls this first.
void ensure_ei_initialized() noexcept;

}  // namespace peeper::dist::detail
