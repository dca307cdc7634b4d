// The non-template parts of the GenServer layer.
#include "peeper/gen_server/gen_server.hpp"

namespace peeper {

const char* to_string(call_errc code) noexcept {
  switch (code) {
    case call_errc::timeout:
      return "timeout";
    case call_errc::noproc:
      return "noproc";
    case call_errc::exited:
      return "exited";
    case call_errc::calling_self:
      return "calling_self";
    case call_errc::would_block:
      return "would_block";
    case call_errc::bad_call:
      return "bad_call";
    case call_errc::no_reply:
      return "no_reply";
    case call_errc::bad_reply:
      return "bad_reply";
  }
  return "unknown";
}

const char* to_string(start_errc code) noexcept {
  switch (code) {
    case start_errc::already_started:
      return "already_started";
    case start_errc::init_failed:
      return "init_failed";
    case start_errc::ignored:
      return "ignored";
    case start_errc::timeout:
      return "timeout";
    case start_errc::stopping:
      return "stopping";
  }
  return "unknown";
}

std::string start_outcome::to_string() const {
  if (ok()) return "ok " + pid_.to_string();
  std::string out = peeper::to_string(*error_);
  if (*error_ == start_errc::already_started) out += " " + pid_.to_string();
  if (*error_ == start_errc::init_failed) out += " (" + reason_.to_string() + ")";
  return out;
}

namespace detail {

start_outcome to_outcome(const pid& child, envelope_ptr reply) {
  if (!reply) {  // init did not finish in time
    peeper::exit(child, exit_reason::kill());
    return {start_errc::timeout, exit_reason::normal(), {}};
  }
  if (reply->type == type_id<error_reply>()) {  // died before acknowledging
    auto& e = static_cast<error_reply&>(*reply);
    return {start_errc::init_failed, e.reason, {}};
  }
  auto& r = static_cast<value_reply<start_reply>&>(*reply).value;
  if (!r.error) return start_outcome(child);
  return {*r.error, std::move(r.reason), std::move(r.existing)};
}

start_outcome blocking_start(runtime& rt,
                             const std::function<std::unique_ptr<behaviour>(from)>& make,
                             const start_options& opts) {
  if (current() != nullptr) {
    throw call_error(call_errc::would_block, exit_reason::normal(),
                     "start (inside a process use co_await start_link / async_start)");
  }
  intrusive_ptr<thread_channel> ch(new thread_channel(pid(), 0), true);
  pid child;
  try {
    child = rt.core().spawn(make(from(from_ref(ch))));
  } catch (const bad_argument&) {
    return {start_errc::stopping, exit_reason::shutdown(), {}};
  }
  runtime_core& core = rt.core();
  if (!ch->event().wait_until(core, deadline_after(core, opts.init_timeout.value()))) {
    if (ch->claim()) return to_outcome(child, nullptr);
    ch->event().wait_until(core, clock::time_point::max());
  }
  return to_outcome(child, ch->take());
}

}  // namespace detail

void stop(const pid& server, exit_reason reason, timeout_t timeout) {
  auto req = std::make_unique<detail::request<detail::stop_request>>(
      detail::envelope_kind::call, nullptr, &detail::invoke_stop,
      detail::stop_request{std::move(reason)});
  try {
    detail::blocking_request<bool>(server, std::move(req), timeout, "stop");
  } catch (const call_error& e) {
    if (e.code() != call_errc::exited) throw;  // exited: it stopped, as asked
  }
}

detail::stop_op async_stop(const pid& server, exit_reason reason, timeout_t timeout) {
  return detail::stop_op(
      detail::request_op<bool>(server,
                               std::make_unique<detail::request<detail::stop_request>>(
                                   detail::envelope_kind::call, nullptr, &detail::invoke_stop,
                                   detail::stop_request{std::move(reason)}),
                               timeout, "stop"));
}

std::optional<exit_reason> code_change(const pid& server, std::any extra, timeout_t timeout) {
  auto req = std::make_unique<detail::request<detail::code_change_request>>(
      detail::envelope_kind::call, nullptr, &detail::invoke_code_change,
      detail::code_change_request{std::move(extra)});
  return detail::blocking_request<std::optional<exit_reason>>(server, std::move(req), timeout,
                                                              "code_change");
}

}  // namespace peeper
