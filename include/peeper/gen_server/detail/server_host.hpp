// The process that runs a server type's callbacks.
//
// server_host<Impl> is the behaviour of a GenServer process: it dispatches
// requests to the callbacks, applies what they return, runs coroutine
// callbacks to completion while the process waits, and handles crashes.
// Layers above derive from it (Peeper's worker commits the state through
// the `committed` hook and seeds init through `start`).
#pragma once

#include <any>
#include <chrono>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include <spdlog/spdlog.h>

#include "peeper/gen_server/actions.hpp"
#include "peeper/gen_server/detail/request.hpp"
#include "peeper/gen_server/detail/traits.hpp"
#include "peeper/gen_server/from.hpp"
#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/log.hpp"
#include "peeper/runtime/message.hpp"
#include "peeper/runtime/names.hpp"
#include "peeper/runtime/process.hpp"
#include "peeper/runtime/task.hpp"
#include "peeper/runtime/timer.hpp"

namespace peeper {

enum class start_errc {
  already_started,  // the name is taken; existing() is the holder
  init_failed,      // init threw or returned stop; reason() says why
  ignored,          // init returned ignore
  timeout,          // init did not finish within init_timeout (the process was killed)
  stopping,         // the runtime is shutting down
};

namespace detail {

/// What a starting server tells its starter.
struct start_reply {
  std::optional<start_errc> error;
  exit_reason reason;
  pid existing;
};

/// Built-in requests every server understands.
struct stop_request {
  exit_reason reason;
};
struct code_change_request {
  std::any extra;
};
/// The idle timeout of a reply/noreply with a timeout.
struct idle_timeout {
  std::uint64_t generation;
};

/// The part of a server host that does not depend on the server type.
class server_host_base : public behaviour {
 public:
  virtual void on_stop_request(exit_reason reason, from f) = 0;
  virtual void on_code_change(std::any extra, from f) = 0;
};

/// A name to register at start, boxed: most servers have none, and an
/// inline std::optional<name> would take 64 bytes in each of them.
inline std::unique_ptr<name> box_name(std::optional<name> n) {
  return n ? std::make_unique<name>(std::move(*n)) : nullptr;
}

template <class Impl>
class server_host : public server_host_base {
 public:
  using state_type = typename Impl::state_type;

  server_host(std::optional<name> n, pid parent, from start_ack)
      : name_(box_name(std::move(n))),
        parent_(std::move(parent)),
        start_ack_(std::move(start_ack)) {}
  ~server_host() override {
    if (root_) root_.destroy();
  }
  server_host(const server_host&) = delete;
  server_host& operator=(const server_host&) = delete;

  void* target(type_id_t t) noexcept override {
    return t == type_id<Impl>() ? static_cast<void*>(this) : nullptr;
  }

  void handle(envelope_ptr e) override {
    const bool idle = e->type == type_id<idle_timeout>();
    if (!idle && rare_ && rare_->idle_timer) {
      cancel_timer(current()->rt().owner(), rare_->idle_timer);
      rare_->idle_timer = {};
      ++rare_->idle_gen;
    }
    if (e->kind == envelope_kind::call || e->kind == envelope_kind::cast) {
      auto& r = static_cast<request_envelope&>(*e);
      void* host = r.target == nullptr ? static_cast<server_host_base*>(this) : target(r.target);
      if (host == nullptr) {
        logger().warn("server {} dropped a {} meant for another server type", describe(self()),
                      e->payload_type_name());
        if (r.kind == envelope_kind::call) {
          if (auto* ch = r.reply_to.get()) ch->fail(call_errc::bad_call, exit_reason::normal());
        }
        return;
      }
      handling_ = &e->payload_type_name();
      r.invoke(host, r);
      return;
    }
    handling_ = &e->payload_type_name();
    on_info(message(std::move(e)));
  }

  void on_stop() override { stop_with(exit_reason::shutdown()); }

  // ---- requests (called by the request thunks) ------------------------------

