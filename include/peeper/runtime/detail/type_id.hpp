// Cheap runtime type identity for message payloads: one address per type,
// compared by pointer, plus a readable name for logs and error messages.
#pragma once

#include <string>
#include <typeinfo>

namespace peeper::detail {

template <class T>
struct type_tag {
  static constexpr char id = 0;
};

using type_id_t = const void*;

template <class T>
type_id_t type_id() noexcept {
  return &type_tag<T>::id;
}

/// The demangled name of a type (as the compiler spells it).
std::string demangle(const std::type_info& info);

template <class T>
const std::string& type_name() {
  static const std::string name = demangle(typeid(T));
  return name;
}

}  // namespace peeper::detail
