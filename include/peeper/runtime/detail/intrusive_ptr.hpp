// Intrusive reference counting for runtime objects (process control blocks,
// reply channels). The pointer calls intrusive_add_ref(p) / intrusive_release(p)
// found by argument-dependent lookup, so a counted type may stay incomplete
// where pointers to it are copied; it never allocates, so handing a pid
// around costs one atomic increment.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace peeper::detail {

template <class T>
class intrusive_ptr {
 public:
  intrusive_ptr() noexcept = default;
  intrusive_ptr(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)
  /// Takes a new reference to `p` (unless adopt is set, which takes over one).
  explicit intrusive_ptr(T* p, bool adopt = false) noexcept : p_(p) {
    if (p_ != nullptr && !adopt) intrusive_add_ref(p_);
  }
  intrusive_ptr(const intrusive_ptr& o) noexcept : intrusive_ptr(o.p_) {}
  intrusive_ptr(intrusive_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  template <class U>
  requires std::is_convertible_v<U*, T*> intrusive_ptr(intrusive_ptr<U> o)
  noexcept  // NOLINT(google-explicit-constructor): upcast
      : p_(o.detach()) {}
  intrusive_ptr& operator=(const intrusive_ptr& o) noexcept {
    if (this != &o) intrusive_ptr(o).swap(*this);
    return *this;
  }
  intrusive_ptr& operator=(intrusive_ptr&& o) noexcept {
    intrusive_ptr(std::move(o)).swap(*this);
    return *this;
  }
  ~intrusive_ptr() {
    if (p_ != nullptr) intrusive_release(p_);
  }

  void swap(intrusive_ptr& o) noexcept { std::swap(p_, o.p_); }
  /// Gives up ownership of one reference without releasing it.
  T* detach() noexcept { return std::exchange(p_, nullptr); }
  [[nodiscard]] T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  friend bool operator==(const intrusive_ptr& a, const intrusive_ptr& b) noexcept {
    return a.p_ == b.p_;
  }

 private:
  T* p_ = nullptr;
};

}  // namespace peeper::detail
