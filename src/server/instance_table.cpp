#include "peeper/server/detail/instance_table.hpp"

#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "peeper/server/detail/core.hpp"

namespace peeper::detail {

namespace {

// By name only: by pid, the supervisor shares its context (the core).
struct table {
  std::shared_mutex mutex;
  std::unordered_map<std::string, std::weak_ptr<core_base>> by_name;  // guarded by mutex
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

void end_instance(void* core) noexcept {
  auto* c = static_cast<core_base*>(core);
  c->close();
  forget_instance(*c);
}

const context_kind instance_kind{&end_instance};

void register_instance(const std::shared_ptr<core_base>& core) {
  share_supervisor_context();
  if (const name* n = core->instance_name()) {
    auto& t = instances();
    std::unique_lock lock(t.mutex);
    t.by_name[key(core->rt().owner(), *n)] = core;
  }
}

std::shared_ptr<core_base> find_instance(const pid& supervisor) {
  return std::static_pointer_cast<core_base>(shared_context(supervisor, instance_kind));
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
  const name* n = core.instance_name();
  if (n == nullptr) return;
  auto& t = instances();
  std::unique_lock lock(t.mutex);
  auto it = t.by_name.find(key(core.rt().owner(), *n));
  if (it == t.by_name.end()) return;
  auto p = it->second.lock();
  if (!p || p.get() == &core) t.by_name.erase(it);
}

}  // namespace peeper::detail
