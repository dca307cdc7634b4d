// The supervisor operations: requests to a supervisor process.
#include <utility>

#include <peeper/supervisor/supervisor.hpp>

#include "supervisor/requests.hpp"

namespace peeper::supervisor {

using detail::sup::async_op;
using detail::sup::blocking_op;

namespace {
detail::shared_specs share(std::vector<child_spec> children) {
  detail::shared_specs shared;
  shared.reserve(children.size());
  for (auto& c : children) shared.push_back(std::make_shared<const child_spec>(std::move(c)));
  return shared;
}
}  // namespace

start_outcome start(runtime& rt, std::vector<child_spec> children, supervisor_flags flags,
                    start_options opts) {
  return detail::start_supervisor(rt, share(std::move(children)), flags, std::move(opts), nullptr);
}

detail::supervisor_start_op start_link(std::vector<child_spec> children, supervisor_flags flags,
                                       start_options opts) {
  return detail::start_supervisor_link(share(std::move(children)), flags, std::move(opts), nullptr);
}

namespace {
// A captureless lambda, not a free function: Clang 14 cannot compile free
// coroutines under -fsanitize=function (llvm-project issue 49689).
const auto start_linked = [](std::vector<child_spec> children, supervisor_flags flags,
                             start_options opts) -> task<start_outcome> {
  co_return co_await start_link(std::move(children), flags, std::move(opts));
};
}  // namespace

child_spec spec(std::string id, std::vector<child_spec> children, supervisor_flags flags,
                start_options opts) {
  check_specs(children, flags);
  child_spec s;
  s.id = std::move(id);
  s.type = child_type::supervisor;
  s.shutdown = infinity;
  s.start = [children = std::move(children), flags, opts = std::move(opts)]() {
    return start_linked(children, flags, opts);
  };
  return s;
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

pid start_child(const pid& sup, child_spec spec) {
  return blocking_op<pid>(sup, detail::sup::start_child_req{std::move(spec)}, "start_child");
}
detail::op_awaitable<pid> async_start_child(const pid& sup, child_spec spec) {
  return async_op<pid>(sup, detail::sup::start_child_req{std::move(spec)}, "start_child");
}

void terminate_child(const pid& sup, const std::string& id) {
  blocking_op<void>(sup, detail::sup::terminate_child_req{id}, "terminate_child");
}
detail::op_awaitable<void> async_terminate_child(const pid& sup, const std::string& id) {
  return async_op<void>(sup, detail::sup::terminate_child_req{id}, "terminate_child");
}

pid restart_child(const pid& sup, const std::string& id) {
  return blocking_op<pid>(sup, detail::sup::restart_child_req{id}, "restart_child");
}
detail::op_awaitable<pid> async_restart_child(const pid& sup, const std::string& id) {
  return async_op<pid>(sup, detail::sup::restart_child_req{id}, "restart_child");
}

void delete_child(const pid& sup, const std::string& id) {
  blocking_op<void>(sup, detail::sup::delete_child_req{id}, "delete_child");
}
detail::op_awaitable<void> async_delete_child(const pid& sup, const std::string& id) {
  return async_op<void>(sup, detail::sup::delete_child_req{id}, "delete_child");
}

void stop(const pid& sup, exit_reason reason, timeout_t timeout) {
  try {
    peeper::stop(sup, std::move(reason), timeout);
  } catch (const call_error& e) {
    detail::throw_call_failure(e, "stop");
  }
}

detail::stop_awaitable async_stop(const pid& sup, exit_reason reason, timeout_t timeout) {
  return detail::stop_awaitable(peeper::async_stop(sup, std::move(reason), timeout));
}

}  // namespace peeper::supervisor

namespace peeper::detail {

start_outcome start_supervisor(runtime& rt, shared_specs children, const supervisor_flags& flags,
                               start_options opts, std::shared_ptr<void> context,
                               const context_kind* kind) {
  sup::check_shared_specs(children, flags);
  try {
    return blocking_start(
        rt,
        [&](from ack) {
          return sup::make_static_host(std::move(children), flags, opts.name, pid(), std::move(ack),
                                       std::move(context), kind);
        },
        opts);
  } catch (const call_error& e) {
    throw_call_failure(e, "start");
  }
}

supervisor_start_op start_supervisor_link(shared_specs children, const supervisor_flags& flags,
                                          start_options opts, std::shared_ptr<void> context,
                                          const context_kind* kind) {
  sup::check_shared_specs(children, flags);
  return {[children = std::move(children), flags, n = std::move(opts.name),
           context = std::move(context), kind](pid parent, from ack) mutable {
            return sup::make_static_host(std::move(children), flags, std::move(n),
                                         std::move(parent), std::move(ack), std::move(context),
                                         kind);
          },
          opts.init_timeout};
}

}  // namespace peeper::detail
