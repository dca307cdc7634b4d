// Memory and start time of many idle Peeper instances (three processes
// each, small state), measured by RSS growth in a fresh process.
//   peeper_memory_table [instances] [--starters K] [--allocations]
// Without --starters, one outside thread starts the instances one after
// another with peeper::start (each start waits for the last one's worker);
// with it, K processes of the runtime each start_link their share in turn.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <semaphore>
#include <vector>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "heap_count.hpp"
#include "peeper/runtime/process.hpp"
#include "peeper/server/server.hpp"

namespace peeper_bench {
struct idle : peeper::gen_server<idle, int> {};

long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0;
  long resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

struct starters_job {
  long per_starter = 0;
  std::atomic<long> started{0};
  std::atomic<long> failed{0};
  std::counting_semaphore<> done{0};
};

// Starts its share, then stays alive (the instances are linked to it).
peeper::task<> start_share(starters_job* j) {
  for (long i = 0; i < j->per_starter; ++i) {
    auto r = co_await peeper::start_link<idle>(peeper::server_options<int>{});
    (r.ok() ? j->started : j->failed).fetch_add(1, std::memory_order_relaxed);
  }
  j->done.release();
  (void)co_await peeper::receive();
}
}  // namespace peeper_bench

int main(int argc, char** argv) {
  using namespace peeper_bench;
  CLI::App app{"Memory per idle Peeper instance and instance starts per second (issue 4)"};
  long n = 100'000;
  int starters = 0;
  bool allocations = false;
  app.add_option("instances", n, "how many instances to start")->check(CLI::PositiveNumber);
  app.add_option("--starters", starters, "start from this many processes (0: an outside thread)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--allocations", allocations, "count heap blocks per instance while starting");
  CLI11_PARSE(app, argc, argv);

  peeper::runtime rt{peeper::runtime_options{.threads = 2}};
  const long before = rss_bytes();
  std::vector<peeper::instance<idle>> all;
  starters_job job;
  if (starters == 0) all.reserve(static_cast<std::size_t>(n));
  heap_count::counting.store(allocations);
  auto t0 = std::chrono::steady_clock::now();
  if (starters == 0) {
    for (long i = 0; i < n; ++i)
      all.push_back(peeper::start<idle>(rt, peeper::server_options<int>{}).value());
  } else {
    job.per_starter = n / starters;
    n = job.per_starter * starters;
    for (int i = 0; i < starters; ++i) peeper::spawn(rt, [&job] { return start_share(&job); });
    for (int i = 0; i < starters; ++i) job.done.acquire();
  }
  auto t1 = std::chrono::steady_clock::now();
  heap_count::counting.store(false);
  const long after = rss_bytes();
  if (job.failed.load() != 0) {
    std::fprintf(stderr, "%ld starts failed\n", job.failed.load());
    return 1;
  }
  const double secs = std::chrono::duration<double>(t1 - t0).count();
  std::printf(
      "| instances | started from | start time | starts/s | RSS growth | per instance |"
      " processes |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  std::printf(
      "| %ld | %s | %.2f s | %.0f | %.1f MB | %ld B | %zu |\n", n,
      starters == 0 ? "an outside thread" : (std::to_string(starters) + " processes").c_str(), secs,
      static_cast<double>(n) / secs, static_cast<double>(after - before) / 1e6,
      (after - before) / n, rt.process_count());
  if (allocations) heap_count::print("instance", n);
  return 0;
}
