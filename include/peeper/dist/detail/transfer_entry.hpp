// What a node knows of one transferable Peeper instance type (see peeper/dist/transfer.hpp):
// how to encode its state and dictionary, how to start an arriving instance, how to forward
// the messages of an instance that left. Not API.
#pragma once

#include <any>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "peeper/dist/builtin_mappings.hpp"
#include "peeper/dist/detail/node_api.hpp"
#include "peeper/dist/errors.hpp"
#include "peeper/dist/expose.hpp"
#include "peeper/dist/mapping.hpp"
#include "peeper/dist/remote.hpp"
#include "peeper/dist/term_reader.hpp"
#include "peeper/dist/term_writer.hpp"
#include "peeper/runtime/dictionary.hpp"
#include "peeper/runtime/log.hpp"
#include "peeper/runtime/message.hpp"
#include "peeper/runtime/process.hpp"
#include "peeper/runtime/task.hpp"
#include "peeper/server/detail/core.hpp"
#include "peeper/server/detail/instance_table.hpp"
#include "peeper/server/start.hpp"
#include "peeper/server/transfer.hpp"
#include "peeper/supervisor/dynamic_supervisor.hpp"
#include "peeper/table/make_table.hpp"

namespace peeper::dist {

/// The types the dictionary entries of a transferable instance may have (keys and values
/// alike, and the data of its server_heir() tables); see transferable().
template <class... T>
struct dictionary_types {};

/// The types its kept tables may have, as peeper::table<K, V> (K and V term_mappable); see
/// transferable().
template <class... Tables>
struct table_types {};

/// On the node an instance arrives at: adjusts the options it starts with, which are otherwise
/// its name and state, its supervisor's flags, init timeout and keep_tables from the source
/// node. The listener does not travel: set it here. The name cannot be changed.
template <class State>
struct on_arrival {
  std::function<void(server_options<State>&)> adjust;
};

namespace detail {

using peeper::detail::core_base;
using peeper::detail::envelope_ptr;
using peeper::detail::kept_table;

/// What an instance starts with besides its state: the plain options of the source's instance.
struct arrival_settings {
  peeper::detail::instance_settings settings;
  keep_tables policy;
};

/// "set"... back to the kind; throws decode_error for another atom.
table_kind table_kind_from(std::string_view name);
/// "public"... back to the access; throws decode_error for another atom.
table_access table_access_from(std::string_view name);

/// The node's core, shared (to keep it while a transfer or a forwarder uses it).
std::weak_ptr<node_core> share(node_core& n);

class transfer_entry {
 public:
  transfer_entry() = default;
  transfer_entry(const transfer_entry&) = delete;
  transfer_entry& operator=(const transfer_entry&) = delete;
  virtual ~transfer_entry() = default;

