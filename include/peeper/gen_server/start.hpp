// Starting a GenServer: start (blocking, outside processes), start_link and
// async_start (co_await, inside a process).
//
// The server registers its name (if any) before init; a taken name returns
// start_errc::already_started with the holder's pid. init runs in the new
// process; start returns when it has finished. An init that throws or
// returns stop or ignore makes start return an error and leaves nothing
// behind (the process exits, its name is released, a linked starter is
// unlinked first so it does not receive the exit).
#pragma once

#include <chrono>
#include <concepts>
#include <optional>
#include <stdexcept>

#include "peeper/gen_server/call.hpp"
#include "peeper/gen_server/detail/server_host.hpp"
#include "peeper/gen_server/server_ref.hpp"
#include "peeper/runtime/names.hpp"
#include "peeper/runtime/process.hpp"

namespace peeper {

/// An init argument: anything but the options of layers above that have
/// start functions of their own (they declare `using start_options_of_layer = void;`).
template <class Arg>
concept init_argument = !requires {
  typename std::decay_t<Arg>::start_options_of_layer;
};

struct start_options {
  /// Registers the server under this name before init. (The `{}` lets
  /// `{.init_timeout = t}` leave it out without a -Wextra warning.)
  std::optional<peeper::name> name{};
  /// How long init may take; after it the start returns timeout and the
  /// process is killed. A kill takes effect when the process next suspends
  /// (processes are not preempted): an init that computes or blocks for
  /// longer keeps its thread and its name until it returns, then dies.
  timeout_t init_timeout = infinity;
};

/// "already_started", "init_failed", ...
const char* to_string(start_errc code) noexcept;

class start_error : public std::runtime_error {
 public:
  start_error(start_errc code, const exit_reason& reason)
      : std::runtime_error(
            std::string("start failed: ") + to_string(code) +
            (code == start_errc::init_failed ? " (" + reason.to_string() + ")" : "")),
        code_(code) {}
  [[nodiscard]] start_errc code() const noexcept { return code_; }

 private:
  start_errc code_;
};

/// The outcome of a start: the server, or why it did not start.
class start_outcome {
 public:
  start_outcome() = default;
  explicit start_outcome(pid p) : pid_(std::move(p)) {}
  start_outcome(start_errc e, exit_reason r, pid existing)
      : pid_(std::move(existing)), error_(e), reason_(std::move(r)) {}

  [[nodiscard]] bool ok() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return ok(); }
  /// The started server; for already_started, the process holding the name.
  [[nodiscard]] const pid& process() const noexcept { return pid_; }
  [[nodiscard]] std::optional<start_errc> error() const noexcept { return error_; }
  /// For init_failed: why (init's stop reason or the exception).
  [[nodiscard]] const exit_reason& reason() const noexcept { return reason_; }
  /// "ok", or the error and its reason.
  [[nodiscard]] std::string to_string() const;

 private:
  pid pid_;
  std::optional<start_errc> error_;
  exit_reason reason_;
};

template <class Impl>
class start_result : public start_outcome {
 public:
  explicit start_result(start_outcome o) : start_outcome(std::move(o)) {}
  /// The server; throws start_error if it did not start.
  [[nodiscard]] server_ref<Impl> value() const {
    if (!ok()) throw start_error(*error(), reason());
    return server_ref<Impl>(process());
  }
};

namespace detail {

start_outcome to_outcome(const pid& child, envelope_ptr reply);

template <class Impl, class Arg>
std::unique_ptr<behaviour> make_server(Arg&& arg, const start_options& opts, pid parent, from ack) {
  return std::make_unique<server_process<Impl, std::decay_t<Arg>>>(
      std::forward<Arg>(arg), opts.name, std::move(parent), std::move(ack));
}

/// co_await: starts a server from inside a process.
template <class Impl>
class start_op {
 public:
  using factory = std::unique_ptr<behaviour> (*)(void* arg, const start_options&, pid, from);
  template <class Arg>
  requires(!std::is_invocable_r_v<std::unique_ptr<behaviour>, std::decay_t<Arg>&,
                                  const start_options&, pid, from>)
      start_op(Arg&& arg, start_options opts, bool link)
      : opts_(std::move(opts)), link_(link) {
    make_ = [a = std::decay_t<Arg>(std::forward<Arg>(arg))](const start_options& o, pid parent,
                                                            from ack) mutable {
      return make_server<Impl>(std::move(a), o, std::move(parent), std::move(ack));
    };
  }
  /// Starts the behaviour `make` builds (for layers that run their own).
  start_op(std::function<std::unique_ptr<behaviour>(const start_options&, pid, from)> make,
           start_options opts, bool link)
      : opts_(std::move(opts)), link_(link), make_(std::move(make)) {}

  bool await_ready() {
    process& me = current_or_throw("start_link");
    tag_ = ref::make().id();
    intrusive_ptr<process_channel> ch(new process_channel(pid(), tag_, me.self()), true);
    try {
      child_ = me.rt().spawn(make_(opts_, link_ ? me.self() : pid(), from(from_ref(ch))),
                             link_ ? &me : nullptr);
    } catch (const bad_argument&) {
      stopping_ = true;
      return true;
    }
    return false;
  }
  void await_suspend(std::coroutine_handle<> h) {
    wait_.emplace(tag_, opts_.init_timeout.value());
    wait_->await_suspend(h);
  }
  start_result<Impl> await_resume() {
    if (stopping_)
      return start_result<Impl>(start_outcome(start_errc::stopping, exit_reason::shutdown(), {}));
    envelope_ptr reply = wait_->await_resume();
    // Timed out: the child is killed; unlinked first, as OTP does, so that
    // killing it does not kill (or signal) the caller.
    if (!reply && link_) peeper::unlink(child_);
    return start_result<Impl>(to_outcome(child_, std::move(reply)));
  }

 private:
  start_options opts_;
  bool link_;
  std::function<std::unique_ptr<behaviour>(const start_options&, pid, from)> make_;
  std::uint64_t tag_ = 0;
  pid child_;
  bool stopping_ = false;
  std::optional<reply_awaiter> wait_;
};

start_outcome blocking_start(runtime& rt,
                             const std::function<std::unique_ptr<behaviour>(from)>& make,
                             const start_options& opts);

}  // namespace detail

/// Starts a server of type Impl with init argument `arg`, from a thread
/// outside the runtime; blocks until init has finished. Not linked.
/// Throws call_error(would_block) inside a process (use async_start).
template <class Impl, init_argument Arg>
start_result<Impl> start(runtime& rt, Arg&& arg, start_options opts = {}) {
  auto a = std::decay_t<Arg>(std::forward<Arg>(arg));
  return start_result<Impl>(detail::blocking_start(
      rt,
      [&](from ack) {
        return detail::make_server<Impl>(std::move(a), opts, pid(), std::move(ack));
      },
      opts));
}

/// co_await start_link<Impl>(arg): starts a server linked to the calling
/// process. Only inside a process (not_in_process otherwise).
template <class Impl, init_argument Arg>
detail::start_op<Impl> start_link(Arg&& arg, start_options opts = {}) {
  return detail::start_op<Impl>(std::forward<Arg>(arg), std::move(opts), true);
}

/// co_await async_start<Impl>(arg): as start_link, without the link.
template <class Impl, init_argument Arg>
detail::start_op<Impl> async_start(Arg&& arg, start_options opts = {}) {
  return detail::start_op<Impl>(std::forward<Arg>(arg), std::move(opts), false);
}

}  // namespace peeper
