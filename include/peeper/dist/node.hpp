// A Peeper runtime as a node of an Erlang distribution cluster.
//
//   peeper::runtime rt({.threads = 2});
//   auto n = peeper::dist::node::start(rt, {.name = "cpp1@127.0.0.1", .cookie = "secret"});
//   n.connect("e1@127.0.0.1");                       // optional: sends connect on demand
//
// A started node listens on a TCP port, publishes its name to epmd, accepts connections from
// Erlang, Elixir and other Peeper nodes that present the same cookie, and makes connections on
// demand. Every connection has one I/O thread, the only one that touches its socket: scheduler
// threads hand it frames through a queue, so a slow or dead peer never blocks them. Peeper
// peers exchange ticks every `tick_time` and drop each other after `peer_ticks` silent ticks;
// Erlang peers are dropped after `erlang_peer_timeout` of silence (they tick every
// net_ticktime / 4, 15 s by default), and are sent ticks every `tick_time` too.
//
// Remote processes are peeper::pids (a local stand-in process per remote pid, see remote.hpp):
// send, link, monitor and exit work on them, and when the connection drops their links and
// monitors receive `noconnection`, as in OTP. Registered processes of this runtime are
// reachable from other nodes by name; expose() (expose.hpp) declares which C++ types a
// GenServer accepts from the network. A runtime has at most one node; destroy the node before
// its runtime.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "peeper/runtime/names.hpp"
#include "peeper/runtime/pid.hpp"
#include "peeper/runtime/runtime.hpp"
#include "peeper/runtime/task.hpp"

namespace peeper::dist {

enum class node_errc {
  bad_name,          // not "alive@host", or an empty cookie
  already_started,   // the runtime already has a node
  listen_failed,     // no listening socket
  epmd_unreachable,  // epmd did not answer (is it running, on that port?)
  name_taken,        // epmd has a node of that name already
  unknown_node,      // epmd does not know the node we connect to
  connect_refused,   // the node's port refused the TCP connection
  auth_failed,       // the handshake failed: wrong cookie (or not a distribution node)
  timeout,           // the connection did not come up in time
  stopped,           // the node has stopped
};

/// "bad_name", "epmd_unreachable", ...
const char* to_string(node_errc code) noexcept;

/// Thrown by node::start and node::connect.
class node_error : public std::runtime_error {
 public:
  node_error(node_errc code, const std::string& what)
      : std::runtime_error(std::string(to_string(code)) + ": " + what), code_(code) {}
  [[nodiscard]] node_errc code() const noexcept { return code_; }

