// Pid translation: local pids handed out on the wire, stand-ins of remote pids, and the refs
// this node makes (see node_core.hpp).
#include <algorithm>

#include <spdlog/spdlog.h>

#include "dist/node_core.hpp"
#include "dist/proxy.hpp"
#include "peeper/runtime/log.hpp"

namespace peeper::dist::detail {

namespace {

constexpr std::uint64_t num_bits = 15;
constexpr std::uint64_t num_mask = (1U << num_bits) - 1;

erlang_pid to_ei(const erl_pid& p) {
  erlang_pid out{};
  const std::size_t n = std::min(p.node.size(), sizeof out.node - 1);
  p.node.copy(static_cast<char*>(out.node), n);
  out.num = p.num;
  out.serial = p.serial;
  out.creation = p.creation;
  return out;
}

erl_pid from_ei(const erlang_pid& p) {
  return erl_pid{std::string(static_cast<const char*>(p.node)), p.num, p.serial, p.creation};
}

// The started nodes, for printing remote pids (pid::to_string).
std::mutex g_printing_mutex;
std::vector<node_core*>& printing_nodes() {
  static std::vector<node_core*> nodes;
  return nodes;
}

bool print_remote_pid(const pid& p, std::string& out) {
  std::lock_guard lock(g_printing_mutex);
  return std::any_of(printing_nodes().begin(), printing_nodes().end(),
                     [&](node_core* n) { return n->print_remote(p, out); });
}

}  // namespace

void node_core::print_pids(bool on) {
  std::lock_guard lock(g_printing_mutex);
  auto& nodes = printing_nodes();
  std::erase(nodes, this);
  if (on) nodes.push_back(this);
  peeper::detail::set_pid_printer(&print_remote_pid);
}

bool node_core::print_remote(const pid& p, std::string& out) {
  std::lock_guard lock(pids_mutex_);
  auto it = proxies_.find(p.id());
  if (it == proxies_.end()) return false;
  const auto& r = it->second.remote;
  const auto index =
      node_indexes_.try_emplace(static_cast<const char*>(r.node), node_indexes_.size() + 1)
          .first->second;
  out = "<" + std::to_string(index) + "." + std::to_string(r.num) + "." + std::to_string(r.serial) +
        ">";
  return true;
}

erlang_pid node_core::router() const {
  erlang_pid p{};
  name_.copy(static_cast<char*>(p.node), std::min(name_.size(), sizeof p.node - 1));
  p.creation = creation_;
  return p;
}

erlang_pid node_core::local_erl(const pid& p) { return to_ei(to_erl(p)); }

erl_pid node_core::to_erl(const pid& p) {
  if (!p) throw encode_error("the null pid has no Erlang form");
  std::lock_guard lock(pids_mutex_);
  if (auto it = proxies_.find(p.id()); it != proxies_.end()) return from_ei(it->second.remote);
  if (exported_.size() >= exported_sweep_at_) {
    std::erase_if(exported_, [](const auto& kv) { return !is_alive(kv.second); });
    exported_sweep_at_ = std::max<std::size_t>(1024, 2 * exported_.size());
  }
  exported_.emplace(p.id(), p);
  return erl_pid{name_, static_cast<std::uint32_t>(p.id() & num_mask),
                 static_cast<std::uint32_t>(p.id() >> num_bits), creation_};
}

pid node_core::from_erl(const erl_pid& p) {
  if (p.node == name_) return local_pid(to_ei(p));
  return proxy_for(to_ei(p));
}

pid node_core::local_pid(const erlang_pid& p) {
  if (std::string_view(static_cast<const char*>(p.node)) != name_ || p.creation != creation_) {
    return {};
  }
  const std::uint64_t id = (std::uint64_t{p.serial} << num_bits) | (p.num & num_mask);
  std::lock_guard lock(pids_mutex_);
  auto it = exported_.find(id);
  return it == exported_.end() ? pid() : it->second;
}

pid node_core::proxy_for(const erlang_pid& p) {
  pid_key key{std::string(static_cast<const char*>(p.node)), p.num, p.serial, p.creation};
  {
    std::lock_guard lock(pids_mutex_);
    if (auto it = proxy_keys_.find(key); it != proxy_keys_.end()) {
      return proxies_.at(it->second).stand_in;
    }
  }
  auto conn = connection_to(std::get<0>(key));
  if (!conn || rt_->stopping()) return {};
  std::lock_guard lock(pids_mutex_);
  if (auto it = proxy_keys_.find(key); it != proxy_keys_.end()) {
    return proxies_.at(it->second).stand_in;  // made meanwhile by another thread
  }
  pid stand_in;
  try {
    stand_in = rt_->core().spawn(std::make_unique<proxy>(weak_from_this(), conn, p));
  } catch (const bad_argument&) {
    return {};  // the runtime is stopping
  }
  proxy_keys_.emplace(std::move(key), stand_in.id());
  proxies_.emplace(stand_in.id(), proxy_entry{stand_in, p, conn});
  return stand_in;
}

bool node_core::remote_of(const pid& p, erlang_pid& out, std::shared_ptr<connection>& conn) {
  std::lock_guard lock(pids_mutex_);
  auto it = proxies_.find(p.id());
  if (it == proxies_.end()) return false;
  out = it->second.remote;
  conn = it->second.conn.lock();
  return true;
}

void node_core::proxy_exited(std::uint64_t id) {
  std::lock_guard lock(pids_mutex_);
  auto it = proxies_.find(id);
  if (it == proxies_.end()) return;
  const auto& r = it->second.remote;
  proxy_keys_.erase(
      pid_key{std::string(static_cast<const char*>(r.node)), r.num, r.serial, r.creation});
  proxies_.erase(it);
}

std::string node_core::make_ref_term(std::uint64_t id) const {
  erlang_ref r{};
  name_.copy(static_cast<char*>(r.node), std::min(name_.size(), sizeof r.node - 1));
  r.len = 3;
  r.n[0] = static_cast<unsigned>(id & 0x3FFFFU);
  r.n[1] = static_cast<unsigned>((id >> 18U) & 0xFFFFFFFFU);
  r.n[2] = static_cast<unsigned>(id >> 50U);
  r.creation = creation_;
  int size = 0;
  ei_encode_ref(nullptr, &size, &r);
  std::string out(static_cast<std::size_t>(size), '\0');
  int index = 0;
  ei_encode_ref(out.data(), &index, &r);
  return out;
}

std::uint64_t node_core::ref_id(std::string_view ref_term) const {
  try {
    (void)validate_term(ref_term, 0);
  } catch (const frame_error&) {
    return 0;
  }
  erlang_ref r{};
  int index = 0;
  if (ei_decode_ref(ref_term.data(), &index, &r) < 0 || r.len != 3 ||
      std::string_view(static_cast<const char*>(r.node)) != name_ || r.creation != creation_) {
    return 0;
  }
  return std::uint64_t{r.n[0]} | (std::uint64_t{r.n[1]} << 18U) | (std::uint64_t{r.n[2]} << 50U);
}

}  // namespace peeper::dist::detail
