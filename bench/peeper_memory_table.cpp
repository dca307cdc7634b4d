// Memory and start time of many idle Peeper instances (three processes
// each, small state), measured by RSS growth in a fresh process.
//   peeper_memory_table [instances]   (default 100000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include <unistd.h>

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
}  // namespace peeper_bench

int main(int argc, char** argv) {
  using namespace peeper_bench;
  const long n = argc > 1 ? std::atol(argv[1]) : 100'000;
  peeper::runtime rt{peeper::runtime_options{.threads = 2}};
  const long before = rss_bytes();
  std::vector<peeper::instance<idle>> all;
  all.reserve(static_cast<std::size_t>(n));
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i)
    all.push_back(peeper::start<idle>(rt, peeper::server_options<int>{}).value());
  auto t1 = std::chrono::steady_clock::now();
  const long after = rss_bytes();
  const double secs = std::chrono::duration<double>(t1 - t0).count();
  std::printf("| instances | start time | starts/s | RSS growth | per instance | processes |\n");
  std::printf("|---|---|---|---|---|---|\n");
  std::printf("| %ld | %.2f s | %.0f | %.1f MB | %ld B | %zu |\n", n, secs,
              static_cast<double>(n) / secs, static_cast<double>(after - before) / 1e6,
              (after - before) / n, rt.process_count());
  return 0;
}
