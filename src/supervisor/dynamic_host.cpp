// The dynamic supervisor: children added at run time, keyed by pid,
// restarted one_for_one, stopped all at once.
#include <algorithm>
#include <unordered_map>
#include <utility>

#include <spdlog/spdlog.h>

#include <peeper/runtime/log.hpp>
#include <peeper/runtime/process.hpp>
#include <peeper/supervisor/detail/operation.hpp>

#include "supervisor/host.hpp"

namespace peeper::detail::sup {

namespace {

struct dynamic_child {
  dynamic_supervisor::child spec;
  bool restarting = false;  // keyed by its old pid until a restart succeeds
};

shutdown_t shutdown_of(const dynamic_supervisor::child& c) {
  return c.shutdown.value_or(default_shutdown(c.type));
}

class dynamic_host final : public host_base {
 public:
  dynamic_host(dynamic_supervisor::options opts, std::optional<name> n, pid parent, from ack)
      : host_base(std::move(n), std::move(parent), std::move(ack), opts.max_restarts,
                  opts.max_seconds, opts.auto_shutdown, peeper::strategy::one_for_one),
        max_children_(opts.max_children),
        extra_(std::move(opts.extra_arguments)) {}

 private:
  using map = std::unordered_map<pid, dynamic_child>;

  task<void> init() override {
    ack_started();
    co_return;
  }

  /// Runs a child's start with the extra arguments.
  task<start_outcome> start_one(const dynamic_child& c) {
    auto fn = c.spec.start;  // lives in this frame while the start runs
    co_return co_await invoke_start([&fn, this] { return fn(extra_); });
  }

  void insert(pid p, dynamic_child c) {
    if (c.spec.significant) ++significant_;
    if (c.restarting) ++restarting_;
    children_.emplace(std::move(p), std::move(c));
  }
  void erase(map::iterator it) {
    if (it->second.spec.significant) --significant_;
    if (it->second.restarting) --restarting_;
    children_.erase(it);
  }

  // ---- restarts -------------------------------------------------------------
  task<void> child_exited(pid p, exit_reason reason) override {
    auto it = children_.find(p);
    if (it == children_.end()) co_return;
    const dynamic_supervisor::child& s = it->second.spec;
    const bool again = s.restart == restart_type::permanent ||
                       (s.restart == restart_type::transient && !reason.is_orderly());
    if (again || !reason.is_orderly()) {
      logger().error("supervisor {}: child_terminated: child {} exited with {}", describe_self(),
                     p.to_string(), reason.to_string());
    }
    if (runtime_stopping()) {
      erase(it);
      co_await shutdown_self(exit_reason::shutdown());
      co_return;
    }
    if (again) {
      co_await restart(std::move(p));
      co_return;
    }
    const bool significant = s.significant;
    erase(it);
    if (auto_shutdown_due(significant, significant_ > 0)) {
      co_await shutdown_self(exit_reason::shutdown());
    }
  }

  task<void> try_again(try_again_restart t) override {
    auto it = children_.find(t.old);
    if (it == children_.end() || !it->second.restarting) co_return;
    co_await restart(std::move(t.old));
  }

  task<void> restart(pid old) {
    auto it = children_.find(old);
    if (!add_restart()) {
      logger().error("supervisor {}: shutdown: reached_max_restart_intensity (child {})",
                     describe_self(), old.to_string());
      erase(it);
      co_await shutdown_self(exit_reason::shutdown());
      co_return;
    }
    start_outcome out = co_await start_one(it->second);
    it = children_.find(old);  // the map may have rehashed? not while we waited, but stay safe
    if (out.ok() && out.process()) {
      dynamic_child c = std::move(it->second);
      erase(it);
      c.restarting = false;
      insert(out.process(), std::move(c));
    } else if (out.ok() || out.error() == start_errc::ignored) {
      erase(it);
    } else {
      logger().error("supervisor {}: start_error: child {} failed to restart: {}", describe_self(),
                     old.to_string(), failure_reason(out).to_string());
      if (!it->second.restarting) {
        it->second.restarting = true;
        ++restarting_;
      }
      peeper::send(current()->self(), try_again_restart{std::string(), old});
    }
  }

