// Malformed frames on an established connection: a peer that completed the handshake (through
// ei, from this process) then writes a frame with a bad length, a truncated control tuple, a
// valid control tuple with a garbage message, or an unknown control message. The node closes
// that connection only, and goes on serving another peer connected meanwhile.
#include <array>
#include <cstring>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <ei.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <peeper/dist/node.hpp>

#include "dist_test_support.hpp"

namespace dist_frames_test {

using namespace std::chrono_literals;
using dist_test::steady;
namespace dist = peeper::dist;

/// An ei C node of this process connected to `node`: a raw distribution peer.
class raw_peer {
 public:
  raw_peer(const std::string& alive, const std::string& node) : name_(alive + "@127.0.0.1") {
    in_addr addr{};
    addr.s_addr = htonl(INADDR_LOOPBACK);
    static unsigned creation = 100;
    if (ei_connect_xinit(&ec_, "127.0.0.1", alive.c_str(), name_.c_str(), &addr, "secret",
                         ++creation) < 0) {
      return;
    }
    fd_ = ei_connect_tmo(&ec_, const_cast<char*>(node.c_str()), 5000);
  }
  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;
  ~raw_peer() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] bool connected() const { return fd_ >= 0; }

  /// Writes `bytes` as they are (a frame with its length prefix, or not).
  bool write_raw(const std::string& bytes) const {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }

  /// True once the node has closed the connection (EOF or reset), before `deadline`.
  bool wait_closed(steady::time_point deadline) const {
    std::array<char, 4096> buf{};
    while (steady::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return true;
    }
    return false;
  }

  /// net_adm:ping through this connection: {'$gen_call', {Self, ping}, {is_auth, Me}} to
  /// net_kernel; true if the node answers {ping, yes}.
  bool ping() {
    ei_x_buff x;
    ei_x_new_with_version(&x);
    ei_x_encode_tuple_header(&x, 3);
    ei_x_encode_atom(&x, "$gen_call");
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_pid(&x, ei_self(&ec_));
    ei_x_encode_atom(&x, "ping");
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_atom(&x, "is_auth");
    ei_x_encode_atom(&x, name_.c_str());
    const bool sent = ei_reg_send(&ec_, fd_, const_cast<char*>("net_kernel"), x.buff, x.index) == 0;
    ei_x_free(&x);
    if (!sent) return false;
    const auto deadline = steady::now() + 5s;
    while (steady::now() < deadline) {
      erlang_msg msg{};
      ei_x_buff in;
      ei_x_new(&in);
      const int got = ei_xreceive_msg_tmo(fd_, &msg, &in, 1000);
      bool yes = false;
      if (got == ERL_MSG && (msg.msgtype == ERL_SEND || msg.msgtype == ERL_REG_SEND)) {
        int index = 0;
        int version = 0;
        int arity = 0;
        std::array<char, MAXATOMLEN_UTF8> tag{};
        std::array<char, MAXATOMLEN_UTF8> answer{};
        yes = ei_decode_version(in.buff, &index, &version) == 0 &&
              ei_decode_tuple_header(in.buff, &index, &arity) == 0 && arity == 2 &&
              ei_decode_atom(in.buff, &index, tag.data()) == 0 &&
              ei_decode_atom(in.buff, &index, answer.data()) == 0 &&
              std::strcmp(answer.data(), "yes") == 0;
      }
      ei_x_free(&in);
      if (yes) return true;
      if (got == ERL_ERROR && erl_errno != ETIMEDOUT && erl_errno != EAGAIN) return false;
    }
    return false;
  }

 private:
  std::string name_;
  ei_cnode ec_{};
  int fd_ = -1;
};

/// A frame: its 4-byte big-endian length, then `body`.
std::string framed(const std::string& body) {
  std::string out(4, '\0');
  const auto n = static_cast<std::uint32_t>(body.size());
  out[0] = static_cast<char>((n >> 24U) & 0xFFU);
  out[1] = static_cast<char>((n >> 16U) & 0xFFU);
  out[2] = static_cast<char>((n >> 8U) & 0xFFU);
  out[3] = static_cast<char>(n & 0xFFU);
  return out + body;
}

/// 'p' and the version byte of the control term.
std::string header() { return std::string{'p', static_cast<char>(131)}; }

class dist_frames : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(epmd_.ok()) << "epmd did not start"; }
  dist_test::epmd epmd_;
};

TEST_F(dist_frames, a_malformed_frame_closes_that_connection_only) {
  peeper::runtime rt({.threads = 2});
  auto n = dist::node::start(
      rt, {.name = "cpp1@127.0.0.1", .cookie = "secret", .epmd_port = epmd_.port()});
  raw_peer good("tgood", "cpp1@127.0.0.1");
  ASSERT_TRUE(good.connected());
  ASSERT_TRUE(good.ping());

  // SEND {2, '', Pid} to the node's router pid <cpp1@127.0.0.1.0.0>, then a garbage message.
  std::string send_ctl = header();
  send_ctl += std::string{104, 3, 97, 2, 119, 0};  // {2, '',
  send_ctl += std::string{88, 119, 14} + "cpp1@127.0.0.1";
  send_ctl += std::string(12, '\0');  // num 0, serial 0, creation 0}
  const std::array<std::pair<const char*, std::string>, 5> cases{{
      {"a length beyond the frame limit", std::string("\xff\xff\xff\xff", 4) + "p"},
      {"a truncated control tuple", framed(header() + std::string{104, 3, 97, 2, 119})},
      {"a control tuple of another arity", framed(header() + std::string{104, 1, 97, 2})},
      {"a valid header and a garbage message",
       framed(send_ctl + std::string{static_cast<char>(131), static_cast<char>(0xEE), 1, 2})},
      {"an unknown control message", framed(header() + std::string{104, 2, 97, 99, 97, 0})},
  }};
  int i = 0;
  for (const auto& [what, bytes] : cases) {
    SCOPED_TRACE(what);
    raw_peer bad("tbad" + std::to_string(++i), "cpp1@127.0.0.1");
    ASSERT_TRUE(bad.connected());
    ASSERT_TRUE(bad.ping());  // the connection works until the bad frame
    ASSERT_TRUE(bad.write_raw(bytes));
    EXPECT_TRUE(bad.wait_closed(steady::now() + 5s)) << "the node kept the connection";
    EXPECT_TRUE(good.ping()) << "the other peer is no longer served";
  }
  // The socket closes just before the connection is marked down: wait for the mark.
  const auto deadline = steady::now() + 5s;
  while (n.nodes().size() > 1 && steady::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(n.nodes(), std::vector<std::string>{"tgood@127.0.0.1"});
}

}  // namespace dist_frames_test
