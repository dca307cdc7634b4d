// How a Peeper worker keeps its tables across its crashes (see
// peeper/server/tables.hpp): what it does as it exits and as it starts,
// and how the functions of tables.hpp find the worker they are called in.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "peeper/server/detail/core.hpp"
#include "peeper/server/tables.hpp"

namespace peeper::detail {

/// The part of a Peeper worker that does not depend on the server type.
class worker_base {
 public:
  worker_base() = default;
  worker_base(const worker_base&) = delete;
  worker_base& operator=(const worker_base&) = delete;
  virtual ~worker_base() = default;

  /// The instance's core.
  [[nodiscard]] virtual core_base& instance() noexcept = 0;
  /// The tables handed to this worker as it started.
  [[nodiscard]] const std::vector<restored_table>& restored() const noexcept {
    static const std::vector<restored_table> none;
    return restored_ ? *restored_ : none;
  }

 protected:
  void set_restored(std::vector<restored_table> t) {
    if (!t.empty()) restored_ = std::make_unique<const std::vector<restored_table>>(std::move(t));
  }

 private:
  std::unique_ptr<const std::vector<restored_table>> restored_;  // null if none: most have none
};

/// Run by the worker as it starts, before init: takes over the tables the
/// instance kept for it and returns them.
std::vector<restored_table> restore_tables(core_base& core);
/// Run by the worker as it exits (on its thread, while it still owns its
/// tables, before it detaches from the core): the tables it keeps get the
/// keeper as heir and are recorded in the core; tables keep_tables names but
/// whose heir is another process are reported in a warning.
void keep_tables_on_exit(core_base& core) noexcept;

}  // namespace peeper::detail
