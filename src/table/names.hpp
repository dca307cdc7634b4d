// The table-name registry: per runtime, name -> live table. Private to the
// table layer.
//
// The runtime knows nothing of tables, so the registry is keyed by the
// runtime's address. That is safe because every table of a runtime is
// deleted before the runtime is gone (every process exits, and a table's heir
// or give_away target must be in the same runtime), and a deleted table
// removes its name; a runtime's entry goes with its last name.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace peeper::detail {

class runtime_core;
class table_core;

/// Binds `name` to `table` in `rt`. Throws table_error name_taken if a live
/// table has it.
void register_table_name(runtime_core& rt, const std::string& name,
                         const std::shared_ptr<table_core>& table);
/// Removes `name` if it is bound to `table`.
void unregister_table_name(runtime_core& rt, const std::string& name,
                           const table_core* table) noexcept;

}  // namespace peeper::detail
