// The process control block: mailbox, signals, time slices and exit.
#include "peeper/runtime/detail/process.hpp"

#include <thread>

#include <spdlog/spdlog.h>

#include "name_table.hpp"
#include "peeper/runtime/detail/block_pool.hpp"
#include "peeper/runtime/detail/runtime_core.hpp"
#include "peeper/runtime/errors.hpp"
#include "peeper/runtime/log.hpp"
#include "peeper/runtime/message.hpp"
#include "scheduler.hpp"

namespace peeper::detail {

namespace {

thread_local process* tl_current = nullptr;
// Messages the running process may still take in its time slice.
thread_local int tl_budget = 0;

// Stands in the inbox of an exited process: pushes see it and fail.
struct closed_marker final : envelope {
  closed_marker() noexcept : envelope(envelope_kind::stop) {}
};
closed_marker closed_inbox;
envelope* const closed = &closed_inbox;

// Reverses a LIFO chain popped from the inbox into arrival order.
envelope* reverse(envelope* e) noexcept {
  envelope* out = nullptr;
  while (e != nullptr) {
    envelope* next = e->next;
    e->next = out;
    out = e;
    e = next;
  }
  return out;
}

std::string names_of(process& p) { return p.rt().names().describe(p.id()); }

}  // namespace

void intrusive_add_ref(process* p) noexcept { p->add_ref(); }
void intrusive_release(process* p) noexcept { p->release(); }

void behaviour::on_stop() { current()->exit_self(exit_reason::shutdown()); }

process* current() noexcept { return tl_current; }

process& current_or_throw(const char* what) {
  if (tl_current == nullptr) throw not_in_process(what);
  return *tl_current;
}

static_assert(sizeof(void*) != 8 || process_room <= 96,
              "a process over 96 bytes pushes an instance's 120-byte behaviours into a bigger "
              "pool block: keep it packed");

// The block's size class is written into its room, where make() finds it.
void* behaviour::operator new(std::size_t size) {
  const std::uint8_t cls = block_pool::class_of(process_room + size);
  auto* room = static_cast<unsigned char*>(block_pool::allocate(cls, process_room + size));
  room[0] = cls;
  return room + process_room;
}

void behaviour::operator delete(void* p, std::size_t size) noexcept {
  if (p == nullptr) return;
  block_pool::deallocate(block_pool::class_of(process_room + size),
                         static_cast<char*>(p) - process_room);
}

process* process::make(runtime_core& rt, std::uint64_t id, std::unique_ptr<behaviour>& b) {
  // The room is in front of the complete object, which must start with the behaviour.
  void* whole = dynamic_cast<void*>(b.get());
  if (whole != static_cast<void*>(b.get())) {
    throw bad_argument("spawn: a behaviour must be the first base of its class");
  }
  auto* room = static_cast<unsigned char*>(whole) - process_room;
  auto* p = new (room) process(rt, id, room[0]);
  (void)b.release();  // the process owns it now
  return p;
}

process::process(runtime_core& rt, std::uint64_t id, std::uint8_t block_class) noexcept
    : block_class_(block_class), id_(id), rt_(&rt) {}

process::~process() {
  // An exited process has emptied everything; one that never ran (runtime
  // torn down) still frees its queued envelopes and its behaviour here.
  envelope* e = inbox_.exchange(nullptr, std::memory_order_acquire);
  if (e != closed) {
    while (e != nullptr) delete std::exchange(e, e->next);
  }
  if (behaviour* b = behaviour_ptr()) {
    behaviour_gone_ = true;
    b->~behaviour();
  }
}

void process::destroy() noexcept {
  const std::uint8_t cls = block_class_;
  this->~process();
  block_pool::deallocate(cls, this);  // the block behaviour::operator new made
}

bool process::budget_spent() noexcept { return tl_budget <= 0; }

void process::spend_budget() noexcept { --tl_budget; }

relations& process::rel() { return rel_; }

dictionary& process::dict() {
  auto& d = extras().dict;
  if (!d) d = std::make_unique<dictionary>();
  return *d;
}

void process::share() noexcept {
  std::uint8_t none = 0;
  sharing_.compare_exchange_strong(none, 1, std::memory_order_release, std::memory_order_relaxed);
}

std::shared_ptr<void> process::shared(const void* key) {
  std::uint8_t s = 1;
  while (
      !sharing_.compare_exchange_weak(s, 2, std::memory_order_acquire, std::memory_order_relaxed)) {
    if (s == 0) return nullptr;
    s = 1;
    std::this_thread::yield();
  }
  std::shared_ptr<void> out;
  try {
    // Not behaviour_ptr(): its flag shares a byte with flags the owner writes. The
    // sharing lock is enough: the behaviour goes only after unshare().
    auto* b =
        std::launder(reinterpret_cast<behaviour*>(reinterpret_cast<char*>(this) + process_room));
    out = b->shared(key);
  } catch (...) {
    sharing_.store(1, std::memory_order_release);
    throw;
  }
  sharing_.store(1, std::memory_order_release);
  return out;
}

// Before the behaviour goes: no reader may be inside its shared() then.
void process::unshare() noexcept {
  std::uint8_t s = 1;
  while (
      !sharing_.compare_exchange_weak(s, 0, std::memory_order_acq_rel, std::memory_order_relaxed)) {
    if (s == 0) return;
    s = 1;
    std::this_thread::yield();
  }
}

void process::add_link_local(const pid& other) { rel().links.insert(other); }

bool process::push(envelope_ptr& e) {
  envelope* node = e.get();
  envelope* head = inbox_.load(std::memory_order_relaxed);
  do {
    if (head == closed) return false;
    node->next = head;
  } while (!inbox_.compare_exchange_weak(head, node, std::memory_order_seq_cst,
                                         std::memory_order_relaxed));
  (void)e.release();
  // Pairs with the store in run(): either the running thread sees this
  // envelope after clearing `scheduled_`, or we see the flag cleared.
  if (!scheduled_.load(std::memory_order_seq_cst) &&
      !scheduled_.exchange(true, std::memory_order_acq_rel)) {
    rt_->schedule(this);
  }
  return true;
}

void process::deliver(process* to, envelope_ptr e) {
  if (to == nullptr || to->push(e)) return;
  // `to` has exited: give the sender the "no process" outcome.
  switch (e->kind) {
    case envelope_kind::link: {
      auto& s = static_cast<link_signal&>(*e);
      deliver(s.from.control_block(),
              std::make_unique<exit_signal>(to->self(), exit_reason::noproc(), true));
      break;
    }
    case envelope_kind::monitor: {
      auto& s = static_cast<monitor_signal&>(*e);
      deliver(s.watcher.control_block(),
              std::make_unique<down_signal>(s.tag, to->self(), exit_reason::noproc()));
      break;
    }
    default:
      break;  // dropped; a call's reply channel answers its caller as it is destroyed
  }
}

void process::enqueue_private(envelope_ptr e) noexcept { queue_.push_back(std::move(e)); }

envelope_ptr process::pop_private() noexcept { return queue_.pop_front(); }

/// A plain message, of type `filter` unless it is null.
static bool receivable(const envelope& e, type_id_t filter) noexcept {
  return e.kind == envelope_kind::message && (filter == nullptr || e.type == filter);
}

envelope_ptr process::take_queued(type_id_t filter) {
  return queue_.remove_first_if([filter](const envelope& e) { return receivable(e, filter); });
}

void process::requeue_front(envelope_list msgs) noexcept { queue_.splice_front(std::move(msgs)); }

void process::drop_down(std::uint64_t tag) {
  (void)queue_.remove_first_if([tag](const envelope& e) {
    return e.type == type_id<down_message>() &&
           static_cast<const payload_envelope<down_message>&>(e).value.monitor.id() == tag;
  });
}

void process::drain_inbox() {
  envelope* e = reverse(inbox_.exchange(nullptr, std::memory_order_acquire));
  while (e != nullptr) {
    envelope_ptr cur(std::exchange(e, e->next));
    switch (cur->kind) {
      case envelope_kind::message:
      case envelope_kind::call:
      case envelope_kind::cast:
        enqueue_private(std::move(cur));
        break;
      case envelope_kind::reply: {
        auto tag = static_cast<reply_envelope&>(*cur).tag;
        if (wait_ != nullptr && wait_->what == wait_state::kind::reply && !wait_->ready &&
            wait_->tag == tag) {
          wait_->result = std::move(cur);
          wait_->ready = true;
        }
        break;  // otherwise a late reply: dropped
      }
      case envelope_kind::timeout: {
        auto tag = static_cast<timeout_signal&>(*cur).tag;
        if (wait_ != nullptr && !wait_->ready && wait_->tag == tag) {
          // A receive that suspended with a match queued (its slice's budget
          // was spent) gets that message: it came before the timeout.
          wait_->result =
              wait_->what == wait_state::kind::receive ? take_queued(wait_->filter) : nullptr;
          wait_->ready = true;
        }
        break;
      }
      default:
        on_signal(std::move(cur));
    }
  }
}

void process::on_signal(envelope_ptr e) {
  if (e->kind != envelope_kind::stop && e->kind != envelope_kind::run && !behaviour_gone_ &&
      behaviour_ptr()->intercept_signal(*e)) {
    return;
  }
  switch (e->kind) {
    case envelope_kind::exit_signal: {
      auto& s = static_cast<exit_signal&>(*e);
      if (s.linked) {
        if (rel_.links.erase(s.from) == 0) return;  // unlinked meanwhile
      } else if (s.reason.what() == exit_reason::kind::kill) {
        exit_self(exit_reason::killed());
        return;
      }
      if (trap_exit_) {
        enqueue_private(
            make_message<exit_message>(envelope_kind::message, exit_message{s.from, s.reason}));
      } else if (!s.reason.is_normal()) {
        exit_self(s.reason);
      } else if (!s.linked && s.from.id() == id_) {
        exit_self(exit_reason::normal());  // exit(self(), normal) ends the caller, as in OTP
      }
      return;
    }
    case envelope_kind::link:
      rel().links.insert(static_cast<link_signal&>(*e).from);
      return;
    case envelope_kind::unlink:
      rel_.links.erase(static_cast<link_signal&>(*e).from);
      return;
    case envelope_kind::monitor: {
      auto& s = static_cast<monitor_signal&>(*e);
      rel().watchers.insert({s.tag, std::move(s.watcher)});
      return;
    }
    case envelope_kind::demonitor:
      rel_.watchers.erase(static_cast<monitor_signal&>(*e).tag);
      return;
    case envelope_kind::down: {
      auto& s = static_cast<down_signal&>(*e);
      if (rel_.monitoring.erase(s.tag) == 0) return;  // demonitored meanwhile
      enqueue_private(make_message<down_message>(
          envelope_kind::message, down_message{ref::from_id(s.tag), s.process, s.reason}));
      return;
    }
    case envelope_kind::stop:
      if (!exiting_) behaviour_ptr()->on_stop();
      return;
    case envelope_kind::run:
      static_cast<run_signal&>(*e).fn();
      return;
    default:
      return;
  }
}

void process::crashed(exit_reason r, const std::string* handling) {
  exit_self(std::move(r));
  if (handling == nullptr) handling = behaviour_ptr()->handling();
  logger().error("process {} crashed{}: {}", describe(self()),
                 handling != nullptr ? " while handling a " + *handling : "", reason().to_string());
}

void process::exit_self(exit_reason r) {
  if (exiting_) return;
  exiting_ = true;
  extras().reason = r.what() == exit_reason::kind::kill ? exit_reason::killed() : std::move(r);
}

process_extras& process::extras() {
  if (!extras_) extras_ = std::make_unique<process_extras>();
  return *extras_;
}

bool process::has_queued(type_id_t filter) const noexcept {
  return queue_.any_of([filter](const envelope& e) { return receivable(e, filter); });
}

bool process::has_work() const noexcept {
  if (wait_ != nullptr) {
    if (wait_->ready) return true;
    // A receive may match a queued message (one that matches none only
    // waits: rescheduling for it would spin); a reply wait ignores the queue.
    return wait_->what == wait_state::kind::receive && has_queued(wait_->filter);
  }
  return !queue_.empty();
}

void process::run(int budget) {
  process* const outer = std::exchange(tl_current, this);
  const int outer_budget = std::exchange(tl_budget, budget);
  behaviour& b = *behaviour_ptr();
  const std::string* handling = nullptr;  // payload type of the message being handled
  try {
    drain_inbox();
    if (!started_ && !exiting_) {
      started_ = true;
      b.start();
    }
    while (!exiting_ && tl_budget > 0) {
      if (wait_ != nullptr) {
        if (!wait_->ready && wait_->what == wait_state::kind::receive) {
          if (envelope_ptr m = take_queued(wait_->filter)) {
            wait_->result = std::move(m);
            wait_->ready = true;
          }
        }
        if (!wait_->ready) {
          if (inbox_.load(std::memory_order_acquire) == nullptr) break;
          drain_inbox();
          continue;
        }
        --tl_budget;
        wait_->handle.resume();  // the awaiter takes the result and clears the wait
        continue;
      }
      envelope_ptr e = pop_private();
      if (!e) {
        if (inbox_.load(std::memory_order_acquire) == nullptr) break;
        drain_inbox();
        continue;
      }
      --tl_budget;
      handling = &e->payload_type_name();
      b.handle(std::move(e));
      handling = nullptr;
    }
  } catch (...) {
    crashed(exit_reason::from_current_exception(), handling);
  }
  if (exiting_) {
    finish_exit();
    tl_current = outer;
    tl_budget = outer_budget;
    return;
  }
  tl_current = outer;
  tl_budget = outer_budget;
  if (has_work()) {
    rt_->sched().yield(this);  // stays scheduled; back of the queue for fairness
    return;
  }
  scheduled_.store(false, std::memory_order_seq_cst);
  if (inbox_.load(std::memory_order_seq_cst) != nullptr &&
      !scheduled_.exchange(true, std::memory_order_acq_rel)) {
    rt_->sched().yield(this);
  }
}

void process::finish_exit() {
  behaviour& b = *behaviour_ptr();
  b.on_exit(reason());
  envelope* pending = reverse(inbox_.exchange(closed, std::memory_order_acq_rel));
  exited_.store(true, std::memory_order_release);
  if (named_.load(std::memory_order_acquire)) rt_->names().release_all(*this);

  pid me = self();
  // Messages never handled: the queued ones, then those still in the inbox.
  envelope_list unprocessed = std::move(queue_);
  // What arrived but was not drained still counts: functions to run (they
  // may add exit hooks), links and monitors (told of this exit below).
  while (pending != nullptr) {
    envelope_ptr cur(std::exchange(pending, pending->next));
    if (cur->kind == envelope_kind::message || cur->kind == envelope_kind::call ||
        cur->kind == envelope_kind::cast) {
      unprocessed.push_back(std::move(cur));
    } else if (cur->kind == envelope_kind::run) {
      try {
        static_cast<run_signal&>(*cur).fn();
      } catch (...) {
        logger().error("process {}: a function run at exit threw", me.to_string());
      }
    } else if (cur->kind == envelope_kind::link) {
      auto& s = static_cast<link_signal&>(*cur);
      deliver(s.from.control_block(), std::make_unique<exit_signal>(me, reason(), true));
    } else if (cur->kind == envelope_kind::monitor) {
      auto& s = static_cast<monitor_signal&>(*cur);
      deliver(s.watcher.control_block(), std::make_unique<down_signal>(s.tag, me, reason()));
    } else if (cur->kind == envelope_kind::unlink) {
      rel_.links.erase(static_cast<link_signal&>(*cur).from);
    } else if (cur->kind == envelope_kind::demonitor) {
      rel_.watchers.erase(static_cast<monitor_signal&>(*cur).tag);
    }
  }
  // Hooks may add hooks (a table handed to its heir): run until none is left.
  while (!extras_->exit_hooks.empty()) {  // extras_ exists: exit_self made it
    auto hooks = std::move(extras_->exit_hooks);
    extras_->exit_hooks.clear();
    for (auto& [id, hook] : hooks) {
      try {
        hook(reason());
      } catch (...) {
        logger().error("process {}: an exit hook threw", me.to_string());
      }
    }
  }
  b.on_unprocessed(std::move(unprocessed));
  for (const pid& l : rel_.links) {
    deliver(l.control_block(), std::make_unique<exit_signal>(me, reason(), true));
  }
  for (auto& [tag, w] : rel_.watchers) {
    deliver(w.control_block(), std::make_unique<down_signal>(tag, me, reason()));
  }
  for (auto& [tag, target] : rel_.monitoring) {
    deliver(target.control_block(),
            std::make_unique<monitor_signal>(envelope_kind::demonitor, tag, pid()));
  }
  wait_ = nullptr;  // the awaiter goes with the behaviour
  // User state goes last: its destructors may answer held calls (with our reason).
  unshare();
  behaviour_gone_ = true;
  b.~behaviour();      // the block stays until the last pid goes
  rel_ = relations();  // the pids it held keep other processes' blocks alive
  extras_->dict.reset();
  rt_->on_exited(this);
}

std::string describe(const pid& p) {
  process* c = p.control_block();
  std::string names = c != nullptr && c->named_.load(std::memory_order_acquire) ? names_of(*c) : "";
  return names.empty() ? p.to_string() : p.to_string() + " (" + names + ")";
}

std::uint64_t add_exit_hook(std::function<void(const exit_reason&)> hook) {
  process& me = current_or_throw("add_exit_hook");
  std::uint64_t id = ref::make().id();
  me.exit_hooks().emplace_back(id, std::move(hook));
  return id;
}

bool remove_exit_hook(std::uint64_t id) {
  process& me = current_or_throw("remove_exit_hook");
  auto* hooks = me.exit_hooks_if_any();
  return hooks != nullptr &&
         std::erase_if(*hooks, [id](const auto& h) { return h.first == id; }) > 0;
}

bool run_in(const pid& p, std::function<void()> fn) {
  if (!p) return false;
  envelope_ptr e = std::make_unique<run_signal>(std::move(fn));
  return p.control_block()->push(e);
}

}  // namespace peeper::detail
