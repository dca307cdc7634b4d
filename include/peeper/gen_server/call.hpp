// Talking to a GenServer: call, async_call, cast, send, stop, code_change.
//
// Threads: `call` and `stop` block the calling thread and are for threads
// outside the runtime (main, tests); inside a process they throw
// call_error(would_block), and a process uses co_await async_call /
// async_stop instead, which suspend the process, not its thread. In
// deterministic mode a blocking call drives the runtime until answered.
//
// Errors (call_error::code()): timeout; noproc (dead pid, unknown name);
// exited (the server exited before replying, with its reason); calling_self;
// would_block; bad_call (the pid runs another server type); no_reply (the
// server dropped the request). A reply that arrives after a timeout is
// dropped; nothing leaks.
#pragma once

#include <any>
#include <chrono>
#include <optional>

#include "peeper/gen_server/call_error.hpp"
#include "peeper/gen_server/detail/request.hpp"
#include "peeper/gen_server/detail/server_host.hpp"
#include "peeper/gen_server/detail/traits.hpp"
#include "peeper/gen_server/server_ref.hpp"
#include "peeper/runtime/process.hpp"

namespace peeper {

struct infinity_t {};
/// No timeout.
inline constexpr infinity_t infinity{};

/// A timeout: a duration, or infinity.
class timeout_t {
 public:
  template <class Rep, class Period>
  timeout_t(std::chrono::duration<Rep, Period> d)  // NOLINT(google-explicit-constructor)
      : d_(std::chrono::duration_cast<std::chrono::nanoseconds>(d)) {}
  timeout_t(infinity_t /*i*/) {}  // NOLINT(google-explicit-constructor)
  [[nodiscard]] const std::optional<std::chrono::nanoseconds>& value() const noexcept { return d_; }
  friend bool operator==(const timeout_t&, const timeout_t&) = default;

 private:
  std::optional<std::chrono::nanoseconds> d_;
};

/// The default call timeout, as OTP's.
inline constexpr std::chrono::seconds default_call_timeout{5};

namespace detail {

template <class Impl, class Msg>
envelope_ptr make_call(Msg&& m) {
  using M = std::decay_t<Msg>;
  return std::make_unique<request<M>>(envelope_kind::call, type_id<Impl>(), &invoke_call<Impl, M>,
                                      std::forward<Msg>(m));
}
template <class Impl, class Msg>
envelope_ptr make_cast(Msg&& m) {
  using M = std::decay_t<Msg>;
  return std::make_unique<request<M>>(envelope_kind::cast, type_id<Impl>(), &invoke_cast<Impl, M>,
                                      std::forward<Msg>(m));
}

/// Where a request goes: a process. (Peeper routes to an instance's
/// current worker with a route of its own, same interface.)
struct pid_route {
  pid target;
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(target); }
  /// The process that will answer (names the server in errors).
  [[nodiscard]] pid server() const { return target; }
  [[nodiscard]] bool is(const process& p) const noexcept { return target.id() == p.id(); }
  /// Enqueues; false if the process has exited (`e` is left to the caller).
  bool push(envelope_ptr& e) const { return target.control_block()->push(e); }
  [[nodiscard]] runtime_core& rt() const noexcept { return target.control_block()->rt(); }
};

/// Sends `req` along `route` and blocks the calling (outside) thread for the reply.
template <class R, class Route>
R blocking_request(const Route& route, envelope_ptr req, const timeout_t& timeout,
                   const char* what) {
  if (current() != nullptr) {
    throw call_error(call_errc::would_block, exit_reason::normal(),
                     std::string(what) + " (inside a process use co_await async_" + what + ")");
  }
  if (!route.valid()) throw call_error(call_errc::noproc, exit_reason::noproc(), what);
  runtime_core& rt = route.rt();
  intrusive_ptr<thread_channel> ch(new thread_channel(route.server(), 0), true);
  static_cast<request_envelope&>(*req).reply_to = from_ref(ch);
  if (!route.push(req)) {
    ch->claim();  // nobody answers; dropping the request must not either
    req.reset();
    throw call_error(call_errc::noproc, exit_reason::noproc(), what);
  }
  if (!ch->event().wait_until(rt, deadline_after(rt, timeout.value()))) {
    if (ch->claim()) throw call_error(call_errc::timeout, exit_reason::normal(), what);
    ch->event().wait_until(rt, clock::time_point::max());  // the answer is being delivered
  }
  return take_reply<R>(ch->take(), what);
}

template <class R>
R blocking_request(const pid& target, envelope_ptr req, const timeout_t& timeout,
                   const char* what) {
  return blocking_request<R>(pid_route{target}, std::move(req), timeout, what);
}

/// co_await: sends a request along a route and suspends the calling process for the reply.
template <class R, class Route = pid_route>
class request_op {
 public:
  request_op(Route route, envelope_ptr req, timeout_t timeout, const char* what)
      : route_(std::move(route)), req_(std::move(req)), timeout_(timeout), what_(what) {}
  request_op(pid target, envelope_ptr req, timeout_t timeout,
             const char* what) requires std::is_same_v<Route, pid_route>
      : request_op(pid_route{std::move(target)}, std::move(req), timeout, what) {}

