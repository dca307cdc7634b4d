// Checking child specs, flags and options before anything starts.
#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>

#include "supervisor/host.hpp"

namespace peeper::detail::sup {

namespace {

std::string shutdown_problem(const std::optional<shutdown_t>& s) {
  if (s && s->is_timeout() && s->timeout().count() < 0) {
    return "a negative shutdown timeout (" + s->to_string() + ")";
  }
  return {};
}

std::string significance_problem(bool significant, restart_type restart, peeper::auto_shutdown as) {
  if (!significant) return {};
  if (as == peeper::auto_shutdown::never) {
    return "significant, but auto_shutdown is never (significant children need any_significant "
           "or all_significant)";
  }
  if (restart == restart_type::permanent) return "significant and permanent (not allowed)";
  return {};
}

bool valid(restart_type r) {
  return r == restart_type::permanent || r == restart_type::transient ||
         r == restart_type::temporary;
}
bool valid(child_type t) { return t == child_type::worker || t == child_type::supervisor; }

}  // namespace

std::string spec_problem(const child_spec& s, peeper::auto_shutdown as) {
  if (s.id.empty()) return "a child spec with an empty id";
  const std::string who = "child " + s.id + ": ";
  if (!s.start) return who + "no start function";
  if (!valid(s.restart)) return who + "an unknown restart type";
  if (!valid(s.type)) return who + "an unknown child type";
  if (std::string p = shutdown_problem(s.shutdown); !p.empty()) return who + p;
  if (std::string p = significance_problem(s.significant, s.restart, as); !p.empty())
    return who + p;
  return {};
}

std::string dynamic_child_problem(const dynamic_supervisor::child& c, peeper::auto_shutdown as) {
  const std::string who = "dynamic child: ";
  if (!c.start) return who + "no start function";
  if (!valid(c.restart)) return who + "an unknown restart type";
  if (!valid(c.type)) return who + "an unknown child type";
  if (std::string p = shutdown_problem(c.shutdown); !p.empty()) return who + p;
  if (std::string p = significance_problem(c.significant, c.restart, as); !p.empty())
    return who + p;
  return {};
}

namespace {
std::string intensity_problem(int max_restarts, std::chrono::milliseconds period) {
  if (max_restarts < 0) {
    return "max_restarts must be at least 0 (it is " + std::to_string(max_restarts) + ")";
  }
  if (period.count() <= 0) {
    return "max_seconds must be positive (it is " + std::to_string(period.count()) + " ms)";
  }
  return {};
}
bool valid(peeper::auto_shutdown a) {
  return a == peeper::auto_shutdown::never || a == peeper::auto_shutdown::any_significant ||
         a == peeper::auto_shutdown::all_significant;
}
}  // namespace

std::string flags_problem(const supervisor_flags& f) {
  if (f.strategy != strategy::one_for_one && f.strategy != strategy::one_for_all &&
      f.strategy != strategy::rest_for_one) {
    return "an unknown strategy";
  }
  if (!valid(f.auto_shutdown)) return "an unknown auto_shutdown";
  return intensity_problem(f.max_restarts, f.max_seconds);
}

std::string options_problem(const dynamic_supervisor::options& o) {
  if (!valid(o.auto_shutdown)) return "an unknown auto_shutdown";
  return intensity_problem(o.max_restarts, o.max_seconds);
}

}  // namespace peeper::detail::sup

namespace peeper::detail::sup {

namespace {
/// Checks the flags, then each spec (`get(c)` is the child_spec of element c) and the ids.
template <class Specs, class Get>
void check_all(const Specs& children, const supervisor_flags& flags, Get get) {
  if (std::string p = flags_problem(flags); !p.empty()) {
    throw supervisor_error(supervisor_errc::bad_spec, p);
  }
  std::unordered_set<std::string_view> ids;  // past a few children (pairs are compared below)
  constexpr std::size_t few = 8;             // a Peeper instance's supervisor has two
  for (std::size_t i = 0; i < children.size(); ++i) {
    const child_spec& s = get(children[i]);
    if (std::string p = spec_problem(s, flags.auto_shutdown); !p.empty()) {
      throw supervisor_error(supervisor_errc::bad_spec, p);
    }
    const bool duplicate =
        children.size() <= few
            ? std::any_of(children.begin(), children.begin() + static_cast<std::ptrdiff_t>(i),
                          [&](const auto& c) { return get(c).id == s.id; })
            : !ids.insert(s.id).second;
    if (duplicate) throw supervisor_error(supervisor_errc::bad_spec, "duplicate child id " + s.id);
  }
}
}  // namespace

void check_shared_specs(const shared_specs& children, const supervisor_flags& flags) {
  check_all(children, flags, [](const auto& c) -> const child_spec& {
    if (!c) throw supervisor_error(supervisor_errc::bad_spec, "a null child spec");
    return *c;
  });
}

}  // namespace peeper::detail::sup

namespace peeper::supervisor {

void check_specs(const std::vector<child_spec>& children, const supervisor_flags& flags) {
  detail::sup::check_all(children, flags,
                         [](const child_spec& c) -> const child_spec& { return c; });
}

}  // namespace peeper::supervisor

namespace peeper::dynamic_supervisor {

void check_options(const options& opts) {
  if (std::string p = detail::sup::options_problem(opts); !p.empty()) {
    throw supervisor_error(supervisor_errc::bad_spec, p);
  }
}

}  // namespace peeper::dynamic_supervisor
