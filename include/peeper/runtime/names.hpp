// Process names: local, node-wide global, and through a user registry ("via").
//
// A name is released automatically when its process exits. A process may
// hold several names. `name` values are how every layer above addresses a
// server by name: `"counter"` (local), `name::global("counter")`,
// `name::via(registry, "counter")`.
#pragma once

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "peeper/runtime/pid.hpp"

namespace peeper {

class runtime;

/// A registry for `via` names. Implementations must be thread-safe.
/// The runtime calls unregister_name for every via name a process holds
/// when it exits, so implementations need not watch the processes.
class name_registry {
 public:
  name_registry() = default;
  name_registry(const name_registry&) = delete;
  name_registry& operator=(const name_registry&) = delete;
  virtual ~name_registry() = default;
  /// Binds `key` to `p`. Returns false if `key` is taken.
  virtual bool register_name(const std::string& key, const pid& p) = 0;
  /// Removes `key` if it is bound to `p` (a no-op otherwise).
  virtual void unregister_name(const std::string& key, const pid& p) = 0;
  /// The pid bound to `key`, or the null pid.
  [[nodiscard]] virtual pid whereis_name(const std::string& key) const = 0;
};

/// A ready-made via registry: unique keys in a hash map under a shared lock.
class registry final : public name_registry {
 public:
  bool register_name(const std::string& key, const pid& p) override;
  void unregister_name(const std::string& key, const pid& p) override;
  [[nodiscard]] pid whereis_name(const std::string& key) const override;
  /// How many keys are bound.
  [[nodiscard]] std::size_t size() const;

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, pid> names_;
};

class name {
 public:
  enum class scope : unsigned char { local, global, via };

  /// A local name.
  name(std::string id) : id_(std::move(id)) {}  // NOLINT(google-explicit-constructor)
  name(const char* id) : id_(id) {}             // NOLINT(google-explicit-constructor)
  static name local(std::string id) { return {std::move(id)}; }
  /// A name visible node-wide (and, with distribution, cluster-wide).
  static name global(std::string id) { return {scope::global, std::move(id), nullptr}; }
  /// A name kept by `reg`. Throws bad_argument if reg is null.
  static name via(std::shared_ptr<name_registry> reg, std::string id);

  [[nodiscard]] scope kind() const noexcept { return scope_; }
  [[nodiscard]] const std::string& id() const noexcept { return id_; }
  [[nodiscard]] const std::shared_ptr<name_registry>& registry() const noexcept { return reg_; }
  /// The same kind of name with `suffix` appended to its id (Peeper derives
  /// the worker's name "X.GenServer" from the instance's name "X").
  [[nodiscard]] name with_suffix(std::string_view suffix) const;
  /// "counter", "{global, counter}", "{via, counter}".
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const name& a, const name& b) noexcept {
    return a.scope_ == b.scope_ && a.id_ == b.id_ && a.reg_ == b.reg_;
  }

 private:
  name(scope s, std::string id, std::shared_ptr<name_registry> reg)
      : scope_(s), id_(std::move(id)), reg_(std::move(reg)) {}
  scope scope_ = scope::local;
  std::string id_;
  std::shared_ptr<name_registry> reg_;
};

/// Binds `n` to the live process `p` until it exits or the name is unregistered.
/// Returns false if `p` is not alive. Throws name_taken if the name is bound
/// to another process, bad_argument for an empty name or a null pid.
bool register_name(runtime& rt, const name& n, const pid& p);
/// Releases `n`. Returns false if it was not registered.
bool unregister_name(runtime& rt, const name& n);
/// The live process bound to `n`, or the null pid.
pid whereis(runtime& rt, const name& n);

}  // namespace peeper