  template <class Msg>
  void on_call(Msg&& m, from f) {
    using T = call_traits<Impl, Msg>;
    // A coroutine handle_call may take its `from` by reference and use it
    // after an await: the host keeps it until the callback ends.
    call_from_ = std::move(f);
    try {
      auto&& r = T::invoke(impl_, std::forward<Msg>(m), call_from_, *state_);
      using R = std::decay_t<decltype(r)>;
      if constexpr (task_value<R>::is_task) {
        using V = typename task_value<R>::type;
        run_async<V>(
            std::move(r),
            [](server_host& h, V v) {
              const from done = std::exchange(h.call_from_, from());
              h.template finish_call<T::mutates>(typename call_norm<V>::type(std::move(v)), done);
            },
            call_from_);
      } else {
        const from done = std::exchange(call_from_, from());
        finish_call<T::mutates>(typename call_norm<R>::type(std::move(r)), done);
      }
    } catch (...) {
      const from failed = std::exchange(call_from_, from());
      crash(std::current_exception(), &failed);
    }
  }

  template <class Msg>
  void on_cast(Msg&& m) {
    using T = cast_traits<Impl, Msg>;
    try {
      finish_any<T::mutates>(T::invoke(impl_, std::forward<Msg>(m), *state_));
    } catch (...) {
      crash(std::current_exception(), nullptr);
    }
  }

  void on_stop_request(exit_reason reason, from f) override {
    rare().stop_from = std::move(f);  // answered (with "exited") once this process is gone
    stop_with(std::move(reason));
  }

  void on_code_change(std::any extra, from f) override {
    using outcome = std::optional<exit_reason>;
    try {
      if constexpr (requires(Impl & i, state_type & s, const std::any& x) {
                      i.code_change(s, x);
                    }) {
        if constexpr (std::is_copy_constructible_v<state_type>) {
          // As sys:change_code: a code_change that throws leaves the state as
          // it was and the server running; the caller gets the reason.
          std::optional<state_type> next;
          try {
            next.emplace(*state_);
            impl_.code_change(*next, extra);
          } catch (...) {
            f.reply(outcome(exit_reason::from_current_exception()));
            return;
          }
          *state_ = std::move(*next);
        } else {
          impl_.code_change(*state_, extra);  // no copy to fall back on: a throw crashes
        }
        committed();
      }
      f.reply(outcome());
    } catch (...) {
      crash(std::current_exception(), &f);
    }
  }

 protected:
  /// The state changed and the callback completed (init included).
  virtual void committed() {}
  /// init returned stop or ignore (reason: normal for ignore). The default
  /// fails the start; Peeper's worker keeps its state instead.
  virtual void init_refused(const std::optional<exit_reason>& stop_reason) {
    ack_failure(stop_reason ? start_errc::init_failed : start_errc::ignored,
                stop_reason.value_or(exit_reason::normal()));
    current()->exit_self(stop_reason.value_or(exit_reason::normal()));
  }
  /// terminate ran (or was due): the server is about to exit with `reason`.
  virtual void terminating(const exit_reason& /*reason*/) {}

  /// Registers the name and runs init(arg) (or builds the state from arg).
  template <class Arg>
  void run_init(Arg&& arg) {
    process& me = *current();
    if (auto* ch = start_ack_.channel()) ch->set_server(me.self());
    if (name_) {
      try {
        register_name(me.rt().owner(), *name_, me.self());
      } catch (const name_taken& e) {
        ack_failure(start_errc::already_started, exit_reason::normal(), e.holder());
        me.exit_self(exit_reason::normal());
        return;
      }
      name_.reset();  // registered: the registry holds it now
    }
    try {
      if constexpr (requires(Impl & i) { i.init(std::forward<Arg>(arg)); }) {
        auto r = impl_.init(std::forward<Arg>(arg));
        using R = decltype(r);
        if constexpr (task_value<R>::is_task) {
          using V = typename task_value<R>::type;
          run_async<V>(
              std::move(r),
              [](server_host& h, V v) {
                h.finish_init(typename init_norm<state_type, V>::type(std::move(v)));
              },
              std::nullopt);
        } else {
          finish_init(typename init_norm<state_type, R>::type(std::move(r)));
        }
      } else {
        static_assert(std::is_constructible_v<state_type, Arg&&>,
                      "without init, the start argument must construct the state");
        finish_init(init_result<state_type>(state_type(std::forward<Arg>(arg))));
      }
    } catch (...) {
      exit_reason r = exit_reason::from_current_exception();
      logger().error("server {} failed to start: {}", describe(me.self()), r.to_string());
      ack_failure(start_errc::init_failed, r);
      me.exit_self(r);
    }
  }

