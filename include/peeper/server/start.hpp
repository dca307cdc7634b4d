// Starting Peeper instances: start (blocking, outside processes),
// start_link (co_await, inside a process), and the specs that make an
// instance the child of a Supervisor (server_spec) or a DynamicSupervisor
// (server_child).
//
// An instance is a supervisor with two children started in order: the
// keeper (id "state") and the worker (id "worker"). The instance's pid and
// name are the supervisor's; the worker registers worker_name(name).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "peeper/gen_server/start.hpp"
#include "peeper/server/detail/core.hpp"
#include "peeper/server/detail/instance_table.hpp"
#include "peeper/server/detail/worker.hpp"
#include "peeper/server/instance.hpp"
#include "peeper/server/options.hpp"
#include "peeper/supervisor/detail/shared_specs.hpp"
#include "peeper/supervisor/dynamic_supervisor.hpp"
#include "peeper/supervisor/supervisor.hpp"

namespace peeper {

/// The outcome of starting an instance: the instance, or why it did not start.
template <class Impl>
class instance_result : public start_outcome {
 public:
  instance_result(start_outcome o,
                  std::shared_ptr<detail::instance_core<typename Impl::state_type>> core)
      : start_outcome(std::move(o)), core_(std::move(core)) {}
  /// The instance; throws start_error if it did not start.
  [[nodiscard]] instance<Impl> value() const {
    if (!ok()) throw start_error(*error(), reason());
    return instance<Impl>(process(), core_);
  }

