// Memory per idle process, and a million processes alive at once (issue 2).
//
// Each run is a fresh program, so the resident set it measures holds only
// what it created: it reads RSS (/proc/self/statm) after starting a runtime
// with two scheduler threads (runtime_options{.threads = 2}), creates N idle
// processes, waits until they all wait for a message, and reads RSS again.
//
//   runtime_memory_table --kind bare      coroutine processes blocked in receive()
//   runtime_memory_table --kind server    GenServers with an empty state
//   ... --ping                            then ping each process once, in turn
//                                         (bare: send + reply; server: async_call)
//   ... --allocations                     also count the heap blocks allocated per process
//
// The processes are created by one process of the runtime (a GenServer
// start is awaited before the next one begins). The last line is one
// machine-readable record, "result key=value ...", which scripts/bench.sh
// collects over several runs.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "heap_count.hpp"
#include "peeper/gen_server/gen_server.hpp"
#include "peeper/runtime/process.hpp"
#include "peeper/runtime/runtime.hpp"

namespace {

using peeper::pid;
using peeper::runtime;
using peeper::task;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::int64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0;
  std::int64_t resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

std::int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

// ---- the idle processes -----------------------------------------------------------------

struct ping {
  pid from;
};
struct pong {};

task<> bare_idle(std::atomic<std::int64_t>* waiting) {
  waiting->fetch_add(1, std::memory_order_relaxed);
  while (true) {
    peeper::message m = co_await peeper::receive();
    if (auto* p = m.get_if<ping>()) peeper::send(p->from, pong{});
  }
}

struct empty_state {};
struct hello {};
struct idle_server : peeper::gen_server<idle_server, empty_state> {
  auto handle_call(hello /*m*/, const empty_state& /*s*/) { return peeper::reply(0); }
};

// ---- creating and pinging them, from inside a process ---------------------------------------

struct job {
  std::string kind;
  std::int64_t n = 0;
  bool keep_pids = false;
  std::atomic<std::int64_t> waiting{0};
  std::vector<pid> pids;
  std::binary_semaphore done{0};
  bool failed = false;
};

task<> create_all(job* j) {
  runtime& rt = peeper::this_runtime();
  if (j->kind == "bare") {
    for (std::int64_t i = 0; i < j->n; ++i) {
      pid p = peeper::spawn(rt, [j] { return bare_idle(&j->waiting); });
      if (j->keep_pids) j->pids.push_back(std::move(p));
    }
  } else {
    for (std::int64_t i = 0; i < j->n; ++i) {
      auto started = co_await peeper::async_start<idle_server>(empty_state{});
      if (!started) {
        j->failed = true;
        break;
      }
      j->waiting.fetch_add(1, std::memory_order_relaxed);
      if (j->keep_pids) j->pids.push_back(started.process());
    }
  }
  j->done.release();
}

task<> ping_all(job* j) {
  const pid me = peeper::self();
  for (const pid& p : j->pids) {
    if (j->kind == "bare") {
      peeper::send(p, ping{me});
      (void)co_await peeper::receive<pong>();
    } else {
      (void)co_await peeper::async_call(peeper::server_ref<idle_server>(p), hello{});
    }
  }
  j->done.release();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Memory per idle process and a million live processes (Peeper, issue 2)"};
  job j;
  j.kind = "bare";
  j.n = 1'000'000;
  bool ping = false;
  bool allocations = false;
  app.add_option("--kind", j.kind, "bare: coroutine processes in receive(); server: GenServers")
      ->check(CLI::IsMember({"bare", "server"}));
  app.add_option("--processes", j.n, "how many idle processes")->check(CLI::PositiveNumber);
  app.add_flag("--ping", ping, "then ping each process once, in turn, and time it");
  app.add_flag("--allocations", allocations, "count heap blocks per process while creating");
  CLI11_PARSE(app, argc, argv);
  j.keep_pids = ping;

  runtime rt({.threads = 2, .shutdown_timeout = std::chrono::milliseconds(200)});
  if (j.keep_pids)
    j.pids.reserve(static_cast<std::size_t>(j.n));             // not part of the per-process figure
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // threads settled
  const std::int64_t rss_before = rss_bytes();

  heap_count::counting.store(allocations);
  auto t0 = clock_type::now();
  peeper::spawn(rt, [&j] { return create_all(&j); });
  j.done.acquire();
  while (j.waiting.load() < j.n && !j.failed) std::this_thread::yield();
  const double create_s = seconds_since(t0);
  // Every process has run to its first wait (or finished init); let the
  // last ones finish suspending before reading.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  heap_count::counting.store(false);
  if (j.failed) {
    std::fprintf(stderr, "a server failed to start\n");
    return 1;
  }
  std::int64_t rss_after = rss_bytes();
  if (j.keep_pids) rss_after -= static_cast<std::int64_t>(j.pids.capacity() * sizeof(pid));
  const double per_process = static_cast<double>(rss_after - rss_before) / static_cast<double>(j.n);
  std::printf(
      "%s: %lld idle processes (%zu live) created in %.3f s; RSS grew by %.1f MB: %.0f bytes "
      "each\n",
      j.kind.c_str(), static_cast<long long>(j.n), rt.process_count(), create_s,
      static_cast<double>(rss_after - rss_before) / 1e6, per_process);
  if (allocations) heap_count::print("process", j.n);

  double ping_s = 0;
  if (ping) {
    auto t1 = clock_type::now();
    peeper::spawn(rt, [&j] { return ping_all(&j); });
    j.done.acquire();
    ping_s = seconds_since(t1);
    std::printf("pinged each once, in turn, in %.3f s (%.0f ns each)\n", ping_s,
                ping_s * 1e9 / static_cast<double>(j.n));
  }
  const double rss_mb = static_cast<double>(rss_bytes()) / 1e6;
  const double peak_mb = static_cast<double>(peak_rss_bytes()) / 1e6;
  j.pids.clear();

  auto t2 = clock_type::now();
  rt.shutdown();
  const double shutdown_s = seconds_since(t2);
  std::printf("RSS %.1f MB (peak %.1f MB); shutdown took %.3f s\n", rss_mb, peak_mb, shutdown_s);
  std::printf(
      "result kind=%s processes=%lld bytes_per_process=%.0f create_s=%.3f ping_s=%.3f rss_mb=%.1f "
      "peak_rss_mb=%.1f shutdown_s=%.3f\n",
      j.kind.c_str(), static_cast<long long>(j.n), per_process, create_s, ping_s, rss_mb, peak_mb,
      shutdown_s);
  return 0;
}