  template <class C>
  void finish_init(init_result<state_type, C>&& r) {
    if (r.ignored()) {
      init_refused(std::nullopt);
      return;
    }
    if (r.stop_reason()) {
      init_refused(std::move(*r.stop_reason()));
      return;
    }
    state_ = std::move(*r.state());
    committed();
    ack_ok();
    after_callback(r.next());
  }

  /// Tells the starter that init succeeded.
  void ack_ok() {
    start_ack_.reply(start_reply{});
    start_ack_ = from();
  }

  void ack_failure(start_errc code, exit_reason reason, pid existing = {}) {
    if (parent_)
      peeper::unlink(parent_);  // a failed start leaves nothing behind, nor kills the starter
    start_ack_.reply(start_reply{code, std::move(reason), std::move(existing)});
    start_ack_ = from();
  }

  [[no_unique_address]] Impl impl_;  // most servers keep no members: then it takes no room
  std::optional<state_type> state_;
  std::unique_ptr<name> name_;  // registered at start, then released
  pid parent_;

 private:
  template <bool Mutates, class R, class C>
  void finish_call(call_result<R, C>&& r, const from& f) {
    if constexpr (Mutates) committed();
    if constexpr (!std::is_same_v<R, unknown_reply>) {
      if (r.value()) f.reply(std::move(*r.value()));
    }
    if (r.stop_reason()) {
      stop_with(std::move(*r.stop_reason()));
      return;
    }
    after_callback(r.next());
  }

  /// Applies a cast-like result (handle_cast / handle_info / handle_continue),
  /// running coroutine callbacks first.
  template <bool Mutates, class R>
  void finish_any(R r) {
    if constexpr (task_value<R>::is_task) {
      using V = typename task_value<R>::type;
      run_async<V>(
          std::move(r),
          [](server_host& h, V v) {
            h.template finish_cast<Mutates>(typename cast_norm<V>::type(std::move(v)));
          },
          std::nullopt);
    } else {
      finish_cast<Mutates>(typename cast_norm<R>::type(std::move(r)));
    }
  }

  template <bool Mutates, class C>
  void finish_cast(cast_result<C>&& r) {
    info_ = message();  // the callback is done with it
    if constexpr (Mutates) committed();
    if (r.stop_reason()) {
      stop_with(std::move(*r.stop_reason()));
      return;
    }
    after_callback(r.next());
  }

  template <class C>
  void after_callback(after<C>& next) {
    if (auto t = next.timeout()) {
      process& me = *current();
      rare_state& r = rare();
      r.idle_timer = send_after(me.self(), *t, idle_timeout{++r.idle_gen});
    }
    if constexpr (!std::is_same_v<C, no_continue>) {
      if (auto c = next.take_continue()) {
        using T = continue_traits<Impl, C>;
        static_assert(T::defined, "continue_with(x) needs handle_continue(x, state) in the server");
        finish_any<T::mutates>(T::invoke(impl_, std::move(*c), *state_));
      }
    }
  }

  void on_info(message m) {
    try {
      if (auto* t = m.get_if<idle_timeout>()) {
        if (!rare_ || t->generation != rare_->idle_gen) return;  // a message came first
        rare_->idle_timer = {};
        m = message::of(timeout_message{});
      }
      if (auto* x = m.get_if<exit_message>();
          x != nullptr && parent_ && x->from == parent_ && current()->traps_exit()) {
        stop_with(x->reason);  // the parent (a supervisor) shuts us down
        return;
      }
      if constexpr (info_traits<Impl>::defined) {
        // Kept by the host: a coroutine handle_info may use it after an await.
        info_ = std::move(m);
        auto&& r = info_traits<Impl>::invoke(impl_, info_, *state_);
        finish_any<info_traits<Impl>::mutates>(std::move(r));
      } else {
        logger().warn("server {} received an unexpected {} (no handle_info): dropped",
                      describe(self()), m.type_name());
      }
    } catch (...) {
      crash(std::current_exception(), nullptr);
    }
  }

