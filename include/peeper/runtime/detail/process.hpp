// The process control block: identity, mailbox, run state and relations.
//
// Threading: any thread may push into `inbox_` (a lock-free stack, closed
// for good when the process exits) and read the atomics. Everything else
// (the private queue, links, monitors, names, dictionary, waits) belongs to
// the process and is touched only by the thread currently running it, so it
// needs no lock: links and monitors change through signals the owner drains.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "peeper/runtime/detail/envelope.hpp"
#include "peeper/runtime/detail/relation_list.hpp"
#include "peeper/runtime/dictionary.hpp"
#include "peeper/runtime/exit_reason.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper::detail {

class runtime_core;
class process;

/// What a process does with its messages. Every member runs on the thread
/// currently running the process, one at a time.
class behaviour {
 public:
  behaviour() = default;
  behaviour(const behaviour&) = delete;
  behaviour& operator=(const behaviour&) = delete;
  virtual ~behaviour() = default;
  /// Runs first, once. An exception ends the process with an exception reason.
  virtual void start() {}
  /// One message: plain, call or cast (exit and down messages arrive as plain ones).
  virtual void handle(envelope_ptr msg) = 0;
  /// The runtime is shutting down: end the process (default: exit with shutdown).
  virtual void on_stop();
  /// Runs once when the process ends, after it stopped handling messages and
  /// before its mailbox closes (sends to it still succeed). `reason` is final.
  virtual void on_exit(const exit_reason& /*reason*/) noexcept {}
  /// Right after the mailbox closed: the messages, calls and casts it held
  /// but never handled, in arrival order. The default drops them (a dropped
  /// call answers its caller with the exit reason). Peeper's worker hands
  /// them to its successor.
  // By value: overrides take ownership of the messages.
  // NOLINTNEXTLINE(performance-unnecessary-value-param)
  virtual void on_unprocessed(envelope_list /*messages*/) noexcept {}
  /// The object a typed request addresses, if this behaviour hosts one of that type.
  virtual void* target(type_id_t /*type*/) noexcept { return nullptr; }
  /// A signal addressed to this process (exit_signal, link, unlink, monitor,
  /// demonitor), before the runtime acts on it. Returns true if the behaviour
  /// consumed it: the runtime then does nothing with it. The default consumes
  /// none. The distribution layer's stand-ins for remote processes forward
  /// signals to their node through this.
  virtual bool intercept_signal(envelope& /*signal*/) { return false; }
  /// The object this behaviour shares under `key` (see process::share), or
  /// null. Called from any thread while the process shares: reads only
  /// members that do not change.
  [[nodiscard]] virtual std::shared_ptr<void> shared(const void* /*key*/) const { return nullptr; }
  /// The payload type of the message a coroutine body took with receive(),
  /// for crash reports (type names are static: the pointer stays valid).
  virtual void note_handling(const std::string* /*type*/) noexcept {}
  /// The last type note_handling noted, or null.
  [[nodiscard]] virtual const std::string* handling() const noexcept { return nullptr; }

  // A behaviour is allocated with room for its process in front: spawn builds
  // the process there, so the two are one block_pool block (no pointer
  // between them, no per-block header). The block lives as long as the process's pids.
  /// Throws std::bad_alloc.
  static void* operator new(std::size_t size);
  /// Frees a behaviour that never became a process (`size`: its dynamic type's).
  static void operator delete(void* p, std::size_t size) noexcept;
  // Over-aligned behaviours would misplace the process: none exist.
  static void* operator new(std::size_t, std::align_val_t) = delete;
};

/// A suspended coroutine of the process and what it waits for. The awaiter
/// owns it (in the coroutine's frame, stable while it is suspended) and
/// points the process at it from await_suspend to await_resume: a process
/// that never waits carries no wait state.
struct wait_state {
  enum class kind : std::uint8_t { reply, receive };
  kind what = kind::reply;
  bool ready = false;
  std::uint64_t tag = 0;           // reply tag, or receive timeout tag
  type_id_t filter = nullptr;      // receive: only this payload type (nullptr: any)
  std::coroutine_handle<> handle;  // resumed when ready
  envelope_ptr result;             // what ended the wait (null: timed out)
};

/// A pid is a wrapped process pointer: a list holds a lone one (a worker's link) in its own word.
template <>
inline constexpr bool single_word_entry<pid> = true;

/// Hashes a pid by its process block's address: unlike its id, it needs no
/// load from the block (a supervisor of a million links holds cold ones).
struct pid_address_hash {
  std::size_t operator()(const pid& p) const noexcept {
    return reinterpret_cast<std::uintptr_t>(p.control_block());
  }
};

