// What travels through a mailbox: one heap node per message or signal,
// linked intrusively so that enqueueing never allocates a second time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "peeper/runtime/detail/block_pool.hpp"
#include "peeper/runtime/detail/type_id.hpp"
#include "peeper/runtime/exit_reason.hpp"
#include "peeper/runtime/pid.hpp"

namespace peeper::detail {

enum class envelope_kind : std::uint8_t {
  // Messages: queued in order and consumed by the process's behaviour.
  message,  // a plain message (send)
  call,     // a GenServer call request
  cast,     // a GenServer cast
  // Replies to an awaited call; never queued: matched against what the process awaits.
  reply,
  // Signals: acted upon as soon as the process drains its inbox.
  exit_signal,
  link,
  unlink,
  monitor,
  demonitor,
  down,
  timeout,  // an awaited call or receive ran out of time
  stop,     // the runtime is shutting down
  run,      // run a function in the process (used by layers above)
};

struct envelope {
  explicit envelope(envelope_kind k, type_id_t t = nullptr) noexcept : type(t), kind(k) {}
  envelope(const envelope&) = delete;
  envelope& operator=(const envelope&) = delete;
  virtual ~envelope() = default;
  /// The payload's type name, for crash reports and logs.
  [[nodiscard]] virtual const std::string& payload_type_name() const;

  // Envelopes come from the block pool: a message is mostly made on one thread
  // and freed on another, and glibc's free of another thread's chunk takes that
  // thread's arena lock (malloc and free were a third of a cast's time).
  // A size is a multiple of its type's alignment, so a 16-aligned envelope gets
  // a class of 16-byte multiples, whose blocks are 16-aligned.
  /// Throws std::bad_alloc.
  static void* operator new(std::size_t size) {
    return block_pool::allocate(block_pool::class_of(size, block_pool::step), size);
  }
  /// `size` is the dynamic type's (the destructor is virtual).
  static void operator delete(void* p, std::size_t size) noexcept {
    block_pool::deallocate(block_pool::class_of(size, block_pool::step), p);
  }
  // Over-aligned payloads (beyond 16 bytes) go to the global allocator.
  /// Throws std::bad_alloc.
  static void* operator new(std::size_t size, std::align_val_t align) {
    return ::operator new(size, align);
  }
  static void operator delete(void* p, std::size_t /*size*/, std::align_val_t align) noexcept {
    ::operator delete(p, align);  // the sized global form needs -fsized-deallocation in Clang
  }

  envelope* next = nullptr;
  type_id_t type;  // payload type, for message / call / cast / reply
  envelope_kind kind;
};

using envelope_ptr = std::unique_ptr<envelope>;

/// An owning queue of envelopes linked through `next` (a process's drained
/// messages, a Peeper route's waiting ones): pushing, popping and splicing a
/// whole queue in front are O(1), so a backlog handed from a process to its
/// successor costs the same whatever its length.
// One pointer, to the last entry, whose `next` is the first (a circle): every
// process and every Peeper route holds one, mostly empty, so the second
// pointer of a head/tail pair was 8 bytes of each.
class envelope_list {
 public:
  envelope_list() = default;
  envelope_list(envelope_list&& o) noexcept : tail_(std::exchange(o.tail_, nullptr)) {}
  envelope_list& operator=(envelope_list&& o) noexcept {
    if (this != &o) {
      clear();
      tail_ = std::exchange(o.tail_, nullptr);
    }
    return *this;
  }
  envelope_list(const envelope_list&) = delete;
  envelope_list& operator=(const envelope_list&) = delete;
  ~envelope_list() { clear(); }

