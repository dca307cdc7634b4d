// How a Peeper server instance is configured.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "peeper/gen_server/call.hpp"
#include "peeper/gen_server/start.hpp"
#include "peeper/runtime/exit_reason.hpp"
#include "peeper/runtime/names.hpp"
#include "peeper/server/tables.hpp"
#include "peeper/supervisor/flags.hpp"

namespace peeper {

/// Hooks told about an instance's state. Both run in the instance's keeper
/// process, never in the worker: a slow hook does not stall the server and
/// a throwing one is logged and ignored. They run in commit order.
template <class State>
struct listener {
  /// After each commit: the previous and the new committed state.
  std::function<void(const State& old_state, const State& new_state)> on_state_changed;
  /// When a worker ends (crash, kill, stop): why, and the last committed state.
  std::function<void(const exit_reason& reason, const State& state)> on_terminate;
};

template <class State>
struct server_options {
  /// Marks these as options of peeper::start, not a GenServer init argument.
  using start_options_of_layer = void;

  /// The instance's name (its supervisor's); the worker is registered as
  /// worker_name(name), i.e. "<name>.GenServer" in the same scope.
  std::optional<peeper::name> name{};
  /// The state the first init receives.
  State state{};
  peeper::listener<State> listener{};
  /// The per-instance supervisor (defaults as the original: one_for_one,
  /// 1000 restarts in 10 s, never shut down automatically).
  peeper::strategy strategy = peeper::strategy::one_for_one;
  int max_restarts = 1000;
  std::chrono::milliseconds max_seconds{10000};
  peeper::auto_shutdown auto_shutdown = peeper::auto_shutdown::never;
  /// How long each worker's init may take.
  timeout_t init_timeout = infinity;
  /// Which tables the worker owns are kept across its crashes, besides
  /// those whose heir is server_heir() (see tables.hpp). None by default.
  peeper::keep_tables keep_tables{};
};

/// The name the worker of an instance named `n` registers: "<n>.GenServer".
inline name worker_name(const name& n) { return n.with_suffix(".GenServer"); }

}  // namespace peeper
