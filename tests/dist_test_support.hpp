// Helpers for the distribution tests: a private epmd, Erlang / Elixir / forked C++ peer
// processes that are always killed (process groups, RAII), and waiting on what they print.
//
// Every wait is on an event (a line printed by a peer, a port that accepts, a node that epmd
// knows) bounded by a deadline; nothing sleeps to synchronise.
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dist_test {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

/// A TCP port free now on 127.0.0.1 (the kernel's pick for port 0).
inline std::uint16_t free_port() {
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

/// True once 127.0.0.1:port accepts a TCP connection; retried until `deadline`.
inline bool wait_port(std::uint16_t port, steady::time_point deadline) {
  while (steady::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::yield();  // retry: connect fails at once while nothing listens
  }
  return false;
}

/// A child process in its own process group, its stdout (and stderr) read through a pipe.
/// Destroying it kills the whole group (SIGKILL) and reaps it.
class child {
 public:
  child() = default;
  /// Runs argv (the environment is inherited: epmd sets ERL_EPMD_PORT before).
  explicit child(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
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
  /// A forked copy of this program running `body` (call only while no other thread runs).
  static child fork_body(const std::function<int(int out_fd)>& body) {
    child c;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return c;
    c.pid_ = ::fork();
    if (c.pid_ == 0) {
      ::setpgid(0, 0);
      ::close(fds[0]);
      ::_exit(body(fds[1]));
    }
    ::setpgid(c.pid_, c.pid_);
    ::close(fds[1]);
    c.out_ = fds[0];
    return c;
  }
  child(child&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)),
        out_(std::exchange(o.out_, -1)),
        buf_(std::move(o.buf_)),
        seen_(std::move(o.seen_)) {}
  child& operator=(child&& o) noexcept {
    if (this != &o) {
      kill();
      pid_ = std::exchange(o.pid_, -1);
      out_ = std::exchange(o.out_, -1);
      buf_ = std::move(o.buf_);
      seen_ = std::move(o.seen_);
    }
    return *this;
  }
  ~child() { kill(); }

  [[nodiscard]] pid_t id() const { return pid_; }

  /// The next line it prints, or nullopt at `deadline` or EOF.
  std::optional<std::string> line(steady::time_point deadline) {
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        seen_ += l + "\n";
        return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      if (left.count() <= 0 || out_ < 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char tmp[4096];
      ssize_t n = ::read(out_, tmp, sizeof tmp);
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }
  /// Waits for a line containing `text`; returns that line, or nullopt.
  std::optional<std::string> wait_for(const std::string& text, steady::time_point deadline) {
    while (auto l = line(deadline)) {
      if (l->find(text) != std::string::npos) return l;
    }
    return std::nullopt;
  }
  /// Everything read so far (for failure messages).
  [[nodiscard]] const std::string& seen() const { return seen_; }

  /// SIGSTOP, then waits until it has stopped: a stop takes effect asynchronously, and until
  /// then its threads may still run (and answer). False if it could not be stopped.
  bool stop() {
    if (pid_ <= 0 || ::kill(pid_, SIGSTOP) != 0) return false;
    int status = 0;
    return ::waitpid(pid_, &status, WUNTRACED) == pid_ && WIFSTOPPED(status);
  }

  /// SIGKILL to the group, then reap. Idempotent.
  void kill() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (out_ >= 0) {
      ::close(out_);
      out_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buf_;
  std::string seen_;
};

/// A private epmd on a free port, ERL_EPMD_PORT set for this process and its children.
class epmd {
 public:
  epmd() : port_(free_port()) {
    proc_ = child({"epmd", "-address", "127.0.0.1", "-port", std::to_string(port_)});
    ::setenv("ERL_EPMD_PORT", std::to_string(port_).c_str(), 1);
    ok_ = wait_port(port_, steady::now() + 10s);
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::string env() const { return "ERL_EPMD_PORT=" + std::to_string(port_); }

 private:
  std::uint16_t port_;
  child proc_;
  bool ok_ = false;
};

/// The directory of the Erlang sources of the tests.
inline std::filesystem::path erl_sources() {
  return std::filesystem::path(__FILE__).parent_path() / "dist";
}

/// Compiles tests/dist/dist_peer.erl into a fresh temporary directory; returns it.
inline std::string compile_peer_module() {
  auto dir = std::filesystem::temp_directory_path() / ("peeper_dist_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cmd =
      "erlc -o " + dir.string() + " " + (erl_sources() / "dist_peer.erl").string();
  if (std::system(cmd.c_str()) != 0) return {};
  return dir.string();
}

/// An `erl` node running `eval` (with the test module on its path).
inline child erl_node(const epmd& /*e*/, const std::string& name, const std::string& cookie,
                      const std::string& ebin, const std::string& eval) {
  return child({"erl", "-start_epmd", "false", "-name", name, "-setcookie", cookie, "-noshell",
                "-pa", ebin, "-eval", eval});
}

/// An Elixir node running `script`.
inline child elixir_node(const epmd& /*e*/, const std::string& name, const std::string& cookie,
                         const std::string& script) {
  return child(
      {"elixir", "--erl", "-start_epmd false", "--name", name, "--cookie", cookie, "-e", script});
}

}  // namespace dist_test