  /// Runs a coroutine callback; `then` applies its result when it ends.
  template <class V, class Then>
  void run_async(task<V> t, Then then, std::optional<from> reply_to) {
    class finisher final : public completion<V> {
     public:
      finisher(server_host* h, Then then, std::optional<from> f)
          : h_(h), then_(std::move(then)), f_(std::move(f)) {}
      void done(V v) override {
        try {
          then_(*h_, std::move(v));
        } catch (...) {
          h_->crash(std::current_exception(), f_ ? &*f_ : nullptr);
        }
      }
      void failed(std::exception_ptr e) override { h_->crash(std::move(e), f_ ? &*f_ : nullptr); }

     private:
      server_host* h_;
      Then then_;
      std::optional<from> f_;
    };
    drive<V>(std::move(t), std::make_unique<finisher>(this, std::move(then), std::move(reply_to)))
        .start(&root_);
  }

  void run_terminate(const exit_reason& reason) {
    if constexpr (requires(Impl & i, const exit_reason& r, state_type& s) { i.terminate(r, s); }) {
      if (state_) {
        try {
          impl_.terminate(reason, *state_);
        } catch (...) {
          logger().error("server {}: terminate threw: {}", describe(self()),
                         exit_reason::from_current_exception().to_string());
        }
      }
    }
    terminating(reason);
  }

  void stop_with(exit_reason reason) {
    process& me = *current();
    if (me.exiting()) return;
    if (!reason.is_orderly()) {
      logger().error("server {} terminating: {}{}", describe(me.self()), reason.to_string(),
                     handling_ != nullptr ? "; last message: " + *handling_ : "");
    }
    run_terminate(reason);
    me.exit_self(std::move(reason));
  }

  void crash(std::exception_ptr e, const from* f) {
    exit_reason reason;
    try {
      std::rethrow_exception(std::move(e));
    } catch (...) {
      reason = exit_reason::from_current_exception();
    }
    if (start_ack_) {  // crashed during init
      logger().error("server {} failed to start: {}", describe(self()), reason.to_string());
      ack_failure(start_errc::init_failed, reason);
      current()->exit_self(reason);
      return;
    }
    if (f != nullptr && f->channel() != nullptr) f->channel()->fail(call_errc::exited, reason);
    stop_with(std::move(reason));
  }

  /// What most servers never use (a stop request, timeouts), allocated on first use.
  struct rare_state {
    from stop_from;  // answered (with "exited") once this process is gone
    ref idle_timer;
    std::uint64_t idle_gen = 0;  // tells a stale idle_timeout from the current one
  };
  rare_state& rare() {
    if (!rare_) rare_ = std::make_unique<rare_state>();
    return *rare_;
  }

  from start_ack_;
  std::unique_ptr<rare_state> rare_;
  from call_from_;  // the call being handled
  message info_;    // the message handle_info is handling
  std::coroutine_handle<> root_;
  const std::string* handling_ = nullptr;  // payload type of the message being handled
};

/// The behaviour of a GenServer started with an argument.
template <class Impl, class Arg>
class server_process final : public server_host<Impl> {
 public:
  server_process(Arg arg, std::optional<name> n, pid parent, from ack)
      : server_host<Impl>(std::move(n), std::move(parent), std::move(ack)), arg_(std::move(arg)) {}
  void start() override { this->run_init(std::move(arg_)); }

 private:
  Arg arg_;
};

/// Run a request on the host it addresses (instantiated by the sender).
template <class Impl, class Msg>
void invoke_call(void* host, request_envelope& r) {
  static_cast<server_host<Impl>*>(host)->template on_call<Msg>(
      std::move(static_cast<request<Msg>&>(r).msg), from(std::move(r.reply_to)));
}
template <class Impl, class Msg>
void invoke_cast(void* host, request_envelope& r) {
  static_cast<server_host<Impl>*>(host)->template on_cast<Msg>(
      std::move(static_cast<request<Msg>&>(r).msg));
}

inline void invoke_stop(void* host, request_envelope& r) {
  auto& q = static_cast<request<stop_request>&>(r);
  static_cast<server_host_base*>(host)->on_stop_request(std::move(q.msg.reason),
                                                        from(std::move(r.reply_to)));
}
inline void invoke_code_change(void* host, request_envelope& r) {
  auto& q = static_cast<request<code_change_request>&>(r);
  static_cast<server_host_base*>(host)->on_code_change(std::move(q.msg.extra),
                                                       from(std::move(r.reply_to)));
}

}  // namespace detail
}  // namespace peeper
