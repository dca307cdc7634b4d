// The supervisor process: host_base is the behaviour both kinds share (start
// acknowledgement, the request protocol, restart intensity, the shutdown
// protocol); static_host and dynamic_host (in their .cpp) hold the children.
//
// Every piece of work the supervisor does (starting its children, handling a
// child's exit, an operation) is a coroutine run as the process's root task.
// While one is suspended (waiting for a child's start or DOWN) the process
// handles nothing else, as OTP's supervisor does while it is in a callback;
// handle() is only called between them. Signals that must be acted upon
// (the runtime's stop) are turned into messages to self, so they are handled
// in mailbox order.
#pragma once

#include <any>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <peeper/gen_server/detail/server_host.hpp>
#include <peeper/gen_server/from.hpp>
#include <peeper/runtime/detail/process.hpp>
#include <peeper/runtime/names.hpp>
#include <peeper/runtime/task.hpp>
#include <peeper/supervisor/child_spec.hpp>
#include <peeper/supervisor/detail/shared_specs.hpp>
#include <peeper/supervisor/dynamic_supervisor.hpp>
#include <peeper/supervisor/flags.hpp>

namespace peeper::detail::sup {

// ---- requests (calls carrying one of these; the reply is an op_reply) ----
struct which_children_req {};
struct count_children_req {};
struct start_child_req {
  child_spec spec;
};
struct start_dynamic_child_req {
  dynamic_supervisor::child child;
};
struct terminate_child_req {
  std::string id;
};
struct terminate_dynamic_child_req {
  pid child;
};
struct restart_child_req {
  std::string id;
};
struct delete_child_req {
  std::string id;
};

// ---- messages the supervisor sends itself ----
/// The runtime is shutting down.
struct runtime_stop {};
/// Retry a restart that failed: `id` (static) or the child's old pid (dynamic).
struct try_again_restart {
  std::string id;
  pid old;
};

/// The type requests address (request_envelope::target).
struct host_tag {};

class host_base : public server_host_base {
 public:
  host_base(std::optional<name> n, pid parent, from ack, int max_restarts,
            std::chrono::milliseconds period, peeper::auto_shutdown as, peeper::strategy st,
            std::shared_ptr<void> context = nullptr, const context_kind* kind = nullptr);
  ~host_base() override;
  host_base(const host_base&) = delete;
  host_base& operator=(const host_base&) = delete;

  // behaviour
  void start() final;
  void handle(envelope_ptr e) final;
  void on_stop() final;
  void* target(type_id_t t) noexcept final;
  [[nodiscard]] const std::shared_ptr<void>& context() const noexcept { return context_; }
  /// The context, if `key` is its kind (from any thread: both are set once).
  [[nodiscard]] std::shared_ptr<void> shared(const void* key) const final;
  // server_host_base: gen_server's stop and code_change work on supervisors too.
  void on_stop_request(exit_reason reason, from f) final;
  void on_code_change(std::any extra, from f) final;

  // Requests, run as the root task. The defaults answer not_supported.
  void dispatch(which_children_req r, from f);
  void dispatch(count_children_req r, from f);
  void dispatch(start_child_req r, from f);
  void dispatch(start_dynamic_child_req r, from f);
  void dispatch(terminate_child_req r, from f);
  void dispatch(terminate_dynamic_child_req r, from f);
  void dispatch(restart_child_req r, from f);
  void dispatch(delete_child_req r, from f);

 protected:
  /// Starts the children; ends with ack_started() or fail_start().
  virtual task<void> init() = 0;
  /// A linked process exited (maybe not a child).
  virtual task<void> child_exited(pid p, exit_reason reason) = 0;
  virtual task<void> try_again(try_again_restart t) = 0;
  /// Stops every child (when the supervisor itself ends).
  virtual task<void> terminate_children() = 0;

  virtual task<void> which_children(from f) = 0;
  virtual task<void> count_children(from f) = 0;
  virtual task<void> start_child(child_spec spec, from f);
  virtual task<void> start_dynamic_child(dynamic_supervisor::child c, from f);
  virtual task<void> terminate_child(std::string id, from f);
  virtual task<void> terminate_dynamic_child(pid child, from f);
  virtual task<void> restart_child(std::string id, from f);
  virtual task<void> delete_child(std::string id, from f);

