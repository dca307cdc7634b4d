// The owner index: which tables each process owns, for owned_tables().
// Private to the table layer.
//
// A table updates its entry whenever its owner changes (with its ownership
// mutex held; the index's own locks are taken last and never held while a
// table's mutex is taken). Entries are weak: the index keeps no table alive.
// Process ids are unique only within a runtime, so readers check each table
// they get against the process that asks.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace peeper::detail {

class table_core;

/// Moves `table` from the tables of process `from` to those of `to` (0: none).
/// Best effort: on allocation failure the table is just not listed.
void reindex_owner(std::uint64_t from, std::uint64_t to,
                   const std::shared_ptr<table_core>& table) noexcept;
/// Removes `table` from the tables of `owner`.
void unindex_owner(std::uint64_t owner, const table_core* table) noexcept;
/// The live tables listed for process id `owner` (possibly other runtimes' too).
std::vector<std::shared_ptr<table_core>> indexed_tables(std::uint64_t owner);

}  // namespace peeper::detail
