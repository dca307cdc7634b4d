// Distribution benchmarks, side by side in one run over loopback:
//   call round trip   C++ -> C++ node, Erlang -> C++ node, Erlang -> Erlang node (the anchor)
//   casts per second  C++ -> C++ node, Erlang -> Erlang node
//   dist::transfer    of a Peeper instance whose kept table has --rows rows, C++ -> C++ node
// Each figure is the median of --runs runs. Starts its own epmd on a free port and its own
// erl nodes (killed at the end). Needs erl, erlc and epmd on the PATH.
//
//   build/release/bench/dist_table [--calls N] [--casts N] [--rows N] [--runs N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <peeper/dist/codec.hpp>
#include <peeper/dist/expose.hpp>
#include <peeper/dist/node.hpp>
#include <peeper/dist/remote.hpp>
#include <peeper/dist/transfer.hpp>
#include <peeper/gen_server/gen_server.hpp>
#include <peeper/server/server.hpp>
#include <peeper/supervisor/dynamic_supervisor.hpp>
#include <peeper/table/make_table.hpp>

namespace {

using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace dist = peeper::dist;

struct get {};
struct add {
  int n = 0;
};

}  // namespace

template <>
struct peeper::dist::term_mapping<get> {
  static constexpr std::string_view tag = "get";
};
template <>
struct peeper::dist::term_mapping<add> {
  static constexpr std::string_view tag = "add";
  static constexpr auto fields = std::make_tuple(&add::n);
};

