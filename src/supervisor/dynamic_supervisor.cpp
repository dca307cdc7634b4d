// The dynamic supervisor operations.
#include <utility>

#include <peeper/supervisor/dynamic_supervisor.hpp>
#include <peeper/supervisor/supervisor.hpp>

#include "supervisor/requests.hpp"

namespace peeper::dynamic_supervisor {

using detail::sup::async_op;
using detail::sup::blocking_op;

start_outcome start(runtime& rt, options opts, start_options start_opts) {
  check_options(opts);
  try {
    return detail::blocking_start(
        rt,
        [&](from ack) {
          return detail::sup::make_dynamic_host(std::move(opts), start_opts.name, pid(),
                                                std::move(ack));
        },
        start_opts);
  } catch (const call_error& e) {
    detail::throw_call_failure(e, "start");
  }
}

detail::supervisor_start_op start_link(options opts, start_options start_opts) {
  check_options(opts);
  auto n = std::move(start_opts.name);
  return {[opts = std::move(opts), n = std::move(n)](pid parent, from ack) mutable {
            return detail::sup::make_dynamic_host(std::move(opts), std::move(n), std::move(parent),
                                                  std::move(ack));
          },
          start_opts.init_timeout};
}

namespace {
// A captureless lambda, not a free function: Clang 14 cannot compile free
// coroutines under -fsanitize=function (llvm-project issue 49689).
const auto start_linked = [](options opts, start_options start_opts) -> task<start_outcome> {
  co_return co_await start_link(std::move(opts), std::move(start_opts));
};
}  // namespace

child_spec spec(std::string id, options opts, start_options start_opts) {
  check_options(opts);
  child_spec s;
  s.id = std::move(id);
  s.type = child_type::supervisor;
  s.shutdown = infinity;
  s.start = [opts = std::move(opts), start_opts = std::move(start_opts)]() {
    return start_linked(opts, start_opts);
  };
  return s;
}

pid start_child(const pid& sup, child c) {
  return blocking_op<pid>(sup, detail::sup::start_dynamic_child_req{std::move(c)}, "start_child");
}
detail::op_awaitable<pid> async_start_child(const pid& sup, child c) {
  return async_op<pid>(sup, detail::sup::start_dynamic_child_req{std::move(c)}, "start_child");
}
pid start_child(const pid& sup, child_spec spec) {
  return blocking_op<pid>(sup, detail::sup::start_child_req{std::move(spec)}, "start_child");
}
detail::op_awaitable<pid> async_start_child(const pid& sup, child_spec spec) {
  return async_op<pid>(sup, detail::sup::start_child_req{std::move(spec)}, "start_child");
}

void terminate_child(const pid& sup, const pid& child) {
  blocking_op<void>(sup, detail::sup::terminate_dynamic_child_req{child}, "terminate_child");
}
detail::op_awaitable<void> async_terminate_child(const pid& sup, const pid& child) {
  return async_op<void>(sup, detail::sup::terminate_dynamic_child_req{child}, "terminate_child");
}

std::vector<child_info> which_children(const pid& sup) {
  return blocking_op<std::vector<child_info>>(sup, detail::sup::which_children_req{},
                                              "which_children");
}
detail::op_awaitable<std::vector<child_info>> async_which_children(const pid& sup) {
  return async_op<std::vector<child_info>>(sup, detail::sup::which_children_req{},
                                           "which_children");
}

child_counts count_children(const pid& sup) {
  return blocking_op<child_counts>(sup, detail::sup::count_children_req{}, "count_children");
}
detail::op_awaitable<child_counts> async_count_children(const pid& sup) {
  return async_op<child_counts>(sup, detail::sup::count_children_req{}, "count_children");
}

void stop(const pid& sup, exit_reason reason, timeout_t timeout) {
  supervisor::stop(sup, std::move(reason), timeout);
}
detail::stop_awaitable async_stop(const pid& sup, exit_reason reason, timeout_t timeout) {
  return supervisor::async_stop(sup, std::move(reason), timeout);
}

}  // namespace peeper::dynamic_supervisor
