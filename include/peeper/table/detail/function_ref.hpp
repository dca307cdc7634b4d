// A non-owning reference to a callable: how the typed table operations pass
// a user's predicate or update function through the table's virtual
// interface without allocating. Valid only while the callable lives.
#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace peeper::detail {

template <class Signature>
class function_ref;

template <class R, class... Args>
class function_ref<R(Args...)> {
 public:
  // Constrained away from function_ref itself, so it hides no copy or move constructor.
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, function_ref> &&
           std::is_invocable_r_v<R, F&, Args...>)
      // NOLINTNEXTLINE(google-explicit-constructor,bugprone-forwarding-reference-overload)
      function_ref(F&& f)
  noexcept
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          using target = std::remove_reference_t<F>;
          return std::invoke(*static_cast<target*>(object), std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace peeper::detail
