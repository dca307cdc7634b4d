// The core of one Peeper instance: what survives its worker's and keeper's
// restarts. It holds the last committed state, the dictionary the worker
// left, the tables kept for the next worker, and the routes to the current
// worker and keeper. The instance's
// supervisor keeps it alive (its child specs hold it); when that supervisor
// is gone the core is closed and messages for it are refused.
#pragma once

#include <any>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "peeper/gen_server/start.hpp"
#include "peeper/runtime/detail/block_pool.hpp"
#include "peeper/runtime/detail/runtime_core.hpp"
#include "peeper/runtime/dictionary.hpp"
#include "peeper/runtime/names.hpp"
#include "peeper/runtime/task.hpp"
#include "peeper/server/detail/route.hpp"
#include "peeper/server/detail/state_cell.hpp"
#include "peeper/server/options.hpp"
#include "peeper/supervisor/flags.hpp"
#include "peeper/table/any_table.hpp"

namespace peeper::detail {

/// A listener event, sent to the keeper in commit order.
template <class State>
struct state_changed {
  State old_state;
  State new_state;
};
template <class State>
struct worker_terminated {
  exit_reason reason;
  State state;
};

/// Messages no process of the instance will handle (it is gone): their
/// calls fail with noproc at once, as a call made after its end would.
inline void refuse(envelope_list msgs) noexcept {
  while (envelope_ptr e = msgs.pop_front()) {
    if (e->kind != envelope_kind::call) continue;
    if (auto* ch = static_cast<request_envelope&>(*e).reply_to.get()) {
      ch->fail(call_errc::noproc, exit_reason::noproc());
    }
  }
}

/// A table kept for the next worker (see peeper/server/tables.hpp).
struct kept_table {
  any_table table;
  /// Its heir is the server: the next worker makes the current keeper its heir again.
  bool server_heir = false;
  /// server_heir's data.
  std::any data;
};

/// The plain options an instance was started with (no callbacks: they can be sent to
/// another node, where a transferred instance starts alike).
struct instance_settings {
  supervisor_flags flags{};
  timeout_t init_timeout = infinity;
  friend bool operator==(const instance_settings&, const instance_settings&) = default;
};

/// The settings of default server_options: most instances'.
inline const instance_settings& usual_settings() {
  static const instance_settings usual = [] {
    const server_options<int> o;
    return instance_settings{{o.strategy, o.max_restarts, o.max_seconds, o.auto_shutdown},
                             o.init_timeout};
  }();
  return usual;
}

/// The parts of a core that do not depend on the state type.
class core_base {
 public:
  core_base(runtime_core& rt, std::optional<name> n) : rt_(&rt) {
    if (n) update_config([&n](instance_config& c) { c.instance_name = std::move(n); });
  }
  core_base(const core_base&) = delete;
  core_base& operator=(const core_base&) = delete;
  virtual ~core_base() = default;

  [[nodiscard]] runtime_core& rt() const noexcept { return *rt_; }
  /// The state type's identity, to check typed handles made from names.
  [[nodiscard]] virtual type_id_t state_type() const noexcept = 0;
  route& worker_route() noexcept { return worker_; }
  route& keeper_route() noexcept { return keeper_; }
  /// The instance's name, or null if it has none.
  [[nodiscard]] const name* instance_name() const noexcept {
    return config_ && config_->instance_name ? &*config_->instance_name : nullptr;
  }

  /// The instance's supervisor (null until it has started its children).
  [[nodiscard]] pid supervisor() const {
    std::lock_guard lock(mutex_);
    return supervisor_;
  }
  void set_supervisor(pid p) {
    std::lock_guard lock(mutex_);
    supervisor_ = std::move(p);
  }

  /// Worker `w` takes over (called in it): returns its messages so far, and
  /// restores its dictionary (none is made if there is none to restore).
  envelope_list attach_worker(process& w) {
    envelope_list carried = worker_.attach(w.self());
    {
      std::lock_guard lock(mutex_);
      if (extra_ && extra_->dict) w.dict() = *extra_->dict;
    }
    wake_attach_waiters();
    return carried;
  }
  /// A keeper takes over: its messages so far.
  envelope_list attach_keeper(const pid& k) {
    envelope_list carried = keeper_.attach(k);
    wake_attach_waiters();
    return carried;
  }
  /// The worker leaves, with its dictionary. See route::detach.
  std::unique_lock<small_mutex> detach_worker(const pid& w, dictionary dict) {
    restore_dictionary(std::move(dict));
    return worker_.detach(w);
  }
  [[nodiscard]] dictionary saved_dictionary() const {
    std::lock_guard lock(mutex_);
    return extra_ && extra_->dict ? *extra_->dict : dictionary();
  }
  void restore_dictionary(dictionary d) {
    std::lock_guard lock(mutex_);
    if (extra_ && extra_->dict) {
      *extra_->dict = std::move(d);
    } else if (!d.empty()) {
      extra_locked().dict = std::make_unique<dictionary>(std::move(d));
    }
  }

