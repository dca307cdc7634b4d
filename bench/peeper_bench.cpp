// Peeper against a plain GenServer with the same callbacks; recovery, crash
// loop, and big-state commits (plain copy against the commit hook).
#include <atomic>
#include <chrono>
#include <semaphore>
#include <string>
#include <unordered_map>
#include <vector>

#include <benchmark/benchmark.h>

#include "peeper/runtime/process.hpp"
#include "peeper/server/server.hpp"

namespace peeper_bench {

struct get {};
struct inc {};
struct poison {};

struct counter : peeper::gen_server<counter, long> {
  auto handle_call(get /*g*/, const long& n) { return peeper::reply(n); }
  auto handle_cast(inc /*i*/, long& n) {
    ++n;
    return peeper::noreply();
  }
  auto handle_cast(poison /*p*/, long& /*n*/) -> peeper::noreply_t<> {
    throw std::runtime_error("poison");
  }
};

peeper::runtime& rt() {
  static peeper::runtime r{peeper::runtime_options{.threads = 2}};
  return r;
}

peeper::server_options<long> opts(int max_restarts = 1000) {
  peeper::server_options<long> o;
  o.max_restarts = max_restarts;
  return o;
}

void BM_GenServerCall(benchmark::State& s) {
  auto c = peeper::start<counter>(rt(), 0L).value();
  for (auto _ : s) benchmark::DoNotOptimize(peeper::call(c, get{}));
  peeper::stop(c);
}
BENCHMARK(BM_GenServerCall)->UseRealTime();

void BM_PeeperCall(benchmark::State& s) {
  auto c = peeper::start<counter>(rt(), opts()).value();
  for (auto _ : s) benchmark::DoNotOptimize(peeper::call(c, get{}));
  peeper::stop(c);
}
BENCHMARK(BM_PeeperCall)->UseRealTime();

constexpr int casts_per_round = 10'000;

void BM_GenServerCast(benchmark::State& s) {
  auto c = peeper::start<counter>(rt(), 0L).value();
  for (auto _ : s) {
    for (int i = 0; i < casts_per_round; ++i) peeper::cast(c, inc{});
    benchmark::DoNotOptimize(peeper::call(c, get{}));  // all handled
  }
  s.SetItemsProcessed(s.iterations() * casts_per_round);
  peeper::stop(c);
}
BENCHMARK(BM_GenServerCast)->UseRealTime();

void BM_PeeperCast(benchmark::State& s) {
  auto c = peeper::start<counter>(rt(), opts()).value();
  for (auto _ : s) {
    for (int i = 0; i < casts_per_round; ++i) peeper::cast(c, inc{});
    benchmark::DoNotOptimize(peeper::call(c, get{}));
  }
  s.SetItemsProcessed(s.iterations() * casts_per_round);
  peeper::stop(c);
}
BENCHMARK(BM_PeeperCast)->UseRealTime();

// Both side by side in one run: each iteration times a round to a plain
// GenServer and a round to a Peeper instance, in alternating order, so that
// the drift of a shared machine weighs on both alike. Counters: ns per
// message for each, and ratio = Peeper's time / the GenServer's.
template <class Round>
void side_by_side(benchmark::State& s, int per_round, Round round) {
  using clock = std::chrono::steady_clock;
  auto plain = peeper::start<counter>(rt(), 0L).value();
  auto kept = peeper::start<counter>(rt(), opts()).value();
  clock::duration plain_time{};
  clock::duration kept_time{};
  bool plain_first = true;
  for (auto _ : s) {
    for (int turn = 0; turn < 2; ++turn) {
      const bool on_plain = (turn == 0) == plain_first;
      const auto t0 = clock::now();
      if (on_plain) {
        round(plain);
      } else {
        round(kept);
      }
      (on_plain ? plain_time : kept_time) += clock::now() - t0;
    }
    plain_first = !plain_first;
  }
  const double messages = double(s.iterations()) * per_round;
  s.counters["genserver_ns"] = double(plain_time.count()) / messages;
  s.counters["peeper_ns"] = double(kept_time.count()) / messages;
  s.counters["ratio"] = double(kept_time.count()) / double(plain_time.count());
  peeper::stop(plain);
  peeper::stop(kept);
}

constexpr int calls_per_round = 1'000;

void BM_CallSideBySide(benchmark::State& s) {
  side_by_side(s, calls_per_round, [](const auto& c) {
    for (int i = 0; i < calls_per_round; ++i) benchmark::DoNotOptimize(peeper::call(c, get{}));
  });
}
BENCHMARK(BM_CallSideBySide)->UseRealTime();

void BM_CastSideBySide(benchmark::State& s) {
  side_by_side(s, casts_per_round, [](const auto& c) {
    for (int i = 0; i < casts_per_round; ++i) peeper::cast(c, inc{});
    benchmark::DoNotOptimize(peeper::call(c, get{}));
  });
}
BENCHMARK(BM_CastSideBySide)->UseRealTime();

// Kill the worker, then the first call answered with the preserved state.
void BM_PeeperRecovery(benchmark::State& s) {
  auto c = peeper::start<counter>(rt(), opts(1'000'000'000)).value();
  peeper::cast(c, inc{});
  for (auto _ : s) {
    peeper::pid w = peeper::worker(c);
    peeper::exit(w, peeper::exit_reason::kill());
    if (peeper::call(c, get{}) != 1) s.SkipWithError("state lost");
  }
  peeper::stop(c);
}
BENCHMARK(BM_PeeperRecovery)->UseRealTime();

// The same from a process of the runtime, as a client process would see it
// (no outside thread to put to sleep and wake): per_recovery is the time
// from one kill to its first answered call.
constexpr int recoveries_per_round = 100;

peeper::task<> recover_round(const peeper::instance<counter>* c, std::atomic<bool>* lost,
                             std::binary_semaphore* done) {
  for (int i = 0; i < recoveries_per_round; ++i) {
    peeper::exit(peeper::worker(*c, std::chrono::milliseconds(0)), peeper::exit_reason::kill());
    if (co_await peeper::async_call(*c, get{}) != 1) lost->store(true);
  }
  done->release();
}

void BM_PeeperRecoveryFromProcess(benchmark::State& s) {
  auto c = peeper::start<counter>(rt(), opts(1'000'000'000)).value();
  peeper::cast(c, inc{});
  std::atomic<bool> lost{false};
  for (auto _ : s) {
    std::binary_semaphore done{0};
    peeper::spawn(rt(), [&c, &lost, &done] { return recover_round(&c, &lost, &done); });
    done.acquire();
  }
  if (lost.load()) s.SkipWithError("state lost");
  s.counters["per_recovery"] =
      benchmark::Counter(static_cast<double>(s.iterations() * recoveries_per_round),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  peeper::stop(c);
}
BENCHMARK(BM_PeeperRecoveryFromProcess)->UseRealTime();

// Crash/restart cycles one instance sustains: each poison crashes the worker.
void BM_PeeperCrashLoop(benchmark::State& s) {
  peeper::set_log_level(peeper::log_level::off);
  auto c = peeper::start<counter>(rt(), opts(1'000'000'000)).value();
  constexpr int crashes = 1000;
  for (auto _ : s) {
    for (int i = 0; i < crashes; ++i) peeper::cast(c, poison{});
    benchmark::DoNotOptimize(peeper::call(c, get{}));
  }
  s.SetItemsProcessed(s.iterations() * crashes);
  peeper::stop(c);
}
BENCHMARK(BM_PeeperCrashLoop)->UseRealTime();

// A map of 10,000 entries of 100-byte strings; each cast changes one entry.
struct big {
  std::unordered_map<int, std::string> entries;
  std::vector<int> dirty;
};
struct put_entry {
  int key;
};
big make_big() {
  big b;
  for (int i = 0; i < 10'000; ++i) b.entries.emplace(i, std::string(100, 'x'));
  return b;
}
struct plain_store : peeper::gen_server<plain_store, big> {
  auto handle_call(get /*g*/, const big& b) { return peeper::reply(b.entries.size()); }
  auto handle_cast(put_entry m, big& b) {
    b.entries[m.key % 10'000][0] = static_cast<char>('a' + m.key % 26);
    return peeper::noreply();
  }
};
struct delta_store : peeper::gen_server<delta_store, big> {
  auto handle_call(get /*g*/, const big& b) { return peeper::reply(b.entries.size()); }
  auto handle_cast(put_entry m, big& b) {
    int k = m.key % 10'000;
    b.entries[k][0] = static_cast<char>('a' + m.key % 26);
    b.dirty.push_back(k);
    return peeper::noreply();
  }
  void commit(big& saved, big& live) {
    for (int k : live.dirty) saved.entries[k] = live.entries.at(k);
    live.dirty.clear();
  }
};

template <class Store>
void big_state(benchmark::State& s) {
  peeper::server_options<big> o;
  o.state = make_big();
  auto c = peeper::start<Store>(rt(), o).value();
  constexpr int per_round = 200;
  int key = 0;
  for (auto _ : s) {
    for (int i = 0; i < per_round; ++i) peeper::cast(c, put_entry{key++});
    benchmark::DoNotOptimize(peeper::call(c, get{}));
  }
  s.SetItemsProcessed(s.iterations() * per_round);
  peeper::stop(c);
}
void BM_BigStatePlainCommit(benchmark::State& s) { big_state<plain_store>(s); }
void BM_BigStateCommitHook(benchmark::State& s) { big_state<delta_store>(s); }
BENCHMARK(BM_BigStatePlainCommit)->UseRealTime();
BENCHMARK(BM_BigStateCommitHook)->UseRealTime();

}  // namespace peeper_bench

BENCHMARK_MAIN();
