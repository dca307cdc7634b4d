// server_ref<Impl>: how callers address a server of type Impl, by pid or
// by name (resolved at each use, so it follows restarts under that name).
#pragma once

#include <optional>
#include <string>

#include "peeper/runtime/names.hpp"
#include "peeper/runtime/pid.hpp"
#include "peeper/runtime/runtime.hpp"

namespace peeper {

/// Base of user server types: names the state type.
template <class Impl, class State>
struct gen_server {
  using state_type = State;
};

template <class Impl>
class server_ref {
 public:
  server_ref() = default;
  /// By pid. The pid is trusted to run an Impl; if it does not, calls fail
  /// with call_errc::bad_call and casts are dropped (and logged).
  explicit server_ref(pid p) : pid_(std::move(p)) {}
  /// By name, resolved at each call.
  server_ref(runtime& rt, name n) : rt_(&rt), name_(std::move(n)) {}

  /// The server's current pid, or the null pid if the name resolves to nothing.
  [[nodiscard]] pid resolve() const { return name_ ? whereis(*rt_, *name_) : pid_; }
  [[nodiscard]] const std::optional<name>& by_name() const noexcept { return name_; }
  /// "<0.42.0>" or the name.
  [[nodiscard]] std::string to_string() const {
    return name_ ? name_->to_string() : pid_.to_string();
  }

 private:
  pid pid_;
  runtime* rt_ = nullptr;
  std::optional<name> name_;
};

}  // namespace peeper
