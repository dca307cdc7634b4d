// Benchmarks of the process runtime (issue 2): raw send/receive round trips,
// timer start + cancel, spawn + exit throughput, and skynet.
//
// Every benchmark creates its own runtime with two scheduler threads
// (runtime_options{.threads = 2}), outside the timed region. Work runs inside
// processes; the benchmark thread starts it and waits for it to finish, so
// the figures are wall-clock (UseRealTime) and cover the work to completion:
// a batch ends when its last reply arrived or its last process exited.
// scripts/bench.sh runs this with --benchmark_repetitions and reports medians.
#include <chrono>
#include <cstdint>
#include <semaphore>
#include <thread>

#include <benchmark/benchmark.h>

#include "peeper/runtime/process.hpp"
#include "peeper/runtime/runtime.hpp"
#include "peeper/runtime/timer.hpp"

namespace {

using peeper::pid;
using peeper::runtime;
using peeper::task;

constexpr peeper::runtime_options two_threads{.threads = 2};

/// Waits, spinning with yields, until every process of `rt` has exited.
void wait_all_exited(runtime& rt) {
  while (rt.process_count() != 0) std::this_thread::yield();
}

// ---- send / receive round trip --------------------------------------------------------

struct ping {
  pid from;
};
struct pong {};

task<> ponger() {
  while (true) {
    peeper::message m = co_await peeper::receive();
    if (auto* p = m.get_if<ping>()) peeper::send(p->from, pong{});
  }
}

task<> pinger(pid ponger, std::int64_t n, std::binary_semaphore* done) {
  const pid me = peeper::self();
  for (std::int64_t i = 0; i < n; ++i) {
    peeper::send(ponger, ping{me});
    (void)co_await peeper::receive();
  }
  done->release();
}

// One process sends a message to another and waits for the answer, n times;
// both are coroutine processes blocked in receive() between messages.
void bm_send_receive_round_trip(benchmark::State& state) {
  runtime rt(two_threads);
  const pid server = peeper::spawn(rt, [] { return ponger(); });
  std::binary_semaphore done{0};
  const std::int64_t n = state.max_iterations;
  while (state.KeepRunningBatch(n)) {
    peeper::spawn(rt, [&] { return pinger(server, n, &done); });
    done.acquire();
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(bm_send_receive_round_trip)
    ->Iterations(2'000'000)
    ->UseRealTime()
    ->Unit(benchmark::kNanosecond);

// ---- timers -------------------------------------------------------------------------

struct tick {};

task<> timer_user(std::int64_t n, std::binary_semaphore* done) {
  runtime& rt = peeper::this_runtime();
  const pid me = peeper::self();
  for (std::int64_t i = 0; i < n; ++i) {
    const peeper::ref t = peeper::send_after(me, std::chrono::seconds(5), tick{});
    benchmark::DoNotOptimize(peeper::cancel_timer(rt, t));
  }
  done->release();
  co_return;
}

// A process starts a 5 s timer and cancels it, n times: what every call or
// receive with a timeout pays on top of its messages.
void bm_timer_start_cancel(benchmark::State& state) {
  runtime rt(two_threads);
  std::binary_semaphore done{0};
  const std::int64_t n = state.max_iterations;
  while (state.KeepRunningBatch(n)) {
    peeper::spawn(rt, [&] { return timer_user(n, &done); });
    done.acquire();
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(bm_timer_start_cancel)
    ->Iterations(1'000'000)
    ->UseRealTime()
    ->Unit(benchmark::kNanosecond);

// ---- spawn + exit -------------------------------------------------------------------

task<> spawner(std::int64_t n) {
  runtime& rt = peeper::this_runtime();
  for (std::int64_t i = 0; i < n; ++i) peeper::spawn(rt, [] {});
  co_return;
}

// `spawners` processes each spawn n / spawners processes whose body returns at
// once; the batch ends when the process count is back to zero.
void bm_spawn_exit(benchmark::State& state) {
  runtime rt(two_threads);
  const auto spawners = state.range(0);
  const std::int64_t n = state.max_iterations;
  while (state.KeepRunningBatch(n)) {
    for (std::int64_t s = 0; s < spawners; ++s) {
      peeper::spawn(rt, [n, spawners] { return spawner(n / spawners); });
    }
    wait_all_exited(rt);
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(bm_spawn_exit)
    ->ArgName("spawner_processes")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(2'000'000)
    ->UseRealTime()
    ->Unit(benchmark::kNanosecond);

// The benchmark thread (outside the runtime) spawns n processes that return at once.
void bm_spawn_exit_from_outside(benchmark::State& state) {
  runtime rt(two_threads);
  const std::int64_t n = state.max_iterations;
  while (state.KeepRunningBatch(n)) {
    for (std::int64_t i = 0; i < n; ++i) peeper::spawn(rt, [] {});
    wait_all_exited(rt);
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(bm_spawn_exit_from_outside)
    ->Iterations(1'000'000)
    ->UseRealTime()
    ->Unit(benchmark::kNanosecond);

// ---- skynet -------------------------------------------------------------------------
// A tree of processes: each node spawns 10 children down to 1,000,000 leaves
// (1,111,111 processes in all); each leaf sends its number to its parent,
// each parent sums what its 10 children sent and sends that up. The root
// must get 0 + 1 + ... + 999,999.

struct part {
  std::int64_t sum;
};

constexpr std::int64_t skynet_leaves = 1'000'000;
constexpr std::int64_t skynet_sum = skynet_leaves * (skynet_leaves - 1) / 2;

task<> skynet_node(pid parent, std::int64_t num, std::int64_t size) {
  runtime& rt = peeper::this_runtime();
  const pid me = peeper::self();
  const std::int64_t child_size = size / 10;
  for (std::int64_t i = 0; i < 10; ++i) {
    const std::int64_t child_num = num + i * child_size;
    if (child_size == 1) {
      peeper::spawn(rt, [me, child_num] { peeper::send(me, part{child_num}); });
    } else {
      peeper::spawn(rt,
                    [me, child_num, child_size] { return skynet_node(me, child_num, child_size); });
    }
  }
  std::int64_t sum = 0;
  for (int i = 0; i < 10; ++i) sum += (co_await peeper::receive<part>())->sum;
  peeper::send(parent, part{sum});
}

task<> skynet_root(std::int64_t* result, std::binary_semaphore* done) {
  const pid me = peeper::self();
  peeper::spawn(peeper::this_runtime(), [me] { return skynet_node(me, 0, skynet_leaves); });
  *result = (co_await peeper::receive<part>())->sum;
  done->release();
}

void bm_skynet(benchmark::State& state) {
  runtime rt(two_threads);
  std::binary_semaphore done{0};
  std::int64_t result = 0;
  for (auto _ : state) {
    peeper::spawn(rt, [&] { return skynet_root(&result, &done); });
    done.acquire();
  }
  if (result != skynet_sum) state.SkipWithError("skynet: wrong sum");
  state.counters["processes"] = 1'111'111;
}
BENCHMARK(bm_skynet)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
