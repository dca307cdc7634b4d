#include "peeper/server/detail/instance_table.hpp"

#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "peeper/server/detail/core.hpp"

namespace peeper::detail {

namespace {

struct table {
  std::shared_mutex mutex;
  std::unordered_map<std::uint64_t, std::weak_ptr<core_base>> by_pid;  // guarded by mutex
  std::unordered_map<std::string, std::weak_ptr<core_base>> by_name;   // guarded by mutex
};

table& instances() {
  static table t;
  return t;
}

// Names are per runtime (and per registry, for via names).
std::string key(runtime& rt, const name& n) {
  return std::to_string(reinterpret_cast<std::uintptr_t>(&rt)) + '/' +
         std::to_string(static_cast<int>(n.kind())) + '/' +
         std::to_string(reinterpret_cast<std::uintptr_t>(n.registry().get())) + '/' + n.id();
}

}  // namespace

void register_instance(const pid& supervisor, const std::shared_ptr<core_base>& core) {
  auto& t = instances();
  std::unique_lock lock(t.mutex);
  t.by_pid[supervisor.id()] = core;
  if (core->instance_name()) t.by_name[key(core->rt().owner(), *core->instance_name())] = core;
}

std::shared_ptr<core_base> find_instance(const pid& supervisor) {
  auto& t = instances();
  std::shared_lock lock(t.mutex);
  auto it = t.by_pid.find(supervisor.id());
  return it == t.by_pid.end() ? nullptr : it->second.lock();
}

void bind_instance_name(runtime& rt, const name& n, const std::shared_ptr<core_base>& core) {
  auto& t = instances();
  std::unique_lock lock(t.mutex);
  t.by_name[key(rt, n)] = core;
}

std::shared_ptr<core_base> find_instance(runtime& rt, const name& n) {
  auto& t = instances();
  std::shared_lock lock(t.mutex);
  auto it = t.by_name.find(key(rt, n));
  return it == t.by_name.end() ? nullptr : it->second.lock();
}

void forget_instance(const core_base& core) {
  auto& t = instances();
  std::unique_lock lock(t.mutex);
  auto owned_by = [&core](const std::weak_ptr<core_base>& w) {
    auto p = w.lock();
    return !p || p.get() == &core;
  };
  if (auto it = t.by_pid.find(core.supervisor().id());
      it != t.by_pid.end() && owned_by(it->second)) {
    t.by_pid.erase(it);
  }
  if (const name* n = core.instance_name()) {
    auto it = t.by_name.find(key(core.rt().owner(), *n));
    if (it != t.by_name.end() && owned_by(it->second)) t.by_name.erase(it);
  }
}

}  // namespace peeper::detail
