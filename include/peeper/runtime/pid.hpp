// Process identifiers and unique references.
//
// A pid names one process for the whole life of the runtime: pids are never
// reused, so a pid kept after its process died still names that dead process
// and every operation on it reports "no process". A pid holds a counted
// reference to the process's small control block (not its state), which is
// why copying one is cheap and using a stale one is safe.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "peeper/runtime/detail/intrusive_ptr.hpp"

namespace peeper {

namespace detail {
class process;
void intrusive_add_ref(process* p) noexcept;
void intrusive_release(process* p) noexcept;
}  // namespace detail

class pid {
 public:
  /// The null pid: names no process.
  pid() noexcept = default;
  explicit pid(detail::intrusive_ptr<detail::process> p) noexcept : p_(std::move(p)) {}

  /// The process's serial number, unique within the runtime; 0 for the null pid.
  [[nodiscard]] std::uint64_t id() const noexcept;
  /// False for the null pid.
  explicit operator bool() const noexcept { return static_cast<bool>(p_); }
  /// "<0.42.0>", or "<null>" for the null pid; a remote process's pid as Erlang prints it,
  /// "<N.num.serial>" (N >= 1 numbers its node, see set_pid_printer).
  [[nodiscard]] std::string to_string() const;

  // A process has one id and one pid object (ids are never reused; a remote process has
  // one stand-in), so comparing the objects compares the ids without reading either.
  friend bool operator==(const pid& a, const pid& b) noexcept { return a.p_.get() == b.p_.get(); }
  friend std::strong_ordering operator<=>(const pid& a, const pid& b) noexcept {
    return a.id() <=> b.id();
  }
  friend std::ostream& operator<<(std::ostream& os, const pid& p) { return os << p.to_string(); }

  /// For the runtime's own use.
  [[nodiscard]] detail::process* control_block() const noexcept { return p_.get(); }

 private:
  detail::intrusive_ptr<detail::process> p_;
};

namespace detail {
/// Prints `p` into `out` and returns true, or returns false to leave it to the default form.
using pid_printer = bool (*)(const pid& p, std::string& out);
/// Installs the printer pid::to_string consults (the distribution layer's, for remote pids).
/// Any thread; the printer must be callable from any thread for the rest of the program.
void set_pid_printer(pid_printer printer) noexcept;
}  // namespace detail

/// A unique reference (monitor references, call tags, timer handles).
/// Never repeats within a program run.
class ref {
 public:
  ref() noexcept = default;
  /// A fresh reference.
  static ref make() noexcept;
  /// The reference with serial `id` (for the runtime's own use).
  static ref from_id(std::uint64_t id) noexcept { return ref(id); }
  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
  explicit operator bool() const noexcept { return id_ != 0; }
  /// "#Ref<0.42>".
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(ref a, ref b) noexcept = default;
  friend std::strong_ordering operator<=>(ref a, ref b) noexcept = default;
  friend std::ostream& operator<<(std::ostream& os, ref r) { return os << r.to_string(); }

 private:
  explicit ref(std::uint64_t id) noexcept : id_(id) {}
  std::uint64_t id_ = 0;
};

}  // namespace peeper

template <>
struct std::hash<peeper::pid> {
  std::size_t operator()(const peeper::pid& p) const noexcept {
    return std::hash<const void*>{}(p.control_block());  // as ==, without reading the process
  }
};
template <>
struct std::hash<peeper::ref> {
  std::size_t operator()(peeper::ref r) const noexcept {
    return std::hash<std::uint64_t>{}(r.id());
  }
};
