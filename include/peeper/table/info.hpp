// table_info: what a table is and who holds it, as any_table::info() sees it.
#pragma once

#include <cstddef>
#include <string>

#include "peeper/runtime/pid.hpp"
#include "peeper/table/options.hpp"

namespace peeper {

struct table_info {
  table_kind kind = table_kind::set;
  table_access access = table_access::protected_;
  /// The current owner.
  pid owner;
  /// The heir, or the null pid. As in ETS an heir that inherited stays the
  /// heir (it then has no effect until the table is given away again).
  pid heir;
  /// Empty for an unnamed table.
  std::string name;
  /// Objects in the table (a bag counts every value).
  std::size_t size = 0;
  bool read_concurrency = false;
  bool write_concurrency = false;
  /// Lock shards (1 for an ordered_set or without write_concurrency).
  std::size_t shards = 1;
  /// The key and value types, as the compiler spells them.
  std::string key_type;
  std::string value_type;
};

}  // namespace peeper
