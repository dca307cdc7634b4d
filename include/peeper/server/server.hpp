// Peeper: GenServers whose state survives crashes.
//
// A Peeper server type is an ordinary GenServer type (gen_server<Impl,
// State> with the same callbacks). Started as a Peeper instance, it gets a
// keeper beside its worker under a supervisor of its own: after every
// callback that may change the state (init and code_change included), the
// state is committed; when the worker crashes (an exception, any exit signal
// including kill, a stop return), the new worker's init receives the last
// committed state and its dictionary is restored. Callbacks that take the
// state as `const State&` commit nothing.
//
//   struct counter : peeper::gen_server<counter, int> {
//     int init(int n) { return n; }              // the preserved state on restarts
//     auto handle_call(get, const int& n) { return peeper::reply(n); }
//     auto handle_cast(inc, int& n) { ++n; return peeper::noreply(); }
//   };
//   auto c = peeper::start<counter>(rt, {.name = "counter", .state = 0}).value();
//   peeper::cast(c, inc{});
//   peeper::exit(peeper::worker(c), peeper::exit_reason::kill());  // let it crash
//   assert(peeper::call(c, get{}) == 1);                             // the state survived
//
// Big states: define `void commit(State& saved, State& live)` in the server
// type to commit only what changed (see "Big states" in README.md).
#pragma once

#include "peeper/gen_server/gen_server.hpp"
#include "peeper/server/instance.hpp"
#include "peeper/server/options.hpp"
#include "peeper/server/start.hpp"
#include "peeper/server/transfer.hpp"
