// Tables that survive a Peeper worker's crashes, as the original's
// heir(server, data) and keep_ets, without copying them.
//
// Two ways to keep a table the worker owns:
//   - its heir is the server: make it with table_options{.heir =
//     peeper::server_heir(data)};
//   - the instance keeps it: server_options::keep_tables is
//     keep_tables::all(), or keep_tables::named({...}) and the table has
//     one of those names.
// When the worker ends (a crash, a kill, a stop return), each such table
// passes to the instance's keeper: only its owner changes, its contents,
// name, kind, access and heir stay as they were, and processes reading or
// writing it (public and protected tables) never wait. The next worker gets
// it back before its init runs, and before worker(s) names it: init finds
// it with find_table (named tables) or this_server::restored_tables(). A private table stays
// private throughout (while the keeper holds it nobody else may read it).
//
// A table whose heir is another process goes to that heir, as in ETS, even
// when keep_tables names it: a warning says it is not kept. Tables survive
// the keeper's restarts too (one_for_all), and transfer() moves them to the
// new instance. Stopping the instance deletes them.
//
//     struct cache : peeper::gen_server<cache, int> {
//       int init(int n) {
//         if (!peeper::find_table<std::string, int>("hits"))   // first start only
//           peeper::make_table<std::string, int>(
//               {.name = "hits", .heir = peeper::server_heir()});
//         return n;
//       }
//     };
#pragma once

#include <algorithm>
#include <any>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "peeper/table/any_table.hpp"
#include "peeper/table/options.hpp"
#include "peeper/table/table.hpp"

namespace peeper {

/// Which tables a worker owns are kept across its crashes
/// (server_options::keep_tables); tables whose heir is server_heir() are
/// kept whatever this says.
class keep_tables {
 public:
  /// None (the default).
  keep_tables() = default;
  /// Every table the worker owns, named or not.
  static keep_tables all() {
    keep_tables k;
    k.all_ = true;
    return k;
  }
  /// The tables the worker owns with one of these names.
  static keep_tables named(std::vector<std::string> names) {
    keep_tables k;
    k.names_ = std::move(names);
    return k;
  }
  /// True if a table named `table_name` (empty: unnamed) is kept.
  [[nodiscard]] bool keeps(std::string_view table_name) const {
    if (all_) return true;
    if (table_name.empty()) return false;
    return std::find(names_.begin(), names_.end(), table_name) != names_.end();
  }
  /// True if no table is kept by this rule.
  [[nodiscard]] bool none() const noexcept { return !all_ && names_.empty(); }
  /// True for all(); the names of named() otherwise (for encoding the rule).
  [[nodiscard]] bool keeps_all() const noexcept { return all_; }
  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return names_; }

 private:
  bool all_ = false;
  std::vector<std::string> names_;
};

/// Thrown by the functions below when the calling process is not a Peeper
/// worker (or the caller is no process at all).
class not_in_worker : public std::logic_error {
 public:
  explicit not_in_worker(const std::string& what)
      : std::logic_error(what + ": must be called from a Peeper worker (its init or callbacks)") {}
};

/// The heir for table_options::heir (or set_heir) that keeps a table across
/// the calling worker's crashes: the instance's keeper, with `data`
/// (this_server::restored_tables() gives it back with the table). Throws
/// not_in_worker outside a Peeper worker.
table_heir server_heir(std::any data = {});

/// A table handed back to a restarted worker.
struct restored_table {
  any_table table;
  /// server_heir's data; empty for a table kept by keep_tables.
  std::any data;
};

namespace this_server {

/// The tables the instance kept from the previous worker and handed to the
/// calling worker before its init ran, now owned by it; empty for a first
/// start. Throws not_in_worker outside a Peeper worker.
std::vector<restored_table> restored_tables();

/// The restored table named `name`, or nothing. Throws not_in_worker outside
/// a Peeper worker, table_error bad_type if it holds other types than K, V.
template <table_key K, table_value V>
std::optional<table<K, V>> restored(std::string_view name) {
  for (restored_table& r : restored_tables()) {
    if (!r.table.deleted() && r.table.name() == name) return table_cast<K, V>(r.table);
  }
  return std::nullopt;
}

}  // namespace this_server

}  // namespace peeper
