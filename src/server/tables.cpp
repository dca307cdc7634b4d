// Tables kept across a Peeper worker's crashes (see peeper/server/tables.hpp).
//
// Nothing is copied. As the worker exits (on its own thread, before its
// exit hooks run), each table it keeps gets the current keeper as heir and
// the "keep when orphaned" mark, and is recorded in the core; then the
// table layer's exit hook hands it to the keeper, as ETS hands a table to
// its heir. Should the keeper be gone by then, or exit while it holds the
// table, the mark keeps the table alive in the core instead of deleting it.
// The next worker takes each one over before its init runs. A server_heir
// marks the heir data with server_heir_data, so that a table keeps its
// server heir when the keeper it named has since been restarted.
#include "peeper/server/tables.hpp"

#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/log.hpp"
#include "peeper/server/detail/worker_tables.hpp"
#include "peeper/table/make_table.hpp"

namespace peeper {
namespace detail {
namespace {

/// The heir data of a server_heir: the user's data, marked.
struct server_heir_data {
  std::any data;
};

worker_base& current_worker(const char* what) {
  process* me = current();
  auto* w = me != nullptr ? dynamic_cast<worker_base*>(me->behaviour_ptr()) : nullptr;
  if (w == nullptr) throw not_in_worker(what);
  return *w;
}

std::string describe_table(const any_table& t) {
  if (!t.name().empty()) return "table '" + t.name() + "'";
  return std::string("an unnamed ") + to_string(t.kind()) + " table";
}

/// Keeps `t` for the next worker if its heir or the policy says so.
void keep_on_exit(core_base& core, const pid& keeper, const any_table& t) {
  table_core& c = *t.core_ptr();
  auto [heir, data] = c.heir();
  const auto* marked = std::any_cast<server_heir_data>(&data);
  const bool server_heir = marked != nullptr || (heir && heir == keeper);
  if (!server_heir) {
    if (!core.table_policy().keeps(t.name())) return;
    if (heir) {
      logger().warn(
          "Peeper server {}: {} is not kept across worker crashes: its heir is another process, {}",
          describe(current()->self()), describe_table(t), describe(heir));
      return;
    }
  }
  std::any user_data = marked != nullptr ? marked->data : (server_heir ? data : std::any());
  // Without a keeper (it is restarting) the table stays unfollowed in the
  // core; either way the next worker points the heir at the keeper again.
  if (server_heir && keeper && is_alive(keeper)) {
    c.set_heir(keeper, server_heir_data{user_data});
  } else if (keeper && is_alive(keeper)) {
    c.set_heir(keeper, {});
  }
  c.keep_when_orphaned(true);
  core.keep_table({t, server_heir, std::move(user_data)});
}

}  // namespace

std::vector<restored_table> restore_tables(core_base& core) {
  std::vector<restored_table> out;
  const pid keeper = core.keeper_route().target();
  for (kept_table& k : core.take_kept_tables()) {
    table_core& c = *k.table.core_ptr();
    if (!c.take_over()) continue;  // deleted meanwhile (destroyed by a public writer)
    try {
      // The heir marks a server-heir table for the worker's next end (the
      // keeper may have been restarted since: the current one). A table kept
      // by keep_tables gets no heir back: none was set for it.
      if (k.server_heir) {
        c.set_heir(keeper, server_heir_data{k.data});
      } else {
        c.set_heir(pid(), {});
      }
    } catch (const table_error&) {
      // Deleted just now (a public table destroyed by another process).
    }
    out.push_back({std::move(k.table), std::move(k.data)});
  }
  return out;
}

void keep_tables_on_exit(core_base& core) noexcept {
  try {
    const pid keeper = core.keeper_route().target();
    for (const any_table& t : owned_tables()) {
      try {
        keep_on_exit(core, keeper, t);
      } catch (const table_error&) {
        // Deleted meanwhile (a public table destroyed by another process).
      }
    }
  } catch (...) {
    logger().error("Peeper server {}: could not keep its tables: {}", describe(current()->self()),
                   exit_reason::from_current_exception().to_string());
  }
}

}  // namespace detail

table_heir server_heir(std::any data) {
  detail::worker_base& w = detail::current_worker("server_heir");
  return {w.instance().keeper_route().target(), detail::server_heir_data{std::move(data)}};
}

namespace this_server {

std::vector<restored_table> restored_tables() {
  return detail::current_worker("this_server::restored_tables").restored();
}

}  // namespace this_server
}  // namespace peeper
