// pid_context: how a node turns its local peeper::pids into Erlang pids and back.
//
// A peeper::pid means nothing on the wire without the node's name and creation, so the codec
// asks a pid_context, which the node layer implements, to translate. term_writer and
// term_reader take an optional pid_context*; the mapping of peeper::pid uses it and fails with
// encode_error / decode_error when there is none. erl_pid needs no context.
#pragma once

#include "peeper/dist/types.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper::dist {

class pid_context {
 public:
  pid_context() = default;
  pid_context(const pid_context&) = delete;
  pid_context& operator=(const pid_context&) = delete;
  pid_context(pid_context&&) = delete;
  pid_context& operator=(pid_context&&) = delete;
  virtual ~pid_context() = default;

  /// The Erlang name of local pid `p`. Called by the codec's encoder, on the encoding thread.
  /// May throw encode_error (e.g. for the null pid); the exception reaches the encode() caller.
  virtual erl_pid to_erl(const pid& p) = 0;
  /// The peeper::pid that Erlang pid `p` stands for. Called by the codec's decoder, on the
  /// decoding thread. May throw decode_error (e.g. a pid of an unknown node); the exception
  /// reaches the decode() caller and makes try_decode() return nullopt.
  virtual pid from_erl(const erl_pid& p) = 0;
};

}  // namespace peeper::dist
