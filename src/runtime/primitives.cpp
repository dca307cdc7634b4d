// The process primitives of process.hpp: self, link, monitor, exit, send,
// trap_exit, receive, and the calling process's dictionary.
#include "peeper/runtime/process.hpp"
#include "peeper/runtime/timer.hpp"

namespace peeper {

using detail::current;
using detail::current_or_throw;
using detail::envelope_kind;
using detail::process;

namespace {
void require(const pid& p, const char* what) {
  if (!p) throw bad_argument(std::string(what) + ": null pid");
}
}  // namespace

pid self() noexcept {
  process* p = current();
  return p != nullptr ? p->self() : pid();
}

bool is_alive(const pid& p) noexcept { return p && !p.control_block()->exited(); }

void link(const pid& p) {
  process& me = current_or_throw("link");
  require(p, "link");
  if (p.id() == me.id() || me.rel().links.contains(p)) return;
  me.add_link_local(p);
  process::deliver(p.control_block(),
                   std::make_unique<detail::link_signal>(envelope_kind::link, me.self()));
}

void unlink(const pid& p) {
  process& me = current_or_throw("unlink");
  if (!p || me.rel().links.erase(p) == 0) return;
  process::deliver(p.control_block(),
                   std::make_unique<detail::link_signal>(envelope_kind::unlink, me.self()));
}

ref monitor(const pid& p) {
  process& me = current_or_throw("monitor");
  require(p, "monitor");
  ref r = ref::make();
  me.rel().monitoring.insert({r.id(), p});
  process::deliver(p.control_block(), std::make_unique<detail::monitor_signal>(
                                          envelope_kind::monitor, r.id(), me.self()));
  return r;
}

bool demonitor(ref monitor, bool flush) {
  process& me = current_or_throw("demonitor");
  auto& mon = me.rel().monitoring;
  auto* it = mon.find(monitor.id());
  bool active = it != mon.end();
  if (active) {
    pid target = std::move(it->second);
    mon.erase(it);
    process::deliver(target.control_block(), std::make_unique<detail::monitor_signal>(
                                                 envelope_kind::demonitor, monitor.id(), pid()));
  }
  // A DOWN not yet drained is dropped because the monitor is gone; one
  // already queued is removed on request.
  if (flush) me.drop_down(monitor.id());
  return active;
}

bool exit(const pid& p, exit_reason reason) {
  if (!p) return false;
  detail::envelope_ptr e = std::make_unique<detail::exit_signal>(self(), std::move(reason), false);
  if (process* me = current(); me == p.control_block()) {
    me->signal_self(std::move(e));
    return true;
  }
  return p.control_block()->push(e);
}

bool trap_exit(bool on) { return current_or_throw("trap_exit").set_trap_exit(on); }

namespace detail {

bool send_envelope(const pid& to, envelope_ptr e) {
  if (!to) return false;
  return to.control_block()->push(e);
}

// A coroutine destroyed while suspended here leaves its process no dangling wait.
receive_awaiter::~receive_awaiter() {
  if (process* me = current()) me->end_wait(wait_);
}

bool receive_awaiter::await_ready() {
  process& me = current_or_throw("receive");
  // A body looping on receive over a long queue would never return to the
  // scheduler: once its slice's budget is spent it suspends and yields.
  if (process::budget_spent()) return false;
  got_ = me.take_queued(filter_);
  if (got_) process::spend_budget();
  return static_cast<bool>(got_);
}

void receive_awaiter::await_suspend(std::coroutine_handle<> h) {
  process& me = *current();
  wait_state& w = wait_;
  me.begin_wait(w);
  w.what = wait_state::kind::receive;
  w.ready = false;
  w.filter = filter_;
  w.handle = h;
  w.tag = 0;
  if (timeout_) {
    ref tag = ref::make();
    w.tag = tag.id();
    timer_ = start_timer(me.self(), *timeout_, std::make_unique<timeout_signal>(tag.id()));
  }
}

message receive_awaiter::await_resume() {
  if (!got_) {
    process& me = *current();
    me.end_wait(wait_);
    got_ = std::move(wait_.result);
    if (timer_ && got_) cancel_timer(me.rt().owner(), timer_);
  }
  if (got_) current()->behaviour_ptr()->note_handling(&got_->payload_type_name());
  return message(std::move(got_));
}

}  // namespace detail

namespace this_process {
dictionary& dict() { return current_or_throw("this_process::dict").dict(); }
}  // namespace this_process

}  // namespace peeper
