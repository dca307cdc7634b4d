// The per-process dictionary: keys of any hashable type, values of any
// copyable type, owned by one process (Erlang's put/get/erase/get_keys).
//
// `dictionary` is a plain copyable value, which is how Peeper preserves a
// worker's dictionary across restarts. The functions in `this_process` use
// the dictionary of the process running on the calling thread and throw
// not_in_process elsewhere.
#pragma once

#include <any>
#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "peeper/runtime/detail/type_id.hpp"

namespace peeper {

/// hash_value: std::hash where it exists, combined for pairs, tuples and vectors.
template <class T>
requires requires(const T& v) { std::hash<T>{}(v); }
std::size_t hash_value(const T& v) { return std::hash<T>{}(v); }
inline std::size_t hash_combine(std::size_t seed, std::size_t h) noexcept {
  return seed ^ (h + 0x9e3779b97f4a7c15ULL + (seed << 6U) + (seed >> 2U));
}
template <class A, class B>
std::size_t hash_value(const std::pair<A, B>& p);
template <class... T>
std::size_t hash_value(const std::tuple<T...>& t);
template <class T>
std::size_t hash_value(const std::vector<T>& v);

template <class A, class B>
std::size_t hash_value(const std::pair<A, B>& p) {
  return hash_combine(hash_value(p.first), hash_value(p.second));
}
template <class... T>
std::size_t hash_value(const std::tuple<T...>& t) {
  return std::apply(
      [](const auto&... e) {
        std::size_t h = sizeof...(T);
        ((h = hash_combine(h, hash_value(e))), ...);
        return h;
      },
      t);
}
template <class T>
std::size_t hash_value(const std::vector<T>& v) {
  std::size_t h = v.size();
  for (const auto& e : v) h = hash_combine(h, hash_value(e));
  return h;
}

/// A type that can key a dictionary.
template <class K>
concept dictionary_key = std::copy_constructible<K> && std::equality_comparable<K> &&
    requires(const K& k) {
  hash_value(k);
};

/// A type-erased dictionary key. Keys of different types never compare equal.
class dict_key {
 public:
  template <class K>
  requires(!std::same_as<std::decay_t<K>, dict_key>) explicit dict_key(K k)
      : m_(std::make_shared<const model<K>>(std::move(k))) {
    static_assert(dictionary_key<K>,
                  "a dictionary key must be copyable, ==-comparable and hashable");
  }

  /// The key if it is a K, else nullptr.
  template <class K>
  [[nodiscard]] const K* get_if() const noexcept {
    return m_->type == detail::type_id<K>() ? &static_cast<const model<K>*>(m_.get())->key
                                            : nullptr;
  }
  [[nodiscard]] std::size_t hash() const noexcept { return m_->hash; }
  /// The key's type name.
  [[nodiscard]] const std::string& type_name() const { return m_->type_name(); }
  // A template so that no argument converts to dict_key to reach it.
  template <std::same_as<dict_key> K>
  friend bool operator==(const K& a, const K& b) noexcept {
    return a.m_->type == b.m_->type && a.m_->hash == b.m_->hash && a.m_->equals(*b.m_);
  }

 private:
  struct concept_t {
    concept_t(detail::type_id_t t, std::size_t h) : type(t), hash(h) {}
    virtual ~concept_t() = default;
    concept_t(const concept_t&) = delete;
    concept_t& operator=(const concept_t&) = delete;
    [[nodiscard]] virtual bool equals(const concept_t& o) const noexcept = 0;
    [[nodiscard]] virtual const std::string& type_name() const = 0;
    detail::type_id_t type;
    std::size_t hash;
  };
  template <class K>
  struct model final : concept_t {
    explicit model(K k) : concept_t(detail::type_id<K>(), hash_value(k)), key(std::move(k)) {}
    [[nodiscard]] bool equals(const concept_t& o) const noexcept override {
      return key == static_cast<const model&>(o).key;
    }
    [[nodiscard]] const std::string& type_name() const override { return detail::type_name<K>(); }
    K key;
  };
  std::shared_ptr<const concept_t> m_;  // immutable, so sharing between copies is safe
};

}  // namespace peeper

template <>
struct std::hash<peeper::dict_key> {
  std::size_t operator()(const peeper::dict_key& k) const noexcept { return k.hash(); }
};

namespace peeper {

/// The key for `k`: C strings become std::string so that they compare by value.
template <class K>
dict_key make_key(K&& k) {
  if constexpr (std::same_as<std::decay_t<K>, dict_key>) {
    return std::forward<K>(k);
  } else if constexpr (std::is_convertible_v<K, std::string_view> &&
                       !std::same_as<std::decay_t<K>, std::string>) {
    return dict_key(std::string(std::string_view(k)));
  } else {
    return dict_key(std::decay_t<K>(std::forward<K>(k)));
  }
}

class dictionary {
 public:
  /// Sets `key` to `value`; returns the previous value (empty if there was none).
  template <class K>
  std::any put(K&& key, std::any value) {  // NOLINT(performance-unnecessary-value-param): moved in
    auto [it, inserted] = map_.try_emplace(make_key(std::forward<K>(key)));
    std::any old = std::move(it->second);
    it->second = std::move(value);
    return inserted ? std::any{} : old;
  }
  /// The value under `key` if present and a V, else nullptr.
  template <class V, class K>
  [[nodiscard]] V* get(K&& key) {
    auto it = map_.find(make_key(std::forward<K>(key)));
    return it == map_.end() ? nullptr : std::any_cast<V>(&it->second);
  }
  /// The value under `key`, whatever its type; nullptr if absent.
  template <class K>
  [[nodiscard]] const std::any* find(K&& key) const {
    auto it = map_.find(make_key(std::forward<K>(key)));
    return it == map_.end() ? nullptr : &it->second;
  }
  /// Removes `key`; returns its value (empty if absent).
  template <class K>
  std::any erase(K&& key) {
    auto it = map_.find(make_key(std::forward<K>(key)));
    if (it == map_.end()) return {};
    std::any old = std::move(it->second);
    map_.erase(it);
    return old;
  }
  [[nodiscard]] std::vector<dict_key> keys() const {
    std::vector<dict_key> out;
    out.reserve(map_.size());
    for (const auto& [k, v] : map_) out.push_back(k);
    return out;
  }
  [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
  [[nodiscard]] bool empty() const noexcept { return map_.empty(); }
  void clear() noexcept { map_.clear(); }
  [[nodiscard]] auto begin() const noexcept { return map_.begin(); }
  [[nodiscard]] auto end() const noexcept { return map_.end(); }

 private:
  std::unordered_map<dict_key, std::any> map_;
};

namespace this_process {
/// The calling process's dictionary. Throws not_in_process outside a process.
dictionary& dict();
/// put(key, value): returns the previous value or an empty any.
template <class K>
std::any put(K&& key, std::any value) {
  return dict().put(std::forward<K>(key), std::move(value));
}
/// The value under `key` as a V, or nullptr (absent, or of another type).
template <class V, class K>
V* get(K&& key) {
  return dict().get<V>(std::forward<K>(key));
}
/// Removes `key` and returns its value (empty if absent).
template <class K>
std::any erase(K&& key) {
  return dict().erase(std::forward<K>(key));
}
/// All keys of the calling process's dictionary.
inline std::vector<dict_key> keys() { return dict().keys(); }
}  // namespace this_process

}  // namespace peeper
