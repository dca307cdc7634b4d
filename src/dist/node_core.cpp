// A node's start and stop, its listener, and its connections (see node_core.hpp).
#include "dist/node_core.hpp"

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdlib>
#include <random>

#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dist/epmd.hpp"
#include "peeper/runtime/log.hpp"

namespace peeper::dist::detail {

namespace {

using steady = std::chrono::steady_clock;
using peeper::detail::logger;

// How long a failed handshake with a node whose name is greater waits for that node's own
// connection (a simultaneous connect answered with nok, see dial).
constexpr std::chrono::milliseconds simultaneous_grace{2000};

std::mutex g_nodes_mutex;
std::unordered_map<const runtime*, std::weak_ptr<node_core>>& nodes_by_runtime() {
  static std::unordered_map<const runtime*, std::weak_ptr<node_core>> m;
  return m;
}

bool split_name(const std::string& full, std::string& alive, std::string& host) {
  const auto at = full.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == full.size()) return false;
  if (full.find('@', at + 1) != std::string::npos) return false;
  alive = full.substr(0, at);
  host = full.substr(at + 1);
  return alive.size() <= EI_MAXALIVELEN && host.size() <= EI_MAXHOSTNAMELEN;
}

std::uint16_t default_epmd_port() {
  if (const char* env = std::getenv("ERL_EPMD_PORT");
      env != nullptr) {  // NOLINT(concurrency-mt-unsafe)
    const long v = std::strtol(env, nullptr, 10);
    if (v > 0 && v < 65536) return static_cast<std::uint16_t>(v);
  }
  return 4369;
}

std::uint32_t unique_creation() {
  // Time-based, >= 4, and different between two nodes started in the same second.
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  auto c =
      static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count());
  std::random_device rd;
  c ^= rd() & 0xFFFFU;
  return c < 4 ? c + 4 : c;
}

/// ei's handshakes write with plain write(2): a peer that closes during one (an Erlang node
/// giving up its side of a simultaneous connect does) would raise SIGPIPE and kill the process.
/// The threads that run them block it instead (the write fails with EPIPE); the process's
/// disposition is left alone.
void block_sigpipe() noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  (void)pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace

std::shared_ptr<node_core> node_of(const runtime* rt) {
  std::lock_guard lock(g_nodes_mutex);
  auto it = nodes_by_runtime().find(rt);
  return it == nodes_by_runtime().end() ? nullptr : it->second.lock();
}

node_core::node_core(runtime& rt, node_options o) : rt_(&rt), opts_(std::move(o)) {}

node_core::~node_core() { stop(); }

void node_core::start() {
  name_ = opts_.name;
  if (!split_name(name_, alive_, host_)) {
    throw node_error(node_errc::bad_name, "'" + name_ + "' is not alive@host");
  }
  if (opts_.cookie.empty() || opts_.cookie.size() > EI_MAX_COOKIE_SIZE) {
    throw node_error(node_errc::bad_name, "the cookie must have 1 to 512 characters");
  }
  if (opts_.tick_time.count() <= 0 || opts_.peer_ticks < 1) {
    throw node_error(node_errc::bad_name, "tick_time and peer_ticks must be positive");
  }
  creation_ = opts_.creation != 0 ? opts_.creation : unique_creation();
  epmd_port_ = opts_.epmd_port != 0 ? opts_.epmd_port : default_epmd_port();
  {
    std::lock_guard lock(g_nodes_mutex);
    auto& m = nodes_by_runtime();
    if (auto it = m.find(rt_); it != m.end() && !it->second.expired()) {
      throw node_error(node_errc::already_started, "this runtime already has a node");
    }
    m[rt_] = weak_from_this();
  }
  static std::once_flag ei_once;
  std::call_once(ei_once, [] { ei_init(); });

  auto addr = resolve_ipv4(host_);
  in_addr any{};
  any.s_addr = htonl(INADDR_ANY);
  if (ei_connect_xinit(&ec_, host_.c_str(), alive_.c_str(), name_.c_str(), addr ? &*addr : &any,
                       opts_.cookie.c_str(), creation_) < 0) {
    throw node_error(node_errc::bad_name, "ei refused the node name " + name_);
  }
  int port = opts_.listen_port;
  in_addr listen_addr{};
  listen_addr.s_addr = htonl(INADDR_ANY);
  const int lfd = ei_xlisten(&ec_, &listen_addr, &port, 128);
  if (lfd < 0) {
    throw node_error(node_errc::listen_failed,
                     "cannot listen on port " + std::to_string(opts_.listen_port));
  }
  listen_fd_.reset(lfd);
  port_ = static_cast<std::uint16_t>(port);
  auto pub = epmd_publish(epmd_port_, alive_, port_, opts_.connect_timeout);
  switch (pub.status) {
    case epmd_status::ok:
      break;
    case epmd_status::refused:
      throw node_error(node_errc::name_taken, "epmd already has a node named " + alive_);
    default:
      throw node_error(node_errc::epmd_unreachable,
                       "no epmd at 127.0.0.1:" + std::to_string(epmd_port_));
  }
  epmd_fd_ = std::move(pub.connection);
  stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  acceptor_ = std::thread([this] { accept_loop(); });
  print_pids(true);
  logger().info("node {} started (port {}, creation {})", name_, port_, creation_);
}

