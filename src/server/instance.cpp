// The non-template parts of the Peeper API.
#include "peeper/server/instance.hpp"

#include "peeper/supervisor/supervisor.hpp"

namespace peeper::detail {

void stop_instance(const pid& supervisor, exit_reason reason, timeout_t timeout) {
  if (!supervisor) throw supervisor_error(supervisor_errc::noproc, "stop: no such instance");
  supervisor::stop(supervisor, std::move(reason), timeout);
}

std::vector<child_info> instance_children(core_base& core, timeout_t timeout) {
  // Both children attached: a restart in progress has finished (or timed out).
  (void)core.wait_both(core.rt(), deadline_after(core.rt(), timeout.value()));
  return supervisor::which_children(core.supervisor());
}

}  // namespace peeper::detail
