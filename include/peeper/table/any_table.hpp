// any_table: a handle to a table of any key and value types.
//
// It offers what does not depend on the types: identity, info, ownership
// (give_away, set_heir) and deletion. table<K, V> is an any_table that also
// knows the types; table_cast<K, V> (table.hpp) turns an any_table back into
// one, checking the types. Handles are cheap to copy (one shared_ptr) and
// every member is safe to call from any thread.
//
// Ownership follows ETS. The process that made the table owns it. When the
// owner exits, the table goes to its heir (if the heir is alive and is not
// the dying owner itself), which receives a table_transfer message
// (transfer.hpp); otherwise the table is deleted. give_away hands it over in
// the same way while the owner lives. Reads never wait for a hand-over: the
// new owner is recorded before the old one's exit completes, and the
// contents never move.
#pragma once

#include <any>
#include <cstddef>
#include <memory>
#include <string>

#include "peeper/runtime/pid.hpp"
#include "peeper/table/detail/table_core.hpp"
#include "peeper/table/info.hpp"
#include "peeper/table/options.hpp"

namespace peeper {

class any_table {
 public:
  /// The null handle: names no table (operations throw table_error deleted).
  any_table() noexcept = default;
  /// For the library's own use.
  explicit any_table(std::shared_ptr<detail::table_core> core) noexcept : core_(std::move(core)) {}

  /// False for the null handle.
  explicit operator bool() const noexcept { return static_cast<bool>(core_); }
  /// True once the table is deleted (and for the null handle). A hint only
  /// when another process may delete it.
  [[nodiscard]] bool deleted() const noexcept { return !core_ || core_->deleted(); }

  /// The table's description, size included; any process may ask, even of a
  /// private table (as in ETS). Throws table_error deleted.
  [[nodiscard]] table_info info() const { return core().info(); }
  /// The current owner. Throws table_error deleted.
  [[nodiscard]] pid owner() const { return core().owner(); }
  /// The table's name, empty if unnamed. Throws table_error deleted (null handle only).
  [[nodiscard]] const std::string& name() const { return core().name(); }
  [[nodiscard]] table_kind kind() const { return core().kind(); }
  [[nodiscard]] table_access access() const { return core().access(); }
  /// Objects in the table (a bag counts each value), read atomically.
  /// Throws table_error deleted, access_denied (private, not the owner).
  [[nodiscard]] std::size_t size() const { return core().size(); }

  /// True if the table holds keys of type K and values of type V.
  template <class K, class V>
  [[nodiscard]] bool holds() const noexcept {
    return core_ && core_->types().same(detail::table_types::of<K, V>());
  }

  /// Makes `to` the owner; `to` then receives table_transfer{table, caller,
  /// data}. The table keeps its heir. Only the owner may call it.
  /// Throws table_error not_owner (the caller, or a non-process thread, is
  /// not the owner), bad_target (`to` is null, not alive, the owner itself, or
  /// in another runtime), deleted.
  void give_away(const pid& to, std::any data = {}) const { core().give_away(to, std::move(data)); }
  /// Sets the heir (a null pid: none; a process that is not alive also
  /// counts as none, as in ETS) and the data it will be sent. Only the owner
  /// may call it. Throws table_error not_owner, bad_target (another
  /// runtime's process), deleted.
  void set_heir(const pid& heir, std::any data = {}) const {
    core().set_heir(heir, std::move(data));
  }
  /// Deletes the table at once: its contents are freed, its name released,
  /// and every later operation through any handle throws table_error
  /// deleted. Needs write access (anyone for a public table, the owner
  /// otherwise). Throws table_error access_denied, deleted (already deleted).
  void destroy() const { core().destroy(); }

  /// Same table.
  friend bool operator==(const any_table& a, const any_table& b) noexcept {
    return a.core_ == b.core_;
  }

  /// For the library's own use.
  [[nodiscard]] const std::shared_ptr<detail::table_core>& core_ptr() const noexcept {
    return core_;
  }

 protected:
  /// The core; throws table_error deleted for the null handle.
  [[nodiscard]] detail::table_core& core() const {
    if (!core_) throw table_error(table_errc::deleted, "null table handle");
    return *core_;
  }

 private:
  std::shared_ptr<detail::table_core> core_;
};

}  // namespace peeper