  /// The committed state's term (no version byte). Throws encode_error.
  [[nodiscard]] virtual std::string encode_state(const core_base& core, node_core& n) const = 0;
  /// The dictionary's term. Throws encode_error for an entry of an undeclared type.
  [[nodiscard]] virtual std::string encode_dictionary(const dictionary& d, node_core& n) const = 0;
  /// The kept tables' term, contents included; from a process that owns them (private ones can
  /// only be read by their owner). Throws encode_error for a table of an undeclared type.
  [[nodiscard]] virtual std::string encode_tables(const std::vector<kept_table>& kept,
                                                  node_core& n) const = 0;
  /// Inside a process of the target node: makes the tables (owned by that process, kept for
  /// the instance's first worker) and starts the arriving instance under `sup`, named `name`.
  /// Returns its pid. Throws decode_error, supervisor_error, table_error (a table name taken).
  virtual task<pid> arrive(std::shared_ptr<node_core> n, std::string name, pid sup,
                           std::string state, std::string dict, std::string tables,
                           arrival_settings settings) const = 0;
  /// Spawns, on the source node, the process that forwards what `core` receives to `to`.
  virtual void forward(node_core& n, std::shared_ptr<core_base> core, pid to) const = 0;
};

/// Declares `entry` on `n` under `tag`, for instances of the server type `server`
/// (type_id<Impl>()). Starts the node's transfer receiver if needed.
void add_transfer_entry(node_core& n, const std::string& tag, peeper::detail::type_id_t server,
                        std::shared_ptr<transfer_entry> entry);

/// Calls f(std::type_identity<T>{}) for the i-th of Ts; false if there is none.
template <class... Ts, class F>
bool visit_index(std::size_t i, F&& f) {
  std::size_t k = 0;
  return ((k++ == i ? (f(std::type_identity<Ts>{}), true) : false) || ...);
}

template <class... Ts>
class dictionary_codec {
 public:
  /// [{KeyType, Key, ValueType, Value}]: the types as indexes in Ts.
  static void write(term_writer& w, const dictionary& d) {
    auto keys = d.keys();
    if (keys.empty()) {
      w.write_nil();
      return;
    }
    w.write_list_header(keys.size());
    for (const auto& k : keys) {
      const std::any* v = d.find(k);
      const auto ki = key_index(k);
      const auto vi = value_index(*v);
      if (!ki || !vi) {
        throw encode_error(std::string("transfer: a dictionary ") + (ki ? "value" : "key") +
                           " of type " + (ki ? std::string(v->type().name()) : k.type_name()) +
                           " is not among the declared dictionary_types");
      }
      w.write_tuple_header(4);
      w.write(static_cast<std::int64_t>(*ki));
      (void)visit_index<Ts...>(*ki,
                               [&](auto t) { w.write(*k.get_if<typename decltype(t)::type>()); });
      w.write(static_cast<std::int64_t>(*vi));
      (void)visit_index<Ts...>(
          *vi, [&](auto t) { w.write(*std::any_cast<typename decltype(t)::type>(v)); });
    }
    w.write_nil();
  }
  static dictionary read(term_reader& r) {
    dictionary d;
    const std::size_t n = r.read_list_header();
    for (std::size_t i = 0; i < n; ++i) {
      r.read_tuple_header(4);
      std::optional<dict_key> key;
      const auto ki = static_cast<std::size_t>(r.read_int64(0, sizeof...(Ts) - 1));
      (void)visit_index<Ts...>(
          ki, [&](auto t) { key.emplace(dict_key(r.read<typename decltype(t)::type>())); });
      const auto vi = static_cast<std::size_t>(r.read_int64(0, sizeof...(Ts) - 1));
      (void)visit_index<Ts...>(vi, [&](auto t) {
        (void)d.put(std::move(*key), std::any(r.read<typename decltype(t)::type>()));
      });
    }
    if (n > 0) r.read_nil();
    return d;
  }
  /// `undefined` for no value, else {Type, Value}. Throws encode_error for an undeclared type.
  static void write_any(term_writer& w, const std::any& v) {
    if (!v.has_value()) {
      w.write_atom("undefined");
      return;
    }
    const auto vi = value_index(v);
    if (!vi) {
      throw encode_error(std::string("transfer: a table's heir data of type ") + v.type().name() +
                         " is not among the declared dictionary_types");
    }
    w.write_tuple_header(2);
    w.write(static_cast<std::int64_t>(*vi));
    (void)visit_index<Ts...>(
        *vi, [&](auto t) { w.write(*std::any_cast<typename decltype(t)::type>(&v)); });
  }
  static std::any read_any(term_reader& r) {
    std::any v;
    if (r.peek() == term_kind::atom) {
      r.expect_atom("undefined");
      return v;
    }
    r.read_tuple_header(2);
    const auto vi = static_cast<std::size_t>(r.read_int64(0, sizeof...(Ts) - 1));
    (void)visit_index<Ts...>(vi, [&](auto t) { v = r.read<typename decltype(t)::type>(); });
    return v;
  }

