// Spawning processes and acting on them: the Erlang process primitives.
//
// A process body is a callable taking no arguments. A plain function runs
// to its end and the process exits `normal`; one returning task<> may
// co_await receive() and other awaitables, suspending the process (not its
// thread) while it waits. An exception escaping the body ends the process
// with exit_reason::exception(type, message).
//
// Functions acting on "the calling process" (self, link, monitor, trap_exit,
// spawn_link...) throw not_in_process when called from a thread that is not
// running a process. Functions acting on another process never fail because
// it is gone: they report it (send -> false, monitor -> a DOWN with noproc,
// link -> an exit signal with noproc), as OTP does.
#pragma once

#include <chrono>
#include <concepts>
#include <optional>
#include <type_traits>
#include <utility>

#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/detail/runtime_core.hpp"
#include "peeper/runtime/errors.hpp"
#include "peeper/runtime/message.hpp"
#include "peeper/runtime/runtime.hpp"
#include "peeper/runtime/task.hpp"

namespace peeper {

/// A process body: a callable with no arguments returning void or task<>.
template <class F>
concept process_body = std::invocable < std::decay_t<F>
& > &&(std::is_void_v<std::invoke_result_t<std::decay_t<F>&>> ||
       std::is_same_v<std::invoke_result_t<std::decay_t<F>&>, task<>>);

namespace detail {

/// A coroutine body's end: the process exits normal, or crashes with the
/// exception (logged as a crash report).
class body_end final : public completion<void> {
 public:
  void done() override { current()->exit_self(exit_reason::normal()); }
  void failed(std::exception_ptr e) override {
    try {
      std::rethrow_exception(std::move(e));
    } catch (...) {
      current()->crashed(exit_reason::from_current_exception());
    }
  }
};

template <class F>
class body_behaviour final : public behaviour {
 public:
  explicit body_behaviour(F f) : f_(std::move(f)) {}
  ~body_behaviour() override {
    if (root_) root_.destroy();
  }
  body_behaviour(const body_behaviour&) = delete;
  body_behaviour& operator=(const body_behaviour&) = delete;

  void start() override {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
      f_();
      current()->exit_self(exit_reason::normal());
    } else {
      drive<void>(f_(), std::make_unique<body_end>()).start(&root_);
    }
  }
  // A body consumes its messages with receive(); handle() only sees one if
  // the body ended without exiting, which cannot happen.
  void handle(envelope_ptr /*msg*/) override {}
  void note_handling(const std::string* type) noexcept override { handling_ = type; }
  [[nodiscard]] const std::string* handling() const noexcept override { return handling_; }

 private:
  F f_;
  std::coroutine_handle<> root_;
  const std::string* handling_ = nullptr;  // what receive() took last
};

template <class F>
std::unique_ptr<behaviour> make_body(F&& f) {
  return std::make_unique<body_behaviour<std::decay_t<F>>>(std::forward<F>(f));
}

bool send_envelope(const pid& to, envelope_ptr e);

/// Awaitable for receive(): the first queued message whose payload is of
/// type `filter` (any if nullptr), or an empty message on timeout.
class receive_awaiter {
 public:
  receive_awaiter(type_id_t filter, std::optional<std::chrono::nanoseconds> timeout) noexcept
      : filter_(filter), timeout_(timeout) {}
  // Moved only before it suspends (the wait state stays behind).
  receive_awaiter(receive_awaiter&& o) noexcept
      : filter_(o.filter_), timeout_(o.timeout_), got_(std::move(o.got_)), timer_(o.timer_) {}
  receive_awaiter& operator=(receive_awaiter&&) = delete;
  ~receive_awaiter();
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  message await_resume();

 private:
  type_id_t filter_;
  std::optional<std::chrono::nanoseconds> timeout_;
  envelope_ptr got_;
  ref timer_;
  wait_state wait_;
};

template <class T>
class typed_receive {
 public:
  explicit typed_receive(std::optional<std::chrono::nanoseconds> timeout) noexcept
      : inner_(type_id<T>(), timeout) {}
  bool await_ready() { return inner_.await_ready(); }
  void await_suspend(std::coroutine_handle<> h) { inner_.await_suspend(h); }
  std::optional<T> await_resume() {
    message m = inner_.await_resume();
    if (!m) return std::nullopt;
    return std::move(m.get<T>());
  }