void node_core::stop() {
  if (stopped_.exchange(true)) return;
  print_pids(false);
  if (stop_fd_) {
    std::uint64_t one = 1;
    (void)::write(stop_fd_.get(), &one, sizeof one);
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::shared_ptr<connection>> all;
  {
    std::lock_guard lock(conns_mutex_);
    all = all_conns_;
  }
  conns_cv_.notify_all();
  for (auto& c : all) c->close("node " + name_ + " stopped");
  for (auto& c : all) c->join();
  {
    std::lock_guard lock(conns_mutex_);
    conns_.clear();
    others_.clear();
    retired_.clear();
    all_conns_.clear();
  }
  epmd_fd_.reset();  // unpublishes
  listen_fd_.reset();
  {
    std::lock_guard lock(g_nodes_mutex);
    auto& m = nodes_by_runtime();
    if (auto it = m.find(rt_); it != m.end() && it->second.lock().get() == this) m.erase(it);
  }
  {
    std::lock_guard lock(pids_mutex_);
    exported_.clear();
  }
  std::unordered_map<std::uint64_t, pending_call> calls;
  {
    std::lock_guard lock(calls_mutex_);
    calls.swap(calls_);
  }
  for (auto& [id, pc] : calls) {
    if (auto* ch = pc.caller.get()) ch->fail(call_errc::exited, exit_reason::noconnection());
  }
}

void node_core::accept_loop() {
  block_sigpipe();
  for (;;) {
    std::array<pollfd, 2> fds{pollfd{listen_fd_.get(), POLLIN, 0},
                              pollfd{stop_fd_.get(), POLLIN, 0}};
    const int n = ::poll(fds.data(), fds.size(), -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    ErlConnect peer{};
    const int fd = ei_accept_tmo(&ec_, listen_fd_.get(), &peer,
                                 static_cast<unsigned>(opts_.connect_timeout.count()));
    if (stopped_.load()) {
      if (fd >= 0) ::close(fd);
      return;
    }
    if (fd < 0) {
      logger().warn(
          "node {}: refused an incoming connection: handshake failed (wrong cookie, not a "
          "distribution peer, or a peer that gave up a simultaneous connect)",
          name_);
      continue;
    }
    std::string peer_name(static_cast<const char*>(peer.nodename));
    connection_timing t{opts_.tick_time, opts_.erlang_peer_timeout, opts_.max_outgoing_bytes};
    auto c = std::make_shared<connection>(peer_name, fd_guard(fd), *this, t);
    {
      std::lock_guard lock(conns_mutex_);
      reap_finished();
      if (!adopt_accepted(c)) continue;  // closes fd
      all_conns_.push_back(c);
      // Under the lock, as in connection_to: reap_finished (which takes it)
      // may join a connection as soon as it is listed, so its thread must be set.
      c->start();
    }
    conns_cv_.notify_all();
  }
}

bool node_core::adopt_accepted(const std::shared_ptr<connection>& c) {
  const std::string& peer = c->peer();
  auto it = conns_.find(peer);
  if (it == conns_.end() || it->second->current() == connection::state::down ||
      it->second->closing()) {
    conns_[peer] = c;
    return true;
  }
  std::shared_ptr<connection>& existing = it->second;
  auto& others = others_[peer];
  const bool partner_open = std::any_of(others.begin(), others.end(), [](const auto& o) {
    return o->current() != connection::state::down && !o->closing();
  });
  if (!existing->outgoing() || partner_open) {
    logger().warn("node {}: a second connection from {} refused (one is up)", name_, peer);
    if (others.empty()) others_.erase(peer);
    return false;
  }
  // A simultaneous connect: this node's connection to `peer` is being made (or just came up) and
  // `peer` made one to this node. As in OTP, the one made by the node whose name is greater wins;
  // `peer` decides alike, so both keep the same one without a word. The loser's queued frames
  // move to the winner; the loser is closed by the node that made it, gracefully (the other
  // node reads it to its end).
  if (peer > name_) {
    logger().info("node {}: simultaneous connect with {}: keeping the connection {} made", name_,
                  peer, peer);
    existing->retire(c);
    others.push_back(existing);
    existing = c;
  } else {
    logger().info("node {}: simultaneous connect with {}: keeping the connection {} made", name_,
                  peer, name_);
    others.push_back(c);  // read until `peer` closes it
  }
  return true;
}

void node_core::reap_finished() {
  std::erase_if(all_conns_, [](const std::shared_ptr<connection>& c) {
    if (!c->finished()) return false;
    c->join();
    return true;
  });
}

std::shared_ptr<connection> node_core::connection_to(const std::string& node) {
  if (node == name_) return nullptr;
  std::lock_guard lock(conns_mutex_);
  if (stopped_.load()) return nullptr;
  auto it = conns_.find(node);
  if (it != conns_.end() && it->second->current() != connection::state::down) return it->second;
  reap_finished();
  connection_timing t{opts_.tick_time, opts_.erlang_peer_timeout, opts_.max_outgoing_bytes};
  auto c = std::make_shared<connection>(node, *this, t);
  conns_[node] = c;
  all_conns_.push_back(c);
  c->start();
  return c;
}

void node_core::connect(const std::string& node) {
  std::string alive;
  std::string host;
  if (!split_name(node, alive, host)) {
    throw node_error(node_errc::bad_name, "'" + node + "' is not alive@host");
  }
  auto c = connection_to(node);
  if (!c) {
    if (node == name_) return;
    throw node_error(node_errc::stopped, "node " + name_ + " is stopped");
  }
  const auto deadline = steady::now() + opts_.connect_timeout + std::chrono::seconds(1);
  for (;;) {
    const auto st = c->wait_settled(deadline);
    if (auto next = c->successor()) {  // replaced (simultaneous connect): wait for the winner
      c = std::move(next);
      continue;
    }
    if (st == connection::state::up) return;
    if (st == connection::state::connecting) {
      throw node_error(node_errc::timeout, "connecting to " + node);
    }
    break;
  }
  const int code = c->failure();
  throw node_error(code >= 0 ? static_cast<node_errc>(code) : node_errc::connect_refused,
                   c->failure_text());
}

bool node_core::disconnect(const std::string& node) {
  std::vector<std::shared_ptr<connection>> all;
  {
    std::lock_guard lock(conns_mutex_);
    auto it = conns_.find(node);
    if (it == conns_.end()) return false;
    if (auto o = others_.find(node); o != others_.end()) all = o->second;
    all.push_back(it->second);  // closed last: the others are not promoted
  }
  for (auto& c : all) c->close("disconnected by " + name_);
  return true;
}

std::size_t node_core::connection_count(const std::string& node) const {
  std::lock_guard lock(conns_mutex_);
  std::size_t n = 0;
  if (auto it = conns_.find(node);
      it != conns_.end() && it->second->current() != connection::state::down) {
    ++n;
  }
  if (auto it = others_.find(node); it != others_.end()) {
    n += static_cast<std::size_t>(
        std::count_if(it->second.begin(), it->second.end(),
                      [](const auto& c) { return c->current() != connection::state::down; }));
  }
  return n;
}

std::vector<std::string> node_core::nodes() const {
  std::vector<std::string> out;
  std::lock_guard lock(conns_mutex_);
  for (const auto& [n, c] : conns_) {
    if (c->current() == connection::state::up) out.push_back(n);
  }
  return out;
}

fd_guard node_core::dial(connection& c, std::string& error) {
  block_sigpipe();  // this connection's I/O thread (it writes with MSG_NOSIGNAL afterwards)
  std::string alive;
  std::string host;
  auto fail = [&](node_errc code, std::string text) {
    c.set_failure(static_cast<int>(code), text);
    error = std::move(text);
    return fd_guard();
  };
  if (!split_name(c.peer(), alive, host)) {
    return fail(node_errc::bad_name, "'" + c.peer() + "' is not alive@host");
  }
  auto addr = resolve_ipv4(host);
  if (!addr) return fail(node_errc::unknown_node, "cannot resolve host " + host);
  auto look = epmd_port_please(host, epmd_port_, alive, opts_.connect_timeout);
  if (look.status == epmd_status::refused) {
    return fail(node_errc::unknown_node, "epmd on " + host + " does not know " + alive);
  }
  if (look.status != epmd_status::ok) {
    return fail(node_errc::epmd_unreachable,
                "no epmd at " + host + ":" + std::to_string(epmd_port_));
  }
  const int fd = ei_xconnect_host_port_tmo(&ec_, &*addr, look.port,
                                           static_cast<unsigned>(opts_.connect_timeout.count()));
  if (fd == ERL_CONNECT_FAIL || fd == ERL_NO_PORT) {
    return fail(node_errc::connect_refused,
                c.peer() + " refused the connection on port " + std::to_string(look.port));
  }
  if (fd == ERL_TIMEOUT) return fail(node_errc::timeout, "handshake with " + c.peer());
  if (fd < 0 && c.peer() > name_) {
    // An Erlang node whose name is greater answers a simultaneous connect with `nok` (which ei
    // reports as any failed handshake): its own connection to this node is being made and
    // replaces this one (adopt_accepted). Wait a moment for it before calling it a failure.
    std::unique_lock lock(conns_mutex_);
    conns_cv_.wait_until(lock, steady::now() + std::min(opts_.connect_timeout, simultaneous_grace),
                         [&] { return stopped_.load() || c.superseded(); });
  }
  if (fd < 0 && c.superseded()) {
    return fail(node_errc::auth_failed, "replaced by the connection " + c.peer() + " made");
  }
  if (fd < 0) {
    logger().warn("node {}: handshake with {} failed (wrong cookie?)", name_, c.peer());
    return fail(node_errc::auth_failed,
                "handshake with " + c.peer() + " failed (wrong cookie, or not a node)");
  }
  return fd_guard(fd);
}

void node_core::on_up(connection& c) {
  if (c.superseded()) return;  // lost a simultaneous connect: closes at once
  logger().info("node {}: connected to {}", name_, c.peer());
  // Tell a Peeper peer we are one (an Erlang node drops sends to an unregistered name):
  // {peeper_hello, Node, TickMs}.
  term_writer w;
  w.write_version();
  w.write_tuple_header(3);
  w.write_atom("peeper_hello");
  w.write_atom(name_);
  w.write_int64(opts_.tick_time.count());
  std::string frame;
  put_reg_send(frame, router(), "$peeper", std::string_view(w.bytes().data(), w.size()));
  c.send(frame);
  std::vector<std::pair<std::string, pid>> globals;
  {
    std::lock_guard lock(global_mutex_);
    globals.assign(local_globals_.begin(), local_globals_.end());
  }
  for (const auto& [id, p] : globals) {
    if (is_alive(p)) announce_global(c, id, p, 0);
  }
}

void node_core::repoint(const connection& from, const std::shared_ptr<connection>& to) {
  {
    std::lock_guard lock(pids_mutex_);
    for (auto& [id, e] : proxies_) {
      if (e.conn.lock().get() == &from) e.conn = to;
    }
  }
  std::lock_guard lock(calls_mutex_);
  for (auto& [id, pc] : calls_) {
    if (pc.conn_id == from.id()) pc.conn_id = to->id();
  }
}

void node_core::on_frame(connection& c, std::string_view frame) {
  control ctl = parse_frame(frame);
  dispatch(c, ctl);
}

void node_core::on_down(connection& c, const std::string& why) {
  // One of two connections of a simultaneous connect: the other one takes over its stand-ins,
  // calls and queued frames, and the peer stays connected.
  std::shared_ptr<connection> target;
  {
    std::lock_guard lock(conns_mutex_);
    bool partner = false;
    auto o = others_.find(c.peer());
    if (o != others_.end()) {
      partner = std::erase_if(o->second, [&](const auto& x) { return x.get() == &c; }) > 0;
    }
    auto it = conns_.find(c.peer());
    if (it != conns_.end() && it->second.get() == &c) {
      if (o != others_.end()) {
        for (auto x = o->second.begin(); x != o->second.end(); ++x) {
          if (!(*x)->superseded() && !(*x)->closing() &&
              (*x)->current() != connection::state::down) {
            target = *x;
            o->second.erase(x);
            break;
          }
        }
      }
      if (target) {
        it->second = target;
      } else {
        conns_.erase(it);
      }
    } else if (partner && it != conns_.end() && !it->second->closing() &&
               it->second->current() != connection::state::down) {
      target = it->second;
    }
    if (o != others_.end() && o->second.empty()) others_.erase(o);
    if (target) {
      retired_[c.peer()].push_back(c.shared_from_this());
    } else if (!conns_.contains(c.peer())) {
      retired_.erase(c.peer());
    }
  }
  if (target) {
    c.hand_over(target);
    repoint(c, target);
    logger().info("node {}: one of two connections to {} closed ({}); the other one goes on", name_,
                  c.peer(), why);
    return;
  }
  if (!stopped_.load()) logger().warn("node {}: connection to {} down: {}", name_, c.peer(), why);
  // Calls waiting on this connection: node down.
  std::vector<from_ref> failed;
  {
    std::lock_guard lock(calls_mutex_);
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (it->second.conn_id == c.id()) {
        failed.push_back(std::move(it->second.caller));
        it = calls_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& f : failed) {
    if (auto* ch = f.get()) ch->fail(call_errc::exited, exit_reason::noconnection());
  }
  // Stand-ins of this connection's processes: noconnection to their links and monitors.
  std::vector<pid> gone;
  {
    std::lock_guard lock(pids_mutex_);
    for (auto it = proxies_.begin(); it != proxies_.end();) {
      auto conn = it->second.conn.lock();
      if (!conn || conn.get() == &c) {
        gone.push_back(it->second.stand_in);
        proxy_keys_.erase(pid_key{it->second.remote.node, it->second.remote.num,
                                  it->second.remote.serial, it->second.remote.creation});
        it = proxies_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const pid& p : gone) {
    (void)peeper::detail::run_in(
        p, [] { peeper::detail::current()->exit_self(exit_reason::noconnection()); });
  }
  {
    std::lock_guard lock(global_mutex_);
    std::erase_if(globals_, [&](const auto& kv) {
      return std::find(gone.begin(), gone.end(), kv.second) != gone.end();
    });
  }
}

}  // namespace peeper::dist::detail

namespace peeper::dist {

std::size_t node::connection_count(const std::string& node_name) const {
  return core_->connection_count(node_name);
}

}  // namespace peeper::dist
