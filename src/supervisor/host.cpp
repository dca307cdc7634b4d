// What both kinds of supervisor process share: start, the request protocol,
// restart intensity and the shutdown protocol.
#include "supervisor/host.hpp"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include <peeper/gen_server/detail/request.hpp>
#include <peeper/runtime/log.hpp>
#include <peeper/runtime/message.hpp>
#include <peeper/runtime/process.hpp>
#include <peeper/supervisor/detail/operation.hpp>

namespace peeper::detail::sup {

class host_base::run_end final : public completion<void> {
 public:
  explicit run_end(host_base& h) : h_(h) {}
  void done() override {}
  void failed(std::exception_ptr e) override { h_.crashed(std::move(e)); }

 private:
  host_base& h_;
};

host_base::host_base(std::optional<name> n, pid parent, from ack, int max_restarts,
                     std::chrono::milliseconds period, peeper::auto_shutdown as,
                     peeper::strategy st, std::shared_ptr<void> context, const context_kind* kind)
    : auto_shutdown_(as),
      strategy_(st),
      max_restarts_(max_restarts),
      name_(box_name(std::move(n))),
      parent_(std::move(parent)),
      ack_(std::move(ack)),
      period_(period),
      context_(std::move(context)),
      kind_(kind) {}

host_base::~host_base() {
  if (root_) root_.destroy();
  if (kind_ != nullptr && kind_->at_end != nullptr) kind_->at_end(context_.get());
}

std::shared_ptr<void> host_base::shared(const void* key) const {
  return kind_ != nullptr && key == kind_ ? context_ : nullptr;
}

void host_base::run(task<void> t) {
  drive<void>(std::move(t), std::make_unique<run_end>(*this)).start(&root_);
}

void host_base::crashed(std::exception_ptr e) {
  exit_reason r;
  try {
    std::rethrow_exception(std::move(e));
  } catch (...) {
    r = exit_reason::from_current_exception();
  }
  logger().error("supervisor {} crashed: {}", describe_self(), r.to_string());
  if (ack_) {
    fail_start(start_errc::init_failed, r);
    return;
  }
  current()->exit_self(std::move(r));
}

std::string host_base::describe_self() const { return describe(current()->self()); }

void host_base::start() {
  process& me = *current();
  me.set_trap_exit(true);
  if (auto* ch = ack_.channel()) ch->set_server(me.self());
  if (name_) {
    try {
      register_name(me.rt().owner(), *name_, me.self());
    } catch (const name_taken& e) {
      fail_start(start_errc::already_started, exit_reason::normal(), e.holder());
      return;
    }
    name_.reset();  // registered: the registry holds it now
  }
  run(init());
}

void host_base::ack_started() {
  ack_.reply(start_reply{});
  ack_ = from();
}

void host_base::fail_start(start_errc code, const exit_reason& reason, pid existing) {
  // A failed start leaves nothing behind and does not take the starter down.
  if (parent_) peeper::unlink(parent_);
  ack_.reply(start_reply{code, reason, std::move(existing)});
  ack_ = from();
  current()->exit_self(reason);
}

void host_base::handle(envelope_ptr e) {
  if (e->kind == envelope_kind::call || e->kind == envelope_kind::cast) {
    auto& r = static_cast<request_envelope&>(*e);
    void* h = r.target == nullptr ? static_cast<void*>(static_cast<server_host_base*>(this))
                                  : target(r.target);
    if (h == nullptr) {
      logger().warn("supervisor {} dropped a {} meant for another server type", describe_self(),
                    e->payload_type_name());
      if (auto* ch = r.reply_to.get()) ch->fail(call_errc::bad_call, exit_reason::normal());
      return;
    }
    r.invoke(h, r);
    return;
  }
  message m(std::move(e));
  if (auto* x = m.get_if<exit_message>()) {
    if (parent_ && x->from == parent_) {
      run(shutdown_self(x->reason));  // the parent ends: so do we, with its reason
    } else {
      run(child_exited(x->from, x->reason));
    }
    return;
  }
  if (m.is<runtime_stop>()) {
    run(shutdown_self(exit_reason::shutdown()));
    return;
  }
  if (auto* t = m.get_if<try_again_restart>()) {
    run(try_again(std::move(*t)));
    return;
  }
  if (m.is<down_message>()) return;  // a monitor of a child already dealt with
  logger().error("supervisor {} received an unexpected {}: dropped", describe_self(),
                 m.type_name());
}

void host_base::on_stop() { peeper::send(current()->self(), runtime_stop{}); }

}  // namespace peeper::detail::sup

