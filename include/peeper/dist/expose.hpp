// expose: which C++ types a local process accepts from other nodes.
//
// A message from the network is an Erlang term; a Peeper process accepts C++ values. expose
// declares, for a process registered under a name, the types an incoming term may decode into
// (through their term_mapping, tried in the order given):
//
//   dist::expose<counter>(node, "counter",
//                         dist::calls<get, add>{},      // gen_server:call(...) requests
//                         dist::casts<reset>{},         // gen_server:cast(...) requests
//                         dist::infos<tick>{});         // plain sends (Pid ! Msg): handle_info
//
// An incoming {'$gen_call', {From, Tag}, Msg} becomes a call of the first type Msg decodes
// into, and the server's reply goes back as {Tag, Reply} (Reply encoded through the reply
// type's term_mapping); {'$gen_cast', Msg} becomes a cast; anything else is tried against the
// infos and sent as a plain message. A call whose request decodes into none of the types, a
// call to a name that is not registered, and a call whose server exits or drops it are
// answered {Tag, {'$peeper_error', Code, Reason}} (Code: bad_call, noproc, exited, no_reply),
// because Erlang callers cannot monitor a process of this node by name and would otherwise
// wait for their timeout; a Peeper caller turns it back into call_error. Other terms that
// decode into nothing are logged and dropped. Messages to a process that was not exposed
// arrive as dist::term values.
//
// Decoding runs on the connection's I/O thread; the server runs its callbacks as usual.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

#include "peeper/dist/detail/node_api.hpp"
#include "peeper/dist/errors.hpp"
#include "peeper/dist/mapping.hpp"
#include "peeper/dist/term_reader.hpp"
#include "peeper/dist/term_writer.hpp"
#include "peeper/gen_server/call.hpp"
#include "peeper/runtime/process.hpp"
#include "peeper/server/detail/core.hpp"
#include "peeper/server/detail/instance_table.hpp"

namespace peeper::dist {

class node;

/// The gen_server:call requests a server accepts from the network.
template <class... Msgs>
struct calls {};
/// The gen_server:cast requests a server accepts from the network.
template <class... Msgs>
struct casts {};
/// The plain messages a process accepts from the network (handle_info, or receive<T>).
template <class... Msgs>
struct infos {};

namespace detail {

/// How incoming terms for one exposed name become C++ requests and messages. Runs on the
/// connection's I/O thread. Each function returns false when no declared type decodes the term
/// (`r` is then at an unspecified position).
class inbox {
 public:
  inbox() = default;
  inbox(const inbox&) = delete;
  inbox& operator=(const inbox&) = delete;
  virtual ~inbox() = default;
  /// `r` is at the request Msg of {'$gen_call', From, Msg}.
  virtual bool call(const pid& server, term_reader& r, std::shared_ptr<remote_caller> from) = 0;
  /// `r` is at the Msg of {'$gen_cast', Msg}.
  virtual bool cast(const pid& server, term_reader& r) = 0;
  /// `r` is at the whole message.
  virtual bool info(const pid& server, term_reader& r) = 0;
};

void add_inbox(node_core& n, const std::string& name, std::shared_ptr<inbox> box);
bool remove_inbox(node_core& n, const std::string& name);
node_core& core_of(node& n);

/// Answers a remote caller: encodes the server's reply of type R.
template <class R>
class remote_channel final : public peeper::detail::reply_channel {
 public:
  remote_channel(pid server, std::shared_ptr<remote_caller> to)
      : reply_channel(std::move(server), 0), to_(std::move(to)) {}
  [[nodiscard]] pid caller() const override { return {}; }
  void deliver(peeper::detail::envelope_ptr reply) override {
    if (reply->type == peeper::detail::type_id<R>()) {
      try {
        term_writer w(&to_->pids());
        w.write(static_cast<peeper::detail::value_reply<R>&>(*reply).value);
        to_->reply(w.bytes());
      } catch (const encode_error& e) {
        to_->reply_error(call_errc::bad_reply, exit_reason::error(e.what()));
      }
    } else if (reply->type == peeper::detail::type_id<peeper::detail::error_reply>()) {
      auto& e = static_cast<peeper::detail::error_reply&>(*reply);
      to_->reply_error(e.code, e.reason);
    } else {
      to_->reply_error(call_errc::bad_reply, exit_reason::normal());
    }
  }