 private:
  receive_awaiter inner_;
};

}  // namespace detail

/// Starts a process in `rt`. Callable from any thread. Returns its pid.
/// Throws bad_argument if the runtime is stopping.
template <process_body F>
pid spawn(runtime& rt, F&& body) {
  return rt.core().spawn(detail::make_body(std::forward<F>(body)));
}

/// Starts a process in the calling process's runtime, linked to the caller
/// before it runs. Throws not_in_process outside a process.
template <process_body F>
pid spawn_link(F&& body) {
  auto& me = detail::current_or_throw("spawn_link");
  return me.rt().spawn(detail::make_body(std::forward<F>(body)), &me);
}

/// Starts a process monitored by the caller before it runs. Returns its pid
/// and the monitor reference. Throws not_in_process outside a process.
template <process_body F>
std::pair<pid, ref> spawn_monitor(F&& body) {
  auto& me = detail::current_or_throw("spawn_monitor");
  ref r = ref::make();
  pid p = me.rt().spawn(detail::make_body(std::forward<F>(body)), nullptr, &me, r.id());
  return {std::move(p), r};
}

/// The calling process, or the null pid outside processes.
pid self() noexcept;

/// True if `p` names a process that has not exited. A hint only: the
/// process may exit right after.
bool is_alive(const pid& p) noexcept;

/// Links the caller and `p`: when either exits, the other receives an exit
/// signal with its reason. If `p` is not alive the caller receives an exit
/// signal with reason noproc. Throws not_in_process, bad_argument (null pid).
void link(const pid& p);
/// Removes the link, if any. Throws not_in_process.
void unlink(const pid& p);

/// Monitors `p`: when it exits the caller receives a down_message with this
/// reference and the reason (noproc at once if it is not alive).
/// Throws not_in_process, bad_argument (null pid).
ref monitor(const pid& p);
/// Removes the monitor. With `flush`, also removes its down_message if it
/// already arrived. Returns true if the monitor was still active.
/// Throws not_in_process.
bool demonitor(ref monitor, bool flush = false);

/// Sends an exit signal to `p` (from the caller, or from no process when
/// called outside). Semantics as OTP: `normal` is ignored by a process that
/// does not trap exits (unless it sends it to itself); `kill` cannot be
/// trapped and ends the target with `killed`; a trapping target receives an
/// exit_message instead of dying. Returns false if `p` is not alive.
bool exit(const pid& p, exit_reason reason);

/// Sets whether the caller traps exits; returns the previous setting.
/// Throws not_in_process.
bool trap_exit(bool on);

/// Sends `msg` to `p`. Returns false if `p` is not alive (the message is
/// dropped). Never blocks. Messages from one sender arrive in order.
template <class T>
bool send(const pid& p, T&& msg) {
  return detail::send_envelope(p, detail::make_message<std::decay_t<T>>(
                                      detail::envelope_kind::message, std::forward<T>(msg)));
}

/// co_await receive(): the next message. With a timeout, an empty message
/// if none arrives in time. Only in a process body returning task<>.
inline detail::receive_awaiter receive() noexcept { return {nullptr, std::nullopt}; }
inline detail::receive_awaiter receive(std::chrono::nanoseconds timeout) noexcept {
  return {nullptr, timeout};
}
/// co_await receive<T>(): the first queued T (other messages stay queued),
/// as std::optional<T>, empty on timeout.
template <class T>
detail::typed_receive<T> receive() noexcept {
  return detail::typed_receive<T>(std::nullopt);
}
template <class T>
detail::typed_receive<T> receive(std::chrono::nanoseconds timeout) noexcept {
  return detail::typed_receive<T>(timeout);
}

}  // namespace peeper