 private:
  std::shared_ptr<detail::instance_core<typename Impl::state_type>> core_;
};

namespace detail {

/// What an instance's supervisor holds: its core.
inline std::shared_ptr<void> instance_context(std::shared_ptr<core_base> core) { return core; }

template <class State>
task<start_outcome> start_keeper(std::shared_ptr<instance_core<State>> core) {
  pid sup = current_or_throw("start_keeper").self();  // runs in the instance's supervisor
  core->set_supervisor(sup);
  register_instance(core);
  // A named awaitable, not a temporary: GCC 12 mishandles temporaries in co_await.
  start_op<keeper_impl<State>> op(
      [core](const start_options& /*o*/, pid parent, from ack) -> std::unique_ptr<behaviour> {
        return std::make_unique<peeper_keeper<State>>(core, std::move(parent), std::move(ack));
      },
      start_options{}, true);
  start_outcome outcome = co_await op;
  co_return outcome;
}

template <class Impl>
task<start_outcome> start_worker(std::shared_ptr<instance_core<typename Impl::state_type>> core,
                                 timeout_t init_timeout) {
  start_options o;
  o.init_timeout = init_timeout;
  start_op<Impl> op(
      [core](const start_options& /*o*/, pid parent, from ack) -> std::unique_ptr<behaviour> {
        return std::make_unique<peeper_worker<Impl>>(core, std::move(parent), std::move(ack));
      },
      std::move(o), true);
  start_outcome outcome = co_await op;
  co_return outcome;
}

/// The core of the instance whose supervisor calls this (the supervisor's context).
template <class State>
std::shared_ptr<instance_core<State>> supervised_core() {
  const std::shared_ptr<void>& context = supervisor_context();
  if (!context) throw std::logic_error("a Peeper child started outside its instance");
  // The context was made from a shared_ptr<core_base>: cast back to that first.
  return std::static_pointer_cast<instance_core<State>>(
      std::static_pointer_cast<core_base>(context));
}

/// The child specs of every instance of Impl: shared, they hold nothing of
/// one instance (each start function finds its core in the supervisor's context).
template <class Impl>
const shared_specs& instance_specs() {
  using S = typename Impl::state_type;
  static const shared_specs specs = [] {
    child_spec keeper;
    keeper.id = "state";
    keeper.start = [] { return start_keeper(supervised_core<S>()); };
    child_spec worker;
    worker.id = "worker";
    worker.start = [] {
      auto core = supervised_core<S>();
      const timeout_t init_timeout = core->settings().init_timeout;
      return start_worker<Impl>(std::move(core), init_timeout);
    };
    return shared_specs{std::make_shared<const child_spec>(std::move(keeper)),
                        std::make_shared<const child_spec>(std::move(worker))};
  }();
  return specs;
}

template <class State>
supervisor_flags instance_flags(const server_options<State>& o) {
  return {o.strategy, o.max_restarts, o.max_seconds, o.auto_shutdown};
}

template <class Impl>
task<start_outcome> start_instance_linked(std::shared_ptr<core_base> core);

/// A new core; it can restart its instance elsewhere (a transfer) with the same options.
template <class Impl>
std::shared_ptr<instance_core<typename Impl::state_type>> make_core(
    runtime_core& rt, const server_options<typename Impl::state_type>& o) {
  using S = typename Impl::state_type;
  auto core = instance_core<S>::make(rt, o.name, o.state, o.listener);
  core->set_table_policy(o.keep_tables);
  core->set_settings({instance_flags(o), o.init_timeout});
  static const core_base::server_kind kind{type_id<Impl>(), &start_instance_linked<Impl>};
  core->set_server_kind(&kind);
  return core;
}

inline start_options instance_start_options(const core_base& core) {
  start_options s;
  if (const name* n = core.instance_name()) s.name = *n;
  return s;
}

/// Starts an instance on `core` (an instance_core of Impl's state type; its
/// settings say how) linked to the calling process (a supervisor, for specs).
template <class Impl>
task<start_outcome> start_instance_linked(std::shared_ptr<core_base> core) {
  const supervisor_flags flags = core->settings().flags;
  start_options o = instance_start_options(*core);
  auto op = start_supervisor_link(instance_specs<Impl>(), flags, std::move(o),
                                  instance_context(core), &instance_kind);
  start_outcome outcome = co_await op;
  if (!outcome.ok()) end_instance(core.get());  // also when no supervisor was made
  co_return outcome;
}

}  // namespace detail

/// Starts an instance of Impl from a thread outside the runtime, not linked;
/// returns once its keeper and worker run (the worker's init has finished).
/// Errors: already_started (the name is taken), init_failed (the worker's
/// init threw), timeout, stopping. Throws call_error(would_block) inside a
/// process, supervisor_error(bad_spec) for invalid options.
template <class Impl>
instance_result<Impl> start(runtime& rt, server_options<typename Impl::state_type> opts) {
  auto core = detail::make_core<Impl>(rt.core(), opts);
  start_outcome o =
      detail::start_supervisor(rt, detail::instance_specs<Impl>(), detail::instance_flags(opts),
                               detail::instance_start_options(*core),
                               detail::instance_context(core), &detail::instance_kind);
  if (!o.ok()) detail::end_instance(core.get());  // also when no supervisor was made
  return {std::move(o), core};
}

/// co_await start_link<Impl>(opts): starts an instance linked to the
/// calling process. Only inside a process.
template <class Impl>
task<instance_result<Impl>> start_link(server_options<typename Impl::state_type> opts) {
  auto core = detail::make_core<Impl>(detail::current_or_throw("start_link").rt(), opts);
  start_outcome o = co_await detail::start_instance_linked<Impl>(core);
  co_return instance_result<Impl>(std::move(o), core);
}

/// A Supervisor child spec for an instance (type supervisor, permanent,
/// shutdown infinity; each field can be changed on the returned spec). Each
/// start of the child starts a fresh instance from opts.state.
template <class Impl>
child_spec server_spec(std::string id, server_options<typename Impl::state_type> opts) {
  child_spec s;
  s.id = std::move(id);
  s.type = child_type::supervisor;
  s.shutdown = infinity;
  s.start = [opts]() {
    auto core = detail::make_core<Impl>(detail::current_or_throw("server_spec").rt(), opts);
    return detail::start_instance_linked<Impl>(std::move(core));
  };
  return s;
}

/// A DynamicSupervisor child for an instance (as server_spec).
template <class Impl>
dynamic_supervisor::child server_child(server_options<typename Impl::state_type> opts) {
  child_spec s = server_spec<Impl>(std::string(), std::move(opts));
  return {[f = std::move(s.start)](const std::vector<std::any>& /*extra*/) { return f(); },
          s.restart, s.shutdown, s.type, s.significant};
}

}  // namespace peeper
