// The state of a started node: identity, listener, connections, pid translation (stand-in
// processes for remote pids, the table of local pids handed out), pending outgoing calls, the
// inboxes of exposed servers and the cluster-wide names. Shared by the node handle, the
// connections' I/O threads and the stand-in processes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <ei.h>

#include "dist/connection.hpp"
#include "dist/frames.hpp"
#include "dist/socket.hpp"
#include "peeper/dist/detail/node_api.hpp"
#include "peeper/dist/expose.hpp"
#include "peeper/dist/node.hpp"
#include "peeper/runtime/runtime.hpp"

namespace peeper::dist::detail {

using peeper::detail::from_ref;

/// The key of a remote pid.
using pid_key = std::tuple<std::string, unsigned, unsigned, unsigned>;

class node_core final : public pid_context,
                        public connection_handler,
                        public std::enable_shared_from_this<node_core> {
 public:
  node_core(runtime& rt, node_options o);
  node_core(const node_core&) = delete;
  node_core& operator=(const node_core&) = delete;
  ~node_core() override;

  /// Listens, publishes, starts the acceptor. Throws node_error.
  void start();
  void stop();

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] std::uint32_t creation() const noexcept { return creation_; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  runtime& rt() noexcept { return *rt_; }

  // ---- connections ---------------------------------------------------------
  /// The connection to `node` (made on demand), or null if stopped or `node` is this node.
  std::shared_ptr<connection> connection_to(const std::string& node);
  void connect(const std::string& node);
  bool disconnect(const std::string& node);
  [[nodiscard]] std::vector<std::string> nodes() const;
  /// See node::connection_count.
  [[nodiscard]] std::size_t connection_count(const std::string& node) const;

  fd_guard dial(connection& c, std::string& error) override;
  void on_up(connection& c) override;
  void on_frame(connection& c, std::string_view frame) override;
  void on_down(connection& c, const std::string& why) override;

  // ---- pids ------------------------------------------------------------------
  erl_pid to_erl(const pid& p) override;
  pid from_erl(const erl_pid& p) override;
  [[nodiscard]] erlang_pid local_erl(const pid& p);
  [[nodiscard]] erlang_pid router() const;
  /// The stand-in of remote pid `p` (created on first use), or null if its node is unreachable.
  pid proxy_for(const erlang_pid& p);
  /// The remote pid a stand-in stands for, and its connection.
  bool remote_of(const pid& p, erlang_pid& out, std::shared_ptr<connection>& conn);
  /// A stand-in process ended.
  void proxy_exited(std::uint64_t id);
  /// Prints stand-in `p` as Erlang does, "<N.num.serial>" (N >= 1: the index of its node in
  /// the order this node met them); false if `p` is not a stand-in of this node.
  bool print_remote(const pid& p, std::string& out);
  /// Whether pid::to_string consults this node (from start to stop).
  void print_pids(bool on);
  /// The local process `p` names (this node's pid), or null.
  pid local_pid(const erlang_pid& p);

  // ---- sending -----------------------------------------------------------------
  bool send_encoded(const destination& to, std::span<const char> message);
  void start_call(const destination& to, std::span<const char> msg, from_ref caller,
                  reply_reader read);
  void expose(const std::string& name, std::shared_ptr<inbox> box);
  bool unexpose(const std::string& name);

  // ---- global names (global.cpp) ----------------------------------------------------
  /// See node::register_global. Blocks until the connected Peeper nodes agree (or
  /// connect_timeout). Throws call_error(would_block) inside a process.
  bool register_global(const std::string& id, const pid& p);
  /// See node::async_register_global: the same, suspending the calling process instead.
  static peeper::task<bool> register_global_async(std::shared_ptr<node_core> self, std::string id,
                                                  pid p);
  /// See node::whereis_global.
  pid whereis_global(const std::string& id, std::chrono::milliseconds timeout);
  /// A `peeper_global...` or `peeper_whereis...` message of arity `arity` whose tag `r` is at:
  /// handled (true), or not one (false). Throws decode_error.
  bool handle_global(connection& c, std::size_t arity, term_reader& r);

  /// Encodes `r` as an Erlang ref of this node (monitor refs, call tags).
  [[nodiscard]] std::string make_ref_term(std::uint64_t id) const;
  /// The id of a ref of this node made by make_ref_term, or 0.
  [[nodiscard]] std::uint64_t ref_id(std::string_view ref_term) const;

 private:
  void accept_loop();
  void reap_finished();
  /// Registers accepted connection `c` (under conns_mutex_): false if it is refused.
  bool adopt_accepted(const std::shared_ptr<connection>& c);
  /// Stand-ins and pending calls of connection `from` now belong to `to`.
  void repoint(const connection& from, const std::shared_ptr<connection>& to);
  void greet(connection& c);
  void dispatch(connection& c, const control& ctl);
  void deliver_message(connection& c, const control& ctl, const pid& to, const std::string& name);
  void handle_reply(std::string_view message);
  void handle_net_kernel(connection& c, std::string_view message);
  void handle_peeper(connection& c, std::string_view message);
  void remote_signal(connection& c, const control& ctl);
  void announce_global(connection& c, const std::string& id, const pid& p, std::uint64_t req);
  /// The first half of a registration: checks, records `id` here and announces it. `done`:
  /// settled at once (`result`); else the answers of request `req` are awaited (`waiter`, if
  /// any, is sent a global_answered once they are all in or one refused), then finish_register.
  struct register_start {
    bool done = false;
    bool result = false;
    std::uint64_t req = 0;
  };
  register_start begin_register(const std::string& id, const pid& p, const pid& waiter);
  /// The second half: the registration holds unless a node refused it (or a conflict took it
  /// meanwhile); returns whether it holds.
  bool finish_register(const std::string& id, const pid& p, std::uint64_t req);
  void global_died(const std::string& id, const pid& p);
  void answer_global(std::uint64_t req, bool ok, const pid& found);
  /// The live registration of `id` known here (under global_mutex_), or the null pid.
  pid known_global(const std::string& id);
  /// The node `p` belongs to (this one for a local pid).
  std::string node_name_of(const pid& p);
  /// The connections that are up; `peeper_count`: how many of them are to Peeper nodes.
  [[nodiscard]] std::vector<std::shared_ptr<connection>> up_peers(std::size_t& peeper_count) const;
  bool send_via_stand_in(const pid& stand_in, const std::shared_ptr<connection>& conn,
                         std::string frame);
  std::shared_ptr<inbox> inbox_for(const std::string& name, const pid& to);

  runtime* rt_;
  node_options opts_;
  std::string name_;
  std::string alive_;
  std::string host_;
  std::uint32_t creation_ = 0;
  std::uint16_t epmd_port_ = 0;
  std::uint16_t port_ = 0;
  ei_cnode ec_{};
  fd_guard listen_fd_;
  fd_guard epmd_fd_;
  fd_guard stop_fd_;
  std::thread acceptor_;
  std::atomic<bool> stopped_{false};

  // Connections per peer node. conns_: the one in use (sends go there). others_: a second one
  // from a simultaneous connect, still open: our losing one closing gracefully (retired), or the
  // peer's losing one that the peer closes, or the peer's that is kept until ours is up (promoted
  // if ours fails). retired_: closed losers kept alive while their peer is connected, so that
  // what still holds them (stand-ins, remote callers) reaches the winner through them.
  mutable std::mutex conns_mutex_;
  std::condition_variable conns_cv_;  // notified when a connection is registered
  std::unordered_map<std::string, std::shared_ptr<connection>> conns_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<connection>>> others_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<connection>>> retired_;
  std::vector<std::shared_ptr<connection>> all_conns_;  // joined at stop

  struct proxy_entry {
    pid stand_in;
    erlang_pid remote{};
    std::weak_ptr<connection> conn;
  };
  std::mutex pids_mutex_;
  std::map<pid_key, std::uint64_t> proxy_keys_;             // remote pid -> stand-in id
  std::unordered_map<std::uint64_t, proxy_entry> proxies_;  // stand-in id -> entry
  std::unordered_map<std::uint64_t, pid> exported_;         // local pids handed out
  std::size_t exported_sweep_at_ = 1024;
  std::unordered_map<std::string, std::size_t> node_indexes_;  // for print_remote

  struct pending_call {
    from_ref caller;
    reply_reader read = nullptr;
    std::uint64_t conn_id = 0;
  };
  std::mutex calls_mutex_;
  std::unordered_map<std::uint64_t, pending_call> calls_;
  std::size_t calls_sweep_at_ = 1024;
  std::atomic<std::uint64_t> next_ref_{1};

  std::mutex inbox_mutex_;
  std::unordered_map<std::string, std::shared_ptr<inbox>> inboxes_;

  std::mutex global_mutex_;
  std::unordered_map<std::string, pid> globals_;        // names other nodes announced
  std::unordered_map<std::string, pid> local_globals_;  // names registered here
  struct global_request {
    std::size_t waiting = 0;  // answers still expected
    bool refused = false;     // a node refused a registration
    pid found;                // a whereis answer
    pid waiter;               // a process in async_register_global, told when settled
  };
  std::condition_variable global_cv_;
  std::unordered_map<std::uint64_t, global_request> global_requests_;
};

/// Sent to a process waiting in async_register_global: the answers to request `req` are in.
struct global_answered {
  std::uint64_t req = 0;
};

/// The node of runtime `rt`, if it has one (for stand-ins and free functions).
std::shared_ptr<node_core> node_of(const runtime* rt);

}  // namespace peeper::dist::detail
