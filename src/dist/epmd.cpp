// The epmd client (see epmd.hpp). Wire formats: ERTS User's Guide, "Distribution Protocol".
#include "dist/epmd.hpp"

#include <array>
#include <vector>

#include <arpa/inet.h>

namespace peeper::dist::detail {

namespace {

using steady = std::chrono::steady_clock;

constexpr unsigned char alive2_req = 120;        // 'x'
constexpr unsigned char alive2_resp = 121;       // 'y': 2-byte creation
constexpr unsigned char alive2_x_resp = 118;     // 'v': 4-byte creation
constexpr unsigned char port_please2_req = 122;  // 'z'
constexpr unsigned char port2_resp = 119;        // 'w'
constexpr unsigned char hidden_node = 72;
constexpr unsigned char tcp_ipv4 = 0;
constexpr std::uint16_t dist_version = 6;  // OTP 23+: the handshake ei speaks
constexpr std::uint16_t lowest_version = 5;

std::vector<unsigned char> request(const std::vector<unsigned char>& body) {
  std::vector<unsigned char> out(2 + body.size());
  put_u16(out.data(), static_cast<std::uint16_t>(body.size()));
  std::copy(body.begin(), body.end(), out.begin() + 2);
  return out;
}

void append_u16(std::vector<unsigned char>& v, std::uint16_t x) {
  v.push_back(static_cast<unsigned char>(x >> 8));
  v.push_back(static_cast<unsigned char>(x));
}

}  // namespace

epmd_publish_result epmd_publish(std::uint16_t epmd_port, const std::string& alive,
                                 std::uint16_t listen_port, std::chrono::milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  epmd_publish_result out;
  in_addr lo{};
  lo.s_addr = htonl(INADDR_LOOPBACK);
  fd_guard fd = connect_tcp(lo, epmd_port, timeout);
  if (!fd) {
    out.status = epmd_status::unreachable;
    return out;
  }
  std::vector<unsigned char> body{alive2_req};
  append_u16(body, listen_port);
  body.push_back(hidden_node);
  body.push_back(tcp_ipv4);
  append_u16(body, dist_version);
  append_u16(body, lowest_version);
  append_u16(body, static_cast<std::uint16_t>(alive.size()));
  body.insert(body.end(), alive.begin(), alive.end());
  append_u16(body, 0);  // no extra
  auto req = request(body);
  std::array<unsigned char, 2> head{};
  if (!write_all(fd.get(), req.data(), req.size(), deadline) ||
      !read_exact(fd.get(), head.data(), head.size(), deadline)) {
    out.status = epmd_status::unreachable;
    return out;
  }
  if (head[0] != alive2_resp && head[0] != alive2_x_resp) {
    out.status = epmd_status::protocol;
    return out;
  }
  if (head[1] != 0) {
    out.status = epmd_status::refused;
    return out;
  }
  // The creation epmd hands out is not used: the node picks a unique one itself.
  std::array<unsigned char, 4> creation{};
  if (!read_exact(fd.get(), creation.data(), head[0] == alive2_x_resp ? 4 : 2, deadline)) {
    out.status = epmd_status::protocol;
    return out;
  }
  out.connection = std::move(fd);
  return out;
}

epmd_lookup_result epmd_port_please(const std::string& host, std::uint16_t epmd_port,
                                    const std::string& alive, std::chrono::milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  epmd_lookup_result out;
  auto addr = resolve_ipv4(host);
  fd_guard fd = addr ? connect_tcp(*addr, epmd_port, timeout) : fd_guard();
  if (!fd) {
    out.status = epmd_status::unreachable;
    return out;
  }
  std::vector<unsigned char> body{port_please2_req};
  body.insert(body.end(), alive.begin(), alive.end());
  auto req = request(body);
  std::array<unsigned char, 4> head{};  // 'w', result, port (2)
  if (!write_all(fd.get(), req.data(), req.size(), deadline) ||
      !read_exact(fd.get(), head.data(), 2, deadline)) {
    out.status = epmd_status::unreachable;
    return out;
  }
  if (head[0] != port2_resp) {
    out.status = epmd_status::protocol;
    return out;
  }
  if (head[1] != 0) {
    out.status = epmd_status::refused;
    return out;
  }
  if (!read_exact(fd.get(), head.data() + 2, 2, deadline)) {
    out.status = epmd_status::protocol;
    return out;
  }
  out.port = get_u16(head.data() + 2);
  return out;
}

}  // namespace peeper::dist::detail
