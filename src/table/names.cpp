// The table-name registry (see names.hpp), and the lookups of make_table.hpp.
#include "table/names.hpp"

#include <mutex>
#include <string>
#include <unordered_map>

#include "peeper/runtime/runtime.hpp"
#include "peeper/table/detail/table_core.hpp"
#include "peeper/table/errors.hpp"
#include "peeper/table/make_table.hpp"

namespace peeper::detail {

namespace {

// Transparent hashing: look names up by string_view without a copy.
struct name_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct name_registry {
  std::mutex mutex;
  std::unordered_map<const runtime_core*, std::unordered_map<std::string, std::weak_ptr<table_core>,
                                                             name_hash, std::equal_to<>>>
      by_runtime;
};

name_registry& registry() {
  // Never destroyed: a runtime with static storage duration may delete its
  // tables (and so release their names) after this file's statics are gone.
  static auto* const r = new name_registry();
  return *r;
}

}  // namespace

void register_table_name(runtime_core& rt, const std::string& name,
                         const std::shared_ptr<table_core>& table) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto& names = r.by_runtime[&rt];
  auto [it, fresh] = names.try_emplace(name, table);
  if (fresh) return;
  if (auto holder = it->second.lock(); holder && !holder->deleted()) {
    // No call into the holder here: tables take this mutex while holding their own.
    throw table_error(table_errc::name_taken,
                      "make_table: a table named '" + name + "' already exists");
  }
  it->second = table;
}

void unregister_table_name(runtime_core& rt, const std::string& name,
                           const table_core* table) noexcept {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto names = r.by_runtime.find(&rt);
  if (names == r.by_runtime.end()) return;
  auto it = names->second.find(name);
  if (it == names->second.end()) return;
  // An expired entry is stale whoever made it; a live one must be `table`'s.
  auto holder = it->second.lock();
  if (holder && holder.get() != table) return;
  names->second.erase(it);
  if (names->second.empty()) r.by_runtime.erase(names);
}

std::shared_ptr<table_core> find_named_table(runtime_core& rt, std::string_view name) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto names = r.by_runtime.find(&rt);
  if (names == r.by_runtime.end()) return nullptr;
  auto it = names->second.find(name);
  if (it == names->second.end()) return nullptr;
  auto holder = it->second.lock();
  if (!holder || holder->deleted()) return nullptr;
  return holder;
}

}  // namespace peeper::detail

namespace peeper {

std::optional<any_table> find_any_table(runtime& rt, std::string_view name) {
  auto core = detail::find_named_table(rt.core(), name);
  if (!core) return std::nullopt;
  return any_table(std::move(core));
}

}  // namespace peeper