  /// The current worker, waiting (from an outside thread) until one is
  /// attached or `deadline`. Null on timeout or once closed.
  pid wait_worker(runtime_core& rt, clock::time_point deadline) {
    (void)wait_attached(rt, deadline, [this] { return bool(worker_.target()); });
    return worker_.target();
  }
  /// Waits (from an outside thread) until both a worker and a keeper are
  /// attached. False on timeout at `deadline` or once closed.
  bool wait_both(runtime_core& rt, clock::time_point deadline) {
    return wait_attached(rt, deadline, [this] { return worker_.target() && keeper_.target(); });
  }

  /// A transfer made `next` this instance's successor: this core's routes
  /// forward to it, handles made for this core follow it, and so do the
  /// tables kept here.
  void succeed_by(const std::shared_ptr<core_base>& next) {
    worker_.redirect(next->worker_);
    keeper_.redirect(next->keeper_);
    std::vector<kept_table> kept;
    {
      std::lock_guard lock(mutex_);
      extra_locked().successor = next;
      superseded_.store(true, std::memory_order_release);
      kept.swap(extra_->kept);
    }
    for (auto& t : kept) next->keep_table(std::move(t));
  }

  /// Which of its tables a worker keeps (server_options::keep_tables); set
  /// before the instance starts.
  [[nodiscard]] const keep_tables& table_policy() const noexcept {
    static const keep_tables none;
    return config_ ? config_->tables : none;
  }
  void set_table_policy(keep_tables k) {
    update_config([&k](instance_config& c) { c.tables = std::move(k); });
  }
  /// Starts an instance on a core made by make_successor, linked to the
  /// calling process (a DynamicSupervisor). A plain function: the core's settings say the rest.
  using spawner = task<start_outcome> (*)(std::shared_ptr<core_base>);
  /// The server type (Impl) an instance runs: one static object per type.
  struct server_kind {
    type_id_t type;  // type_id<Impl>()
    spawner spawn;   // start_instance_linked<Impl>
  };
  /// Set by the start functions, which know the server type, before the instance starts.
  void set_server_kind(const server_kind* k) noexcept { kind_ = k; }
  [[nodiscard]] const server_kind* server_kind_of() const noexcept { return kind_; }
  /// The server type the instance runs, as type_id<Impl>() (null if not set).
  [[nodiscard]] type_id_t server_type() const noexcept { return kind_ ? kind_->type : nullptr; }
  /// How to start an instance of its server type on another core (null if not set).
  [[nodiscard]] spawner get_spawner() const noexcept { return kind_ ? kind_->spawn : nullptr; }
  /// The instance's supervisor flags and init timeout; set before the instance starts.
  [[nodiscard]] const instance_settings& settings() const noexcept {
    return config_ ? config_->settings : usual_settings();
  }
  void set_settings(const instance_settings& s) {
    update_config([&s](instance_config& c) { c.settings = s; });
  }
  /// Takes `other`'s name, kept-table policy, settings and listener.
  void copy_config(const core_base& other) {
    config_ = other.config_ ? std::make_unique<const instance_config>(*other.config_) : nullptr;
  }
  /// The listener (an instance_core's listener<State>), or null.
  [[nodiscard]] const void* hooks_ptr() const noexcept {
    return config_ ? config_->hooks.get() : nullptr;
  }
  void set_hooks(std::shared_ptr<const void> h) {
    update_config([&h](instance_config& c) { c.hooks = std::move(h); });
  }
  /// Keeps `t` for the next worker (the successor's after a transfer); once
  /// the instance is gone for good, deletes it.
  void keep_table(kept_table t) {
    std::shared_ptr<core_base> next;
    {
      std::lock_guard lock(mutex_);
      if (extra_) next = extra_->successor;
      if (!next && !closed_) {
        extra_locked().kept.push_back(std::move(t));
        return;
      }
    }
    if (next) {
      next->keep_table(std::move(t));
    } else {
      t.table.core_ptr()->discard();
    }
  }
  /// The tables kept for a new worker (they stay kept until it takes them over).
  std::vector<kept_table> take_kept_tables() {
    std::lock_guard lock(mutex_);
    return extra_ ? std::exchange(extra_->kept, {}) : std::vector<kept_table>();
  }
  /// The core that took over after a transfer (null if none).
  [[nodiscard]] std::shared_ptr<core_base> successor() const {
    std::lock_guard lock(mutex_);
    return extra_ ? extra_->successor : nullptr;
  }

