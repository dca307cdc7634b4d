// GenServer: a process running a server loop over the callbacks of a
// user type, with OTP's semantics.
//
//   struct get {};  struct inc { int by; };
//   struct counter : peeper::gen_server<counter, int> {
//     int init(int start) { return start; }
//     auto handle_call(get, const int& n) { return peeper::reply(n); }
//     auto handle_cast(inc m, int& n) { n += m.by; return peeper::noreply(); }
//   };
//   auto c = peeper::start<counter>(rt, 0).value();  // server_ref<counter>
//   peeper::cast(c, inc{2});
//   int n = peeper::call(c, get{});                  // 2
//
// Callbacks (all optional; each may instead return task<...> and co_await):
//   init(Arg)                              -> State | init_result<State, C>
//   handle_call(Msg, [from,] State& | const State&) -> reply_t | call_result<R, C> | stop...
//   handle_cast(Msg, State& | const State&)          -> noreply_t | cast_result<C> | stop_t
//   handle_info(message&, State& | const State&)    -> noreply_t | cast_result<C> | stop_t
//   handle_continue(C, State& | const State&)        -> noreply_t | cast_result<C> | stop_t
//   terminate(const exit_reason&, State&)            -> void
//   code_change(State&, const std::any& extra)       -> void
// A callback taking the state as `const State&` cannot change it (the layers
// above rely on that: Peeper commits nothing after such a callback).
// A coroutine callback may use its state, `from` and handle_info's message
// after an await (the server keeps them); it takes call, cast and continue
// messages by value, as coroutines should (the request is gone once it waits).
//
// The messages a server accepts in call and cast are the parameter types of
// its handle_call / handle_cast overloads, checked at compile time by call
// and cast. Plain messages (send) and the runtime's own (down_message,
// exit_message, timeout_message) go to handle_info; without one they are
// logged and dropped: an unexpected message never stops a server by itself.
//
// Without init the state is constructed from the start argument. Without
// terminate nothing runs at exit; terminate runs when a callback returns
// stop, a callback throws, stop() is called, the runtime shuts down, or the
// server traps exits and its parent sends it an exit signal (OTP's rules).
// `hibernate` is accepted: an idle process here holds no stack, so there is
// nothing more to release.
#pragma once

#include "peeper/gen_server/actions.hpp"
#include "peeper/gen_server/call.hpp"
#include "peeper/gen_server/from.hpp"
#include "peeper/gen_server/server_ref.hpp"
#include "peeper/gen_server/start.hpp"
