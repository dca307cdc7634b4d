// Call and cast requests as they travel to a server, and waiting for replies.
#pragma once

#include <chrono>
#include <coroutine>
#include <optional>
#include <string>

#include "peeper/gen_server/call_error.hpp"
#include "peeper/gen_server/from.hpp"
#include "peeper/runtime/detail/envelope.hpp"
#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/timer.hpp"

namespace peeper::detail {

/// A call or cast addressed to a server hosting an `Impl` (type `target`).
/// `invoke` runs it on the host; it is instantiated by the sender, which
/// knows both the server type and the message type.
struct request_envelope : envelope {
  using invoke_fn = void (*)(void* host, request_envelope& self);
  request_envelope(envelope_kind k, type_id_t msg_type, type_id_t target_type, invoke_fn fn)
      : envelope(k, msg_type), target(target_type), invoke(fn) {}
  type_id_t target;
  invoke_fn invoke;
  from_ref reply_to;  // calls only
};

template <class Msg>
struct request final : request_envelope {
  template <class M>
  request(envelope_kind k, type_id_t target_type, invoke_fn fn, M&& m)
      : request_envelope(k, type_id<Msg>(), target_type, fn), msg(std::forward<M>(m)) {}
  [[nodiscard]] const std::string& payload_type_name() const override { return type_name<Msg>(); }
  Msg msg;
};

/// co_await: suspends the calling process until the reply tagged `tag`
/// arrives, or `timeout` passes (then yields nullptr).
class reply_awaiter {
 public:
  reply_awaiter(std::uint64_t tag, std::optional<std::chrono::nanoseconds> timeout) noexcept
      : tag_(tag), timeout_(timeout) {}
  // Moved only before it suspends (its owner's awaiter is moved into place).
  reply_awaiter(reply_awaiter&& o) noexcept
      : tag_(o.tag_), timeout_(o.timeout_), timer_(o.timer_) {}
  reply_awaiter& operator=(reply_awaiter&&) = delete;
  // A coroutine destroyed while suspended here leaves its process no dangling wait.
  ~reply_awaiter() {
    if (process* me = current()) me->end_wait(wait_);
  }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    process& me = *current();
    wait_state& w = wait_;
    me.begin_wait(w);
    w.what = wait_state::kind::reply;
    w.ready = false;
    w.tag = tag_;
    w.handle = h;
    w.result = nullptr;
    if (timeout_)
      timer_ = start_timer(me.self(), *timeout_, std::make_unique<timeout_signal>(tag_));
  }
  envelope_ptr await_resume() {
    process& me = *current();
    me.end_wait(wait_);
    envelope_ptr r = std::move(wait_.result);
    if (r && timer_) cancel_timer(me.rt().owner(), timer_);
    return r;
  }

 private:
  std::uint64_t tag_;
  std::optional<std::chrono::nanoseconds> timeout_;
  ref timer_;
  wait_state wait_;
};

/// The reply's value, or the error it carries, thrown as call_error.
template <class R>
R take_reply(envelope_ptr r, const char* context) {
  if (!r) throw call_error(call_errc::timeout, exit_reason::normal(), context);
  if (r->type == type_id<error_reply>()) {
    auto& e = static_cast<error_reply&>(*r);
    throw call_error(e.code, e.reason, context);
  }
  if (r->type != type_id<R>())
    throw call_error(call_errc::bad_reply, exit_reason::normal(), context);
  return std::move(static_cast<value_reply<R>&>(*r).value);
}

/// A deadline `timeout` from now on `rt`'s clock; max() for infinity.
inline clock::time_point deadline_after(runtime_core& rt,
                                        std::optional<std::chrono::nanoseconds> timeout) {
  if (!timeout) return clock::time_point::max();
  return rt.now() + *timeout;
}

}  // namespace peeper::detail