  /// Every child at once: exit(shutdown) (or kill) to all, each killed after
  /// its own shutdown time, until all are DOWN. The supervisor is ending, so
  /// whatever else arrives meanwhile is dropped.
  task<void> terminate_children() override {
    runtime_core& rt = current()->rt();
    std::unordered_map<std::uint64_t, std::pair<pid, shutdown_t>> waiting;  // monitor -> child
    std::vector<std::pair<clock::time_point, std::uint64_t>> deadlines;
    waiting.reserve(children_.size());
    const auto now = rt.now();
    for (auto& [p, c] : children_) {
      if (c.restarting) continue;
      shutdown_t how = shutdown_of(c.spec);
      ref mon = peeper::monitor(p);
      peeper::exit(p, how.is_brutal_kill() ? exit_reason::kill() : exit_reason::shutdown());
      if (how.is_timeout()) deadlines.emplace_back(now + how.timeout(), mon.id());
      waiting.emplace(mon.id(), std::pair<pid, shutdown_t>(p, how));
    }
    map children = std::move(children_);
    children_.clear();
    significant_ = restarting_ = 0;
    std::sort(deadlines.begin(), deadlines.end());
    std::size_t next = 0;
    while (!waiting.empty()) {
      while (next < deadlines.size() && !waiting.contains(deadlines[next].second)) ++next;
      message m;
      if (next < deadlines.size()) {
        const auto t = rt.now();
        if (deadlines[next].first <= t) {
          for (; next < deadlines.size() && deadlines[next].first <= t; ++next) {
            if (auto w = waiting.find(deadlines[next].second); w != waiting.end()) {
              peeper::exit(w->second.first, exit_reason::kill());
            }
          }
          continue;
        }
        m = co_await receive(deadlines[next].first - t);
        if (!m) continue;
      } else {
        m = co_await receive();
      }
      if (auto* d = m.get_if<down_message>()) {
        if (auto w = waiting.find(d->monitor.id()); w != waiting.end()) {
          auto c = children.find(w->second.first);
          report_shutdown("",
                          c != children.end() ? c->second.spec.restart : restart_type::temporary,
                          w->second.second, d->reason);
          waiting.erase(w);
        }
      }
    }
  }

  // ---- operations -------------------------------------------------------------
  task<void> which_children(from f) override {
    op_reply r;
    r.children.reserve(children_.size());
    for (const auto& [p, c] : children_) {
      r.children.push_back(child_info{std::string(), c.restarting ? pid() : p, c.restarting,
                                      c.spec.type, c.spec.restart, shutdown_of(c.spec),
                                      c.spec.significant});
    }
    std::sort(r.children.begin(), r.children.end(),
              [](const child_info& a, const child_info& b) { return a.process < b.process; });
    f.reply(std::move(r));
    co_return;
  }

  task<void> count_children(from f) override {
    op_reply r;
    r.counts.specs = children_.size();
    r.counts.active = children_.size() - restarting_;
    for (const auto& [p, c] : children_) {
      if (c.spec.type == child_type::supervisor) {
        ++r.counts.supervisors;
      } else {
        ++r.counts.workers;
      }
    }
    f.reply(std::move(r));
    co_return;
  }

  task<void> start_dynamic_child(dynamic_supervisor::child c, from f) override {
    if (std::string problem = dynamic_child_problem(c, auto_shutdown_); !problem.empty()) {
      reply_error(f, supervisor_errc::bad_spec, problem);
      co_return;
    }
    if (max_children_ && children_.size() >= *max_children_) {
      reply_error(f, supervisor_errc::max_children,
                  "max_children (" + std::to_string(*max_children_) + ") reached");
      co_return;
    }
    dynamic_child rec{std::move(c), false};
    start_outcome out = co_await start_one(rec);
    if (!out.ok() && out.error() != start_errc::ignored) {
      reply_start_failure(f, out);
      co_return;
    }
    pid p = out.ok() ? out.process() : pid();
    if (p) {
      // A temporary child is never restarted: its start function is not kept.
      if (rec.spec.restart == restart_type::temporary) rec.spec.start = nullptr;
      insert(p, std::move(rec));
    }
    reply_ok(f, std::move(p));
  }

  task<void> start_child(child_spec spec, from f) override {
    dynamic_supervisor::child c{nullptr, spec.restart, spec.shutdown, spec.type, spec.significant};
    if (spec.start) {
      c.start = [fn = std::move(spec.start)](const std::vector<std::any>& /*extra*/) {
        return fn();
      };
    }
    co_await start_dynamic_child(std::move(c), std::move(f));
  }

  task<void> terminate_dynamic_child(pid child, from f) override {
    auto it = children_.find(child);
    if (it == children_.end()) {
      reply_error(f, supervisor_errc::not_found, child.to_string() + " is not a child");
      co_return;
    }
    if (!it->second.restarting) {
      shutdown_t how = shutdown_of(it->second.spec);
      restart_type restart = it->second.spec.restart;
      exit_reason r = co_await stop_child(child, how);
      report_shutdown("", restart, how, r);
      it = children_.find(child);
    }
    if (it != children_.end()) erase(it);
    reply_ok(f);
  }

  std::optional<std::size_t> max_children_;
  std::vector<std::any> extra_;
  map children_;
  std::size_t significant_ = 0;  // significant children, running or restarting
  std::size_t restarting_ = 0;
};

}  // namespace

std::unique_ptr<behaviour> make_dynamic_host(dynamic_supervisor::options opts,
                                             std::optional<name> n, pid parent, from ack) {
  return std::make_unique<dynamic_host>(std::move(opts), std::move(n), std::move(parent),
                                        std::move(ack));
}

}  // namespace peeper::detail::sup