 private:
  static std::optional<std::size_t> key_index(const dict_key& k) {
    std::size_t i = 0;
    std::optional<std::size_t> found;
    ((found = found ? found : (k.get_if<Ts>() != nullptr ? std::optional(i) : std::nullopt), ++i),
     ...);
    return found;
  }
  static std::optional<std::size_t> value_index(const std::any& v) {
    std::size_t i = 0;
    std::optional<std::size_t> found;
    ((found = found ? found : (std::any_cast<Ts>(&v) != nullptr ? std::optional(i) : std::nullopt),
      ++i),
     ...);
    return found;
  }
};

/// Kept tables as a term: [{Type, Name, Kind, Access, ReadConcurrency, WriteConcurrency, Shards,
/// ServerHeir, HeirData, Objects}], Type an index in Tables, Objects [{Key, Value}].
template <class Dict, class... Tables>
class tables_codec {
 public:
  static void write(term_writer& w, const std::vector<kept_table>& kept) {
    if (kept.empty()) {
      w.write_nil();
      return;
    }
    w.write_list_header(kept.size());
    for (const kept_table& k : kept) {
      const auto& types = k.table.core_ptr()->types();
      const table_info info = k.table.info();
      const auto i = index_of(types);
      if (!i) {
        throw encode_error("transfer: kept table " + describe(info) + " holds " +
                           types.to_string() + ", not among the declared table_types");
      }
      w.write_tuple_header(10);
      w.write(static_cast<std::int64_t>(*i));
      w.write(info.name);
      w.write_atom(to_string(info.kind));
      w.write_atom(to_string(info.access));
      w.write(info.read_concurrency);
      w.write(info.write_concurrency);
      w.write(static_cast<std::int64_t>(info.shards));
      w.write(k.server_heir);
      Dict::write_any(w, k.data);
      (void)visit_index<Tables...>(*i, [&](auto t) {
        using T = typename decltype(t)::type;
        w.write(table_cast<typename T::key_type, typename T::value_type>(k.table).to_list());
      });
    }
    w.write_nil();
  }
  /// Makes each table in the calling process, filled, and keeps it in `core` for its worker.
  static void make(term_reader& r, core_base& core) {
    const std::size_t n = r.read_list_header();
    for (std::size_t i = 0; i < n; ++i) {
      r.read_tuple_header(10);
      const auto ti = static_cast<std::size_t>(r.read_int64(0, sizeof...(Tables) - 1));
      table_options o;
      o.name = r.read<std::string>();
      o.kind = table_kind_from(r.read_atom().name);
      o.access = table_access_from(r.read_atom().name);
      o.read_concurrency = r.read<bool>();
      o.write_concurrency = r.read<bool>();
      o.shards = static_cast<std::size_t>(r.read_int64(0, 1024));
      const bool server_heir = r.read<bool>();
      std::any data = Dict::read_any(r);
      (void)visit_index<Tables...>(ti, [&](auto t) {
        using T = typename decltype(t)::type;
        using K = typename T::key_type;
        using V = typename T::value_type;
        auto objects = r.read<std::vector<std::pair<K, V>>>();
        auto table = make_table<K, V>(o);
        table.insert(std::move(objects));
        table.core_ptr()->keep_when_orphaned(true);
        core.keep_table({table, server_heir, std::move(data)});
      });
    }
    if (n > 0) r.read_nil();
  }

