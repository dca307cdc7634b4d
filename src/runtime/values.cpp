// Printing and construction of the runtime's value types.
#include <atomic>
#include <cstdlib>
#include <exception>
#include <memory>
#include <typeinfo>

#include <cxxabi.h>

#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/detail/type_id.hpp"
#include "peeper/runtime/exit_reason.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper {

namespace detail {
std::string demangle(const std::type_info& info) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(
      abi::__cxa_demangle(info.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(info.name());
}

const std::string& envelope::payload_type_name() const {
  static const std::string none = "signal";
  return none;
}
}  // namespace detail

const std::string& exit_reason::detail() const noexcept {
  static const std::string empty;
  return detail_ ? *detail_ : empty;
}

exit_reason exit_reason::exception(std::string_view type, std::string_view what) {
  std::string d(type);
  d += ": ";
  d += what;
  return exit_reason{kind::exception, std::move(d)};
}

exit_reason exit_reason::from_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    return exception(detail::demangle(typeid(e)), e.what());
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    return exception(t != nullptr ? detail::demangle(*t) : "unknown", "(not a std::exception)");
  }
}

std::string exit_reason::to_string() const {
  switch (kind_) {
    case kind::normal:
      return "normal";
    case kind::shutdown:
      return detail_ ? "{shutdown, " + *detail_ + "}" : "shutdown";
    case kind::kill:
      return "kill";
    case kind::killed:
      return "killed";
    case kind::noproc:
      return "noproc";
    case kind::noconnection:
      return "noconnection";
    case kind::exception:
      return "{exception, " + detail() + "}";
    case kind::error:
      return detail();
  }
  return "unknown";
}

std::uint64_t pid::id() const noexcept { return p_ ? p_->id() : 0; }

namespace {
std::atomic<detail::pid_printer> g_pid_printer{nullptr};
}  // namespace

void detail::set_pid_printer(pid_printer printer) noexcept {
  g_pid_printer.store(printer, std::memory_order_release);
}

std::string pid::to_string() const {
  if (!p_) return "<null>";
  if (auto* printer = g_pid_printer.load(std::memory_order_acquire)) {
    std::string out;
    if (printer(*this, out)) return out;
  }
  return "<0." + std::to_string(p_->id()) + ".0>";
}

namespace {
std::atomic<std::uint64_t> g_next_ref{1};
constexpr std::uint64_t ref_block = 1024;
thread_local std::uint64_t tl_next_ref = 0;
thread_local std::uint64_t tl_end_ref = 0;
}  // namespace

ref ref::make() noexcept {
  if (tl_next_ref == tl_end_ref) {
    tl_next_ref = g_next_ref.fetch_add(ref_block, std::memory_order_relaxed);
    tl_end_ref = tl_next_ref + ref_block;
  }
  return ref(tl_next_ref++);
}

std::string ref::to_string() const { return "#Ref<0." + std::to_string(id_) + ">"; }

}  // namespace peeper
