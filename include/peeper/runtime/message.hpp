// Messages as a process receives them, and the runtime's own messages.
//
// Any movable C++ value can be sent. A receiver sees a `message`: an owning,
// type-erased box it can test and open by type (`is<T>`, `get_if<T>`). The
// runtime itself sends `down_message` (a monitored process ended) and
// `exit_message` (a linked process ended, to a process that traps exits).
#pragma once

#include <stdexcept>
#include <string>

#include "peeper/runtime/detail/envelope.hpp"
#include "peeper/runtime/exit_reason.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper {

/// Sent to a watcher when the process it monitors ends (or did not exist: noproc).
struct down_message {
  ref monitor;
  pid process;
  exit_reason reason;
};

/// Sent to a process that traps exits instead of the exit signal itself.
struct exit_message {
  pid from;
  exit_reason reason;
};

/// Thrown by message::get when the message holds another type.
class bad_message_type : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class message {
 public:
  message() noexcept = default;
  explicit message(detail::envelope_ptr e) noexcept : e_(std::move(e)) {}

  /// Wraps a value, as `send` would deliver it.
  template <class T>
  static message of(T&& value) {
    return message{detail::make_message<std::decay_t<T>>(detail::envelope_kind::message,
                                                         std::forward<T>(value))};
  }

  /// False for an empty message (e.g. a receive that timed out).
  explicit operator bool() const noexcept { return static_cast<bool>(e_); }

  template <class T>
  [[nodiscard]] bool is() const noexcept {
    return e_ && e_->type == detail::type_id<T>();
  }
  /// The payload if it is a T, else nullptr.
  template <class T>
  [[nodiscard]] T* get_if() noexcept {
    return is<T>() ? &static_cast<detail::payload_envelope<T>*>(e_.get())->value : nullptr;
  }
  template <class T>
  [[nodiscard]] const T* get_if() const noexcept {
    return is<T>() ? &static_cast<const detail::payload_envelope<T>*>(e_.get())->value : nullptr;
  }
  /// The payload; throws bad_message_type if it is not a T.
  template <class T>
  [[nodiscard]] T& get() {
    if (T* v = get_if<T>()) return *v;
    throw bad_message_type("message holds " + type_name() + ", not " + detail::type_name<T>());
  }
  /// The payload's type name ("<empty>" for an empty message).
  [[nodiscard]] std::string type_name() const {
    return e_ ? e_->payload_type_name() : std::string("<empty>");
  }

  /// For the runtime's own use.
  detail::envelope_ptr release() noexcept { return std::move(e_); }
  [[nodiscard]] detail::envelope* envelope() const noexcept { return e_.get(); }

 private:
  detail::envelope_ptr e_;
};

}  // namespace peeper