  /// A new core of the same type, name and listener, without state yet (for a transfer).
  [[nodiscard]] virtual std::shared_ptr<core_base> make_successor() const = 0;
  /// Copies the committed state and the saved dictionary into `next` (same type).
  virtual void hand_over_state(core_base& next) const = 0;

  /// The instance is gone: refuse messages from now on, delete the tables
  /// kept for a worker that will never come.
  void close() {
    std::vector<std::shared_ptr<thread_event>> waiters;
    std::vector<kept_table> orphans;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      superseded_.store(true, std::memory_order_release);
      if (extra_) {
        waiters.swap(extra_->attach_waiters);
        orphans.swap(extra_->kept);
      }
    }
    for (auto& t : orphans) t.table.core_ptr()->discard();
    for (auto& e : waiters) e->notify();
    refuse(worker_.close());
    refuse(keeper_.close());
  }
  [[nodiscard]] bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  /// Neither closed nor succeeded by a transfer's core: messages for the
  /// instance still belong here. Lock-free, for the send paths.
  [[nodiscard]] bool current() const noexcept {
    return !superseded_.load(std::memory_order_acquire);
  }

 private:
  /// Waits until `ready()` (checked under mutex_, again after each attach);
  /// false on timeout or once closed.
  template <class Ready>
  bool wait_attached(runtime_core& rt, clock::time_point deadline, Ready ready) {
    for (;;) {
      auto event = std::make_shared<thread_event>();
      {
        std::lock_guard lock(mutex_);
        if (closed_) return false;
        if (ready()) return true;
        extra_locked().attach_waiters.push_back(event);
      }
      if (!event->wait_until(rt, deadline)) return false;
    }
  }
  void wake_attach_waiters() {
    std::vector<std::shared_ptr<thread_event>> waiters;
    {
      std::lock_guard lock(mutex_);
      if (extra_) waiters.swap(extra_->attach_waiters);
    }
    for (auto& e : waiters) e->notify();
  }

  /// What most instances never need, allocated on first use: it keeps an
  /// idle instance small.
  struct extra {
    std::vector<std::shared_ptr<thread_event>> attach_waiters;
    std::shared_ptr<core_base> successor;
    std::vector<kept_table> kept;
    std::unique_ptr<peeper::dictionary> dict;  // none until a non-empty one
  };
  extra& extra_locked() {
    if (!extra_) extra_ = std::make_unique<extra>();
    return *extra_;
  }

  /// How an instance was started, where that is not the usual: boxed, most have none.
  struct instance_config {
    std::optional<peeper::name> instance_name;
    keep_tables tables;  // which tables the worker keeps
    instance_settings settings = usual_settings();
    std::shared_ptr<const void> hooks;  // the instance_core's listener<State>, if it has a hook
  };
  /// Applies `change` to the configuration (set before the instance starts).
  template <class Change>
  void update_config(Change change) {
    instance_config c = config_ ? *config_ : instance_config{};
    change(c);
    const bool usual =
        !c.instance_name && c.tables.none() && c.settings == usual_settings() && !c.hooks;
    config_ = usual ? nullptr : std::make_unique<const instance_config>(std::move(c));
  }

  // Laid out so that an instance_core<int> is 120 bytes (a 144-byte chunk with
  // make_shared's count): the flags and the lock sit in the routes' tail padding.
  runtime_core* rt_;
  std::unique_ptr<const instance_config> config_;  // null: the usual
  pid supervisor_;                                 // guarded by mutex_
  std::unique_ptr<extra> extra_;                   // guarded by mutex_
  const server_kind* kind_ = nullptr;              // set before the start
  [[no_unique_address]] route worker_;
  bool closed_ = false;  // guarded by mutex_
  // closed_ or a successor set (written under mutex_, read without it by current()).
  std::atomic<bool> superseded_{false};
  [[no_unique_address]] route keeper_;

 protected:
  // Also guards an instance_core's committed state if it is a locked one (state_cell.hpp):
  // nothing holds it while taking another.
  mutable small_mutex mutex_;
};

