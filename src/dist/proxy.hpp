// The stand-in of a remote process: a local process whose pid is the remote pid's peeper::pid.
//
// Signals sent to it (link, unlink, monitor, demonitor, exit) are forwarded to the remote node
// as control messages, and the runtime still records links and monitors on it, so that when the
// connection drops and the stand-in exits with noconnection, links and monitors hear of it as
// they would of any process. What the remote process does to local ones arrives from the
// stand-in: links, unlinks and exit signals are delivered by the connection's thread in arrival
// order (with the stand-in as sender, its own records updated through run_in), monitors are
// set by the stand-in on its own thread, through run_in. A stand-in never dies of an exit
// signal: it forwards it.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include <ei.h>

#include "dist/connection.hpp"
#include "peeper/runtime/detail/process.hpp"

namespace peeper::dist::detail {

class node_core;

class proxy final : public peeper::detail::behaviour {
 public:
  proxy(std::weak_ptr<node_core> n, std::weak_ptr<connection> c, const erlang_pid& remote)
      : node_(std::move(n)), conn_(std::move(c)), remote_(remote) {}

  void handle(peeper::detail::envelope_ptr e) override;
  bool intercept_signal(peeper::detail::envelope& e) override;
  void on_exit(const exit_reason& reason) noexcept override;

  /// The remote process monitors local `target` under the remote ref `ref` (its term bytes).
  /// Runs on the stand-in's thread.
  void monitor_for_remote(const pid& target, std::string ref);
  /// The remote process removes the monitor `ref`.
  void demonitor_for_remote(const std::string& ref);

  /// The stand-in running on this thread (inside run_in), or nullptr.
  static proxy* current();

 private:
  void send_frame(const std::string& frame);

  std::weak_ptr<node_core> node_;
  std::weak_ptr<connection> conn_;
  erlang_pid remote_;
  std::unordered_map<std::uint64_t, std::string> remote_monitors_;  // local tag -> remote ref
};

}  // namespace peeper::dist::detail
