// Small POSIX socket helpers for the distribution layer: an owning descriptor, address
// resolution, connect with a deadline, and reading/writing exactly N bytes with a deadline.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <netinet/in.h>

namespace peeper::dist::detail {

/// Owns a file descriptor; closes it on destruction.
class fd_guard {
 public:
  fd_guard() noexcept = default;
  explicit fd_guard(int fd) noexcept : fd_(fd) {}
  fd_guard(fd_guard&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  fd_guard& operator=(fd_guard&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

/// The IPv4 address of `host` (a dotted quad or a name), or nullopt.
std::optional<in_addr> resolve_ipv4(const std::string& host);

/// A TCP connection to addr:port made within `timeout` (blocking mode), or an empty guard.
fd_guard connect_tcp(in_addr addr, std::uint16_t port, std::chrono::milliseconds timeout);

/// Writes all of [data, data+size) before `deadline` (a blocking or non-blocking socket).
bool write_all(int fd, const void* data, std::size_t size,
               std::chrono::steady_clock::time_point deadline);
/// Reads exactly `size` bytes before `deadline`. False on EOF, error or timeout.
bool read_exact(int fd, void* data, std::size_t size,
                std::chrono::steady_clock::time_point deadline);

/// Sets O_NONBLOCK. False on error.
bool set_nonblocking(int fd) noexcept;
/// Disables Nagle's algorithm (distribution frames are latency-bound).
void set_nodelay(int fd) noexcept;

/// Big-endian helpers for the wire formats.
inline void put_u16(unsigned char* p, std::uint16_t v) noexcept {
  p[0] = static_cast<unsigned char>(v >> 8);
  p[1] = static_cast<unsigned char>(v);
}
inline void put_u32(unsigned char* p, std::uint32_t v) noexcept {
  p[0] = static_cast<unsigned char>(v >> 24);
  p[1] = static_cast<unsigned char>(v >> 16);
  p[2] = static_cast<unsigned char>(v >> 8);
  p[3] = static_cast<unsigned char>(v);
}
inline std::uint16_t get_u16(const unsigned char* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t get_u32(const unsigned char* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

}  // namespace peeper::dist::detail
