// How the supervisor operations travel: one reply type for every request,
// and the awaitables of the async_ forms and of start_link.
#pragma once

#include <coroutine>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "peeper/gen_server/call.hpp"
#include "peeper/gen_server/detail/request.hpp"
#include "peeper/gen_server/start.hpp"
#include "peeper/runtime/detail/process.hpp"
#include "peeper/supervisor/child_info.hpp"
#include "peeper/supervisor/errors.hpp"

namespace peeper::detail {

/// What a supervisor answers to every operation.
struct op_reply {
  std::optional<supervisor_errc> error;
  std::string message;
  exit_reason reason;
  pid process;  // start_child / restart_child: the child; already_started: the holder
  std::vector<child_info> children;
  child_counts counts;
};

/// Throws the supervisor_error a failed request maps to (noproc, timeout,
/// would_block, calling_self, not_a_supervisor).
[[noreturn]] void throw_call_failure(const call_error& e, const char* what);
/// Throws r's error if it has one.
void check_reply(op_reply& r, const char* what);

/// The value of a reply, or its error thrown.
template <class T>
T unwrap(op_reply&& r, const char* what) {
  check_reply(r, what);
  if constexpr (std::is_same_v<T, pid>) {
    return std::move(r.process);
  } else if constexpr (std::is_same_v<T, std::vector<child_info>>) {
    return std::move(r.children);
  } else if constexpr (std::is_same_v<T, child_counts>) {
    return r.counts;
  } else {
    static_assert(std::is_void_v<T>);
  }
}

/// co_await: a supervisor operation from inside a process.
template <class T>
class op_awaitable {
 public:
  op_awaitable(request_op<op_reply> op, const char* what) : op_(std::move(op)), what_(what) {}
  bool await_ready() { return op_.await_ready(); }
  void await_suspend(std::coroutine_handle<> h) { op_.await_suspend(h); }
  T await_resume() {
    std::optional<op_reply> r;
    try {
      r.emplace(op_.await_resume());
    } catch (const call_error& e) {
      throw_call_failure(e, what_);
    }
    return unwrap<T>(std::move(*r), what_);
  }

 private:
  request_op<op_reply> op_;
  const char* what_;
};

/// co_await: stopping a supervisor from inside a process. Done when it has
/// exited (the server answers a stop by exiting).
class stop_awaitable {
 public:
  explicit stop_awaitable(request_op<bool> op) : op_(std::move(op)) {}
  bool await_ready() { return op_.await_ready(); }
  void await_suspend(std::coroutine_handle<> h) { op_.await_suspend(h); }
  void await_resume();

 private:
  request_op<bool> op_;
};

/// co_await: starts a supervisor process from inside a process, linked to it.
class supervisor_start_op {
 public:
  /// Builds the supervisor's behaviour for (parent, start acknowledgement).
  using factory = std::function<std::unique_ptr<behaviour>(pid, from)>;
  supervisor_start_op(factory make, timeout_t init_timeout)
      : make_(std::move(make)), init_timeout_(init_timeout) {}
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  start_outcome await_resume();

 private:
  factory make_;
  timeout_t init_timeout_;
  std::uint64_t tag_ = 0;
  pid child_;
  bool stopping_ = false;
  std::optional<reply_awaiter> wait_;
};

}  // namespace peeper::detail