namespace {

/// A Peeper server whose worker keeps a table of `rows` rows (its state); get reads row 0.
struct rows_server : peeper::gen_server<rows_server, long> {
  long init(long rows) {
    if (!peeper::find_table<long, long>("rows")) {
      auto t = peeper::make_table<long, long>({.name = "rows", .heir = peeper::server_heir()});
      std::vector<std::pair<long, long>> objects;
      objects.reserve(static_cast<std::size_t>(rows));
      for (long i = 0; i < rows; ++i) objects.emplace_back(i, i);
      t.insert(std::move(objects));
    }
    return rows;
  }
  auto handle_call(get /*m*/, const long& /*s*/) {
    return peeper::reply(static_cast<long>(peeper::find_table<long, long>("rows")->size()));
  }
};

struct counter : peeper::gen_server<counter, long> {
  long init(long s) { return s; }
  auto handle_call(get /*m*/, const long& s) { return peeper::reply(s); }
  auto handle_call(add a, long& s) {
    s += a.n;
    return peeper::reply(s);
  }
  auto handle_cast(add a, long& s) {
    s += a.n;
    return peeper::noreply();
  }
};

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

/// A child process group with its stdout piped; killed on destruction.
class child {
 public:
  explicit child(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::dup2(fds[1], 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    ::close(fds[1]);
    out_ = fds[0];
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  ~child() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  std::optional<std::string> line(steady::time_point deadline) {
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char tmp[4096];
      ssize_t n = ::read(out_, tmp, sizeof tmp);
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }
  std::optional<std::string> wait_for(const std::string& prefix, steady::time_point deadline) {
    while (auto l = line(deadline)) {
      if (l->rfind(prefix, 0) == 0) return l->substr(prefix.size());
    }
    return std::nullopt;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buf_;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

child erl(const std::string& name, const std::string& ebin, const std::string& eval) {
  return child({"erl", "-start_epmd", "false", "-name", name, "-setcookie", "bench", "-noshell",
                "-pa", ebin, "-eval", eval});
}

// The Erlang timing script: `runs` x (N calls), then `runs` x (M casts + one call), to S.
std::string erl_script(const std::string& target, int calls, int casts, int runs) {
  return "S = " + target + ", N = " + std::to_string(calls) + ", M = " + std::to_string(casts) +
         ", R = " + std::to_string(runs) +
         ", gen_server:call(S, get),"
         " [begin {T, _} = timer:tc(fun() -> lists:foreach(fun(_) -> gen_server:call(S, get) "
         "end, lists:seq(1, N)) end), io:format(\"rt ~p~n\", [T / N]) end || _ <- "
         "lists:seq(1, R)],"
         " [begin {T2, _} = timer:tc(fun() -> lists:foreach(fun(_) -> gen_server:cast(S, {add, "
         "1}) end, lists:seq(1, M)), gen_server:call(S, get) end), io:format(\"cast ~p~n\", [M "
         "/ (T2 / 1.0e6)]) end || _ <- lists:seq(1, R)], halt().";
}

struct figures {
  std::vector<double> rt_us;
  std::vector<double> casts_per_s;
};

figures read_erl_figures(child& c, int runs) {
  figures f;
  const auto deadline = steady::now() + 300s;
  for (int i = 0; i < runs; ++i) {
    if (auto v = c.wait_for("rt ", deadline)) f.rt_us.push_back(std::stod(*v));
  }
  for (int i = 0; i < runs; ++i) {
    if (auto v = c.wait_for("cast ", deadline)) f.casts_per_s.push_back(std::stod(*v));
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Distribution benchmarks: call round trips and cast throughput over loopback"};
  int calls = 20000;
  int casts = 200000;
  int runs = 5;
  long rows = 100000;
  app.add_option("--calls", calls, "calls per run (round trip)");
  app.add_option("--rows", rows, "rows of the table a transferred instance keeps");
  app.add_option("--casts", casts, "casts per run (throughput)");
  app.add_option("--runs", runs, "runs per figure (the median is printed)");
  CLI11_PARSE(app, argc, argv);
  ::signal(SIGPIPE, SIG_IGN);

  const std::uint16_t epmd_port = free_port();
  ::setenv("ERL_EPMD_PORT", std::to_string(epmd_port).c_str(), 1);
  child epmd({"epmd", "-address", "127.0.0.1", "-port", std::to_string(epmd_port)});
  const auto src = std::filesystem::path(__FILE__).parent_path() / ".." / "tests" / "dist";
  const auto ebin =
      std::filesystem::temp_directory_path() / ("peeper_dist_bench_" + std::to_string(::getpid()));
  std::filesystem::create_directories(ebin);
  if (std::system(("erlc -o " + ebin.string() + " " + (src / "dist_peer.erl").string()).c_str()) !=
      0) {
    std::fprintf(stderr, "erlc failed\n");
    return 1;
  }

  // Erlang -> Erlang (the anchor).
  figures ee;
  {
    child e1 = erl("e1@127.0.0.1", ebin.string(), "dist_peer:serve().");
    if (!e1.wait_for("ready", steady::now() + 60s)) {
      std::fprintf(stderr, "e1 did not start\n");
      return 1;
    }
    child e2 = erl("e2@127.0.0.1", ebin.string(),
                   erl_script("{ecounter, 'e1@127.0.0.1'}", calls, casts, runs));
    ee = read_erl_figures(e2, runs);
  }

  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 =
      dist::node::start(rt1, {.name = "cpp1@127.0.0.1", .cookie = "bench", .epmd_port = epmd_port});
  auto n2 =
      dist::node::start(rt2, {.name = "cpp2@127.0.0.1", .cookie = "bench", .epmd_port = epmd_port});
  dist::expose<counter>(n1, "counter", dist::calls<get, add>{}, dist::casts<add>{});
  dist::expose<counter>(n2, "counter", dist::calls<get, add>{}, dist::casts<add>{});
  auto c1 = peeper::start<counter>(rt1, 0L, {.name = "counter"}).value();
  auto c2 = peeper::start<counter>(rt2, 0L, {.name = "counter"}).value();
  (void)c1;
  (void)c2;

  // Erlang -> C++.
  figures ec;
  {
    child e2 = erl("e2@127.0.0.1", ebin.string(),
                   erl_script("{counter, 'cpp1@127.0.0.1'}", calls, casts, runs));
    ec = read_erl_figures(e2, runs);
  }

  // C++ -> C++: from a thread outside the runtime (blocking calls), as the Erlang script does
  // from one process.
  figures cc;
  const dist::remote_name target{"counter", "cpp2@127.0.0.1"};
  (void)dist::call<long>(n1, target, get{});
  for (int r = 0; r < runs; ++r) {
    const auto t0 = steady::now();
    for (int i = 0; i < calls; ++i) (void)dist::call<long>(n1, target, get{});
    const std::chrono::duration<double, std::micro> us = steady::now() - t0;
    cc.rt_us.push_back(us.count() / calls);
  }
  for (int r = 0; r < runs; ++r) {
    const auto t0 = steady::now();
    for (int i = 0; i < casts; ++i) (void)dist::cast(n1, target, add{1});
    (void)dist::call<long>(n1, target, get{}, 60s);
    const std::chrono::duration<double> s = steady::now() - t0;
    cc.casts_per_s.push_back(casts / s.count());
  }

  // dist::transfer of an instance with a kept table, to a DynamicSupervisor of the other node,
  // until the first call there answers (it reads the table).
  std::vector<double> move_ms;
  {
    namespace dyn = peeper::dynamic_supervisor;
    dist::transferable<rows_server>(n1, "rows", dist::calls<get>{},
                                    dist::table_types<peeper::table<long, long>>{});
    dist::transferable<rows_server>(n2, "rows", dist::calls<get>{},
                                    dist::table_types<peeper::table<long, long>>{});
    const peeper::pid source = dyn::start(rt1).process();
    const peeper::pid target = dyn::start(rt2).process();
    (void)peeper::register_name(rt2, "workers", target);
    for (int r = 0; r < runs; ++r) {
      const std::string name = "mover" + std::to_string(r);
      peeper::server_options<long> o;
      o.name = name;
      o.state = rows;
      (void)dyn::start_child(source, peeper::server_child<rows_server>(o));
      const auto t0 = steady::now();
      (void)dist::transfer(n1, name, source, {"workers", "cpp2@127.0.0.1"}, 60s);
      const long got = dist::call<long>(n1, dist::remote_name{name, "cpp2@127.0.0.1"}, get{}, 60s);
      const std::chrono::duration<double, std::milli> ms = steady::now() - t0;
      if (got != rows) {
        std::fprintf(stderr, "transfer: %ld rows arrived, not %ld\n", got, rows);
        return 1;
      }
      move_ms.push_back(ms.count());
    }
  }

  const double ee_rt = median(ee.rt_us);
  const double ec_rt = median(ec.rt_us);
  const double cc_rt = median(cc.rt_us);
  const double ee_cast = median(ee.casts_per_s);
  const double cc_cast = median(cc.casts_per_s);
  std::printf("Distribution over loopback: medians of %d runs (%d calls, %d casts per run)\n\n",
              runs, calls, casts);
  std::printf("| measure | figure | vs Erlang -> Erlang |\n|---|---:|---:|\n");
  std::printf("| call round trip, Erlang -> Erlang (anchor) | %.1f us | 1.00x |\n", ee_rt);
  std::printf("| call round trip, Erlang -> C++ | %.1f us | %.2fx %s |\n", ec_rt, ee_rt / ec_rt,
              ec_rt <= ee_rt ? "faster" : "slower");
  std::printf("| call round trip, C++ -> C++ | %.1f us | %.2fx %s |\n", cc_rt, ee_rt / cc_rt,
              cc_rt <= ee_rt ? "faster" : "slower");
  std::printf("| casts/s, Erlang -> Erlang (anchor) | %.0f | 1.00x |\n", ee_cast);
  std::printf("| casts/s, Erlang -> C++ | %.0f | %.2fx |\n", median(ec.casts_per_s),
              median(ec.casts_per_s) / ee_cast);
  std::printf("| casts/s, C++ -> C++ | %.0f | %.2fx %s |\n", cc_cast, cc_cast / ee_cast,
              cc_cast >= ee_cast ? "faster" : "slower");
  std::printf("| dist::transfer with a %ld-row kept table, to the first call there | %.1f ms | |\n",
              rows, median(move_ms));
  std::filesystem::remove_all(ebin);
  return 0;
}
