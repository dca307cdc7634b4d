// The static supervisor: a list of child specs started in order, restarted
// by strategy, stopped in reverse order.
#include <algorithm>
#include <cstddef>
#include <utility>

#include <spdlog/spdlog.h>

#include <peeper/runtime/log.hpp>
#include <peeper/runtime/process.hpp>
#include <peeper/supervisor/detail/operation.hpp>

#include "supervisor/host.hpp"

namespace peeper::detail::sup {

namespace {

struct static_child {
  std::shared_ptr<const child_spec> spec;  // shared by supervisors of one shape (Peeper instances)
  pid process;                             // null when not running
  // Whether a failed restart waits for its try_again_restart is in host_base
  // (restarting(spec)): rare, and a child stays 24 bytes.
};

constexpr std::size_t npos = static_cast<std::size_t>(-1);

shutdown_t shutdown_of(const child_spec& s) {
  return s.shutdown.value_or(default_shutdown(s.type));
}

class static_host final : public host_base {
 public:
  static_host(shared_specs specs, const supervisor_flags& flags, std::optional<name> n, pid parent,
              from ack, std::shared_ptr<void> context, const context_kind* kind)
      : host_base(std::move(n), std::move(parent), std::move(ack), flags.max_restarts,
                  flags.max_seconds, flags.auto_shutdown, flags.strategy, std::move(context),
                  kind) {
    children_.reserve(specs.size());
    for (auto& s : specs) children_.push_back(static_child{std::move(s), pid()});
  }

 private:
  // ---- lookup -------------------------------------------------------------
  [[nodiscard]] std::size_t find_id(const std::string& id) const {
    for (std::size_t i = 0; i < children_.size(); ++i) {
      if (children_[i].spec->id == id) return i;
    }
    return npos;
  }
  [[nodiscard]] std::size_t find_pid(const pid& p) const {
    for (std::size_t i = 0; i < children_.size(); ++i) {
      if (children_[i].process == p) return i;
    }
    return npos;
  }
  [[nodiscard]] bool significant_alive() const {
    return std::any_of(children_.begin(), children_.end(), [this](const static_child& c) {
      return c.spec->significant && (c.process || restarting(c.spec.get()));
    });
  }
  /// The child is no longer running: a temporary one is forgotten.
  void del_child(std::size_t i) {
    set_restarting(children_[i].spec.get(), false);
    if (children_[i].spec->restart == restart_type::temporary) {
      children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
    children_[i].process = {};
  }

  // ---- starting and stopping ---------------------------------------------
  task<void> init() override {
    for (std::size_t i = 0; i < children_.size();) {
      start_outcome out = co_await invoke_start(children_[i].spec->start);
      if (out.ok() && out.process()) {
        children_[i].process = out.process();
        ++i;
      } else if (out.ok() || out.error() == start_errc::ignored) {
        if (children_[i].spec->restart == restart_type::temporary) {
          children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          ++i;
        }
      } else {
        exit_reason why = failure_reason(out);
        std::string id = children_[i].spec->id;
        logger().error("supervisor {}: start_error: child {} failed to start: {}", describe_self(),
                       id, why.to_string());
        co_await terminate_range(0);
        fail_start(start_errc::init_failed, exit_reason::shutdown("{failed_to_start_child, " + id +
                                                                  ", " + why.to_string() + "}"));
        co_return;
      }
    }
    ack_started();
  }

  /// Stops the children from index `first` on, newest first; temporary ones
  /// are forgotten, the others kept without a process.
  task<void> terminate_range(std::size_t first) {
    for (std::size_t i = children_.size(); i-- > first;) {
      if (children_[i].process) {
        shutdown_t how = shutdown_of(*children_[i].spec);
        exit_reason r = co_await stop_child(children_[i].process, how);
        report_shutdown(children_[i].spec->id, children_[i].spec->restart, how, r);
      }
      del_child(i);
    }
  }

  /// Starts the children from index `first` on, in order. On a failure the
  /// child is marked restarting and retried later; those after it stay down.
  task<void> start_range(std::size_t first) {
    for (std::size_t i = first; i < children_.size();) {
      start_outcome out = co_await invoke_start(children_[i].spec->start);
      if (out.ok() && out.process()) {
        children_[i].process = out.process();
        ++i;
      } else if (out.ok() || out.error() == start_errc::ignored) {
        if (children_[i].spec->restart == restart_type::temporary) {
          children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          ++i;
        }
      } else {
        restart_failed(i, out);
        co_return;
      }
    }
  }

  void restart_failed(std::size_t i, const start_outcome& out) {
    logger().error("supervisor {}: start_error: child {} failed to restart: {}", describe_self(),
                   children_[i].spec->id, failure_reason(out).to_string());
    children_[i].process = {};
    set_restarting(children_[i].spec.get(), true);
    // Handle what is already queued (a stop, say) before trying again.
    peeper::send(current()->self(), try_again_restart{children_[i].spec->id, pid()});
  }

  task<void> terminate_children() override { co_await terminate_range(0); }

  // ---- restarts -------------------------------------------------------------
  task<void> child_exited(pid p, exit_reason reason) override {
    std::size_t i = find_pid(p);
    if (i == npos) co_return;  // not (or no longer) a child
    const child_spec& s = *children_[i].spec;
    const bool restart = s.restart == restart_type::permanent ||
                         (s.restart == restart_type::transient && !reason.is_orderly());
    if (restart || !reason.is_orderly()) {
      logger().error("supervisor {}: child_terminated: child {} ({}) exited with {}",
                     describe_self(), s.id, p.to_string(), reason.to_string());
    }
    if (runtime_stopping()) {
      del_child(i);
      co_await shutdown_self(exit_reason::shutdown());
      co_return;
    }
    if (restart) {
      co_await restart_child_at(i);
      co_return;
    }
    const bool significant = s.significant;
    del_child(i);
    if (auto_shutdown_due(significant, significant_alive())) {
      co_await shutdown_self(exit_reason::shutdown());
    }
  }

  task<void> try_again(try_again_restart t) override {
    std::size_t i = find_id(t.id);
    if (i == npos || !restarting(children_[i].spec.get())) co_return;
    co_await restart_child_at(i);
  }

  task<void> restart_child_at(std::size_t i) {
    if (!add_restart()) {
      logger().error("supervisor {}: shutdown: reached_max_restart_intensity (child {})",
                     describe_self(), children_[i].spec->id);
      del_child(i);
      co_await shutdown_self(exit_reason::shutdown());
      co_return;
    }
    children_[i].process = {};
    set_restarting(children_[i].spec.get(), false);
    switch (strategy_) {
      case strategy::one_for_one: {
        start_outcome out = co_await invoke_start(children_[i].spec->start);
        if (out.ok()) {
          children_[i].process = out.process();
        } else if (out.error() != start_errc::ignored) {
          restart_failed(i, out);
        }
        break;
      }
      case strategy::one_for_all:
        co_await terminate_range(0);
        co_await start_range(0);
        break;
      case strategy::rest_for_one:
        co_await terminate_range(i);
        co_await start_range(i);
        break;
    }
  }

  // ---- operations -------------------------------------------------------------
  task<void> which_children(from f) override {
    op_reply r;
    r.children.reserve(children_.size());
    for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
      r.children.push_back(child_info{it->spec->id, it->process, restarting(it->spec.get()),
                                      it->spec->type, it->spec->restart, shutdown_of(*it->spec),
                                      it->spec->significant});
    }
    f.reply(std::move(r));
    co_return;
  }

