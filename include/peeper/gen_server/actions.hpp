// What GenServer callbacks return: reply, noreply or stop, each optionally
// followed by a timeout, hibernate, or a continue argument.
//
//   return peeper::reply(v);                          // answer the call
//   return peeper::reply(v, 100ms);                   // ... then a timeout_message if idle 100 ms
//   return peeper::noreply(peeper::continue_with(x)); // run handle_continue(x, state) next
//   return peeper::stop(peeper::exit_reason::normal());
//
// A callback with several outcomes declares a common type: call_result<R, C>
// for handle_call (R is the reply type, C the continue argument type, if
// any), cast_result<C> for handle_cast / handle_info / handle_continue, and
// init_result<S, C> for init. Everything is checked at compile time: a
// continue argument the server has no handle_continue for does not compile.
#pragma once

#include <chrono>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "peeper/runtime/exit_reason.hpp"

namespace peeper {

/// No continue argument.
struct no_continue {};
struct hibernate_t {};
/// Hibernate after the callback: see gen_server.hpp.
inline constexpr hibernate_t hibernate{};

template <class C>
struct continue_t {
  C arg;
};
/// Run handle_continue(arg, state) before any other message.
template <class C>
continue_t<std::decay_t<C>> continue_with(C&& arg) {
  return {std::forward<C>(arg)};
}

template <class N>
struct is_next_action : std::false_type {};
template <class Rep, class Period>
struct is_next_action<std::chrono::duration<Rep, Period>> : std::true_type {};
template <>
struct is_next_action<hibernate_t> : std::true_type {};
template <class C>
struct is_next_action<continue_t<C>> : std::true_type {};
/// A timeout, hibernate, or continue_with(x).
template <class N>
concept next_action = is_next_action<std::decay_t<N>>::value;

/// What happens after a callback: nothing, a timeout, hibernate or continue.
template <class C = no_continue>
class after {
 public:
  after() = default;
  after(std::chrono::nanoseconds timeout) : v_(timeout) {}  // NOLINT(google-explicit-constructor)
  after(hibernate_t /*h*/) : v_(hibernate_t{}) {}           // NOLINT(google-explicit-constructor)
  after(continue_t<C> c) : v_(std::move(c)) {}              // NOLINT(google-explicit-constructor)
  template <class C2>
  requires(!std::is_same_v<C2, C> && std::is_same_v<C2, no_continue>)
      after(const after<C2>& o) {  // NOLINT(google-explicit-constructor): widening
    if (auto t = o.timeout()) v_ = *t;
    if (o.hibernating()) v_ = hibernate_t{};
  }

  [[nodiscard]] std::optional<std::chrono::nanoseconds> timeout() const {
    if (auto* t = std::get_if<std::chrono::nanoseconds>(&v_)) return *t;
    return std::nullopt;
  }
  [[nodiscard]] bool hibernating() const noexcept {
    return std::holds_alternative<hibernate_t>(v_);
  }
  /// The continue argument, if any (moved out).
  std::optional<C> take_continue() {
    if (auto* c = std::get_if<continue_t<C>>(&v_)) return std::move(c->arg);
    return std::nullopt;
  }

 private:
  std::variant<std::monostate, std::chrono::nanoseconds, hibernate_t, continue_t<C>> v_;
};

template <class R, class C = no_continue>
struct reply_t {
  R value;
  after<C> next;
};
template <class C = no_continue>
struct noreply_t {
  after<C> next;
};
struct stop_t {
  exit_reason reason;
};
template <class R>
struct stop_reply_t {
  exit_reason reason;
  R value;
};

/// Answer the call with `v`.
template <class R>
reply_t<std::decay_t<R>> reply(R&& v) {
  return {std::forward<R>(v), {}};
}
/// Answer with `v`, then `next` (a timeout, hibernate or continue_with(x)).
template <class R, next_action N>
auto reply(R&& v, N&& next) {
  if constexpr (requires { next.arg; }) {
    return reply_t<std::decay_t<R>, decltype(next.arg)>{std::forward<R>(v), std::forward<N>(next)};
  } else {
    return reply_t<std::decay_t<R>>{std::forward<R>(v), after<>(std::forward<N>(next))};
  }
}
/// No reply now (reply later with reply(from, v), or not at all for casts).
inline noreply_t<> noreply() { return {}; }
template <next_action N>
auto noreply(N&& next) {
  if constexpr (requires { next.arg; }) {
    return noreply_t<decltype(next.arg)>{std::forward<N>(next)};
  } else {
    return noreply_t<>{after<>(std::forward<N>(next))};
  }
}
/// Stop the server with `reason` (terminate runs first).
inline stop_t stop(exit_reason reason) { return {std::move(reason)}; }
/// Stop with `reason`, answering the call with `v` first.
template <class R>
stop_reply_t<std::decay_t<R>> stop(exit_reason reason, R&& v) {
  return {std::move(reason), std::forward<R>(v)};
}

/// The result of a handle_call that may reply, not reply, or stop.
template <class R, class C = no_continue>
class call_result {
 public:
  using reply_type = R;
  using continue_type = C;