/// A process's links and monitors (each list one pointer, null while empty).
struct relations {
  using monitor_list = relation_list<std::pair<std::uint64_t, pid>, std::uint64_t, first_key>;
  relation_list<pid, pid, identity_key, pid_address_hash> links;
  monitor_list watchers;    // monitors on this process: (tag, watcher)
  monitor_list monitoring;  // monitors this process holds: (tag, target)
};

/// What few processes have until they end, in one block made on first use.
struct process_extras {
  using hook_list = std::vector<std::pair<std::uint64_t, std::function<void(const exit_reason&)>>>;
  exit_reason reason;                // set once, as the process ends
  std::unique_ptr<dictionary> dict;  // made by the first dict()
  hook_list exit_hooks;              // tables use them
};

class process {
 public:
  /// Builds the process in the room in front of `b` (see behaviour::operator
  /// new) and takes `b`. Throws bad_argument, leaving `b`, if `b` is not at
  /// the start of its object (a behaviour must be its class's first base).
  static process* make(runtime_core& rt, std::uint64_t id, std::unique_ptr<behaviour>& b);
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
  }

  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
  [[nodiscard]] runtime_core& rt() const noexcept { return *rt_; }
  [[nodiscard]] bool exited() const noexcept { return exited_.load(std::memory_order_acquire); }
  /// How the process ended; meaningful once exited().
  [[nodiscard]] const exit_reason& reason() const noexcept {
    static const exit_reason none;
    return extras_ ? extras_->reason : none;
  }
  [[nodiscard]] pid self() noexcept { return pid(intrusive_ptr<process>(this)); }

  // ---- any thread -------------------------------------------------------
  /// Enqueues and schedules. Returns false (and leaves `e` to the caller) if
  /// the process has exited.
  bool push(envelope_ptr& e);
  /// Delivers a signal or message, applying the "no process" outcome when
  /// the process has exited: a link gets an exit(noproc) back, a monitor a
  /// DOWN(noproc), a call is answered by its channel's destructor.
  static void deliver(process* to, envelope_ptr e);

  // ---- the running process's own thread ------------------------------------
  /// Runs one time slice; reschedules itself if work remains.
  void run(int budget);
  void exit_self(exit_reason r);
  /// Ends the process with `r`, the reason of an exception that escaped its
  /// body, and logs a crash report naming the message it was handling
  /// (`handling`, or else the one its behaviour noted).
  void crashed(exit_reason r, const std::string* handling = nullptr);
  /// Acts on a signal the process sends itself (exit(self(), reason)) at
  /// once, as OTP does, rather than when it next drains its inbox (a plain
  /// body never does again).
  void signal_self(envelope_ptr e) { on_signal(std::move(e)); }
  [[nodiscard]] bool exiting() const noexcept { return exiting_; }
  bool set_trap_exit(bool on) noexcept {
    const bool was = trap_exit_;
    trap_exit_ = on;
    return was;
  }
  [[nodiscard]] bool traps_exit() const noexcept { return trap_exit_; }
  relations& rel();
  /// The exit hooks (see add_exit_hook).
  process_extras::hook_list& exit_hooks() { return extras().exit_hooks; }
  /// The exit hooks, or null if none was ever added (nothing made).
  process_extras::hook_list* exit_hooks_if_any() noexcept {
    return extras_ ? &extras_->exit_hooks : nullptr;
  }
  /// The process dictionary, made on first use.
  dictionary& dict();
  /// False until dict() made one.
  [[nodiscard]] bool has_dict() const noexcept { return extras_ && extras_->dict; }
  /// The behaviour, or null once it is being destroyed (as the process ends).
  [[nodiscard]] behaviour* behaviour_ptr() const noexcept;
  /// A coroutine of the process suspends on `w` (owned by its awaiter).
  void begin_wait(wait_state& w) noexcept { wait_ = &w; }
  /// Its wait is over (its awaiter resumed, or is destroyed).
  void end_wait(const wait_state& w) noexcept {
    if (wait_ == &w) wait_ = nullptr;
  }
  /// Takes the first queued message matching `filter` (nullptr: any).
  envelope_ptr take_queued(type_id_t filter);
  /// True once the current time slice has handled its budget of messages:
  /// a receive then suspends even if a message is queued, so others run.
  /// (Running process only: the budget is its thread's.)
  [[nodiscard]] static bool budget_spent() noexcept;
  /// Counts a message taken by a receive that did not suspend.
  static void spend_budget() noexcept;
  /// Puts `msgs` (in order) ahead of everything queued.
  void requeue_front(envelope_list msgs) noexcept;
  /// Removes the queued down_message of monitor `tag`, if any.
  void drop_down(std::uint64_t tag);
  void add_link_local(const pid& other);
  /// From now until the process ends, other threads may ask its behaviour
  /// for a shared object (shared()). Own thread only; idempotent.
  void share() noexcept;
  /// Any thread: what the behaviour shares under `key` (behaviour::shared),
  /// or null if the process does not share or has ended.
  [[nodiscard]] std::shared_ptr<void> shared(const void* key);
  void mark_root() noexcept { root_ = true; }
  void mark_named() noexcept { named_.store(true, std::memory_order_release); }
  [[nodiscard]] bool is_root() const noexcept { return root_; }

  // Scheduler bookkeeping.
  process* run_next_ = nullptr;

 private:
  process(runtime_core& rt, std::uint64_t id, std::uint8_t block_class) noexcept;
  ~process();
  void destroy() noexcept;
  void drain_inbox();
  void on_signal(envelope_ptr e);
  void enqueue_private(envelope_ptr e) noexcept;
  envelope_ptr pop_private() noexcept;
  void finish_exit();
  process_extras& extras();
  void unshare() noexcept;
  [[nodiscard]] bool has_work() const noexcept;
  [[nodiscard]] bool has_queued(type_id_t filter) const noexcept;

 public:
  // The flags and counters first, packed: the block stays within 96 bytes
  // (with a 120-byte behaviour, a 224-byte pool block; three per Peeper instance).
  std::atomic<bool> named_{false};      // holds or held a name: release names on exit
  std::atomic<bool> scheduled_{false};  // scheduler bookkeeping
  const std::uint8_t block_class_;      // the block's block_pool class (see destroy)
  std::uint32_t live_slot_ = 0;         // the runtime's live-process table

 private:
  std::atomic<bool> exited_{false};
  bool root_ = false;  // read by other threads (shutdown), so not a bit below
  // The running thread's own flags.
  bool started_ : 1 = false;
  bool exiting_ : 1 = false;
  bool trap_exit_ : 1 = false;
  bool behaviour_gone_ : 1 = false;  // its destructor has begun
  // 0: shares nothing; 1: shares; 2: a thread is reading the behaviour's shared().
  // A one-byte lock: held for a shared_ptr copy, and it fits the padding.
  std::atomic<std::uint8_t> sharing_{0};
  std::atomic<std::uint32_t> refs_{1};
  std::uint64_t id_;
  runtime_core* rt_;
  std::atomic<envelope*> inbox_{nullptr};
  envelope_list queue_;  // drained from inbox_, not yet handled
  relations rel_;
  wait_state* wait_ = nullptr;  // owned by the awaiter of the suspended coroutine
  // Made before exited_ is set, and kept until the block goes: other threads
  // read the reason once exited().
  std::unique_ptr<process_extras> extras_;
};

