// Supervisor figures, each the median of --runs runs on a fresh runtime:
//   restart latency   a child killed -> its replacement started and answering a
//                     call, measured inside a process (median and p99 of --restarts)
//   dynamic start     --children GenServer children started one by one under one
//                     DynamicSupervisor (from a process, co_await async_start_child)
//   dynamic stop      stopping that DynamicSupervisor (all its children)
//   tree start/stop   a supervisor of --tree supervisors, each with 10 workers:
//                     start time, RSS growth, shutdown time
//
//   build/release/bench/supervisor_table [--threads 2] [--runs 5] ...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <malloc.h>
#include <unistd.h>

#include <peeper/gen_server/gen_server.hpp>
#include <peeper/runtime/log.hpp>
#include <peeper/runtime/process.hpp>
#include <peeper/supervisor/dynamic_supervisor.hpp>
#include <peeper/supervisor/supervisor.hpp>

namespace sup_bench {

using clk = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct ping {};
/// Sent by a bench_worker to `notify` when its init ran.
struct started {
  peeper::pid process;
};

struct bench_worker : peeper::gen_server<bench_worker, int> {
  int init(peeper::pid notify) {
    if (notify) peeper::send(notify, started{peeper::self()});
    return 0;
  }
  auto handle_call(ping /*p*/, const int& s) { return peeper::reply(s); }
};

double seconds(clk::duration d) { return std::chrono::duration<double>(d).count(); }

template <class T>
T median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0;
  long resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

struct latency {
  double median_us;
  double p99_us;
};

/// Restart latency: a process kills the child, waits for the replacement's
/// `started`, calls it; repeated `restarts` times.
latency restart_latency(unsigned threads, int restarts) {
  peeper::runtime rt({.threads = threads});
  std::promise<std::vector<double>> done;
  peeper::spawn(rt, [&done, restarts]() -> peeper::task<> {
    std::vector<peeper::child_spec> children{
        peeper::worker_spec<bench_worker>("w", peeper::self())};
    peeper::supervisor_flags flags{.max_restarts = 1 << 30};
    auto sup = co_await peeper::supervisor::start_link(std::move(children), flags);
    peeper::pid child = (co_await peeper::receive<started>())->process;
    std::vector<double> us;
    us.reserve(static_cast<std::size_t>(restarts));
    for (int i = 0; i < restarts; ++i) {
      auto t0 = clk::now();
      peeper::exit(child, peeper::exit_reason::kill());
      child = (co_await peeper::receive<started>())->process;
      co_await peeper::async_call(peeper::server_ref<bench_worker>(child), ping{});
      us.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
    }
    peeper::unlink(sup.process());
    co_await peeper::supervisor::async_stop(sup.process());
    done.set_value(std::move(us));
  });
  auto us = done.get_future().get();
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

struct dynamic_times {
  double start_s;
  double stop_s;
};

/// `n` children started one by one from a process, then the supervisor stopped.
dynamic_times dynamic_children(unsigned threads, int n) {
  peeper::runtime rt({.threads = threads});
  auto sup = peeper::dynamic_supervisor::start(rt).process();
  std::promise<double> started_all;
  peeper::spawn(rt, [&started_all, sup, n]() -> peeper::task<> {
    auto t0 = clk::now();
    for (int i = 0; i < n; ++i) {
      auto c = peeper::dynamic_supervisor::worker_child<bench_worker>(peeper::pid());
      co_await peeper::dynamic_supervisor::async_start_child(sup, std::move(c));
    }
    started_all.set_value(seconds(clk::now() - t0));
  });
  double start_s = started_all.get_future().get();
  if (peeper::dynamic_supervisor::count_children(sup).active != static_cast<std::size_t>(n)) {
    std::fprintf(stderr, "dynamic: wrong child count\n");
  }
  auto t0 = clk::now();
  peeper::dynamic_supervisor::stop(sup);
  double stop_s = seconds(clk::now() - t0);
  return {start_s, stop_s};
}

struct tree_figures {
  double start_s;
  double rss_mb;
  double stop_s;
};

tree_figures tree(unsigned threads, int supervisors) {
  malloc_trim(0);
  peeper::runtime rt({.threads = threads});
  std::vector<peeper::child_spec> workers;
  for (int w = 0; w < 10; ++w) {
    workers.push_back(peeper::worker_spec<bench_worker>("w" + std::to_string(w), peeper::pid()));
  }
  std::vector<peeper::child_spec> subs;
  subs.reserve(static_cast<std::size_t>(supervisors));
  for (int s = 0; s < supervisors; ++s) {
    subs.push_back(peeper::supervisor::spec("s" + std::to_string(s), workers));
  }
  long rss0 = rss_bytes();
  auto t0 = clk::now();
  auto top = peeper::supervisor::start(rt, std::move(subs)).process();
  double start_s = seconds(clk::now() - t0);
  long rss1 = rss_bytes();
  if (rt.process_count() != static_cast<std::size_t>(1 + supervisors * 11)) {
    std::fprintf(stderr, "tree: wrong process count %zu\n", rt.process_count());
  }
  t0 = clk::now();
  peeper::supervisor::stop(top);
  double stop_s = seconds(clk::now() - t0);
  return {start_s, static_cast<double>(rss1 - rss0) / (1024.0 * 1024.0), stop_s};
}

}  // namespace sup_bench

int main(int argc, char** argv) {
  using namespace sup_bench;
  CLI::App app("Supervisor benchmarks: medians of several runs");
  unsigned threads = 2;
  int runs = 5;
  int restarts = 20000;
  int children = 100000;
  int tree_size = 10000;
  app.add_option("--threads", threads, "scheduler threads");
  app.add_option("--runs", runs, "runs per figure (the median is printed)");
  app.add_option("--restarts", restarts, "restarts measured per run");
  app.add_option("--children", children, "DynamicSupervisor children");
  app.add_option("--tree", tree_size, "supervisors under the top one (10 workers each)");
  CLI11_PARSE(app, argc, argv);
  peeper::set_log_level(peeper::log_level::off);  // the restarts are crashes on purpose

  std::vector<double> lat_med;
  std::vector<double> lat_p99;
  std::vector<double> dyn_start;
  std::vector<double> dyn_stop;
  std::vector<double> tree_start;
  std::vector<double> tree_rss;
  std::vector<double> tree_stop;
  for (int r = 0; r < runs; ++r) {
    auto l = restart_latency(threads, restarts);
    lat_med.push_back(l.median_us);
    lat_p99.push_back(l.p99_us);
    auto d = dynamic_children(threads, children);
    dyn_start.push_back(d.start_s);
    dyn_stop.push_back(d.stop_s);
    auto t = tree(threads, tree_size);
    tree_start.push_back(t.start_s);
    tree_rss.push_back(t.rss_mb);
    tree_stop.push_back(t.stop_s);
  }
  std::printf("supervisor benchmarks: %u scheduler threads, median of %d runs\n\n", threads, runs);
  std::printf("| figure | median | target |\n| --- | --- | --- |\n");
  std::printf(
      "| restart latency (kill -> replacement answers a call), median of %d | %.2f us | <= 5 us "
      "|\n",
      restarts, median(lat_med));
  std::printf("| restart latency, p99 | %.2f us | |\n", median(lat_p99));
  std::printf("| start %d GenServer children under one DynamicSupervisor | %.3f s | <= 0.2 s |\n",
              children, median(dyn_start));
  std::printf("| stop that DynamicSupervisor (all %d children) | %.3f s | report |\n", children,
              median(dyn_stop));
  std::printf("| start a tree of %d supervisors x 10 workers | %.3f s | report |\n", tree_size,
              median(tree_start));
  std::printf("| RSS growth of that tree | %.1f MB | report |\n", median(tree_rss));
  std::printf("| stop that tree | %.3f s | report |\n", median(tree_stop));
  return 0;
}
