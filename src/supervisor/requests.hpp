// Sending a request to a supervisor process, blocking or awaited.
#pragma once

#include <memory>
#include <utility>

#include <peeper/gen_server/call.hpp>
#include <peeper/gen_server/detail/request.hpp>
#include <peeper/supervisor/detail/operation.hpp>

#include "supervisor/host.hpp"

namespace peeper::detail::sup {

template <class Op>
void invoke_op(void* host, request_envelope& r) {
  static_cast<host_base*>(host)->dispatch(std::move(static_cast<request<Op>&>(r).msg),
                                          from(std::move(r.reply_to)));
}

template <class Op>
envelope_ptr make_op(Op op) {
  return std::make_unique<request<Op>>(envelope_kind::call, type_id<host_tag>(), &invoke_op<Op>,
                                       std::move(op));
}

template <class T, class Op>
T blocking_op(const pid& sup, Op op, const char* what) {
  std::optional<op_reply> r;
  try {
    r.emplace(blocking_request<op_reply>(sup, make_op(std::move(op)), infinity, what));
  } catch (const call_error& e) {
    throw_call_failure(e, what);
  }
  return unwrap<T>(std::move(*r), what);
}

template <class T, class Op>
op_awaitable<T> async_op(const pid& sup, Op op, const char* what) {
  return op_awaitable<T>(request_op<op_reply>(sup, make_op(std::move(op)), infinity, what), what);
}

}  // namespace peeper::detail::sup