namespace peeper::detail {

const std::shared_ptr<void>& supervisor_context() {
  process& me = current_or_throw("supervisor_context");
  void* host = me.behaviour_ptr()->target(type_id<sup::host_tag>());
  if (host == nullptr)
    throw std::logic_error("supervisor_context: the calling process is not a supervisor");
  return static_cast<sup::host_base*>(host)->context();
}

void share_supervisor_context() {
  (void)supervisor_context();  // throws outside a supervisor
  current()->share();
}

std::shared_ptr<void> shared_context(const pid& supervisor, const context_kind& kind) {
  process* p = supervisor.control_block();
  return p == nullptr ? nullptr : p->shared(&kind);
}

}  // namespace peeper::detail

namespace peeper::detail::sup {

void* host_base::target(type_id_t t) noexcept {
  return t == type_id<host_tag>() ? static_cast<void*>(this) : nullptr;
}

void host_base::on_stop_request(exit_reason reason, from f) {
  rare().stop_from = std::move(f);
  run(shutdown_self(std::move(reason)));
}

void host_base::on_code_change(std::any /*extra*/, from f) { f.reply(true); }

void host_base::dispatch(which_children_req /*r*/, from f) { run(which_children(std::move(f))); }
void host_base::dispatch(count_children_req /*r*/, from f) { run(count_children(std::move(f))); }
void host_base::dispatch(start_child_req r, from f) {
  run(start_child(std::move(r.spec), std::move(f)));
}
void host_base::dispatch(start_dynamic_child_req r, from f) {
  run(start_dynamic_child(std::move(r.child), std::move(f)));
}
void host_base::dispatch(terminate_child_req r, from f) {
  run(terminate_child(std::move(r.id), std::move(f)));
}
void host_base::dispatch(terminate_dynamic_child_req r, from f) {
  run(terminate_dynamic_child(std::move(r.child), std::move(f)));
}
void host_base::dispatch(restart_child_req r, from f) {
  run(restart_child(std::move(r.id), std::move(f)));
}
void host_base::dispatch(delete_child_req r, from f) {
  run(delete_child(std::move(r.id), std::move(f)));
}

namespace {
const char* const static_only = "a dynamic supervisor has no child ids (use dynamic_supervisor)";
const char* const dynamic_only = "not a dynamic supervisor (use supervisor)";
}  // namespace

task<void> host_base::start_child(child_spec /*spec*/, from f) {
  reply_error(f, supervisor_errc::not_supported, dynamic_only);
  co_return;
}
task<void> host_base::start_dynamic_child(dynamic_supervisor::child /*c*/, from f) {
  reply_error(f, supervisor_errc::not_supported, dynamic_only);
  co_return;
}
task<void> host_base::terminate_child(std::string /*id*/, from f) {
  reply_error(f, supervisor_errc::not_supported, static_only);
  co_return;
}
task<void> host_base::terminate_dynamic_child(pid /*child*/, from f) {
  reply_error(f, supervisor_errc::not_supported, dynamic_only);
  co_return;
}
task<void> host_base::restart_child(std::string /*id*/, from f) {
  reply_error(f, supervisor_errc::not_supported, static_only);
  co_return;
}
task<void> host_base::delete_child(std::string /*id*/, from f) {
  reply_error(f, supervisor_errc::not_supported, static_only);
  co_return;
}

host_base::rare_state& host_base::rare() {
  if (!rare_) rare_ = std::make_unique<rare_state>();
  return *rare_;
}

void host_base::set_restarting(const void* key, bool on) {
  if (!on && !rare_) return;
  auto& keys = rare().restarting;
  std::erase(keys, key);
  if (on) keys.push_back(key);
}

bool host_base::restarting(const void* key) const noexcept {
  return rare_ && std::find(rare_->restarting.begin(), rare_->restarting.end(), key) !=
                      rare_->restarting.end();
}

bool host_base::add_restart() {
  auto now = current()->rt().now();
  // OTP keeps the restarts at or after now - period.
  auto& restarts = rare().restarts;
  if (!restarts) restarts = std::make_unique<std::deque<std::chrono::steady_clock::time_point>>();
  auto& times = *restarts;
  while (!times.empty() && times.front() < now - period_) times.pop_front();
  times.push_back(now);
  return static_cast<long long>(times.size()) <= static_cast<long long>(max_restarts_);
}

bool host_base::auto_shutdown_due(bool significant, bool significant_left) const {
  if (!significant) return false;
  switch (auto_shutdown_) {
    case peeper::auto_shutdown::never:
      return false;
    case peeper::auto_shutdown::any_significant:
      return true;
    case peeper::auto_shutdown::all_significant:
      return !significant_left;
  }
  return false;
}

bool host_base::runtime_stopping() const { return current()->rt().stopping(); }

task<void> host_base::shutdown_self(exit_reason reason) {
  co_await terminate_children();
  current()->exit_self(std::move(reason));
}

task<std::optional<exit_reason>> host_base::wait_down(
    ref mon, std::optional<std::chrono::milliseconds> timeout) {
  runtime_core& rt = current()->rt();
  auto deadline = timeout ? rt.now() + *timeout : clock::time_point::max();
  while (true) {
    std::optional<down_message> d;
    if (timeout) {
      auto now = rt.now();
      d = co_await receive<down_message>(deadline > now ? deadline - now : clock::duration::zero());
      if (!d) co_return std::nullopt;
    } else {
      d = co_await receive<down_message>();
    }
    if (d->monitor == mon) co_return std::move(d->reason);
    // Another monitor's DOWN: the supervisor monitors only the child it stops.
  }
}

task<exit_reason> host_base::stop_child(pid p, shutdown_t how) {
  ref mon = peeper::monitor(p);
  // Unlinked before the exit signal (which the child sees after the unlink:
  // signals from one sender arrive in order), so that its end comes back as
  // the DOWN only. Otherwise every stopped child would leave an 'EXIT' in the
  // mailbox ahead of the next DOWN: stopping n children would scan O(n^2).
  peeper::unlink(p);
  peeper::exit(p, how.is_brutal_kill() ? exit_reason::kill() : exit_reason::shutdown());
  std::optional<exit_reason> r =
      co_await wait_down(mon, how.is_timeout() ? std::optional(how.timeout()) : std::nullopt);
  if (!r) {
    peeper::exit(p, exit_reason::kill());
    r = co_await wait_down(mon, std::nullopt);
  }
  // An 'EXIT' queued before the unlink (the child had ended by itself) is
  // ignored when handled: the pid is no longer a child's.
  co_return std::move(*r);
}

void host_base::report_shutdown(const std::string& id, restart_type restart, const shutdown_t& how,
                                const exit_reason& r) const {
  using k = exit_reason::kind;
  const bool permanent = restart == restart_type::permanent;
  bool expected = r.what() == k::noproc;  // it had ended already: its exit is reported as such
  if (r.what() == k::shutdown && r.detail().empty()) expected = true;
  if (!permanent && (r.is_normal() || r.is_shutdown())) expected = true;
  if (how.is_brutal_kill() && r.what() == k::killed) expected = true;
  if (expected) return;
  logger().error("supervisor {}: shutdown_error: child {} ended with {} (shutdown {})",
                 describe_self(), id.empty() ? "<dynamic>" : id, r.to_string(), how.to_string());
}

task<start_outcome> host_base::invoke_start(std::function<task<start_outcome>()> start) {
  exit_reason why;
  try {
    start_outcome out = co_await start();
    if (out.ok() && out.process()) peeper::link(out.process());
    co_return out;
  } catch (...) {
    why = exit_reason::from_current_exception();
  }
  co_return start_outcome(start_errc::init_failed, why, {});
}

exit_reason host_base::failure_reason(const start_outcome& out) {
  switch (out.error().value_or(start_errc::init_failed)) {
    case start_errc::already_started:
      return exit_reason::error("{already_started, " + out.process().to_string() + "}");
    case start_errc::timeout:
      return exit_reason::error("timeout");
    case start_errc::stopping:
      return exit_reason::shutdown();
    case start_errc::ignored:
      return exit_reason::error("ignore");
    case start_errc::init_failed:
      break;
  }
  return out.reason();
}

void host_base::reply_error(const from& f, supervisor_errc code, std::string message,
                            exit_reason reason, pid p) {
  op_reply r;
  r.error = code;
  r.message = std::move(message);
  r.reason = std::move(reason);
  r.process = std::move(p);
  f.reply(std::move(r));
}

void host_base::reply_ok(const from& f, pid p) {
  op_reply r;
  r.process = std::move(p);
  f.reply(std::move(r));
}

void host_base::reply_start_failure(const from& f, const start_outcome& out) {
  if (out.error() == start_errc::already_started) {
    reply_error(f, supervisor_errc::already_started,
                "the child's name is taken by " + out.process().to_string(), failure_reason(out),
                out.process());
    return;
  }
  exit_reason why = failure_reason(out);
  reply_error(f, supervisor_errc::start_failed, "the child failed to start: " + why.to_string(),
              why);
}

}  // namespace peeper::detail::sup
