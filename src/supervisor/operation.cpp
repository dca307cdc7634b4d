// The request protocol shared by the two kinds: errors, the async_ awaitables
// and start_link's awaitable.
#include <string>

#include <peeper/supervisor/detail/operation.hpp>

namespace peeper::detail {

void throw_call_failure(const call_error& e, const char* what) {
  const std::string w(what);
  switch (e.code()) {
    case call_errc::noproc:
      throw supervisor_error(supervisor_errc::noproc, w + ": the supervisor is not alive",
                             exit_reason::noproc());
    case call_errc::exited:
      throw supervisor_error(supervisor_errc::noproc,
                             w + ": the supervisor exited (" + e.reason().to_string() + ")",
                             e.reason());
    case call_errc::timeout:
      throw supervisor_error(supervisor_errc::timeout, w + ": no answer in time");
    case call_errc::would_block:
      throw supervisor_error(supervisor_errc::would_block,
                             w + ": a blocking call inside a process (co_await async_" + w + ")");
    case call_errc::calling_self:
      throw supervisor_error(supervisor_errc::calling_self,
                             w + ": a supervisor cannot operate on itself");
    case call_errc::bad_call:
    case call_errc::no_reply:
    case call_errc::bad_reply:
      break;
  }
  throw supervisor_error(supervisor_errc::not_a_supervisor,
                         w + ": the process is not a supervisor");
}

void check_reply(op_reply& r, const char* what) {
  if (!r.error) return;
  throw supervisor_error(*r.error, std::string(what) + ": " + r.message, std::move(r.reason),
                         std::move(r.process));
}

void stop_awaitable::await_resume() {
  try {
    op_.await_resume();
  } catch (const call_error& e) {
    if (e.code() == call_errc::exited) return;  // it stopped, as asked
    throw_call_failure(e, "stop");
  }
}

bool supervisor_start_op::await_ready() {
  process& me = current_or_throw("start_link");
  tag_ = ref::make().id();
  intrusive_ptr<process_channel> ch(new process_channel(pid(), tag_, me.self()), true);
  try {
    child_ = me.rt().spawn(make_(me.self(), from(from_ref(ch))), &me);
  } catch (const bad_argument&) {
    stopping_ = true;
    return true;
  }
  return false;
}

void supervisor_start_op::await_suspend(std::coroutine_handle<> h) {
  wait_.emplace(tag_, init_timeout_.value());
  wait_->await_suspend(h);
}

start_outcome supervisor_start_op::await_resume() {
  if (stopping_) return {start_errc::stopping, exit_reason::shutdown(), {}};
  return to_outcome(child_, wait_->await_resume());
}

}  // namespace peeper::detail