 private:
  node_errc code_;
};

struct node_options {
  /// "alive@host": a long name with a dotted host ("cpp1@127.0.0.1") or a short one
  /// ("cpp1@localhost"). Erlang does not connect long-named and short-named nodes.
  std::string name{};
  /// The shared secret of the cluster. Required.
  std::string cookie{};
  /// epmd's port on 127.0.0.1 (and on the peers' hosts); 0: $ERL_EPMD_PORT, else 4369.
  std::uint16_t epmd_port = 0;
  /// The distribution port; 0: any free one.
  std::uint16_t listen_port = 0;
  /// Heartbeat: a tick is sent after this much silence on a connection.
  std::chrono::milliseconds tick_time{1000};
  /// A Peeper peer silent for this many tick_times is considered dead (noconnection).
  int peer_ticks = 4;
  /// An Erlang peer silent this long is considered dead (net_ticktime, 60 s by default).
  std::chrono::milliseconds erlang_peer_timeout{60'000};
  /// Limit of connect() and of the handshake of an accepted connection.
  std::chrono::milliseconds connect_timeout{5'000};
  /// Bound of a connection's outgoing buffer: bytes queued for a peer and not yet written to its
  /// socket (what the kernel buffers is not counted). A send that would exceed it closes the
  /// connection instead (a log line; the peer's processes' links and monitors get noconnection,
  /// pending calls fail with noconnection; the next send reconnects). 0: no bound.
  std::size_t max_outgoing_bytes = 64U << 20U;
  /// The node's incarnation, part of every pid it hands out; 0: a time-based unique value >= 4
  /// (so a restarted node never reuses the pids of its previous run).
  std::uint32_t creation = 0;
};

namespace detail {
class node_core;
}

class node {
 public:
  /// Starts `rt`'s node: listens, publishes to epmd, accepts connections. Throws node_error:
  /// bad_name, already_started, listen_failed, epmd_unreachable, name_taken.
  static node start(runtime& rt, node_options options);

  node(node&&) noexcept;
  node& operator=(node&&) noexcept;
  node(const node&) = delete;
  node& operator=(const node&) = delete;
  /// Stops the node (see stop()).
  ~node();

  /// "cpp1@127.0.0.1".
  [[nodiscard]] const std::string& name() const noexcept;
  /// The creation in this node's pids.
  [[nodiscard]] std::uint32_t creation() const noexcept;
  /// The distribution port it listens on.
  [[nodiscard]] std::uint16_t port() const noexcept;

  /// Connects to `node_name` unless connected, and waits until the connection is up. Blocks
  /// (use from outside the scheduler, or accept that sends connect on demand). When `node_name`
  /// connects to this node at the same moment, both nodes keep the connection made by the node
  /// whose name is greater (as OTP does) and this call returns once that one is up. Returns
  /// nothing. Throws node_error: bad_name, epmd_unreachable, unknown_node, connect_refused,
  /// auth_failed, timeout, stopped.
  void connect(const std::string& node_name);
  /// Closes the connection to `node_name`, if any: its remote pids get noconnection. Returns
  /// false if there was none.
  bool disconnect(const std::string& node_name);
  /// The nodes connected now.
  [[nodiscard]] std::vector<std::string> nodes() const;
  /// How many connections to `node_name` are open now (being made, up, or closing after a
  /// simultaneous connect): 1 when connected, 0 when not; 2 only for the moment a simultaneous
  /// connect is being settled. Throws nothing.
  [[nodiscard]] std::size_t connection_count(const std::string& node_name) const;
  /// True if `p` stands for a process of another node.
  [[nodiscard]] bool is_remote(const pid& p) const;

  /// Registers `p` under `id` cluster-wide: on this node and on every connected Peeper node
  /// (see docs/distribution.md for the limits). Blocks the calling thread until the connected
  /// Peeper nodes answered (up to connect_timeout): outside processes only. Returns true if `p`
  /// holds the name (also when it held it already), false if a node already has the name, a node
  /// refused it, or `p` is null, dead or not local. Throws call_error(would_block) when called
  /// from inside a process (use co_await async_register_global there).
  bool register_global(const std::string& id, const pid& p);
  /// co_await async_register_global(id, p): register_global from inside a process, suspending
  /// the process (not its scheduler thread) while the peers answer. Returns (from co_await) as
  /// register_global. Throws not_in_process if awaited outside a process. Bind the returned
  /// task to a named local before co_await; the node must outlive it.
  [[nodiscard]] peeper::task<bool> async_register_global(std::string id, pid p);
  /// The process registered cluster-wide under `id` (asking connected Peeper nodes if it is not
  /// local; blocks up to `timeout`), or the null pid.
  [[nodiscard]] pid whereis_global(const std::string& id,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// Closes every connection and the listener, unpublishes, and joins the node's threads.
  /// Remote pids get noconnection. Idempotent. Not from a connection's I/O thread.
  void stop();

  /// For the library's own use.
  [[nodiscard]] detail::node_core& core() const noexcept { return *core_; }

 private:
  explicit node(std::shared_ptr<detail::node_core> core) noexcept;
  std::shared_ptr<detail::node_core> core_;
};

}  // namespace peeper::dist
