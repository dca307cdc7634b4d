// Benchmarks of the GenServer layer (issue 2): call round trips (from a
// process and from an outside thread) and cast throughput to completion.
//
// Every benchmark creates its own runtime with two scheduler threads
// (runtime_options{.threads = 2}) and its own server, outside the timed
// region. Figures are wall-clock (UseRealTime). A cast batch ends when the
// server has handled every cast: each sender ends with a call, which the
// server answers only after the casts queued before it.
// scripts/bench.sh runs this with --benchmark_repetitions and reports medians.
#include <chrono>
#include <cstdint>
#include <latch>
#include <semaphore>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "peeper/gen_server/gen_server.hpp"
#include "peeper/runtime/process.hpp"
#include "peeper/runtime/runtime.hpp"

namespace {

using peeper::runtime;
using peeper::task;

constexpr peeper::runtime_options two_threads{.threads = 2};

struct ping {};
struct get {};
struct add {
  std::int64_t n;
};

// A server whose state is one counter: ping reads nothing and answers 0,
// add (a cast) bumps the counter, get answers it.
struct counter : peeper::gen_server<counter, std::int64_t> {
  auto handle_call(ping /*m*/, const std::int64_t& /*s*/) { return peeper::reply(std::int64_t{0}); }
  auto handle_call(get /*m*/, const std::int64_t& s) { return peeper::reply(s); }
  auto handle_cast(add m, std::int64_t& s) {
    s += m.n;
    return peeper::noreply();
  }
};

using server = peeper::server_ref<counter>;

server start_counter(runtime& rt) { return peeper::start<counter>(rt, std::int64_t{0}).value(); }

// ---- call from a process --------------------------------------------------------------

task<> caller(server s, std::int64_t n, bool with_timeout, std::binary_semaphore* done) {
  for (std::int64_t i = 0; i < n; ++i) {
    if (with_timeout) {
      benchmark::DoNotOptimize(co_await peeper::async_call(s, ping{}));
    } else {
      benchmark::DoNotOptimize(co_await peeper::async_call(s, ping{}, peeper::infinity));
    }
  }
  done->release();
}

// A process co_awaits async_call on a server n times. Arg 1: the default
// timeout (5 s, as gen_server:call); arg 0: infinity (no timer).
void bm_call_from_process(benchmark::State& state) {
  runtime rt(two_threads);
  const server s = start_counter(rt);
  const bool with_timeout = state.range(0) != 0;
  std::binary_semaphore done{0};
  const std::int64_t n = state.max_iterations;
  while (state.KeepRunningBatch(n)) {
    peeper::spawn(rt, [&] { return caller(s, n, with_timeout, &done); });
    done.acquire();
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(bm_call_from_process)
    ->ArgName("default_timeout")
    ->Arg(1)
    ->Arg(0)
    ->Iterations(1'000'000)
    ->UseRealTime()
    ->Unit(benchmark::kNanosecond);

// ---- call from an outside thread -----------------------------------------------------

// The benchmark thread (not a runtime thread) calls the server and blocks
// for each reply.
void bm_call_from_thread(benchmark::State& state) {
  runtime rt(two_threads);
  const server s = start_counter(rt);
  for (auto _ : state) benchmark::DoNotOptimize(peeper::call(s, ping{}));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_call_from_thread)->Iterations(200'000)->UseRealTime()->Unit(benchmark::kNanosecond);

// ---- casts ----------------------------------------------------------------------------

task<> cast_sender(server s, std::int64_t n, std::latch* done) {
  for (std::int64_t i = 0; i < n; ++i) peeper::cast(s, add{1});
  (void)co_await peeper::async_call(s, get{}, peeper::infinity);  // answered after our casts
  done->count_down();
}

// `senders` processes each cast n / senders messages to one server; the
// batch ends when the server has handled them all.
void bm_cast_from_processes(benchmark::State& state) {
  runtime rt(two_threads);
  const server s = start_counter(rt);
  const auto senders = state.range(0);
  const std::int64_t n = state.max_iterations;
  while (state.KeepRunningBatch(n)) {
    std::latch done(senders);
    for (std::int64_t i = 0; i < senders; ++i) {
      peeper::spawn(rt, [&] { return cast_sender(s, n / senders, &done); });
    }
    done.wait();
  }
  if (peeper::call(s, get{}) != n / senders * senders) state.SkipWithError("casts lost");
  state.SetItemsProcessed(n);
}
BENCHMARK(bm_cast_from_processes)
    ->ArgName("senders")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(4'000'000)
    ->UseRealTime()
    ->Unit(benchmark::kNanosecond);

// `senders` outside threads each cast n / senders messages to one server,
// then call it; the batch ends when every thread has its reply.
void bm_cast_from_threads(benchmark::State& state) {
  runtime rt(two_threads);
  const server s = start_counter(rt);
  const auto senders = state.range(0);
  const std::int64_t n = state.max_iterations;
  while (state.KeepRunningBatch(n)) {
    auto send_all = [&] {
      for (std::int64_t i = 0; i < n / senders; ++i) peeper::cast(s, add{1});
      benchmark::DoNotOptimize(peeper::call(s, get{}, std::chrono::seconds(60)));
    };
    if (senders == 1) {
      send_all();
    } else {
      std::vector<std::jthread> threads;
      for (std::int64_t i = 0; i < senders; ++i) threads.emplace_back(send_all);
    }
  }
  if (peeper::call(s, get{}) != n / senders * senders) state.SkipWithError("casts lost");
  state.SetItemsProcessed(n);
}
BENCHMARK(bm_cast_from_threads)
    ->ArgName("senders")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(4'000'000)
    ->UseRealTime()
    ->Unit(benchmark::kNanosecond);

}  // namespace

BENCHMARK_MAIN();
