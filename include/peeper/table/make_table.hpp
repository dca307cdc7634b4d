// Making tables and finding named ones: the entry point of the table layer.
//
//     auto sessions = peeper::make_table<std::string, session>(
//         {.kind = peeper::table_kind::set, .access = peeper::table_access::public_,
//          .name = "sessions"});
//     sessions.insert("alice", s);
//     auto same = peeper::find_table<std::string, session>(rt, "sessions");
//
// Table names are per runtime: two runtimes may each have a table "x".
// owned_tables() lists the tables of the calling process.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/runtime.hpp"
#include "peeper/table/any_table.hpp"
#include "peeper/table/concepts.hpp"
#include "peeper/table/detail/hash_table.hpp"
#include "peeper/table/detail/ordered_table.hpp"
#include "peeper/table/detail/table_core.hpp"
#include "peeper/table/errors.hpp"
#include "peeper/table/options.hpp"
#include "peeper/table/table.hpp"
#include "peeper/table/transfer.hpp"

namespace peeper {

namespace detail {
/// Throws table_error unsupported: `kind` cannot hold these types.
[[noreturn]] void throw_unsupported_kind(table_kind kind, const table_types& types,
                                         const char* why);
/// The live table named `name` in `rt`, or null.
std::shared_ptr<table_core> find_named_table(runtime_core& rt, std::string_view name);
}  // namespace detail

/// Makes a table owned by the calling process, per `options`. It lives until
/// its owner exits (then it passes to its heir, or is deleted) or until it is
/// destroyed.
/// Throws not_in_process outside a process; table_error name_taken if the
/// name belongs to a live table of this runtime, unsupported if K or V cannot
/// make this kind (a set or bag of keys without std::hash, an ordered_set of
/// keys without <, a bag of values without ==), bad_target for an heir in
/// another runtime.
template <table_key K, table_value V>
table<K, V> make_table(table_options options = {}) {
  detail::process& creator = detail::current_or_throw("make_table");
  const auto types = detail::table_types::of<K, V>();
  std::shared_ptr<detail::table_store<K, V>> store;
  switch (options.kind) {
    case table_kind::ordered_set:
      if constexpr (ordered_key<K>) {
        store = std::make_shared<detail::ordered_table<K, V>>(options, types);
      } else {
        detail::throw_unsupported_kind(options.kind, types, "the key has no operator<");
      }
      break;
    case table_kind::set:
    case table_kind::duplicate_bag:
      if constexpr (hashable_key<K>) {
        if (options.kind == table_kind::set) {
          store = std::make_shared<detail::hash_table<K, V, false>>(options, types);
        } else {
          store = std::make_shared<detail::hash_table<K, V, true>>(options, types);
        }
      } else {
        detail::throw_unsupported_kind(options.kind, types, "the key has no std::hash");
      }
      break;
    case table_kind::bag:
      if constexpr (hashable_key<K> && std::equality_comparable<V>) {
        store = std::make_shared<detail::hash_table<K, V, true>>(options, types);
      } else {
        detail::throw_unsupported_kind(options.kind, types,
                                       "a bag needs std::hash on keys and == on values");
      }
      break;
  }
  if (!store) detail::throw_unsupported_kind(options.kind, types, "unknown kind");
  store->start(creator);
  return table<K, V>(std::move(store));
}

/// The live table named `name` in `rt`, or nothing. Callable from any
/// thread. Throws table_error bad_type if that table holds other key or
/// value types.
template <table_key K, table_value V>
std::optional<table<K, V>> find_table(runtime& rt, std::string_view name) {
  auto core = detail::find_named_table(rt.core(), name);
  if (!core) return std::nullopt;
  return table_cast<K, V>(any_table(std::move(core)));
}
/// As above, in the calling process's runtime. Throws not_in_process outside one.
template <table_key K, table_value V>
std::optional<table<K, V>> find_table(std::string_view name) {
  return find_table<K, V>(this_runtime(), name);
}
/// The live table named `name` in `rt`, whatever its types, or nothing.
std::optional<any_table> find_any_table(runtime& rt, std::string_view name);

/// The live tables the calling process owns (made, inherited or given), in
/// no particular order. Throws not_in_process outside a process.
std::vector<any_table> owned_tables();

}  // namespace peeper
