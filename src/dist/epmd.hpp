// A client of epmd, the Erlang port mapper (the protocol of ERTS's "Distribution Protocol"
// chapter): publishing a node (ALIVE2, the connection stays open while published) and looking
// up the port of another (PORT_PLEASE2). Ours rather than ei's so that every node can use its
// own epmd port (ei reads ERL_EPMD_PORT once per process).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "dist/socket.hpp"

namespace peeper::dist::detail {

/// What went wrong talking to epmd.
enum class epmd_status : std::uint8_t { ok, unreachable, refused, protocol };

struct epmd_publish_result {
  epmd_status status = epmd_status::ok;
  fd_guard connection;  // open while the node is published
};

/// Registers `alive` (the part of a node name before '@') at 127.0.0.1:`epmd_port` as a hidden
/// node listening on `listen_port`. `refused` means the name is taken. Blocks up to `timeout`.
epmd_publish_result epmd_publish(std::uint16_t epmd_port, const std::string& alive,
                                 std::uint16_t listen_port, std::chrono::milliseconds timeout);

struct epmd_lookup_result {
  epmd_status status = epmd_status::ok;
  std::uint16_t port = 0;
};

/// The distribution port of node `alive` on `host` (epmd at `host`:`epmd_port`). `refused`
/// means epmd does not know the name. Blocks up to `timeout`.
epmd_lookup_result epmd_port_please(const std::string& host, std::uint16_t epmd_port,
                                    const std::string& alive, std::chrono::milliseconds timeout);

}  // namespace peeper::dist::detail
