// task<T>: the coroutine type of processes and callbacks that wait.
//
// A process body or a GenServer callback that needs to wait (for a message,
// for another server's reply) returns task<T> and uses co_await; while it
// waits, the process is suspended and its scheduler thread runs others. A
// task starts when awaited (lazily) and resumes its awaiter when done, by
// symmetric transfer, so deep chains of awaits use no stack.
#pragma once

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

#include "peeper/runtime/detail/block_pool.hpp"

namespace peeper {

template <class T = void>
class task;

namespace detail {

template <class T>
struct task_promise_base {
  // Coroutine frames come from the block pool (up to its largest class): a
  // start through a supervisor makes and frees about a dozen of them, and
  // the pool's thread caches take no lock where malloc would.
  /// Throws std::bad_alloc.
  static void* operator new(std::size_t size) {
    return block_pool::allocate(block_pool::class_of(size), size);
  }
  /// `size` is the frame's, as allocated.
  static void operator delete(void* p, std::size_t size) noexcept {
    block_pool::deallocate(block_pool::class_of(size), p);
  }

  std::coroutine_handle<> continuation;
  std::exception_ptr error;

  std::suspend_always initial_suspend() noexcept { return {}; }
  struct final_awaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      auto next = h.promise().continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class T>
struct task_promise : task_promise_base<T> {
  std::optional<T> value;
  task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T take() {
    if (this->error) std::rethrow_exception(this->error);
    return std::move(*value);
  }
};

template <>
struct task_promise<void> : task_promise_base<void> {
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() const {
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  task() noexcept = default;
  explicit task(handle_type h) noexcept : h_(h) {}
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { reset(); }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    h_.promise().continuation = awaiter;
    return h_;
  }
  T await_resume() { return h_.promise().take(); }

  [[nodiscard]] handle_type handle() const noexcept { return h_; }

 private:
  void reset() noexcept {
    if (h_) h_.destroy();
    h_ = {};
  }
  handle_type h_;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}

/// The root of a chain of awaits, owned by whoever started it (a process's
/// behaviour). It starts suspended; resume() runs it until it waits or ends.
/// When the body ends it calls its completion and destroys its own frame,
/// after clearing the owner's handle through `slot`.
class root_task {
 public:
  struct promise_type {
    std::coroutine_handle<>* slot = nullptr;
    root_task get_return_object() noexcept {
      return root_task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct self_destroy {
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        if (h.promise().slot != nullptr && *h.promise().slot == h) *h.promise().slot = {};
        h.destroy();
      }
      void await_resume() noexcept {}
    };
    self_destroy final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }  // bodies catch everything
  };
  explicit root_task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}

  /// Starts the body; `*slot` holds its handle while it is suspended and is
  /// cleared when it ends. Returns true if it ended without suspending.
  bool start(std::coroutine_handle<>* slot) {
    h_.promise().slot = slot;
    *slot = h_;
    h_.resume();
    return !*slot;
  }

 private:
  std::coroutine_handle<promise_type> h_;
};

/// Told how a root task ended.
template <class T>
class completion {
 public:
  completion() = default;
  completion(const completion&) = delete;
  completion& operator=(const completion&) = delete;
  virtual ~completion() = default;
  virtual void done(T value) = 0;
  virtual void failed(std::exception_ptr error) = 0;
};
template <>
class completion<void> {
 public:
  completion() = default;
  completion(const completion&) = delete;
  completion& operator=(const completion&) = delete;
  virtual ~completion() = default;
  virtual void done() = 0;
  virtual void failed(std::exception_ptr error) = 0;
};

/// Runs `t` as a root and tells `c` (which the root owns) how it ended.
template <class T>
root_task drive(task<T> t, std::unique_ptr<completion<T>> c) {
  std::exception_ptr error;
  if constexpr (std::is_void_v<T>) {
    try {
      co_await std::move(t);
    } catch (...) {
      error = std::current_exception();
    }
    if (error) {
      c->failed(error);
    } else {
      c->done();
    }
  } else {
    std::optional<T> value;
    try {
      value.emplace(co_await std::move(t));
    } catch (...) {
      error = std::current_exception();
    }
    if (error) {
      c->failed(error);
    } else {
      c->done(std::move(*value));
    }
  }
}

}  // namespace detail
}  // namespace peeper