 private:
  static std::optional<std::size_t> index_of(const peeper::detail::table_types& types) {
    std::size_t i = 0;
    std::optional<std::size_t> found;
    ((found = found ? found
                    : (types.same(peeper::detail::table_types::of<typename Tables::key_type,
                                                                  typename Tables::value_type>())
                           ? std::optional(i)
                           : std::nullopt),
      ++i),
     ...);
    return found;
  }
  static std::string describe(const table_info& info) {
    return info.name.empty() ? std::string("(unnamed)") : info.name;
  }
};

/// On the target node: a transferred instance's inbox hands what arrives for its name (or pid)
/// to its current worker through the instance's core, wherever restarts have moved it.
struct to_instance_core {
  static bool deliver(const pid& server, envelope_ptr& e) {
    auto core = peeper::detail::latest_core(peeper::detail::find_instance(server));
    return core && core->worker_route().deliver(e);
  }
};

template <class Impl, class Calls, class Casts, class Infos>
using instance_inbox = typed_inbox<Impl, Calls, Casts, Infos, to_instance_core>;

/// On the source node, after a transfer: takes over the old instance's route and sends what
/// it receives (calls, casts, messages of the declared types) to the instance's new pid, in
/// order; replies go straight back to the callers. Ends, closing the route, when the new
/// instance ends or its node becomes unreachable.
template <class Impl, class Calls, class Casts, class Infos>
class forwarder;

template <class Impl, class... C, class... K, class... I>
class forwarder<Impl, calls<C...>, casts<K...>, infos<I...>> final
    : public peeper::detail::behaviour {
 public:
  forwarder(std::weak_ptr<node_core> n, std::shared_ptr<core_base> core, pid to)
      : node_(std::move(n)), core_(std::move(core)), to_(std::move(to)) {}

  void start() override {
    (void)peeper::monitor(to_);
    // What waited may hold a predecessor's runtime messages and hand-over marks: not for the
    // target.
    peeper::detail::envelope_list waiting =
        core_->worker_route().attach(peeper::detail::current()->self());
    while (envelope_ptr e = waiting.pop_front()) {
      if (peeper::detail::is_handoff_mark(*e) || peeper::detail::meant_for_predecessor(*e)) {
        continue;
      }
      forward(std::move(e));
    }
  }
  void handle(envelope_ptr e) override {
    if (e->type == peeper::detail::type_id<down_message>()) {
      core_->close();
      peeper::detail::forget_instance(*core_);
      peeper::detail::current()->exit_self(exit_reason::normal());
      return;
    }
    forward(std::move(e));
  }
  void on_exit(const exit_reason& /*reason*/) noexcept override { core_->close(); }

 private:
  void forward(envelope_ptr e) {
    auto n = node_.lock();
    bool done = false;
    if (n) {
      switch (e->kind) {
        case peeper::detail::envelope_kind::call:
          ((done = done || forward_call<C>(*n, e)), ...);
          break;
        case peeper::detail::envelope_kind::cast:
          ((done = done || forward_cast<K>(*n, e)), ...);
          break;
        case peeper::detail::envelope_kind::message:
          ((done = done || forward_info<I>(*n, e)), ...);
          break;
        default:
          break;
      }
    }
    if (done) return;
    if (e->kind == peeper::detail::envelope_kind::call) {
      if (auto* ch = static_cast<peeper::detail::request_envelope&>(*e).reply_to.get()) {
        ch->fail(n ? call_errc::bad_call : call_errc::noproc, exit_reason::noproc());
      }
      return;
    }
    peeper::detail::logger().warn("transfer: dropped a {} for {}: not declared to transferable()",
                                  e->payload_type_name(), to_.to_string());
  }
  template <class Msg>
  bool forward_call(node_core& n, envelope_ptr& e) {
    if (e->type != peeper::detail::type_id<Msg>()) return false;
    remote_route<reply_type_t<Impl, Msg>, Msg> route{&n, to_};
    (void)route.push(e);
    return true;
  }
  template <class Msg>
  bool forward_cast(node_core& n, envelope_ptr& e) {
    if (e->type != peeper::detail::type_id<Msg>()) return false;
    term_writer w(&pids_of(n));
    w.write_version();
    w.write_tuple_header(2);
    w.write_atom("$gen_cast");
    w.write(static_cast<peeper::detail::request<Msg>&>(*e).msg);
    (void)send_encoded(n, to_, w.bytes());
    return true;
  }
  template <class Msg>
  bool forward_info(node_core& n, envelope_ptr& e) {
    if (e->type != peeper::detail::type_id<Msg>()) return false;
    auto bytes = encode_message(n, static_cast<peeper::detail::payload_envelope<Msg>&>(*e).value);
    (void)send_encoded(n, to_, bytes);
    return true;
  }

  std::weak_ptr<node_core> node_;
  std::shared_ptr<core_base> core_;
  pid to_;
};

template <class Impl, class Calls, class Casts, class Infos, class Dict, class Tables>
class typed_transfer_entry;

template <class Impl, class Calls, class Casts, class Infos, class... D, class... T>
class typed_transfer_entry<Impl, Calls, Casts, Infos, dictionary_types<D...>, table_types<T...>>
    final : public transfer_entry {
 public:
  using state_type = typename Impl::state_type;

  explicit typed_transfer_entry(std::function<void(server_options<state_type>&)> adjust)
      : adjust_(std::move(adjust)) {}

  [[nodiscard]] std::string encode_state(const core_base& core, node_core& n) const override {
    term_writer w(&pids_of(n));
    w.write(static_cast<const peeper::detail::instance_core<state_type>&>(core).committed());
    auto b = w.bytes();
    return {b.data(), b.size()};
  }
  [[nodiscard]] std::string encode_dictionary(const dictionary& d, node_core& n) const override {
    term_writer w(&pids_of(n));
    dictionary_codec<D...>::write(w, d);
    auto b = w.bytes();
    return {b.data(), b.size()};
  }
  [[nodiscard]] std::string encode_tables(const std::vector<kept_table>& kept,
                                          node_core& n) const override {
    term_writer w(&pids_of(n));
    tables_codec<dictionary_codec<D...>, T...>::write(w, kept);
    auto b = w.bytes();
    return {b.data(), b.size()};
  }
  task<pid> arrive(std::shared_ptr<node_core> n, std::string name, pid sup, std::string state,
                   std::string dict, std::string tables, arrival_settings arrival) const override {
    server_options<state_type> o;
    o.strategy = arrival.settings.flags.strategy;
    o.max_restarts = arrival.settings.flags.max_restarts;
    o.max_seconds = arrival.settings.flags.max_seconds;
    o.auto_shutdown = arrival.settings.flags.auto_shutdown;
    o.init_timeout = arrival.settings.init_timeout;
    o.keep_tables = std::move(arrival.policy);
    if (adjust_) adjust_(o);
    o.name = name;
    {
      term_reader r(std::span<const char>(state.data(), state.size()), &pids_of(*n));
      o.state = r.read<state_type>();
      r.expect_end();
    }
    dictionary d;
    {
      term_reader r(std::span<const char>(dict.data(), dict.size()), &pids_of(*n));
      d = dictionary_codec<D...>::read(r);
      r.expect_end();
    }
    auto core = peeper::detail::make_core<Impl>(runtime_of(*n), o);
    core->restore_dictionary(std::move(d));
    try {
      term_reader r(std::span<const char>(tables.data(), tables.size()), &pids_of(*n));
      tables_codec<dictionary_codec<D...>, T...>::make(r, *core);
      r.expect_end();
    } catch (...) {
      core->close();  // deletes the tables made so far
      throw;
    }
    add_inbox(*n, name, std::make_shared<instance_inbox<Impl, Calls, Casts, Infos>>());
    pid started;
    try {
      auto op = dynamic_supervisor::async_start_child(sup, peeper::detail::instance_child(core));
      started = co_await op;
    } catch (...) {
      core->close();
      throw;
    }
    co_return started;
  }
  void forward(node_core& n, std::shared_ptr<core_base> core, pid to) const override {
    (void)runtime_of(n).spawn(std::make_unique<forwarder<Impl, Calls, Casts, Infos>>(
        share(n), std::move(core), std::move(to)));
  }

 private:
  std::function<void(server_options<state_type>&)> adjust_;
};

}  // namespace detail
}  // namespace peeper::dist