 private:
  std::shared_ptr<remote_caller> to_;
};

template <class Msg>
std::optional<Msg> try_read_last(term_reader& r, std::size_t at) {
  r.rewind(at);
  try {
    Msg m = r.read<Msg>();
    r.expect_end();
    return m;
  } catch (const decode_error&) {
    return std::nullopt;
  }
}

/// How a typed_inbox hands a decoded request to its server: into the mailbox of the process
/// the name stands for or, if that is a Peeper instance (its supervisor), to the instance's
/// current worker, waiting for it while it restarts. Returns false (leaving `e` to the
/// caller) if it has exited.
struct to_process {
  static bool deliver(const pid& server, peeper::detail::envelope_ptr& e) {
    if (!server) return false;
    if (auto core = peeper::detail::latest_core(peeper::detail::find_instance(server))) {
      return core->worker_route().deliver(e);
    }
    return server.control_block()->push(e);
  }
};

/// Decodes what arrives for an exposed name into the first of the declared types that fits
/// and hands it to the server through `Delivery` (to_process, or a transferred instance's
/// core). Returns false from call/cast/info when no declared type fits.
template <class Impl, class Calls, class Casts, class Infos, class Delivery = to_process>
class typed_inbox;

template <class Impl, class... C, class... K, class... I, class Delivery>
class typed_inbox<Impl, calls<C...>, casts<K...>, infos<I...>, Delivery> final : public inbox {
 public:
  bool call(const pid& server, term_reader& r, std::shared_ptr<remote_caller> from) override {
    [[maybe_unused]] const std::size_t at = r.position();
    [[maybe_unused]] bool done = false;
    ((done = done || try_call<C>(server, r, at, from)), ...);
    return done;
  }
  bool cast(const pid& server, term_reader& r) override {
    [[maybe_unused]] const std::size_t at = r.position();
    [[maybe_unused]] bool done = false;
    ((done = done || try_cast<K>(server, r, at)), ...);
    return done;
  }
  bool info(const pid& server, term_reader& r) override {
    [[maybe_unused]] const std::size_t at = r.position();
    [[maybe_unused]] bool done = false;
    ((done = done || try_info<I>(server, r, at)), ...);
    return done;
  }

 private:
  template <class Msg>
  static bool try_call(const pid& server, term_reader& r, std::size_t at,
                       const std::shared_ptr<remote_caller>& from) {
    static_assert(accepts_call<Impl, Msg>, "calls<...>: the server has no handle_call for it");
    auto m = try_read_last<Msg>(r, at);
    if (!m) return false;
    using R = reply_type_t<Impl, Msg>;
    peeper::detail::intrusive_ptr<remote_channel<R>> ch(new remote_channel<R>(server, from), true);
    peeper::detail::envelope_ptr e = peeper::detail::make_call<Impl>(std::move(*m));
    static_cast<peeper::detail::request_envelope&>(*e).reply_to = peeper::detail::from_ref(ch);
    if (!Delivery::deliver(server, e)) {
      // Answer before the request (and its from) is dropped, which would say no_reply.
      ch->fail(call_errc::noproc, exit_reason::noproc());
    }
    return true;
  }
  template <class Msg>
  static bool try_cast(const pid& server, term_reader& r, std::size_t at) {
    static_assert(accepts_cast<Impl, Msg>, "casts<...>: the server has no handle_cast for it");
    auto m = try_read_last<Msg>(r, at);
    if (!m) return false;
    peeper::detail::envelope_ptr e = peeper::detail::make_cast<Impl>(std::move(*m));
    (void)Delivery::deliver(server, e);
    return true;
  }
  template <class Msg>
  static bool try_info(const pid& server, term_reader& r, std::size_t at) {
    auto m = try_read_last<Msg>(r, at);
    if (!m) return false;
    peeper::detail::envelope_ptr e =
        peeper::detail::make_message<Msg>(peeper::detail::envelope_kind::message, std::move(*m));
    (void)Delivery::deliver(server, e);
    return true;
  }
};

template <template <class...> class P, class... Ps>
struct find_protocol {
  using type = P<>;
};
template <template <class...> class P, class... Ms, class... Rest>
struct find_protocol<P, P<Ms...>, Rest...> {
  using type = P<Ms...>;
};
template <template <class...> class P, class First, class... Rest>
struct find_protocol<P, First, Rest...> : find_protocol<P, Rest...> {};

}  // namespace detail

/// Declares what the GenServer `Impl` registered as `name` on this runtime accepts from other
/// nodes: any of calls<...>, casts<...>, infos<...>, in any order. `name` may also be a Peeper
/// instance's name (Impl its server type): what arrives goes to its current worker, and waits
/// for the next one while the worker restarts. Replaces an earlier declaration for `name`. The name
/// need not be registered yet (it is resolved per message). Every call type must be term_mappable,
/// and so must its reply type. Any thread.
template <class Impl, class... Protocols>
void expose(node& n, const std::string& name, Protocols... /*protocols*/) {
  using box = detail::typed_inbox<Impl, typename detail::find_protocol<calls, Protocols...>::type,
                                  typename detail::find_protocol<casts, Protocols...>::type,
                                  typename detail::find_protocol<infos, Protocols...>::type>;
  detail::add_inbox(detail::core_of(n), name, std::make_shared<box>());
}

/// Forgets what expose declared for `name`: its messages arrive as dist::term again. Returns
/// false if nothing was declared.
bool unexpose(node& n, const std::string& name);

}  // namespace peeper::dist
