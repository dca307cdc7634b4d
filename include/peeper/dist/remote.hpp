// Talking to processes of other nodes: send, cast, call.
//
// A destination is a pid (a remote pid is a peeper::pid like any other: a local stand-in
// process per remote process, created when the pid is first decoded) or a remote_name
// {name, node}, Erlang's {Name, Node}. Values go on the wire through their term_mapping
// (peeper/dist/mapping.hpp), encoded on the calling thread; the connection is made on demand by
// its own I/O thread, so none of these functions blocks on the network.
//
//   dist::send(n, dist::remote_name{"logger", "e1@127.0.0.1"}, entry);
//   dist::cast(n, counter_pid, add{2});
//   int v = dist::call<int>(n, dist::remote_name{"counter", "cpp2@127.0.0.1"}, get{});
//   int w = co_await dist::async_call<int>(n, counter_pid, get{});   // inside a process
//
// Link, monitor and exit work on remote pids through the ordinary peeper::link / monitor /
// exit. peeper::send to a remote pid encodes dist::term values and the types registered with
// dist::sendable<T...>() (dist::send registers its own); a value of any other type is dropped
// with a log line naming its type. Ordering: what one sender sends to one remote
// pid (messages, calls, link / monitor / exit signals) arrives in the order sent; sends to a
// remote_name are ordered among themselves.
//
// Errors of call / async_call: call_error as for local calls (timeout; bad_reply when the reply
// does not decode into R; and what the remote Peeper node reports: noproc, bad_call, exited,
// no_reply), plus exited with reason noconnection when the node is unreachable or the
// connection drops before the reply, as OTP's {nodedown, Node}. A call to an Erlang server that
// does not exist times out (Erlang drops such messages silently).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "peeper/dist/detail/node_api.hpp"
#include "peeper/dist/errors.hpp"
#include "peeper/dist/expose.hpp"
#include "peeper/dist/mapping.hpp"
#include "peeper/dist/term_writer.hpp"
#include "peeper/gen_server/call.hpp"
#include "peeper/runtime/detail/envelope.hpp"
#include "peeper/runtime/detail/type_id.hpp"
#include "peeper/runtime/process.hpp"

namespace peeper::dist {

class node;

namespace detail {

/// Writes the value of a message envelope of one type (peeper::send to a remote pid).
using message_encoder = void (*)(const peeper::detail::envelope& e, term_writer& w);
/// Registers `enc` for messages of `type`. Any thread; the first registration of a type stays.
void add_encoder(peeper::detail::type_id_t type, message_encoder enc);
/// The encoder registered for `type`, or null. Any thread.
message_encoder encoder_of(peeper::detail::type_id_t type);

template <class T>
void encode_envelope(const peeper::detail::envelope& e, term_writer& w) {
  w.write(static_cast<const peeper::detail::payload_envelope<T>&>(e).value);
}

template <class T>
std::vector<char> encode_message(node_core& n, const T& value) {
  term_writer w(&pids_of(n));
  w.write_version();
  w.write(value);
  return w.release();
}

template <class R>
void read_reply(peeper::detail::reply_channel& ch, term_reader& r) {
  if (auto err = read_peeper_error(r)) {
    ch.fail(err->code, err->reason);
    return;
  }
  try {
    R value = r.read<R>();
    if (ch.claim()) {
      ch.deliver(std::make_unique<peeper::detail::value_reply<R>>(ch.tag(), std::move(value)));
    }
  } catch (const decode_error& e) {
    ch.fail(call_errc::bad_reply, exit_reason::error(e.what()));
  }
}

/// The route of a remote call for request_op / blocking_request (see gen_server/call.hpp).
template <class R, class Msg>
struct remote_route {
  node_core* n;
  destination to;
  [[nodiscard]] bool valid() const noexcept { return true; }
  [[nodiscard]] pid server() const { return {}; }
  [[nodiscard]] bool is(const peeper::detail::process& /*p*/) const noexcept { return false; }
  [[nodiscard]] peeper::detail::runtime_core& rt() const noexcept { return runtime_of(*n); }
  bool push(peeper::detail::envelope_ptr& e) const {
    auto& req = static_cast<peeper::detail::request<Msg>&>(*e);
    term_writer w(&pids_of(*n));
    w.write(req.msg);
    start_call(*n, to, w.bytes(), std::move(req.reply_to), &read_reply<R>);
    e.reset();
    return true;
  }
};

template <class Msg>
peeper::detail::envelope_ptr make_remote_call(Msg&& m) {
  using M = std::decay_t<Msg>;
  return std::make_unique<peeper::detail::request<M>>(peeper::detail::envelope_kind::call, nullptr,
                                                      nullptr, std::forward<Msg>(m));
}

}  // namespace detail

/// Makes `peeper::send(remote_pid, value)` work for values of the types `T...`: the stand-in
/// encodes them through their term_mapping (an encoding error is logged and the message
/// dropped). dist::send registers the types it sends. Idempotent; any thread.
template <class... T>
void sendable() {
  (detail::add_encoder(peeper::detail::type_id<T>(), &detail::encode_envelope<T>), ...);
}

/// Sends `value` to `to`: a local pid gets the C++ value itself (as peeper::send), a remote
/// one its term. Returns false if a local process is not alive or a node is unreachable
/// (dropped); true does not mean delivery to a remote process. Throws encode_error if the value
/// has no encoding. Any thread.
template <class T>
bool send(node& n, const destination& to, const T& value) {
  static const bool registered = (sendable<T>(), true);  // once per type: peeper::send too
  (void)registered;
  auto& core = detail::core_of(n);
  if (const pid* p = std::get_if<pid>(&to); p != nullptr && !detail::is_remote(core, *p)) {
    return peeper::send(*p, value);
  }
  auto bytes = detail::encode_message(core, value);
  return detail::send_encoded(core, to, bytes);
}

/// Sends {'$gen_cast', Msg} to `to`, as gen_server:cast does. Returns as send. Throws
/// encode_error. Any thread. (A local pid is cast to through its term, as a remote node would:
/// it must have been exposed.)
template <class Msg>
bool cast(node& n, const destination& to, const Msg& msg) {
  auto& core = detail::core_of(n);
  term_writer w(&detail::pids_of(core));
  w.write_version();
  w.write_tuple_header(2);
  w.write_atom("$gen_cast");
  w.write(msg);
  return detail::send_encoded(core, to, w.bytes());
}

/// Calls the server at `to` (a remote pid or {name, node}) and blocks for its reply, decoded as
/// an R. Outside processes only (inside, use co_await async_call). Throws call_error (see the
/// top of this file), encode_error.
template <class R, class Msg>
R call(node& n, const destination& to, Msg&& msg, timeout_t timeout = default_call_timeout) {
  using M = std::decay_t<Msg>;
  detail::remote_route<R, M> route{&detail::core_of(n), to};
  return peeper::detail::blocking_request<R>(
      route, detail::make_remote_call(std::forward<Msg>(msg)), timeout, "dist::call");
}

/// co_await async_call<R>(n, to, msg): call from inside a process, suspending it (not its
/// thread) until the reply. Throws as call does, and not_in_process outside a process.
template <class R, class Msg>
peeper::detail::request_op<R, detail::remote_route<R, std::decay_t<Msg>>> async_call(
    node& n, const destination& to, Msg&& msg, timeout_t timeout = default_call_timeout) {
  using M = std::decay_t<Msg>;
  return {detail::remote_route<R, M>{&detail::core_of(n), to},
          detail::make_remote_call(std::forward<Msg>(msg)), timeout, "dist::call"};
}

}  // namespace peeper::dist