  void ack_started();
  /// The start failed: unlink the parent, tell the starter, exit with `reason`.
  void fail_start(start_errc code, const exit_reason& reason, pid existing = {});
  /// Counts a restart; false when that makes more than max_restarts in the period.
  bool add_restart();
  /// Stops the children and exits with `reason`.
  task<void> shutdown_self(exit_reason reason);
  /// The shutdown protocol for one child: monitor, unlink, exit(shutdown) (or
  /// kill), wait up to its time for the DOWN, then kill. Returns how it ended.
  task<exit_reason> stop_child(pid p, shutdown_t how);
  /// Logs a child that did not end as its shutdown asked.
  void report_shutdown(const std::string& id, restart_type restart, const shutdown_t& how,
                       const exit_reason& r) const;
  /// Runs a child's start function; an exception becomes init_failed. Links
  /// to the child (a no-op when its start linked it, as it should).
  task<start_outcome> invoke_start(std::function<task<start_outcome>()> start);
  /// True if an ended significant child must end the supervisor, given
  /// whether a significant child is still alive (or being restarted).
  [[nodiscard]] bool auto_shutdown_due(bool significant, bool significant_left) const;
  [[nodiscard]] bool runtime_stopping() const;
  [[nodiscard]] std::string describe_self() const;

  static void reply_error(const from& f, supervisor_errc code, std::string message,
                          exit_reason reason = {}, pid p = {});
  static void reply_ok(const from& f, pid p = {});
  /// The error a failed child start is reported as (start_failed or already_started).
  static void reply_start_failure(const from& f, const start_outcome& out);
  /// Why a child's start failed, as an exit reason.
  static exit_reason failure_reason(const start_outcome& out);

  /// Marks the child whose spec is `key` as waiting for a retried restart, or not.
  /// Throws std::bad_alloc.
  void set_restarting(const void* key, bool on);
  /// True while the child whose spec is `key` waits for a retried restart.
  [[nodiscard]] bool restarting(const void* key) const noexcept;

  // With the two below, one word: a Peeper instance's supervisor fits a 128-byte chunk.
  peeper::auto_shutdown auto_shutdown_;
  peeper::strategy strategy_;  // a DynamicSupervisor's is one_for_one

 private:
  int max_restarts_;

  class run_end;
  void run(task<void> t);
  void crashed(std::exception_ptr e);
  // Coroutines here are members, never static: Clang 14 cannot compile free
  // or static coroutines under -fsanitize=function (llvm-project issue 49689).
  task<std::optional<exit_reason>> wait_down(ref mon,
                                             std::optional<std::chrono::milliseconds> timeout);

  std::unique_ptr<name> name_;  // registered at start, then released
  pid parent_;
  from ack_;
  std::chrono::milliseconds period_;
  // What most supervisors never need, allocated on first use.
  struct rare_state {
    // The restarts within the period (an empty std::deque already holds about 600 bytes).
    std::unique_ptr<std::deque<std::chrono::steady_clock::time_point>> restarts;
    from stop_from;  // a stop request: answered (exited) when this process is gone
    std::vector<const void*> restarting;  // children (by spec) whose restart is retried
  };
  rare_state& rare();
  std::unique_ptr<rare_state> rare_;
  std::coroutine_handle<> root_;
  // What the children's start functions read (see supervisor_context), and
  // its kind, whose at_end runs as this host is destroyed, before the members
  // above go (a stop request is answered after it).
  std::shared_ptr<void> context_;
  const context_kind* kind_;
};

// ---- validation (validate.cpp) ----
/// What is wrong with `s`, or empty.
std::string spec_problem(const child_spec& s, peeper::auto_shutdown as);
std::string dynamic_child_problem(const dynamic_supervisor::child& c, peeper::auto_shutdown as);
std::string flags_problem(const supervisor_flags& f);
std::string options_problem(const dynamic_supervisor::options& o);
/// Throws supervisor_error(bad_spec) as supervisor::check_specs does (and for a null spec).
void check_shared_specs(const shared_specs& children, const supervisor_flags& flags);

// ---- the two kinds ----
std::unique_ptr<behaviour> make_static_host(shared_specs children, const supervisor_flags& flags,
                                            std::optional<name> n, pid parent, from ack,
                                            std::shared_ptr<void> context = nullptr,
                                            const context_kind* kind = nullptr);
std::unique_ptr<behaviour> make_dynamic_host(dynamic_supervisor::options opts,
                                             std::optional<name> n, pid parent, from ack);

}  // namespace peeper::detail::sup
