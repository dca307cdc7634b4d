// Nodes: start and publish, clear errors, connections between C++ nodes and with Erlang,
// net_adm:ping, wrong cookies refused both ways, garbage on the listen port.
#include <string>

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <peeper/dist/codec.hpp>
#include <peeper/dist/node.hpp>
#include <peeper/dist/remote.hpp>
#include <peeper/runtime/process.hpp>

#include "dist_test_support.hpp"

namespace dist_node_test {

using namespace std::chrono_literals;
using dist_test::steady;
namespace dist = peeper::dist;

class dist_node : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(epmd_.ok()) << "epmd did not start"; }
  dist::node_options opts(const std::string& name, const std::string& cookie = "secret") const {
    return {.name = name, .cookie = cookie, .epmd_port = epmd_.port(), .tick_time = 200ms};
  }
  dist_test::epmd epmd_;
};

TEST_F(dist_node, start_publishes_and_erlang_pings_pong) {
  peeper::runtime rt({.threads = 2});
  auto n = dist::node::start(rt, opts("cpp1@127.0.0.1"));
  EXPECT_EQ(n.name(), "cpp1@127.0.0.1");
  EXPECT_GE(n.creation(), 4U);
  auto erl =
      dist_test::erl_node(epmd_, "e1@127.0.0.1", "secret", ".",
                          "io:format(\"ping ~p~n\", [net_adm:ping('cpp1@127.0.0.1')]), halt().");
  auto l = erl.wait_for("ping", steady::now() + 30s);
  ASSERT_TRUE(l) << erl.seen();
  EXPECT_EQ(*l, "ping pong");
}

TEST_F(dist_node, errors_are_clear) {
  peeper::runtime rt({.threads = 2});
  auto expect_code = [&](dist::node_options o, dist::node_errc code) {
    try {
      auto n = dist::node::start(rt, std::move(o));
      ADD_FAILURE() << "started";
    } catch (const dist::node_error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
    }
  };
  expect_code(opts("nohost"), dist::node_errc::bad_name);
  expect_code(opts("a@b@c"), dist::node_errc::bad_name);
  expect_code(opts("x@127.0.0.1", ""), dist::node_errc::bad_name);
  auto no_epmd = opts("x@127.0.0.1");
  no_epmd.epmd_port = dist_test::free_port();
  expect_code(no_epmd, dist::node_errc::epmd_unreachable);

  auto n = dist::node::start(rt, opts("cpp1@127.0.0.1"));
  expect_code(opts("cpp2@127.0.0.1"), dist::node_errc::already_started);
  peeper::runtime rt2({.threads = 1});
  try {
    auto again = dist::node::start(rt2, opts("cpp1@127.0.0.1"));
    ADD_FAILURE() << "a taken name was accepted";
  } catch (const dist::node_error& e) {
    EXPECT_EQ(e.code(), dist::node_errc::name_taken) << e.what();
  }
  try {
    n.connect("ghost@127.0.0.1");
    ADD_FAILURE() << "connected to a node epmd does not know";
  } catch (const dist::node_error& e) {
    EXPECT_EQ(e.code(), dist::node_errc::unknown_node) << e.what();
  }
}

TEST_F(dist_node, two_cpp_nodes_connect_and_see_each_other) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = dist::node::start(rt1, opts("cpp1@127.0.0.1"));
  auto n2 = dist::node::start(rt2, opts("cpp2@127.0.0.1"));
  n1.connect("cpp2@127.0.0.1");
  EXPECT_EQ(n1.nodes(), std::vector<std::string>{"cpp2@127.0.0.1"});
  // The accepting side registers the connection on its I/O thread's start: wait for it.
  const auto deadline = steady::now() + 10s;
  while (n2.nodes().empty() && steady::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(n2.nodes(), std::vector<std::string>{"cpp1@127.0.0.1"});
  n1.connect("cpp2@127.0.0.1");  // already connected: no-op
  EXPECT_TRUE(n1.disconnect("cpp2@127.0.0.1"));
}

TEST_F(dist_node, wrong_cookie_is_refused_both_ways) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = dist::node::start(rt1, opts("cpp1@127.0.0.1", "secret"));
  auto n2 = dist::node::start(rt2, opts("cpp2@127.0.0.1", "other"));
  try {
    n1.connect("cpp2@127.0.0.1");
    ADD_FAILURE() << "connected with a wrong cookie";
  } catch (const dist::node_error& e) {
    EXPECT_EQ(e.code(), dist::node_errc::auth_failed) << e.what();
  }
  EXPECT_TRUE(n1.nodes().empty());
  // A message to a node whose cookie differs never arrives.
  std::atomic<int> got{0};
  auto p = peeper::spawn(rt2, [&]() -> peeper::task<> {
    auto m = co_await peeper::receive<dist::term>(2s);
    if (m) ++got;
  });
  peeper::register_name(rt2, "inbox", p);
  (void)dist::send(n1, dist::remote_name{"inbox", "cpp2@127.0.0.1"}, dist::atom{"hi"});
  // Erlang with the wrong cookie: pang, and the C++ node logs the refusal.
  auto erl =
      dist_test::erl_node(epmd_, "e1@127.0.0.1", "wrong", ".",
                          "io:format(\"ping ~p~n\", [net_adm:ping('cpp1@127.0.0.1')]), halt().");
  auto l = erl.wait_for("ping", steady::now() + 30s);
  ASSERT_TRUE(l) << erl.seen();
  EXPECT_EQ(*l, "ping pang");
  EXPECT_EQ(got.load(), 0);
}

TEST_F(dist_node, garbage_on_the_listen_port_does_not_hurt) {
  peeper::runtime rt1({.threads = 2});
  peeper::runtime rt2({.threads = 2});
  auto n1 = dist::node::start(rt1, opts("cpp1@127.0.0.1"));
  auto n2 = dist::node::start(rt2, opts("cpp2@127.0.0.1"));
  {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(n1.port());
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    const char junk[] = "\x00\x05GARBAGE and more garbage";
    ASSERT_GT(::write(fd, junk, sizeof junk), 0);
    ::close(fd);
  }
  n2.connect("cpp1@127.0.0.1");  // still accepting
  EXPECT_EQ(n2.nodes().size(), 1U);
}

}  // namespace dist_node_test