  template <class V, class C2>
  requires std::is_convertible_v<V, R> &&(std::is_same_v<C2, C> || std::is_same_v<C2, no_continue>)
      call_result(reply_t<V, C2> r)  // NOLINT(google-explicit-constructor)
      : value_(std::in_place, std::move(r.value)), next_(std::move(r.next)) {}
  template <class C2>
  requires(std::is_same_v<C2, C> || std::is_same_v<C2, no_continue>) call_result(noreply_t<C2> r)
      : next_(std::move(r.next)) {}                      // NOLINT(google-explicit-constructor)
  call_result(stop_t s) : stop_(std::move(s.reason)) {}  // NOLINT(google-explicit-constructor)
  template <class V>
  requires std::is_convertible_v<V, R> call_result(
      stop_reply_t<V> s)  // NOLINT(google-explicit-constructor)
      : value_(std::in_place, std::move(s.value)), stop_(std::move(s.reason)) {}

  std::optional<R>& value() noexcept { return value_; }
  std::optional<exit_reason>& stop_reason() noexcept { return stop_; }
  after<C>& next() noexcept { return next_; }

 private:
  std::optional<R> value_;
  std::optional<exit_reason> stop_;
  after<C> next_;
};

/// The result of handle_cast / handle_info / handle_continue.
template <class C = no_continue>
class cast_result {
 public:
  using continue_type = C;
  template <class C2>
  requires(std::is_same_v<C2, C> || std::is_same_v<C2, no_continue>) cast_result(noreply_t<C2> r)
      : next_(std::move(r.next)) {}                      // NOLINT(google-explicit-constructor)
  cast_result(stop_t s) : stop_(std::move(s.reason)) {}  // NOLINT(google-explicit-constructor)

  std::optional<exit_reason>& stop_reason() noexcept { return stop_; }
  after<C>& next() noexcept { return next_; }

 private:
  std::optional<exit_reason> stop_;
  after<C> next_;
};

/// ignore: init asks not to start (start returns start_errc::ignored).
struct ignore_t {};
inline constexpr ignore_t ignore{};

/// The result of init: ok(state[, next]), stop(reason) or ignore.
template <class S, class C = no_continue>
class init_result {
 public:
  using continue_type = C;
  init_result(S state)
      : state_(std::in_place, std::move(state)) {}  // NOLINT(google-explicit-constructor)
  init_result(S state, after<C> next)
      : state_(std::in_place, std::move(state)), next_(std::move(next)) {}
  init_result(stop_t s) : stop_(std::move(s.reason)) {}  // NOLINT(google-explicit-constructor)
  init_result(ignore_t /*i*/) : ignored_(true) {}        // NOLINT(google-explicit-constructor)

  std::optional<S>& state() noexcept { return state_; }
  std::optional<exit_reason>& stop_reason() noexcept { return stop_; }
  [[nodiscard]] bool ignored() const noexcept { return ignored_; }
  after<C>& next() noexcept { return next_; }

 private:
  std::optional<S> state_;
  std::optional<exit_reason> stop_;
  bool ignored_ = false;
  after<C> next_;
};

/// init's ok with a next action: `return peeper::ok(state, 100ms);`.
template <class S, next_action N>
auto ok(S&& state, N&& next) {
  if constexpr (requires { next.arg; }) {
    return init_result<std::decay_t<S>, decltype(next.arg)>(std::forward<S>(state),
                                                            std::forward<N>(next));
  } else {
    return init_result<std::decay_t<S>>(std::forward<S>(state), after<>(std::forward<N>(next)));
  }
}

/// Sent to a server whose reply/noreply timeout elapsed with no message.
struct timeout_message {};

}  // namespace peeper