  bool await_ready() {
    process& me = current_or_throw(what_);
    if (!route_.valid()) {
      error_ = call_errc::noproc;
      return true;
    }
    if (route_.is(me)) {
      error_ = call_errc::calling_self;
      return true;
    }
    tag_ = ref::make().id();
    ch_ =
        intrusive_ptr<process_channel>(new process_channel(route_.server(), tag_, me.self()), true);
    static_cast<request_envelope&>(*req_).reply_to = from_ref(ch_);
    if (!route_.push(req_)) {
      ch_->claim();
      req_.reset();
      error_ = call_errc::noproc;
      return true;
    }
    return false;
  }
  void await_suspend(std::coroutine_handle<> h) {
    wait_.emplace(tag_, timeout_.value());
    wait_->await_suspend(h);
  }
  R await_resume() {
    if (error_) {
      throw call_error(*error_,
                       *error_ == call_errc::noproc ? exit_reason::noproc() : exit_reason::normal(),
                       what_);
    }
    envelope_ptr r = wait_->await_resume();
    // Timed out: claim the answer so that a late reply is refused at the
    // source (from::reply returns false), as for a caller thread.
    if (!r) ch_->claim();
    return take_reply<R>(std::move(r), what_);
  }

 private:
  Route route_;
  envelope_ptr req_;
  intrusive_ptr<process_channel> ch_;
  timeout_t timeout_;
  const char* what_;
  std::uint64_t tag_ = 0;
  std::optional<call_errc> error_;
  std::optional<reply_awaiter> wait_;
};

template <class Impl, class Msg>
void check_call() {
  static_assert(accepts_call<Impl, Msg>, "the server has no handle_call for this message type");
  static_assert(!std::is_same_v<reply_type_t<Impl, Msg>, unknown_reply>,
                "this handle_call never replies directly: declare its reply type with "
                "call_result<R> as its return type");
}

}  // namespace detail

/// Calls the server and blocks until it replies; returns the reply.
/// Outside processes only. Throws call_error (see the top of this file).
template <class Impl, class Msg>
requires accepts_call<Impl, std::decay_t<Msg>> reply_type_t<Impl, std::decay_t<Msg>> call(
    const server_ref<Impl>& server, Msg&& msg, timeout_t timeout = default_call_timeout) {
  using M = std::decay_t<Msg>;
  detail::check_call<Impl, M>();
  return detail::blocking_request<reply_type_t<Impl, M>>(
      server.resolve(), detail::make_call<Impl>(std::forward<Msg>(msg)), timeout, "call");
}

/// co_await async_call(server, msg): calls from inside a process, suspending
/// it (not its thread) until the reply. Throws call_error as call does, and
/// not_in_process outside a process.
template <class Impl, class Msg>
requires accepts_call<Impl, std::decay_t<Msg>>
    detail::request_op<reply_type_t<Impl, std::decay_t<Msg>>> async_call(
        const server_ref<Impl>& server, Msg&& msg, timeout_t timeout = default_call_timeout) {
  using M = std::decay_t<Msg>;
  detail::check_call<Impl, M>();
  return {server.resolve(), detail::make_call<Impl>(std::forward<Msg>(msg)), timeout, "call"};
}

/// Sends a cast. Returns false if the server is not alive (or the name
/// resolves to nothing). Never blocks; any thread.
template <class Impl, class Msg>
requires accepts_cast<Impl, std::decay_t<Msg>>
bool cast(const server_ref<Impl>& server, Msg&& msg) {
  return detail::send_envelope(server.resolve(), detail::make_cast<Impl>(std::forward<Msg>(msg)));
}

/// Sends a plain message (handled by handle_info). Returns false if the
/// server is not alive.
template <class Impl, class T>
bool send(const server_ref<Impl>& server, T&& msg) {
  return peeper::send(server.resolve(), std::forward<T>(msg));
}

/// Stops the server: it runs terminate(reason) and exits with `reason`.
/// Blocks until it has exited. Outside processes only. Throws call_error:
/// noproc if it is not alive, timeout, would_block.
void stop(const pid& server, exit_reason reason = exit_reason::normal(),
          timeout_t timeout = infinity);
template <class Impl>
void stop(const server_ref<Impl>& server, exit_reason reason = exit_reason::normal(),
          timeout_t timeout = infinity) {
  stop(server.resolve(), std::move(reason), timeout);
}

namespace detail {
/// co_await: async_stop's operation. As for stop, a server that exits as
/// asked is success (the request is answered by its exit, with "exited").
/// It is a request_op<bool>, so layers above may wrap it as one.
class stop_op : public request_op<bool> {
 public:
  explicit stop_op(request_op<bool> op) : request_op<bool>(std::move(op)) {}
  void await_resume() {
    try {
      (void)request_op<bool>::await_resume();
    } catch (const call_error& e) {
      if (e.code() != call_errc::exited) throw;
    }
  }
};
}  // namespace detail

/// co_await async_stop(server, reason): stop from inside a process; returns
/// once the server has exited. Throws call_error as stop does, and
/// not_in_process outside a process.
detail::stop_op async_stop(const pid& server, exit_reason reason = exit_reason::normal(),
                           timeout_t timeout = infinity);

/// Runs the server's code_change(state, extra) (if it has one) and waits for
/// it, as sys:change_code does. Returns nothing on success (the new state is
/// committed), or the reason code_change threw: then the server goes on with
/// the state it had (if the state type cannot be copied, the throw crashes
/// the server instead, and the caller gets call_error exited). Outside
/// processes only. Throws call_error (timeout, noproc, exited, would_block).
std::optional<exit_reason> code_change(const pid& server, std::any extra,
                                       timeout_t timeout = default_call_timeout);

}  // namespace peeper