/// The process block, rounded so that the behaviour after it is aligned.
inline constexpr std::size_t process_room =
    (sizeof(process) + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);

inline behaviour* process::behaviour_ptr() const noexcept {
  if (behaviour_gone_) return nullptr;
  // The behaviour starts process_room bytes into this block (process::make).
  const auto* block = reinterpret_cast<const char*>(this);
  return std::launder(reinterpret_cast<behaviour*>(const_cast<char*>(block) + process_room));
}

/// Runs `hook` on the calling process's thread when it exits, after its
/// last message and before its links and monitors are told. Returns an id
/// for remove_exit_hook. Throws not_in_process. (Tables use this to follow
/// their owner.)
std::uint64_t add_exit_hook(std::function<void(const exit_reason&)> hook);
/// Removes a hook of the calling process. Returns false if there was none.
bool remove_exit_hook(std::uint64_t id);
/// Runs `fn` inside process `p`, on its thread, before it handles its next
/// message; if `p` is exiting, before its exit hooks. Returns false (and
/// does not run fn) if `p` has exited.
bool run_in(const pid& p, std::function<void()> fn);

/// "<0.42.0>", or "<0.42.0> (name)" for a named process: for logs.
std::string describe(const pid& p);

/// The process running on this thread, or nullptr outside processes.
process* current() noexcept;
/// As current(), but throws not_in_process naming `what` when outside.
process& current_or_throw(const char* what);

}  // namespace peeper::detail
