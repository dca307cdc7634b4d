// The public node handle and the entry points of the dist templates (node.hpp, node_api.hpp).
#include <spdlog/spdlog.h>

#include "dist/node_core.hpp"
#include "peeper/dist/codec.hpp"
#include "peeper/runtime/errors.hpp"
#include "peeper/runtime/log.hpp"

namespace peeper::dist {

const char* to_string(node_errc code) noexcept {
  switch (code) {
    case node_errc::bad_name:
      return "bad_name";
    case node_errc::already_started:
      return "already_started";
    case node_errc::listen_failed:
      return "listen_failed";
    case node_errc::epmd_unreachable:
      return "epmd_unreachable";
    case node_errc::name_taken:
      return "name_taken";
    case node_errc::unknown_node:
      return "unknown_node";
    case node_errc::connect_refused:
      return "connect_refused";
    case node_errc::auth_failed:
      return "auth_failed";
    case node_errc::timeout:
      return "timeout";
    case node_errc::stopped:
      return "stopped";
  }
  return "unknown";
}

node node::start(runtime& rt, node_options options) {
  auto core = std::make_shared<detail::node_core>(rt, std::move(options));
  core->start();
  return node(std::move(core));
}

node::node(std::shared_ptr<detail::node_core> core) noexcept : core_(std::move(core)) {}
node::node(node&&) noexcept = default;
node& node::operator=(node&& o) noexcept {
  if (this != &o) {
    if (core_) core_->stop();
    core_ = std::move(o.core_);
  }
  return *this;
}
node::~node() {
  if (core_) core_->stop();
}

const std::string& node::name() const noexcept { return core_->name(); }
std::uint32_t node::creation() const noexcept { return core_->creation(); }
std::uint16_t node::port() const noexcept { return core_->port(); }
void node::connect(const std::string& node_name) { core_->connect(node_name); }
bool node::disconnect(const std::string& node_name) { return core_->disconnect(node_name); }
std::vector<std::string> node::nodes() const { return core_->nodes(); }
bool node::is_remote(const pid& p) const { return detail::is_remote(*core_, p); }
bool node::register_global(const std::string& id, const pid& p) {
  return core_->register_global(id, p);
}
pid node::whereis_global(const std::string& id, std::chrono::milliseconds timeout) {
  return core_->whereis_global(id, timeout);
}
void node::stop() { core_->stop(); }

bool unexpose(node& n, const std::string& name) { return n.core().unexpose(name); }

namespace detail {

pid_context& pids_of(node_core& n) { return n; }
peeper::detail::runtime_core& runtime_of(node_core& n) { return n.rt().core(); }
node_core& core_of(node& n) { return n.core(); }

bool send_encoded(node_core& n, const destination& to, std::span<const char> message) {
  return n.send_encoded(to, message);
}

bool is_remote(node_core& n, const pid& p) {
  erlang_pid remote{};
  std::shared_ptr<connection> conn;
  return p && n.remote_of(p, remote, conn);
}

void start_call(node_core& n, const destination& to, std::span<const char> msg,
                peeper::detail::from_ref caller, reply_reader read) {
  n.start_call(to, msg, std::move(caller), read);
}

void add_inbox(node_core& n, const std::string& name, std::shared_ptr<inbox> box) {
  n.expose(name, std::move(box));
}
bool remove_inbox(node_core& n, const std::string& name) { return n.unexpose(name); }

}  // namespace detail
}  // namespace peeper::dist
