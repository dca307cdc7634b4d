#include "peeper/server/transfer.hpp"

#include <algorithm>
#include <optional>

#include "peeper/server/detail/core.hpp"
#include "peeper/server/detail/instance_table.hpp"
#include "peeper/supervisor/dynamic_supervisor.hpp"
#include "peeper/supervisor/errors.hpp"

namespace peeper {

const char* to_string(transfer_errc code) noexcept {
  switch (code) {
    case transfer_errc::name_not_found:
      return "name_not_found";
    case transfer_errc::source_not_found:
      return "source_not_found";
    case transfer_errc::target_not_found:
      return "target_not_found";
    case transfer_errc::not_a_child:
      return "not_a_child";
    case transfer_errc::start_failed:
      return "start_failed";
  }
  return "unknown";
}

namespace detail {

std::optional<child_info> child_entry(const pid& sup, const pid& child) {
  try {
    auto children = dynamic_supervisor::which_children(sup);
    auto it = std::find_if(children.begin(), children.end(),
                           [&](const child_info& c) { return c.process == child; });
    if (it != children.end()) return *it;
  } catch (const supervisor_error&) {
  }
  return std::nullopt;
}

dynamic_supervisor::child instance_child(const std::shared_ptr<core_base>& core,
                                         const std::optional<child_info>& as) {
  dynamic_supervisor::child c;
  c.type = child_type::supervisor;
  c.shutdown = infinity;
  if (as) {
    c.restart = as->restart;
    c.shutdown = as->shutdown;
    c.significant = as->significant;
  }
  c.start = [core, spawn = core->get_spawner()](const std::vector<std::any>& /*extra*/) {
    return spawn(core);
  };
  return c;
}

}  // namespace detail

pid transfer(runtime& rt, const name& n, const pid& source, const pid& target) {
  std::shared_ptr<detail::core_base> old_core = detail::latest_core(detail::find_instance(rt, n));
  if (!old_core) throw transfer_error(transfer_errc::name_not_found, n.to_string());
  if (!is_alive(source)) throw transfer_error(transfer_errc::source_not_found, source.to_string());
  if (!is_alive(target)) throw transfer_error(transfer_errc::target_not_found, target.to_string());
  pid old_sup = old_core->supervisor();
  const std::optional<child_info> was = detail::child_entry(source, old_sup);
  if (!was) {
    throw transfer_error(transfer_errc::not_a_child,
                         n.to_string() + " is not a child of " + source.to_string());
  }

  // From here on messages for the instance wait in the new core, the name
  // resolves to it, and the old worker's unhandled messages go ahead of them.
  std::shared_ptr<detail::core_base> new_core = old_core->make_successor();
  old_core->succeed_by(new_core);
  detail::bind_instance_name(rt, n, new_core);

  // The old worker saves its dictionary as it ends. If the source or the
  // instance died since the checks, the old instance is gone (or going) all
  // the same: the move goes on from what was committed, so the name, which
  // already points at the new core, is never left without an instance.
  try {
    dynamic_supervisor::terminate_child(source, old_sup);
  } catch (const supervisor_error&) {
  }
  old_core->hand_over_state(*new_core);

  try {
    return dynamic_supervisor::start_child(target, detail::instance_child(new_core, was));
  } catch (const supervisor_error& e) {
    pid back = dynamic_supervisor::start_child(source, detail::instance_child(new_core, was));
    throw transfer_error(
        transfer_errc::start_failed,
        std::string(e.what()) + "; restarted under the source as " + back.to_string());
  }
}

}  // namespace peeper