/// The core `c` stands for after the transfers it went through (`c` itself if none), or null
/// if that one is closed (the instance is gone) or `c` is null. A transfer names the successor
/// before it closes the old core, so a core seen closed is checked once more for one.
inline std::shared_ptr<core_base> latest_core(std::shared_ptr<core_base> c) {
  if (c && c->current()) return c;
  while (c) {
    if (auto next = c->successor()) {
      c = std::move(next);
    } else if (!c->closed()) {
      return c;
    } else if (auto late = c->successor()) {
      c = std::move(late);
    } else {
      return nullptr;
    }
  }
  return nullptr;
}

/// A user type may commit big states cheaply by defining
///   void commit(State& saved, State& live)
/// which must leave `saved` equal to `live` (e.g. copying only what changed).
template <class Impl, class State>
concept custom_commit = requires(Impl& i, State& saved, State& live) {
  i.commit(saved, live);
};

template <class State>
class instance_core final : public core_base {
 public:
  /// A new core with its count in one block of the runtime's block pool (a
  /// million instances are a million cores). Throws std::bad_alloc.
  static std::shared_ptr<instance_core> make(runtime_core& rt, std::optional<name> n, State initial,
                                             listener<State> l) {
    if constexpr (alignof(instance_core) <= block_pool::granule) {
      return std::allocate_shared<instance_core>(block_pool::allocator<instance_core>{}, rt,
                                                 std::move(n), std::move(initial), std::move(l));
    } else {
      return std::make_shared<instance_core>(rt, std::move(n), std::move(initial), std::move(l));
    }
  }
  instance_core(runtime_core& rt, std::optional<name> n, State initial, listener<State> l)
      : core_base(rt, std::move(n)), committed_(std::move(initial)) {
    if (l.on_state_changed || l.on_terminate) {
      set_hooks(std::make_shared<const listener<State>>(std::move(l)));
    }
  }

  [[nodiscard]] type_id_t state_type() const noexcept override { return type_id<State>(); }

  [[nodiscard]] std::shared_ptr<core_base> make_successor() const override {
    auto next = make(rt(), std::nullopt, committed(), listener<State>{});
    next->set_server_kind(server_kind_of());
    next->copy_config(*this);  // name, tables, settings and the very same listener
    return next;
  }
  void hand_over_state(core_base& next) const override {
    auto& n = static_cast<instance_core<State>&>(next);
    n.reset(committed());
    n.restore_dictionary(saved_dictionary());
  }

  /// A copy of the last committed state.
  [[nodiscard]] State committed() const { return committed_.load(mutex_); }
  /// Replaces the committed state with `live` (through Impl::commit if it
  /// has one), and tells the listener. Called by the instance's worker only.
  template <class Impl>
  void commit(Impl& impl, State& live) {
    if (hooks().on_state_changed) {
      // Only this worker writes the state: what it reads before and after
      // its store is its own commit, with no lock held between them.
      State old = committed();
      store(impl, live);
      notify(state_changed<State>{std::move(old), committed()});
      return;
    }
    store(impl, live);
  }
  /// Replaces the committed state (a transferred instance's first state,
  /// before any worker runs on this core).
  void reset(State s) { committed_.store(std::move(s), mutex_); }
  /// Tells the listener a worker ended.
  void terminated(const exit_reason& reason) {
    if (hooks().on_terminate) {
      notify(worker_terminated<State>{reason, committed()});
    }
  }
  /// The listener's hooks (both empty if it has none).
  [[nodiscard]] const listener<State>& hooks() const noexcept {
    static const listener<State> none;
    const auto* h = static_cast<const listener<State>*>(hooks_ptr());
    return h != nullptr ? *h : none;
  }

 private:
  template <class Impl>
  void store(Impl& impl, State& live) {
    if constexpr (custom_commit<Impl, State>) {
      committed_.update([&](State& saved) { impl.commit(saved, live); }, mutex_);
    } else {
      committed_.store(live, mutex_);
    }
  }
  template <class Event>
  void notify(Event event) {
    envelope_ptr e = make_message<Event>(envelope_kind::message, std::move(event));
    keeper_route().deliver(e);
  }

  state_cell<State> committed_;  // locked states: guarded by mutex_
};

static_assert(sizeof(void*) != 8 || sizeof(instance_core<int>) <= 120,
              "an idle instance's core over 120 bytes takes a bigger pool block: keep it packed");

}  // namespace peeper::detail
