// instance<Impl>: a handle to a Peeper server instance, and the ways to
// talk to it.
//
// call / async_call / cast / send deliver to the instance's current worker
// without asking its supervisor: the address is kept in the instance's core
// and updated when the worker restarts. While the worker restarts, messages
// wait for the new one (a call waits within its timeout); messages queued
// for a worker that crashes are handled by the next one, in order; only the
// message whose callback crashed is dropped, and its caller gets call_error
// exited with the reason.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "peeper/gen_server/call.hpp"
#include "peeper/gen_server/server_ref.hpp"
#include "peeper/runtime/names.hpp"
#include "peeper/server/detail/core.hpp"
#include "peeper/server/detail/instance_table.hpp"
#include "peeper/supervisor/child_info.hpp"
#include "peeper/supervisor/errors.hpp"

namespace peeper {

template <class Impl>
class instance {
 public:
  using state_type = typename Impl::state_type;
  using core_type = detail::instance_core<state_type>;

  instance() = default;
  instance(pid supervisor, std::shared_ptr<core_type> core)
      : supervisor_(std::move(supervisor)), core_(std::move(core)) {}
  /// By name, resolved at each use (so it follows a transfer).
  instance(runtime& rt, name n) : rt_(&rt), name_(std::move(n)) {}
  /// By the instance's pid (its supervisor's: what a Supervisor or a
  /// DynamicSupervisor reports for a server_spec / server_child child),
  /// resolved at each use. A pid that is no instance's behaves as a stopped
  /// instance (call throws noproc, cast returns false).
  explicit instance(pid supervisor) : supervisor_(std::move(supervisor)) {}

  /// The instance's core, or null if it is gone or unknown. Throws
  /// bad_argument if the name belongs to an instance of another state type.
  [[nodiscard]] std::shared_ptr<core_type> core() const {
    std::shared_ptr<detail::core_base> c =
        detail::latest_core(name_   ? detail::find_instance(*rt_, *name_)
                            : core_ ? std::static_pointer_cast<detail::core_base>(core_)
                                    : detail::find_instance(supervisor_));
    if (!c) return nullptr;
    if (c->state_type() != detail::type_id<state_type>()) {
      throw bad_argument("instance " + to_string() + " has another state type");
    }
    return std::static_pointer_cast<core_type>(c);
  }
  /// The instance's pid (its supervisor's), or the null pid if it is gone.
  [[nodiscard]] pid supervisor() const {
    auto c = core();
    return c ? c->supervisor() : pid();
  }
  [[nodiscard]] std::string to_string() const {
    return name_ ? name_->to_string() : supervisor_.to_string();
  }
  /// The core this handle holds, if no transfer or stop has superseded it;
  /// null otherwise (then core() finds the current one). Takes no reference:
  /// the fast path of cast and send.
  [[nodiscard]] core_type* held_core() const noexcept {
    return core_ && core_->current() ? core_.get() : nullptr;
  }

 private:
  pid supervisor_;
  std::shared_ptr<core_type> core_;
  runtime* rt_ = nullptr;
  std::optional<name> name_;
};

namespace detail {

/// Routes requests to an instance's current worker (see pid_route).
struct instance_route {
  core_base* core = nullptr;
  std::shared_ptr<core_base> owner;  // keeps `core` alive unless the caller's handle does

