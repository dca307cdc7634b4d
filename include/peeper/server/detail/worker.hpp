// The processes of a Peeper instance: the worker, which runs the user's
// callbacks and commits the state into the core, and the keeper, which
// answers for the state and runs the listener's hooks.
//
// Both are GenServer hosts attached to a route of the core: when one ends,
// what it had not handled goes back to the route (ahead of anything sent
// meanwhile) and its successor handles it first, in order.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "peeper/gen_server/detail/server_host.hpp"
#include "peeper/runtime/log.hpp"
#include "peeper/server/detail/core.hpp"
#include "peeper/server/detail/worker_tables.hpp"

namespace peeper::detail {

/// The runtime's own messages meant for the process that ended, not its successor.
inline bool meant_for_predecessor(const envelope& e) {
  return e.type == type_id<idle_timeout>() || e.type == type_id<down_message>() ||
         e.type == type_id<exit_message>();
}

/// Queued by a successor behind the messages it took over from the route:
/// up to its own mark, what it handles may be meant for a predecessor.
/// (Filtering as they are handled keeps a hand-over O(1) however long the
/// backlog: a crash loop over N queued messages would otherwise be O(N²).)
struct handoff_mark {
  std::uint64_t owner;  // the process id of the successor that queued it
};
inline bool is_handoff_mark(const envelope& e) { return e.type == type_id<handoff_mark>(); }

/// A server host fed by a route of the core: its worker route, or its keeper route.
template <class Impl>
class routed_host : public server_host<Impl> {
 public:
  enum class role : bool { keeper, worker };
  routed_host(std::shared_ptr<core_base> core, role r, std::optional<name> n, pid parent, from ack)
      : server_host<Impl>(std::move(n), std::move(parent), std::move(ack)),
        core_(std::move(core)),
        role_(r) {}

  void handle(envelope_ptr e) override {
    if (is_handoff_mark(*e)) {
      const auto& mark = static_cast<payload_envelope<handoff_mark>&>(*e).value;
      if (mark.owner == current()->id()) taken_over_ = false;
      return;  // a predecessor's mark, left behind when it ended before reaching it
    }
    if (taken_over_ && meant_for_predecessor(*e)) return;
    // A call sent to a predecessor, or while none ran, is answered by this
    // process now: if it ends before replying, its caller gets its reason.
    if (e->kind == envelope_kind::call) {
      auto* ch = static_cast<request_envelope&>(*e).reply_to.get();
      process& me = *current();
      if (ch != nullptr && ch->server().control_block() != &me) ch->set_server(me.self());
    }
    server_host<Impl>::handle(std::move(e));
  }

 protected:
  /// Takes over the route: what waited is queued first, then a mark.
  void attach(envelope_list carried) {
    if (carried.empty()) return;
    process& me = *current();
    // Queued as a cast: a selective receive, which takes plain messages only, cannot take it.
    carried.push_back(make_message<handoff_mark>(envelope_kind::cast, handoff_mark{me.id()}));
    taken_over_ = true;
    me.requeue_front(std::move(carried));
  }
  void on_unprocessed(envelope_list msgs) noexcept override {
    route& r = own_route();
    envelope_list refused = r.give_back(std::move(msgs));
    if (std::exchange(exit_locked_, false)) r.unlock_detached();
    refuse(std::move(refused));
  }

  /// Keeps what detach returned: the route stays locked until on_unprocessed.
  void hold_exit_lock(std::unique_lock<small_mutex> lock) noexcept {
    exit_locked_ = lock.release() != nullptr;
  }
  route& own_route() noexcept {
    return role_ == role::worker ? core_->worker_route() : core_->keeper_route();
  }

  // The instance's core (the worker's and the keeper's one reference to it).
  std::shared_ptr<core_base> core_;

 private:
  role role_;
  bool exit_locked_ = false;  // the route's lock, held from on_exit to on_unprocessed
  bool taken_over_ = false;   // before this process's handoff_mark
};

template <class Impl>
class peeper_worker final : public routed_host<Impl>, public worker_base {
 public:
  using state_type = typename Impl::state_type;
  using core_type = instance_core<state_type>;

