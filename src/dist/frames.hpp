// Distribution frames after the handshake: a pass-through byte 'p', a control tuple and, for
// sends, a message (each term with its own version byte 131). This file validates untrusted
// bytes (bounded: every length is checked against the frame before anything reads it, nesting
// is capped), decodes the control tuple, and encodes the control messages the node sends.
//
// Control messages (ERTS "Distribution Protocol"): LINK {1,From,To}, SEND {2,'',To},
// EXIT {3,From,To,Reason}, UNLINK {4,From,To}, REG_SEND {6,From,'',ToName}, EXIT2
// {8,From,To,Reason}, MONITOR_P {19,From,To,Ref}, DEMONITOR_P {20,From,To,Ref},
// MONITOR_P_EXIT {21,From,To,Ref,Reason}, SEND_SENDER {22,From,To}, UNLINK_ID {35,Id,From,To},
// UNLINK_ID_ACK {36,Id,From,To} (the link protocol of OTP 23+: ei announces DFLAG_UNLINK_ID, so
// Erlang unlinks with UNLINK_ID and waits for its ack; OTP 26 no longer accepts UNLINK).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <ei.h>

#include "peeper/runtime/exit_reason.hpp"

namespace peeper::dist::detail {

/// Frames longer than this close the connection as malformed.
inline constexpr std::uint32_t max_frame_size = 64U << 20U;
/// Deeper nesting closes the connection as malformed.
inline constexpr int max_term_depth = 256;

/// A frame that is not a valid distribution message.
class frame_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class control_op : std::uint8_t {
  link = 1,
  send = 2,
  exit = 3,
  unlink = 4,
  reg_send = 6,
  exit2 = 8,
  monitor = 19,
  demonitor = 20,
  monitor_exit = 21,
  send_sender = 22,
  unlink_id = 35,
  unlink_id_ack = 36,
};

/// A decoded control message. Views point into the frame.
struct control {
  control_op op{};
  erlang_pid from{};
  erlang_pid to{};           // SEND / LINK / EXIT... (monitors: a pid target)
  std::string to_name;       // REG_SEND; MONITOR_P by name
  std::string_view ref;      // MONITOR_P / DEMONITOR_P / MONITOR_P_EXIT: the ref's term bytes
  std::string_view reason;   // EXIT / EXIT2 / MONITOR_P_EXIT: the reason's term bytes
  std::string_view message;  // sends: the message, starting with its version byte
  std::uint64_t id = 0;      // UNLINK_ID / UNLINK_ID_ACK
};

/// Appends to `out` the bytes an ei encoder writes: `fn(buffer, index)` runs once with a null
/// buffer to measure, then again into the space made for it.
template <class Fn>
void encode_into(std::string& out, Fn&& fn) {
  int size = 0;
  fn(nullptr, &size);
  const std::size_t at = out.size();
  out.resize(at + static_cast<std::size_t>(size));
  int index = 0;
  fn(out.data() + at, &index);
}

/// Checks that [at, ...) holds one well-formed term within `buf`; returns where it ends.
/// Throws frame_error.
std::size_t validate_term(std::string_view buf, std::size_t at, int depth = 0);

/// Decodes a frame (without its length). Throws frame_error for a malformed frame and for
/// control messages the node does not handle (logged by the caller).
control parse_frame(std::string_view frame);

/// Appends control frames to `out` (no length prefix). `message` includes its version byte.
void put_send(std::string& out, const erlang_pid& to, std::string_view message);
void put_reg_send(std::string& out, const erlang_pid& from, std::string_view to_name,
                  std::string_view message);
void put_link(std::string& out, control_op op, const erlang_pid& from, const erlang_pid& to);
/// UNLINK_ID / UNLINK_ID_ACK; `id` is not 0.
void put_unlink_id(std::string& out, control_op op, std::uint64_t id, const erlang_pid& from,
                   const erlang_pid& to);
/// EXIT / EXIT2 with `reason` as term bytes (no version byte).
void put_exit(std::string& out, control_op op, const erlang_pid& from, const erlang_pid& to,
              std::string_view reason);
/// MONITOR_P / DEMONITOR_P with the ref as term bytes.
void put_monitor(std::string& out, control_op op, const erlang_pid& from, const erlang_pid& to,
                 std::string_view ref);
void put_monitor_exit(std::string& out, const erlang_pid& from, const erlang_pid& to,
                      std::string_view ref, std::string_view reason);

/// An exit reason as term bytes (no version byte): normal, shutdown, {shutdown, <<Detail>>},
/// kill, killed, noproc, noconnection, {exception, <<"type: what">>}, and error("x") as the atom
/// x when it is a plain atom, {error, <<"x">>} otherwise.
std::string encode_reason(const exit_reason& r);
/// The inverse of encode_reason for those forms; any other term T becomes error("T") printed
/// in Erlang syntax. `bytes` are term bytes (no version byte).
exit_reason decode_reason(std::string_view bytes);

/// "<node.num.serial>", for logs.
std::string print_pid(const erlang_pid& p);

/// The term's text in Erlang syntax, for logs (`bytes` start with the version byte).
std::string print_term(std::string_view bytes);

}  // namespace peeper::dist::detail
