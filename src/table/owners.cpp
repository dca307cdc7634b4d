// The owner index (see owners.hpp): sharded by process id, so that processes
// making and handing over tables on different threads rarely share a lock.
#include "table/owners.hpp"

#include <algorithm>
#include <array>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "peeper/runtime/detail/process.hpp"
#include "peeper/table/any_table.hpp"
#include "peeper/table/make_table.hpp"

namespace peeper::detail {
namespace {

struct entry {
  const table_core* key;
  std::weak_ptr<table_core> table;
};

struct shard {
  std::mutex mutex;
  std::unordered_map<std::uint64_t, std::vector<entry>> owners;  // guarded by mutex
};

constexpr std::size_t shard_count = 16;

shard& shard_of(std::uint64_t owner) {
  static std::array<shard, shard_count> shards;
  return shards[owner % shard_count];
}

void remove_locked(shard& s, std::uint64_t owner, const table_core* table) noexcept {
  auto it = s.owners.find(owner);
  if (it == s.owners.end()) return;
  std::erase_if(it->second, [table](const entry& e) { return e.key == table; });
  if (it->second.empty()) s.owners.erase(it);
}

}  // namespace

void reindex_owner(std::uint64_t from, std::uint64_t to,
                   const std::shared_ptr<table_core>& table) noexcept {
  if (from == to) return;
  if (from != 0) unindex_owner(from, table.get());
  if (to == 0) return;
  shard& s = shard_of(to);
  try {
    std::lock_guard lock(s.mutex);
    s.owners[to].push_back({table.get(), table});
  } catch (...) {
    // Out of memory: the table is only missing from owned_tables().
  }
}

void unindex_owner(std::uint64_t owner, const table_core* table) noexcept {
  if (owner == 0) return;
  shard& s = shard_of(owner);
  std::lock_guard lock(s.mutex);
  remove_locked(s, owner, table);
}

std::vector<std::shared_ptr<table_core>> indexed_tables(std::uint64_t owner) {
  std::vector<std::shared_ptr<table_core>> out;
  shard& s = shard_of(owner);
  std::lock_guard lock(s.mutex);
  auto it = s.owners.find(owner);
  if (it == s.owners.end()) return out;
  out.reserve(it->second.size());
  for (const entry& e : it->second) {
    if (auto t = e.table.lock()) out.push_back(std::move(t));
  }
  return out;
}

}  // namespace peeper::detail

namespace peeper {

std::vector<any_table> owned_tables() {
  detail::process& me = detail::current_or_throw("owned_tables");
  std::vector<any_table> out;
  for (auto& t : detail::indexed_tables(me.id())) {
    if (t->owned_by(me)) out.emplace_back(std::move(t));
  }
  return out;
}

}  // namespace peeper