  task<void> count_children(from f) override {
    op_reply r;
    for (const auto& c : children_) {
      ++r.counts.specs;
      if (c.process && is_alive(c.process)) ++r.counts.active;
      if (c.spec->type == child_type::supervisor) {
        ++r.counts.supervisors;
      } else {
        ++r.counts.workers;
      }
    }
    f.reply(std::move(r));
    co_return;
  }

  task<void> start_child(child_spec spec, from f) override {
    if (std::string problem = spec_problem(spec, auto_shutdown_); !problem.empty()) {
      reply_error(f, supervisor_errc::bad_spec, problem);
      co_return;
    }
    if (std::size_t i = find_id(spec.id); i != npos) {
      if (children_[i].process) {
        reply_error(f, supervisor_errc::already_started, "child " + spec.id + " is running", {},
                    children_[i].process);
      } else {
        reply_error(f, supervisor_errc::already_present, "child " + spec.id + " already exists");
      }
      co_return;
    }
    start_outcome out = co_await invoke_start(spec.start);
    if (!out.ok() && out.error() != start_errc::ignored) {
      reply_start_failure(f, out);
      co_return;
    }
    pid p = out.ok() ? out.process() : pid();
    if (p || spec.restart != restart_type::temporary) {
      children_.push_back(static_child{std::make_shared<const child_spec>(std::move(spec)), p});
    }
    reply_ok(f, p);
  }

  task<void> terminate_child(std::string id, from f) override {
    std::size_t i = find_id(id);
    if (i == npos) {
      reply_error(f, supervisor_errc::not_found, "no child " + id);
      co_return;
    }
    if (children_[i].process) {
      shutdown_t how = shutdown_of(*children_[i].spec);
      exit_reason r = co_await stop_child(children_[i].process, how);
      report_shutdown(id, children_[i].spec->restart, how, r);
    }
    del_child(i);
    reply_ok(f);
  }

  task<void> restart_child(std::string id, from f) override {
    std::size_t i = find_id(id);
    if (i == npos) {
      reply_error(f, supervisor_errc::not_found, "no child " + id);
      co_return;
    }
    if (restarting(children_[i].spec.get())) {
      reply_error(f, supervisor_errc::restarting, "child " + id + " is being restarted");
      co_return;
    }
    if (children_[i].process) {
      reply_error(f, supervisor_errc::running, "child " + id + " is running");
      co_return;
    }
    start_outcome out = co_await invoke_start(children_[i].spec->start);
    if (!out.ok() && out.error() != start_errc::ignored) {
      reply_start_failure(f, out);
      co_return;
    }
    children_[i].process = out.ok() ? out.process() : pid();
    reply_ok(f, children_[i].process);
  }

  task<void> delete_child(std::string id, from f) override {
    std::size_t i = find_id(id);
    if (i == npos) {
      reply_error(f, supervisor_errc::not_found, "no child " + id);
    } else if (restarting(children_[i].spec.get())) {
      reply_error(f, supervisor_errc::restarting, "child " + id + " is being restarted");
    } else if (children_[i].process) {
      reply_error(f, supervisor_errc::running, "child " + id + " is running");
    } else {
      children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(i));
      reply_ok(f);
    }
    co_return;
  }

  std::vector<static_child> children_;  // in start order
};

}  // namespace

std::unique_ptr<behaviour> make_static_host(shared_specs children, const supervisor_flags& flags,
                                            std::optional<name> n, pid parent, from ack,
                                            std::shared_ptr<void> context,
                                            const context_kind* kind) {
  return std::make_unique<static_host>(std::move(children), flags, std::move(n), std::move(parent),
                                       std::move(ack), std::move(context), kind);
}

}  // namespace peeper::detail::sup
