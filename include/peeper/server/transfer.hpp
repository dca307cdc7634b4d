// Moving a Peeper instance from one DynamicSupervisor to another.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "peeper/gen_server/call.hpp"
#include "peeper/runtime/names.hpp"
#include "peeper/runtime/pid.hpp"
#include "peeper/runtime/runtime.hpp"
#include "peeper/supervisor/child_info.hpp"
#include "peeper/supervisor/dynamic_supervisor.hpp"

namespace peeper {

enum class transfer_errc {
  name_not_found,    // no instance has that name
  source_not_found,  // the source supervisor is not alive
  target_not_found,  // the target supervisor is not alive
  not_a_child,       // the instance is not a child of the source
  start_failed,      // the target refused it (e.g. max_children): it was restarted under the source
};

/// "name_not_found", ...
const char* to_string(transfer_errc code) noexcept;

class transfer_error : public std::runtime_error {
 public:
  transfer_error(transfer_errc code, const std::string& message)
      : std::runtime_error(std::string("transfer: ") + to_string(code) + ": " + message),
        code_(code) {}
  [[nodiscard]] transfer_errc code() const noexcept { return code_; }

 private:
  transfer_errc code_;
};

/// Moves the instance named `n` from the DynamicSupervisor `source` to the
/// DynamicSupervisor `target`: the instance is stopped under the source and
/// started under the target with its committed state and its dictionary,
/// under the same name. Afterwards the target lists it and the source does
/// not. No message is lost: messages sent meanwhile (by name, or through a
/// handle to the old instance) and those the old worker had not handled are
/// handled by the new worker, in order. Returns the new instance's pid.
///
/// Blocks; from threads outside the runtime. Throws transfer_error: if the
/// name, the source or the target does not resolve, or the instance is not
/// the source's child, nothing moves and the instance keeps working; if the
/// target refuses it, it is restarted under the source (start_failed).
pid transfer(runtime& rt, const name& n, const pid& source, const pid& target);

namespace detail {
class core_base;

/// What the DynamicSupervisor `sup` reports of `child`, if it is one of its
/// children (nothing if `sup` is not a live DynamicSupervisor).
std::optional<child_info> child_entry(const pid& sup, const pid& child);

/// A DynamicSupervisor child that starts an instance on `core` (made by
/// make_successor) with the restart, shutdown and significant flag `as`
/// reports (a moved instance keeps them), or a server_child's defaults.
dynamic_supervisor::child instance_child(const std::shared_ptr<core_base>& core,
                                         const std::optional<child_info>& as = std::nullopt);
}  // namespace detail

}  // namespace peeper
