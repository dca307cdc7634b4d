// Compile-time inspection of a server type's callbacks: which signature a
// callback has (state by const reference or not, with or without `from`),
// what it returns, and the normalisation of returns to one result type.
#pragma once

#include <type_traits>
#include <utility>

#include "peeper/gen_server/actions.hpp"
#include "peeper/gen_server/from.hpp"
#include "peeper/runtime/message.hpp"
#include "peeper/runtime/task.hpp"

namespace peeper::detail {

template <class T>
struct task_value {
  using type = T;
  static constexpr bool is_task = false;
};
template <class T>
struct task_value<task<T>> {
  using type = T;
  static constexpr bool is_task = true;
};

/// Marks a handle_call that never replies directly (its reply type is unknown).
struct unknown_reply {};

template <class T>
struct call_norm;
template <class V, class C>
struct call_norm<reply_t<V, C>> {
  using reply = V;
  using type = call_result<V, C>;
};
template <class R, class C>
struct call_norm<call_result<R, C>> {
  using reply = R;
  using type = call_result<R, C>;
};
template <class V>
struct call_norm<stop_reply_t<V>> {
  using reply = V;
  using type = call_result<V>;
};
template <class C>
struct call_norm<noreply_t<C>> {
  using reply = unknown_reply;
  using type = call_result<unknown_reply, C>;
};
template <>
struct call_norm<stop_t> {
  using reply = unknown_reply;
  using type = call_result<unknown_reply>;
};

template <class T>
struct cast_norm;
template <class C>
struct cast_norm<noreply_t<C>> {
  using type = cast_result<C>;
};
template <class C>
struct cast_norm<cast_result<C>> {
  using type = cast_result<C>;
};
template <>
struct cast_norm<stop_t> {
  using type = cast_result<>;
};

template <class S, class T>
struct init_norm {
  static_assert(std::is_convertible_v<T, S>,
                "init must return the state, init_result<State, C>, or task<> of one");
  using type = init_result<S>;
};
template <class S, class C>
struct init_norm<S, init_result<S, C>> {
  using type = init_result<S, C>;
};

// ---- which form a callback has -------------------------------------------

template <class I, class M, class S>
concept call_cf = requires(I& i, M&& m, const from& f, const S& s) {
  i.handle_call(std::move(m), f, s);
};
template <class I, class M, class S>
concept call_mf = requires(I& i, M&& m, const from& f, S& s) {
  i.handle_call(std::move(m), f, s);
};
template <class I, class M, class S>
concept call_c = requires(I& i, M&& m, const S& s) {
  i.handle_call(std::move(m), s);
};
template <class I, class M, class S>
concept call_m = requires(I& i, M&& m, S& s) {
  i.handle_call(std::move(m), s);
};

template <class I, class M, class S>
concept cast_c = requires(I& i, M&& m, const S& s) {
  i.handle_cast(std::move(m), s);
};
template <class I, class M, class S>
concept cast_m = requires(I& i, M&& m, S& s) {
  i.handle_cast(std::move(m), s);
};
template <class I, class S>
concept info_c = requires(I& i, message& m, const S& s) {
  i.handle_info(m, s);
};
template <class I, class S>
concept info_m = requires(I& i, message& m, S& s) {
  i.handle_info(m, s);
};
template <class I, class C, class S>
concept cont_c = requires(I& i, C&& c, const S& s) {
  i.handle_continue(std::move(c), s);
};
template <class I, class C, class S>
concept cont_m = requires(I& i, C&& c, S& s) {
  i.handle_continue(std::move(c), s);
};

template <class Impl, class Msg>
struct call_traits {
  using S = typename Impl::state_type;
  static constexpr bool accepted = call_cf<Impl, Msg, S> || call_mf<Impl, Msg, S> ||
                                   call_c<Impl, Msg, S> || call_m<Impl, Msg, S>;
  static constexpr bool mutates = !call_cf<Impl, Msg, S> && !call_c<Impl, Msg, S>;
  static decltype(auto) invoke(Impl& i, Msg&& m, const from& f, S& s) {
    if constexpr (call_cf<Impl, Msg, S>) {
      return i.handle_call(std::move(m), f, std::as_const(s));
    } else if constexpr (call_mf<Impl, Msg, S>) {
      return i.handle_call(std::move(m), f, s);
    } else if constexpr (call_c<Impl, Msg, S>) {
      return i.handle_call(std::move(m), std::as_const(s));
    } else {
      return i.handle_call(std::move(m), s);
    }
  }
};

template <class Impl, class Msg>
struct cast_traits {
  using S = typename Impl::state_type;
  static constexpr bool accepted = cast_c<Impl, Msg, S> || cast_m<Impl, Msg, S>;
  static constexpr bool mutates = !cast_c<Impl, Msg, S>;
  static decltype(auto) invoke(Impl& i, Msg&& m, S& s) {
    if constexpr (cast_c<Impl, Msg, S>) {
      return i.handle_cast(std::move(m), std::as_const(s));
    } else {
      return i.handle_cast(std::move(m), s);
    }
  }
};

template <class Impl>
struct info_traits {
  using S = typename Impl::state_type;
  static constexpr bool defined = info_c<Impl, S> || info_m<Impl, S>;
  static constexpr bool mutates = !info_c<Impl, S>;
  static decltype(auto) invoke(Impl& i, message& m, S& s) {
    if constexpr (info_c<Impl, S>) {
      return i.handle_info(m, std::as_const(s));
    } else {
      return i.handle_info(m, s);
    }
  }
};

template <class Impl, class C>
struct continue_traits {
  using S = typename Impl::state_type;
  static constexpr bool defined = cont_c<Impl, C, S> || cont_m<Impl, C, S>;
  static constexpr bool mutates = !cont_c<Impl, C, S>;
  static decltype(auto) invoke(Impl& i, C&& c, S& s) {
    if constexpr (cont_c<Impl, C, S>) {
      return i.handle_continue(std::move(c), std::as_const(s));
    } else {
      return i.handle_continue(std::move(c), s);
    }
  }
};

template <class Impl, class Msg>
using call_return_t = typename task_value<decltype(call_traits<Impl, Msg>::invoke(
    std::declval<Impl&>(), std::declval<Msg&&>(), std::declval<const from&>(),
    std::declval<typename Impl::state_type&>()))>::type;

}  // namespace peeper::detail

namespace peeper {

/// Impl's handle_call accepts Msg.
template <class Impl, class Msg>
concept accepts_call = detail::call_traits<Impl, Msg>::accepted;
/// Impl's handle_cast accepts Msg.
template <class Impl, class Msg>
concept accepts_cast = detail::cast_traits<Impl, Msg>::accepted;

/// What call(server_ref<Impl>, Msg) returns.
template <class Impl, class Msg>
using reply_type_t = typename detail::call_norm<detail::call_return_t<Impl, Msg>>::reply;

}  // namespace peeper
