// What the dist templates (remote.hpp, expose.hpp) need from a node's core, which is private
// to src/dist. Not API: the functions here are for the library's own templates.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "peeper/dist/pid_context.hpp"
#include "peeper/dist/term_reader.hpp"
#include "peeper/dist/types.hpp"
#include "peeper/gen_server/call_error.hpp"
#include "peeper/gen_server/from.hpp"
#include "peeper/runtime/detail/runtime_core.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper::dist {

/// A process registered under `name` on node `node`: Erlang's {Name, Node}.
struct remote_name {
  std::string name;
  std::string node;
};

/// Where a remote send, cast or call goes: a pid (local or remote) or {name, node}.
using destination = std::variant<pid, remote_name>;

namespace detail {

class node_core;

/// The node's translation of pids (remote pids are stand-in processes).
pid_context& pids_of(node_core& n);
/// The runtime the node belongs to.
peeper::detail::runtime_core& runtime_of(node_core& n);

/// Sends `message` (an external term: version byte first) to `to`. A local pid gets nothing
/// here (the caller sends the C++ value itself): returns false. A remote one (or {name, node})
/// gets it on its node's connection, made on demand. Returns false if the node is unreachable
/// or stopped (the message is dropped); true does not mean delivery.
bool send_encoded(node_core& n, const destination& to, std::span<const char> message);

/// True if `p` stands for a process of another node.
bool is_remote(node_core& n, const pid& p);

/// Reads a call's reply term and answers the caller through `ch` (claim, then deliver).
using reply_reader = void (*)(peeper::detail::reply_channel& ch, term_reader& r);

/// Sends {'$gen_call', {Router, Tag}, Msg} (`msg` is Msg's term, no version byte) to `to`,
/// and keeps `caller` until the reply {Tag, Reply} arrives (then `read` answers it), the
/// connection drops (exited with noconnection), or the node stops. A call to a local pid is
/// answered with bad_call: local servers are called with peeper::call.
void start_call(node_core& n, const destination& to, std::span<const char> msg,
                peeper::detail::from_ref caller, reply_reader read);

/// A reply of the form {'$peeper_error', Code, Reason}: what a Peeper node answers when the
/// call failed on its side (no such server, undecodable request, the server exited...).
struct peeper_error {
  call_errc code;
  exit_reason reason;
};
/// Reads the next term if it is a peeper error (else consumes nothing and returns nullopt).
std::optional<peeper_error> read_peeper_error(term_reader& r);

/// A remote caller of a local GenServer: where its reply goes.
class remote_caller {
 public:
  virtual ~remote_caller() = default;
  remote_caller() = default;
  remote_caller(const remote_caller&) = delete;
  remote_caller& operator=(const remote_caller&) = delete;
  /// Sends {Tag, Reply}; `reply` is Reply's term, no version byte. Any thread.
  virtual void reply(std::span<const char> reply) = 0;
  /// Sends {Tag, {'$peeper_error', Code, Reason}}.
  virtual void reply_error(call_errc code, const exit_reason& reason) = 0;
  /// The node's pid translation, for encoding the reply.
  virtual pid_context& pids() = 0;
};

}  // namespace detail
}  // namespace peeper::dist
