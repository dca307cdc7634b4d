// table_transfer: the message a process receives when it becomes a table's
// owner, as ETS's {'ETS-TRANSFER', Table, FromPid, HeirData}.
//
// It is sent by give_away (data: give_away's argument) and when the owner
// dies and the heir inherits (data: the heir data of table_options::heir or
// set_heir). By the time it arrives the receiver already owns the table.
//
//     auto t = co_await peeper::receive<peeper::table_transfer>();
//     auto counters = peeper::table_cast<std::string, int>(t->table);
#pragma once

#include <any>

#include "peeper/runtime/pid.hpp"
#include "peeper/table/any_table.hpp"

namespace peeper {

struct table_transfer {
  /// The table; table_cast<K, V> gives back the typed handle.
  any_table table;
  /// The previous owner.
  pid from;
  /// The heir data, or give_away's data.
  std::any data;
};

}  // namespace peeper
