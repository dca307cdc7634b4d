// How a table is made: its kind, who may touch it, its name, its heir and
// its concurrency settings (table_options, given to make_table).
#pragma once

#include <any>
#include <cstddef>
#include <string>

#include "peeper/runtime/pid.hpp"

namespace peeper {

/// The four ETS table kinds.
enum class table_kind : unsigned char {
  set,            // one value per key, hashed
  ordered_set,    // one value per key, kept in key order (operator<)
  bag,            // several distinct values per key, in insertion order
  duplicate_bag,  // several values per key, duplicates allowed
};

/// Who may read and write (the owner may always do both).
enum class table_access : unsigned char {
  public_,     // every process and thread reads and writes
  protected_,  // every process and thread reads; only the owner writes
  private_,    // only the owner reads and writes
};

/// The process that inherits a table when its owner dies, and what it is
/// told (table_transfer::data). A null pid means no heir.
struct table_heir {
  pid process{};
  std::any data{};
};

struct table_options {
  table_kind kind = table_kind::set;
  /// protected_ is ETS's default.
  table_access access = table_access::protected_;
  /// Empty: unnamed. Otherwise unique among the live tables of the runtime,
  /// and find_table resolves it while the table lives.
  std::string name{};
  /// Inherits the table when the owner dies (a dead heir counts as none).
  table_heir heir{};
  /// Reader slots per lock (one cache line per scheduler thread): readers of
  /// the same shard, or of an ordered_set, do not contend with each other;
  /// writes cost more (they wait for every slot). For read-mostly tables.
  bool read_concurrency = false;
  /// Hash kinds only: split the table into `shards` shards, each with its own
  /// lock, so that operations on different keys proceed in parallel. Off, the
  /// table has one shard (the smallest footprint: for many small tables).
  bool write_concurrency = true;
  /// Shards with write_concurrency; 0 picks the default (16). Rounded up to
  /// a power of two, at most 1024.
  std::size_t shards = 0;
};

/// "set", "ordered_set", "bag", "duplicate_bag".
const char* to_string(table_kind kind) noexcept;
/// "public", "protected", "private".
const char* to_string(table_access access) noexcept;

}  // namespace peeper
