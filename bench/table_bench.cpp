// Table throughput against the obvious alternative: the same standard
// container behind one std::shared_mutex.
//
// 1 M keys (random 64-bit integers) in each structure; lookups and inserts
// (overwrites, so the size stays 1 M) of uniformly random present keys, on
// one and two threads. Items/s is the figure to compare:
//   set          vs std::unordered_map + std::shared_mutex
//   ordered_set  vs std::map + std::shared_mutex
// The tables are public, owned by an idle process of a deterministic runtime;
// the benchmark threads are plain threads, which public tables allow.
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include <benchmark/benchmark.h>

#include <peeper/runtime/process.hpp>
#include <peeper/table/make_table.hpp>

namespace {

using key = std::uint64_t;
using value = std::uint64_t;
constexpr std::size_t key_count = 1U << 20;  // 1 M
constexpr std::size_t key_mask = key_count - 1;

struct stop {};

template <class Map>
struct locked_map {
  mutable std::shared_mutex mutex;
  Map items;
};

struct fixture {
  fixture() {
    std::mt19937_64 rng(42);
    keys.resize(key_count);
    for (auto& k : keys) k = rng();
    owner = peeper::spawn(rt, []() -> peeper::task<> { co_await peeper::receive<stop>(); });
    peeper::detail::run_in(owner, [this] {
      using peeper::table_kind;
      using peeper::table_access;
      set = peeper::make_table<key, value>(
          {.kind = table_kind::set, .access = table_access::public_});
      ordered = peeper::make_table<key, value>(
          {.kind = table_kind::ordered_set, .access = table_access::public_});
      ordered_rc = peeper::make_table<key, value>({.kind = table_kind::ordered_set,
                                                   .access = table_access::public_,
                                                   .read_concurrency = true});
    });
    rt.run_until_idle();
    std::vector<std::pair<key, value>> batch;
    batch.reserve(key_count);
    for (std::size_t i = 0; i < key_count; ++i) batch.emplace_back(keys[i], i);
    set.insert(batch);
    ordered.insert(batch);
    ordered_rc.insert(batch);
    hashed.items.reserve(key_count);
    for (auto& [k, v] : batch) {
      hashed.items.emplace(k, v);
      sorted.items.emplace(k, v);
    }
  }

  peeper::runtime rt{peeper::runtime_options{.deterministic = true}};
  peeper::pid owner;
  std::vector<key> keys;
  peeper::table<key, value> set;
  peeper::table<key, value> ordered;
  peeper::table<key, value> ordered_rc;
  locked_map<std::unordered_map<key, value>> hashed;
  locked_map<std::map<key, value>> sorted;
};

fixture& data() {
  static fixture f;
  return f;
}

// A cheap per-thread index stream (xorshift), so that threads do not walk
// the same keys in step.
struct index_stream {
  explicit index_stream(int thread)
      : x_(0x9E3779B97F4A7C15ULL * static_cast<unsigned>(thread + 1)) {}
  std::size_t next() noexcept {
    x_ ^= x_ << 13;
    x_ ^= x_ >> 7;
    x_ ^= x_ << 17;
    return static_cast<std::size_t>(x_) & key_mask;
  }

 private:
  std::uint64_t x_;
};

void table_lookup(benchmark::State& state, peeper::table<key, value> fixture::*which) {
  auto& f = data();
  const auto& t = f.*which;
  index_stream idx(state.thread_index());
  for (auto _ : state) benchmark::DoNotOptimize(t.find(f.keys[idx.next()]));
  state.SetItemsProcessed(state.iterations());
}

template <class Map>
void locked_lookup(benchmark::State& state, locked_map<Map> fixture::*which) {
  auto& f = data();
  auto& m = f.*which;
  index_stream idx(state.thread_index());
  for (auto _ : state) {
    std::shared_lock lock(m.mutex);
    auto it = m.items.find(f.keys[idx.next()]);
    benchmark::DoNotOptimize(it->second);
  }
  state.SetItemsProcessed(state.iterations());
}

void table_insert(benchmark::State& state, peeper::table<key, value> fixture::*which) {
  auto& f = data();
  const auto& t = f.*which;
  index_stream idx(state.thread_index());
  value v = 0;
  for (auto _ : state) t.insert(f.keys[idx.next()], ++v);
  state.SetItemsProcessed(state.iterations());
}

template <class Map>
void locked_insert(benchmark::State& state, locked_map<Map> fixture::*which) {
  auto& f = data();
  auto& m = f.*which;
  index_stream idx(state.thread_index());
  value v = 0;
  for (auto _ : state) {
    std::unique_lock lock(m.mutex);
    m.items.insert_or_assign(f.keys[idx.next()], ++v);
  }
  state.SetItemsProcessed(state.iterations());
}

void set_lookup(benchmark::State& s) { table_lookup(s, &fixture::set); }
void unordered_map_shared_mutex_lookup(benchmark::State& s) { locked_lookup(s, &fixture::hashed); }
void ordered_set_lookup(benchmark::State& s) { table_lookup(s, &fixture::ordered); }
void ordered_set_read_concurrency_lookup(benchmark::State& s) {
  table_lookup(s, &fixture::ordered_rc);
}
void map_shared_mutex_lookup(benchmark::State& s) { locked_lookup(s, &fixture::sorted); }
void set_insert(benchmark::State& s) { table_insert(s, &fixture::set); }
void unordered_map_shared_mutex_insert(benchmark::State& s) { locked_insert(s, &fixture::hashed); }
void ordered_set_insert(benchmark::State& s) { table_insert(s, &fixture::ordered); }
void map_shared_mutex_insert(benchmark::State& s) { locked_insert(s, &fixture::sorted); }

// Build the data before any timing starts.
const bool built = (data(), true);

}  // namespace

BENCHMARK(set_lookup)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(unordered_map_shared_mutex_lookup)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(ordered_set_lookup)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(ordered_set_read_concurrency_lookup)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(map_shared_mutex_lookup)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(set_insert)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(unordered_map_shared_mutex_insert)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(ordered_set_insert)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(map_shared_mutex_insert)->Threads(1)->Threads(2)->UseRealTime();

BENCHMARK_MAIN();
