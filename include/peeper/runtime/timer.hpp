// Timers on the runtime's monotonic clock (virtual in deterministic mode).
#pragma once

#include <chrono>

#include "peeper/runtime/detail/envelope.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper {

class runtime;

namespace detail {
ref start_timer(const pid& to, std::chrono::nanoseconds after, envelope_ptr e);
}

/// Sends `msg` to `to` after `after`. Returns the timer's reference, for
/// cancel_timer. If `to` is dead when the timer fires, the message is dropped.
/// Throws bad_argument for a null pid.
template <class T>
ref send_after(const pid& to, std::chrono::nanoseconds after, T&& msg) {
  return detail::start_timer(
      to, after,
      detail::make_message<std::decay_t<T>>(detail::envelope_kind::message, std::forward<T>(msg)));
}

/// Cancels a timer of `rt`. Returns true if it had not fired yet (its
/// message will not be sent), false if it fired or was cancelled already.
bool cancel_timer(runtime& rt, ref timer);

}  // namespace peeper