  [[nodiscard]] bool valid() const noexcept { return core != nullptr; }
  /// Null: push names the worker that takes the request in its reply channel.
  [[nodiscard]] pid server() const noexcept { return {}; }
  [[nodiscard]] bool is(const process& p) const {
    return core->worker_route().target().id() == p.id();
  }
  /// Names the current worker in the request's reply channel under the
  /// route's lock, as it pushes (a request that waits for a restart is
  /// named by the worker that takes it).
  bool push(envelope_ptr& e) const {
    auto* ch = static_cast<request_envelope&>(*e).reply_to.get();
    return core->worker_route().deliver(e, [ch](const pid& worker) {
      if (ch != nullptr) ch->set_server(worker);
    });
  }
  [[nodiscard]] runtime_core& rt() const noexcept { return core->rt(); }
};

/// A route through the handle's own core while it is current (no reference
/// taken: for a caller that keeps `s` alive until answered), else through
/// the current core, held by the route.
template <class Impl>
instance_route borrowed_route_to(const instance<Impl>& s) {
  if (auto* c = s.held_core()) return {c, nullptr};
  auto c = s.core();
  return {c.get(), std::move(c)};
}
/// A route that holds the current core (for an operation that may outlive `s`).
template <class Impl>
instance_route route_to(const instance<Impl>& s) {
  auto c = s.core();
  return {c.get(), std::move(c)};
}

/// cast and send: straight to the held core's route when it is current,
/// else through the current core. False if the instance is gone.
template <class Impl>
bool push_to(const instance<Impl>& s, envelope_ptr& e) {
  auto r = borrowed_route_to(s);
  return r.valid() && r.core->worker_route().deliver(e);
}

void stop_instance(const pid& supervisor, exit_reason reason, timeout_t timeout);
std::vector<child_info> instance_children(core_base& core, timeout_t timeout);

}  // namespace detail

/// Calls the instance's worker and blocks for the reply (outside processes).
/// Waits for a restarting worker within `timeout`. Throws call_error:
/// noproc (the instance is gone), timeout, exited (the worker crashed in
/// this call's callback), would_block, bad_call.
template <class Impl, class Msg>
requires accepts_call<Impl, std::decay_t<Msg>> reply_type_t<Impl, std::decay_t<Msg>> call(
    const instance<Impl>& s, Msg&& msg, timeout_t timeout = default_call_timeout) {
  using M = std::decay_t<Msg>;
  detail::check_call<Impl, M>();
  return detail::blocking_request<reply_type_t<Impl, M>>(
      detail::borrowed_route_to(s), detail::make_call<Impl>(std::forward<Msg>(msg)), timeout,
      "call");
}

/// co_await async_call(instance, msg): call from inside a process.
template <class Impl, class Msg>
requires accepts_call<Impl, std::decay_t<Msg>>
    detail::request_op<reply_type_t<Impl, std::decay_t<Msg>>, detail::instance_route> async_call(
        const instance<Impl>& s, Msg&& msg, timeout_t timeout = default_call_timeout) {
  using M = std::decay_t<Msg>;
  detail::check_call<Impl, M>();
  return {detail::route_to(s), detail::make_call<Impl>(std::forward<Msg>(msg)), timeout, "call"};
}

/// Casts to the instance's worker (or to its successor, if it is
/// restarting). Returns false if the instance is gone. Never blocks.
template <class Impl, class Msg>
requires accepts_cast<Impl, std::decay_t<Msg>>
bool cast(const instance<Impl>& s, Msg&& msg) {
  detail::envelope_ptr e = detail::make_cast<Impl>(std::forward<Msg>(msg));
  return detail::push_to(s, e);
}

/// Sends a plain message to the instance's worker (handle_info), as cast.
template <class Impl, class T>
bool send(const instance<Impl>& s, T&& msg) {
  detail::envelope_ptr e =
      detail::make_message<std::decay_t<T>>(detail::envelope_kind::message, std::forward<T>(msg));
  return detail::push_to(s, e);
}

/// Stops the whole instance: the worker, then the keeper, then the
/// supervisor. The worker runs terminate if it traps exits (as a GenServer
/// under a supervisor does); the listener's pending hooks and on_terminate
/// run before the keeper ends. Blocks until it is gone. Throws
/// supervisor_error (noproc, timeout, would_block).
template <class Impl>
void stop(const instance<Impl>& s, const exit_reason& reason = exit_reason::normal(),
          timeout_t timeout = infinity) {
  detail::stop_instance(s.supervisor(), reason, timeout);
}

/// The current worker, waiting up to `timeout` while it restarts (outside
/// processes). The null pid if the instance is gone or the wait timed out.
template <class Impl>
pid worker(const instance<Impl>& s, timeout_t timeout = default_call_timeout) {
  auto c = s.core();
  if (!c) return {};
  return c->wait_worker(c->rt(), detail::deadline_after(c->rt(), timeout.value()));
}

/// The current keeper (null while it restarts, or if the instance is gone).
template <class Impl>
pid keeper(const instance<Impl>& s) {
  auto c = s.core();
  return c ? c->keeper_route().target() : pid();
}

/// The current worker as a plain GenServer reference (see worker()).
template <class Impl>
server_ref<Impl> worker_ref(const instance<Impl>& s, timeout_t timeout = default_call_timeout) {
  return server_ref<Impl>(worker(s, timeout));
}

/// The keeper and the worker, after waiting for a restarting worker.
/// Throws supervisor_error as supervisor::which_children.
template <class Impl>
std::vector<child_info> which_children(const instance<Impl>& s,
                                       timeout_t timeout = default_call_timeout) {
  auto c = s.core();
  if (!c) throw supervisor_error(supervisor_errc::noproc, "which_children: no such instance");
  return detail::instance_children(*c, timeout);
}

}  // namespace peeper
