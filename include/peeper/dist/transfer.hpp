// Moving a Peeper instance to a DynamicSupervisor of another node.
//
// Both nodes declare the instance type, with the types its messages and dictionary entries
// may have (each must be term_mappable, and so must the state type):
//
//   dist::transferable<counter>(node, "counter",
//                               dist::calls<get, add>{}, dist::casts<add>{},
//                               dist::dictionary_types<std::string, int>{});
//
// then, on the source node, from a thread outside the runtime:
//
//   pid moved = dist::transfer(node, "mover", source_sup,
//                              dist::remote_target{"workers", "cpp2@127.0.0.1"});
//
// The instance is frozen (messages for it wait), stopped under the source, and started under
// the target DynamicSupervisor (registered under `supervisor` on the target node) with its
// committed state, dictionary and kept tables, under the same name, which is exposed there with the
// declared types (dist::call(n, remote_name{name, node}, ...) reaches it). What waited, and
// whatever is sent later to the name or a handle on the source node, is forwarded to the new
// instance in order; replies go back to the callers. See docs/distribution.md.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "peeper/dist/detail/transfer_entry.hpp"
#include "peeper/dist/expose.hpp"
#include "peeper/dist/node.hpp"
#include "peeper/runtime/names.hpp"
#include "peeper/runtime/pid.hpp"
#include "peeper/server/transfer.hpp"

namespace peeper::dist {

/// Where an instance goes: the DynamicSupervisor registered as `supervisor` on node `node`.
struct remote_target {
  std::string supervisor;
  std::string node;
};

/// Why a transfer to another node failed, beyond the local transfer_errc cases.
enum class remote_transfer_errc {
  not_transferable,  // a node has no transferable() for the type, or the name is not local
  encode_failed,     // the state, a dictionary entry or a kept table has no declared encoding
  unreachable,       // the target node did not answer (down, or the connection dropped)
};

/// "not_transferable", "encode_failed", "unreachable".
const char* to_string(remote_transfer_errc code) noexcept;

class remote_transfer_error : public std::runtime_error {
 public:
  remote_transfer_error(remote_transfer_errc code, const std::string& message)
      : std::runtime_error(std::string("transfer: ") + to_string(code) + ": " + message),
        code_(code) {}
  [[nodiscard]] remote_transfer_errc code() const noexcept { return code_; }

 private:
  remote_transfer_errc code_;
};

/// Declares, on node `n`, that instances of Impl may leave this node and arrive on it, under
/// `tag` (the same on every node). `protocols`: any of calls<...>, casts<...>, infos<...> (as
/// for expose: what remote callers and forwarded messages may carry), dictionary_types<...>
/// (the types of the dictionary's keys and values, and of server_heir() data),
/// table_types<table<K, V>...> (the types of its kept tables) and on_arrival<State> (adjusts
/// the options of an instance arriving here, e.g. to give it a listener). One declaration per
/// server type; a later one replaces it. An arriving instance gets its name, state, dictionary,
/// kept tables, supervisor flags, init timeout and keep_tables from the source. Any thread.
template <class Impl, class... Protocols>
void transferable(node& n, const std::string& tag, Protocols... protocols) {
  using state_type = typename Impl::state_type;
  using entry = detail::typed_transfer_entry<
      Impl, typename detail::find_protocol<calls, Protocols...>::type,
      typename detail::find_protocol<casts, Protocols...>::type,
      typename detail::find_protocol<infos, Protocols...>::type,
      typename detail::find_protocol<dictionary_types, Protocols...>::type,
      typename detail::find_protocol<table_types, Protocols...>::type>;
  std::function<void(server_options<state_type>&)> adjust;
  (
      [&](auto& p) {
        if constexpr (std::is_same_v<std::decay_t<decltype(p)>, on_arrival<state_type>>) {
          adjust = std::move(p.adjust);
        }
      }(protocols),
      ...);
  detail::add_transfer_entry(detail::core_of(n), tag, peeper::detail::type_id<Impl>(),
                             std::make_shared<entry>(std::move(adjust)));
}

/// Moves the instance named `name` (local to n's runtime) from the DynamicSupervisor `source`
/// to `target` on another node. Returns the new instance's pid (a remote pid).
///
/// Blocks (up to about `timeout` for each exchange with the target); from threads outside the
/// runtime. Throws, leaving the instance working under the source with nothing lost:
/// transfer_error name_not_found, source_not_found, not_a_child (as the local transfer),
/// target_not_found (no such supervisor on the target node), start_failed (the target refused
/// it: max_children, already_started, init failed); remote_transfer_error not_transferable,
/// encode_failed, unreachable. The checks that need no stop run first; a failure found after
/// the instance stopped (a dictionary value without encoding, the target's refusal, an
/// unreachable target) restarts it under the source with its state, dictionary and waiting
/// messages. unreachable after the offer was sent is ambiguous if the node is still up and only
/// the connection dropped: see docs/distribution.md.
pid transfer(node& n, const name& name, const pid& source, const remote_target& target,
             std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace peeper::dist
