// `from`: where a call's reply goes.
//
// A server's handle_call receives a `from`. Returning reply(v) answers
// through it; returning noreply() keeps the caller waiting until someone
// calls reply(from, v) (later, from any process or thread). A `from` is
// answered at most once; if every copy of an unanswered `from` is dropped,
// the caller gets an error at once instead of waiting for its timeout:
// `exited` with the server's reason if the server died holding it,
// `no_reply` otherwise.
#pragma once

#include <atomic>
#include <utility>

#include "peeper/gen_server/call_error.hpp"
#include "peeper/runtime/detail/block_pool.hpp"
#include "peeper/runtime/detail/envelope.hpp"
#include "peeper/runtime/detail/intrusive_ptr.hpp"
#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/detail/runtime_core.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper {

namespace detail {

/// The reply carried back to the caller.
template <class T>
struct value_reply final : reply_envelope {
  template <class U>
  value_reply(std::uint64_t tag, U&& v)
      : reply_envelope(tag, type_id<T>()), value(std::forward<U>(v)) {}
  [[nodiscard]] const std::string& payload_type_name() const override { return type_name<T>(); }
  T value;
};
struct error_reply final : reply_envelope {
  error_reply(std::uint64_t tag, call_errc c, exit_reason r)
      : reply_envelope(tag, type_id<error_reply>()), code(c), reason(std::move(r)) {}
  call_errc code;
  exit_reason reason;
};

/// One pending call's way back to its caller: a process (by reply
/// envelope) or an outside thread (by event). Counted; answered once.
class reply_channel {
 public:
  reply_channel(pid server, std::uint64_t tag) noexcept : server_(std::move(server)), tag_(tag) {}
  reply_channel(const reply_channel&) = delete;
  reply_channel& operator=(const reply_channel&) = delete;
  virtual ~reply_channel() = default;

  // From the block pool, as envelopes (envelope.hpp): a caller makes its
  // channel and the server's thread often drops the last reference.
  /// Throws std::bad_alloc.
  static void* operator new(std::size_t size) {
    return block_pool::allocate(block_pool::class_of(size), size);
  }
  /// `size` is the dynamic type's (the destructor is virtual).
  static void operator delete(void* p, std::size_t size) noexcept {
    block_pool::deallocate(block_pool::class_of(size), p);
  }

  friend void intrusive_add_ref(reply_channel* c) noexcept {
    c->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  friend void intrusive_release(reply_channel* c) noexcept {
    if (c->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete c;
  }
  void add_from() noexcept { froms_.fetch_add(1, std::memory_order_relaxed); }
  /// True when the last `from` went away.
  bool drop_from() noexcept { return froms_.fetch_sub(1, std::memory_order_acq_rel) == 1; }
  /// Claims the right to answer. False if answered (or abandoned) already.
  bool claim() noexcept { return !done_.exchange(true, std::memory_order_acq_rel); }
  [[nodiscard]] bool done() const noexcept { return done_.load(std::memory_order_acquire); }
  [[nodiscard]] std::uint64_t tag() const noexcept { return tag_; }
  [[nodiscard]] const pid& server() const noexcept { return server_; }
  /// Names the answering server; only by that server, before anything can
  /// abandon the channel (its start, for a start acknowledgement).
  void set_server(pid p) noexcept { server_ = std::move(p); }
  /// The calling process (null for an outside thread).
  [[nodiscard]] virtual pid caller() const = 0;
  /// Delivers a reply envelope; call only after a successful claim().
  virtual void deliver(envelope_ptr reply) = 0;

  /// Answers with an error, if not answered yet.
  void fail(call_errc code, exit_reason reason) {
    if (claim()) deliver(std::make_unique<error_reply>(tag_, code, std::move(reason)));
  }
  /// Called when the last `from` for this call is dropped unanswered.
  void abandoned() {
    process* s = server_.control_block();
    // A server that stops in the callback drops its `from` while exiting,
    // on its own thread, before it has exited: the caller gets its reason.
    if (s != nullptr && (s->exited() || (s == current() && s->exiting()))) {
      fail(call_errc::exited, s->reason());
    } else {
      fail(call_errc::no_reply, exit_reason::normal());
    }
  }

 private:
  std::atomic<std::uint32_t> refs_{1};
  std::atomic<std::uint32_t> froms_{0};  // live `from` handles (the server side)
  std::atomic<bool> done_{false};
  pid server_;
  std::uint64_t tag_;
};

/// Replies to a process: a reply envelope its awaiting coroutine matches by tag.
class process_channel final : public reply_channel {
 public:
  process_channel(pid server, std::uint64_t tag, pid caller)
      : reply_channel(std::move(server), tag), caller_(std::move(caller)) {}
  [[nodiscard]] pid caller() const override { return caller_; }
  void deliver(envelope_ptr reply) override {
    process::deliver(caller_.control_block(), std::move(reply));
  }

 private:
  pid caller_;
};

/// Replies to a thread blocked in call().
class thread_channel final : public reply_channel {
 public:
  using reply_channel::reply_channel;
  [[nodiscard]] pid caller() const override { return {}; }
  void deliver(envelope_ptr reply) override {
    reply_ = std::move(reply);
    event_.notify();  // publishes reply_ to the waiter
  }
  thread_event& event() noexcept { return event_; }
  /// The reply; only after event() fired.
  envelope_ptr take() noexcept { return std::move(reply_); }

 private:
  envelope_ptr reply_;
  thread_event event_;
};

/// One reference to a pending call; the last one dropped unanswered fails it.
class from_ref {
 public:
  from_ref() = default;
  explicit from_ref(intrusive_ptr<reply_channel> ch) noexcept : ch_(std::move(ch)) {
    if (ch_) ch_->add_from();
  }
  from_ref(const from_ref& o) noexcept : ch_(o.ch_) {
    if (ch_) ch_->add_from();
  }
  from_ref(from_ref&& o) noexcept : ch_(std::move(o.ch_)) {}
  from_ref& operator=(from_ref o) noexcept {
    ch_.swap(o.ch_);
    return *this;
  }
  ~from_ref() {
    if (ch_ && ch_->drop_from()) ch_->abandoned();
  }
  [[nodiscard]] reply_channel* get() const noexcept { return ch_.get(); }

 private:
  intrusive_ptr<reply_channel> ch_;
};

}  // namespace detail

class from {
 public:
  /// An empty from (answers nothing).
  from() = default;
  explicit from(detail::from_ref r) noexcept : r_(std::move(r)) {}

  /// Answers the call with `value`. Returns false if it was answered already
  /// or the caller gave up (timeout): the value is then dropped. Any thread.
  template <class T>
  bool reply(T&& value) const {
    detail::reply_channel* ch = r_.get();
    if (ch == nullptr || !ch->claim()) return false;
    ch->deliver(
        std::make_unique<detail::value_reply<std::decay_t<T>>>(ch->tag(), std::forward<T>(value)));
    return true;
  }
  /// The calling process; the null pid for a call from an outside thread.
  [[nodiscard]] pid caller() const { return r_.get() != nullptr ? r_.get()->caller() : pid(); }
  /// True while the call waits for an answer.
  [[nodiscard]] bool pending() const noexcept { return r_.get() != nullptr && !r_.get()->done(); }
  explicit operator bool() const noexcept { return r_.get() != nullptr; }
  /// For the library's own use.
  [[nodiscard]] detail::reply_channel* channel() const noexcept { return r_.get(); }

 private:
  detail::from_ref r_;
};

/// reply(from, value): see from::reply.
template <class T>
bool reply(const from& f, T&& value) {
  return f.reply(std::forward<T>(value));
}

}  // namespace peeper