  peeper_worker(std::shared_ptr<core_type> core, pid parent, from ack)
      : routed_host<Impl>(core, routed_host<Impl>::role::worker,
                          core->instance_name()
                              ? std::optional<name>(worker_name(*core->instance_name()))
                              : std::nullopt,
                          std::move(parent), std::move(ack)) {}

  void start() override {
    process& me = *current();
    // Tables first: once attached, `worker(s)` names this process, and its
    // kept tables must already be its own.
    this->set_restored(restore_tables(core()));
    this->attach(core().attach_worker(me));
    this->run_init(core().committed());
  }

  core_base& instance() noexcept override { return core(); }

 protected:
  void committed() override { core().commit(this->impl_, *this->state_); }

  void init_refused(const std::optional<exit_reason>& stop_reason) override {
    logger().warn("Peeper server {}: init must return ok, it returned {}; the state is kept",
                  describe(self()),
                  stop_reason ? "stop (" + stop_reason->to_string() + ")" : "ignore");
    this->state_ = core().committed();
    this->ack_ok();
  }

  void on_exit(const exit_reason& reason) noexcept override {
    process& me = *current();
    // Before detaching: the route's lock, held from here to on_unprocessed,
    // comes after the core's.
    keep_tables_on_exit(core());
    try {
      this->hold_exit_lock(
          core().detach_worker(me.self(), me.has_dict() ? std::move(me.dict()) : dictionary()));
      core().terminated(reason);
    } catch (...) {
      logger().error("Peeper server {}: could not hand over on exit", describe(me.self()));
    }
  }

 private:
  core_type& core() noexcept { return static_cast<core_type&>(*this->core_); }
};

/// What the keeper answers a process asking for the state: the state for
/// the instance's current worker, nothing for anyone else.
struct fetch_state {};

template <class State>
struct keeper_impl : gen_server<keeper_impl<State>, std::shared_ptr<instance_core<State>>> {
  using core_ptr = std::shared_ptr<instance_core<State>>;

  call_result<std::optional<State>> handle_call(fetch_state /*m*/, const from& f,
                                                const core_ptr& c) {
    if (f.caller() && f.caller() == c->worker_route().target())
      return reply(std::optional<State>(c->committed()));
    return reply(std::optional<State>());
  }
  auto handle_info(message& m, const core_ptr& c) {
    try {
      if (auto* e = m.template get_if<state_changed<State>>()) {
        c->hooks().on_state_changed(e->old_state, e->new_state);
      } else if (auto* t = m.template get_if<worker_terminated<State>>()) {
        c->hooks().on_terminate(t->reason, t->state);
      }
    } catch (...) {
      logger().warn("Peeper listener hook threw: {}",
                    exit_reason::from_current_exception().to_string());
    }
    return noreply();
  }
};

template <class State>
class peeper_keeper final : public routed_host<keeper_impl<State>> {
 public:
  using base = routed_host<keeper_impl<State>>;
  peeper_keeper(std::shared_ptr<instance_core<State>> core, pid parent, from ack)
      : base(std::move(core), base::role::keeper, std::nullopt, std::move(parent), std::move(ack)) {
  }

  void start() override {
    // Trapping exits, the supervisor's shutdown is a message queued after the
    // listener events already sent (the worker's on_terminate among them), so
    // the keeper runs their hooks before it ends.
    current()->set_trap_exit(true);
    this->attach(this->core_->attach_keeper(current()->self()));
    this->run_init(std::static_pointer_cast<instance_core<State>>(this->core_));
  }

 protected:
  void on_exit(const exit_reason& /*reason*/) noexcept override {
    try {
      this->hold_exit_lock(this->own_route().detach(current()->self()));
    } catch (...) {
      logger().error("Peeper keeper {}: could not hand over on exit", describe(self()));
    }
  }
};

}  // namespace peeper::detail
