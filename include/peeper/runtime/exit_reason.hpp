// Why a process ended: a small, printable, comparable value.
//
// Exit reasons follow OTP: `normal` and `shutdown` are orderly exits; `kill`
// is the untrappable signal, and a process killed by it exits with `killed`;
// `noproc` and `noconnection` describe peers that are gone; an exception that
// escapes a process becomes an `exception` reason carrying its type and
// message; anything else is an `error` with a user-chosen description.
#pragma once

#include <compare>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace peeper {

class exit_reason {
 public:
  enum class kind : unsigned char {
    normal,
    shutdown,      // also {shutdown, detail}
    kill,          // the untrappable signal (only as a signal, never as how a process ended)
    killed,        // what a process killed by `kill` exits with
    noproc,        // the process did not exist
    noconnection,  // the connection to its node was lost
    exception,     // an exception escaped: detail is "type: what()"
    error,         // any other reason: detail describes it
  };

  /// normal.
  exit_reason() noexcept = default;

  static exit_reason normal() noexcept { return {}; }
  static exit_reason shutdown() noexcept { return exit_reason{kind::shutdown}; }
  /// {shutdown, detail}: an orderly exit that still carries information.
  static exit_reason shutdown(std::string detail) {
    return exit_reason{kind::shutdown, std::move(detail)};
  }
  static exit_reason kill() noexcept { return exit_reason{kind::kill}; }
  static exit_reason killed() noexcept { return exit_reason{kind::killed}; }
  static exit_reason noproc() noexcept { return exit_reason{kind::noproc}; }
  static exit_reason noconnection() noexcept { return exit_reason{kind::noconnection}; }
  /// An exception of type `type` (as demangled) with message `what`.
  static exit_reason exception(std::string_view type, std::string_view what);
  /// The reason for the exception currently being handled (call in a catch block).
  static exit_reason from_current_exception();
  /// A user-defined reason, e.g. exit_reason::error("bad_config").
  static exit_reason error(std::string detail) {
    return exit_reason{kind::error, std::move(detail)};
  }

  [[nodiscard]] kind what() const noexcept { return kind_; }
  /// Extra information: the shutdown detail, "type: message" for exceptions,
  /// the description of an error; empty otherwise.
  [[nodiscard]] const std::string& detail() const noexcept;
  [[nodiscard]] bool is_normal() const noexcept { return kind_ == kind::normal; }
  /// True for `shutdown` and {shutdown, detail}.
  [[nodiscard]] bool is_shutdown() const noexcept { return kind_ == kind::shutdown; }
  /// True for normal, shutdown and {shutdown, _}: exits a supervisor does not
  /// report as crashes and after which transient children are not restarted.
  [[nodiscard]] bool is_orderly() const noexcept { return is_normal() || is_shutdown(); }

  /// "normal", "shutdown", "{shutdown, x}", "killed", "{exception, type: what}", ...
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const exit_reason& a, const exit_reason& b) noexcept {
    return a.kind_ == b.kind_ && a.detail() == b.detail();
  }
  friend std::ostream& operator<<(std::ostream& os, const exit_reason& r) {
    return os << r.to_string();
  }

 private:
  explicit exit_reason(kind k) noexcept : kind_(k) {}
  exit_reason(kind k, std::string detail)
      : kind_(k), detail_(std::make_shared<const std::string>(std::move(detail))) {}

  kind kind_ = kind::normal;
  std::shared_ptr<const std::string> detail_;  // shared: reasons are copied to every link
};

}  // namespace peeper
