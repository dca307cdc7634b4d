#include "name_table.hpp"

#include <mutex>

#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/detail/runtime_core.hpp"
#include "peeper/runtime/errors.hpp"
#include "peeper/runtime/runtime.hpp"

namespace peeper::detail {

bool name_table::add(const name& n, const pid& p) {
  if (n.id().empty()) throw bad_argument("register_name: empty name");
  if (!p) throw bad_argument("register_name: null pid");
  process& proc = *p.control_block();
  if (n.kind() == name::scope::via) {
    if (!n.registry()->register_name(n.id(), p)) {
      throw name_taken(n.to_string(), n.registry()->whereis_name(n.id()));
    }
    std::unique_lock lock(mutex_);
    held_[p.id()].push_back(n);
    proc.mark_named();
    if (proc.exited()) {  // exited while we registered: its release may have run already
      lock.unlock();
      release_all(proc);
      return false;
    }
    return true;
  }
  std::unique_lock lock(mutex_);
  if (proc.exited()) return false;
  auto& map = map_for(n.kind());
  auto [it, inserted] = map.try_emplace(n.id(), p);
  if (!inserted) {
    if (it->second == p) return true;
    if (!it->second.control_block()->exited()) throw name_taken(n.to_string(), it->second);
    it->second = p;  // the holder exited and is releasing its names: the name is free
  }
  held_[p.id()].push_back(n);
  proc.mark_named();
  return true;
}

bool name_table::remove(const name& n) {
  if (n.kind() == name::scope::via) {
    pid holder = n.registry()->whereis_name(n.id());
    if (!holder) return false;
    n.registry()->unregister_name(n.id(), holder);
    std::unique_lock lock(mutex_);
    if (auto it = held_.find(holder.id()); it != held_.end()) std::erase(it->second, n);
    return true;
  }
  std::unique_lock lock(mutex_);
  auto& map = map_for(n.kind());
  auto it = map.find(n.id());
  if (it == map.end()) return false;
  if (auto h = held_.find(it->second.id()); h != held_.end()) std::erase(h->second, n);
  map.erase(it);
  return true;
}

pid name_table::find(const name& n) const {
  pid p;
  if (n.kind() == name::scope::via) {
    p = n.registry()->whereis_name(n.id());
  } else {
    std::shared_lock lock(mutex_);
    const auto& map = map_for(n.kind());
    auto it = map.find(n.id());
    if (it != map.end()) p = it->second;
  }
  return p && !p.control_block()->exited() ? p : pid();
}

void name_table::release_all(process& p) {
  std::vector<name> names;
  pid me = p.self();
  {
    std::unique_lock lock(mutex_);
    auto it = held_.find(p.id());
    if (it == held_.end()) return;
    names = std::move(it->second);
    held_.erase(it);
    for (const name& n : names) {
      if (n.kind() == name::scope::via) continue;
      auto& map = map_for(n.kind());
      if (auto m = map.find(n.id()); m != map.end() && m->second == me) map.erase(m);
    }
  }
  for (const name& n : names) {
    if (n.kind() == name::scope::via) n.registry()->unregister_name(n.id(), me);
  }
}

std::string name_table::describe(std::uint64_t id) const {
  std::shared_lock lock(mutex_);
  auto it = held_.find(id);
  if (it == held_.end()) return {};
  std::string out;
  for (const name& n : it->second) {
    if (!out.empty()) out += ", ";
    out += n.to_string();
  }
  return out;
}

}  // namespace peeper::detail

namespace peeper {

bool registry::register_name(const std::string& key, const pid& p) {
  std::unique_lock lock(mutex_);
  auto [it, inserted] = names_.try_emplace(key, p);
  if (inserted || it->second == p) return true;
  if (!it->second.control_block()->exited()) return false;
  it->second = p;
  return true;
}

void registry::unregister_name(const std::string& key, const pid& p) {
  std::unique_lock lock(mutex_);
  if (auto it = names_.find(key); it != names_.end() && it->second == p) names_.erase(it);
}

pid registry::whereis_name(const std::string& key) const {
  std::shared_lock lock(mutex_);
  auto it = names_.find(key);
  return it == names_.end() ? pid() : it->second;
}

std::size_t registry::size() const {
  std::shared_lock lock(mutex_);
  return names_.size();
}

name name::via(std::shared_ptr<name_registry> reg, std::string id) {
  if (!reg) throw bad_argument("name::via: null registry");
  return {scope::via, std::move(id), std::move(reg)};
}

name name::with_suffix(std::string_view suffix) const {
  name out = *this;
  out.id_ += suffix;
  return out;
}

std::string name::to_string() const {
  switch (scope_) {
    case scope::local:
      return id_;
    case scope::global:
      return "{global, " + id_ + "}";
    case scope::via:
      return "{via, " + id_ + "}";
  }
  return id_;
}

bool register_name(runtime& rt, const name& n, const pid& p) { return rt.core().names().add(n, p); }
bool unregister_name(runtime& rt, const name& n) { return rt.core().names().remove(n); }
pid whereis(runtime& rt, const name& n) { return rt.core().names().find(n); }

}  // namespace peeper