  [[nodiscard]] bool empty() const noexcept { return tail_ == nullptr; }
  void push_back(envelope_ptr e) noexcept {
    envelope* n = e.release();
    if (tail_ == nullptr) {
      n->next = n;
    } else {
      n->next = tail_->next;
      tail_->next = n;
    }
    tail_ = n;
  }
  envelope_ptr pop_front() noexcept {
    if (tail_ == nullptr) return nullptr;
    envelope* n = tail_->next;
    if (n == tail_) {
      tail_ = nullptr;
    } else {
      tail_->next = n->next;
    }
    n->next = nullptr;
    return envelope_ptr(n);
  }
  /// Puts `front` (in its order) ahead of this list's entries.
  void splice_front(envelope_list front) noexcept {
    envelope* front_tail = std::exchange(front.tail_, nullptr);
    if (front_tail == nullptr) return;
    if (tail_ == nullptr) {
      tail_ = front_tail;
      return;
    }
    envelope* head = tail_->next;
    tail_->next = front_tail->next;
    front_tail->next = head;
  }
  /// Unlinks and returns the first entry for which pred(const envelope&) holds, or null.
  template <class Pred>
  envelope_ptr remove_first_if(Pred pred) noexcept {
    if (tail_ == nullptr) return nullptr;
    envelope* prev = tail_;
    do {
      envelope* n = prev->next;
      if (pred(static_cast<const envelope&>(*n))) {
        if (n == prev) {
          tail_ = nullptr;  // it was the only entry
        } else {
          prev->next = n->next;
          if (n == tail_) tail_ = prev;
        }
        n->next = nullptr;
        return envelope_ptr(n);
      }
      prev = n;
    } while (prev != tail_);
    return nullptr;
  }
  /// True if pred(const envelope&) holds for an entry.
  template <class Pred>
  [[nodiscard]] bool any_of(Pred pred) const noexcept {
    if (tail_ == nullptr) return false;
    const envelope* n = tail_;
    do {
      n = n->next;
      if (pred(*n)) return true;
    } while (n != tail_);
    return false;
  }
  /// Destroys every entry (a dropped call answers its caller).
  void clear() noexcept {
    while (envelope_ptr e = pop_front()) {
    }
  }

 private:
  envelope* tail_ = nullptr;
};

template <class T>
struct payload_envelope final : envelope {
  template <class... A>
  explicit payload_envelope(envelope_kind k, A&&... a)
      : envelope(k, type_id<T>()), value(std::forward<A>(a)...) {}
  [[nodiscard]] const std::string& payload_type_name() const override { return type_name<T>(); }
  T value;
};

struct reply_envelope : envelope {
  explicit reply_envelope(std::uint64_t r, type_id_t t) noexcept
      : envelope(envelope_kind::reply, t), tag(r) {}
  std::uint64_t tag;
};

struct exit_signal final : envelope {
  exit_signal(pid f, exit_reason r, bool from_link)
      : envelope(envelope_kind::exit_signal),
        from(std::move(f)),
        reason(std::move(r)),
        linked(from_link) {}
  pid from;
  exit_reason reason;
  bool linked;  // sent because `from` exited while linked (not by exit(pid, reason))
};

struct link_signal final : envelope {
  link_signal(envelope_kind k, pid f) : envelope(k), from(std::move(f)) {}
  pid from;
};

struct monitor_signal final : envelope {
  monitor_signal(envelope_kind k, std::uint64_t r, pid w)
      : envelope(k), tag(r), watcher(std::move(w)) {}
  std::uint64_t tag;
  pid watcher;  // set for monitor, empty for demonitor
};

struct down_signal final : envelope {
  down_signal(std::uint64_t r, pid who, exit_reason why)
      : envelope(envelope_kind::down), tag(r), process(std::move(who)), reason(std::move(why)) {}
  std::uint64_t tag;
  pid process;
  exit_reason reason;
};

struct timeout_signal final : envelope {
  explicit timeout_signal(std::uint64_t r) noexcept : envelope(envelope_kind::timeout), tag(r) {}
  std::uint64_t tag;
};

struct run_signal final : envelope {
  explicit run_signal(std::function<void()> f) : envelope(envelope_kind::run), fn(std::move(f)) {}
  std::function<void()> fn;
};

template <class T, class... A>
envelope_ptr make_message(envelope_kind k, A&&... a) {
  return std::make_unique<payload_envelope<T>>(k, std::forward<A>(a)...);
}

}  // namespace peeper::detail
