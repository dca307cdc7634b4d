// dist::transfer: a Peeper instance moves to a DynamicSupervisor of another node.
//
// Each node with a transferable() declaration runs a receiver, registered as
// "peeper_transfer", to which the source offers the instance: first a probe (is the type
// declared, does the supervisor exist?) before anything stops, then the frozen instance's
// state and dictionary. The receiver starts it under the supervisor (in a process of its
// own, so the connection's thread never waits) and answers with the new pid; the source
// then forwards what the old instance's route receives to it.
#include "peeper/dist/transfer.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <future>
#include <initializer_list>
#include <limits>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "node_core.hpp"
#include "peeper/dist/remote.hpp"
#include "peeper/supervisor/errors.hpp"

namespace peeper::dist {
namespace detail {

/// What a source offers a target node.
struct transfer_offer {
  bool probe = false;      // only check that the instance could arrive
  std::string type;        // the transferable() tag
  std::string name;        // the instance's (local) name
  std::string supervisor;  // the target DynamicSupervisor's registered name
  binary state;            // the committed state's term
  binary dict;             // the dictionary's term
  binary tables;           // the kept tables' term
  arrival_settings settings;
};

/// The target's answer: "ok" with the new pid (null for a probe), or an error code's name.
struct transfer_answer {
  std::string code;
  std::string message;
  pid process;
};

}  // namespace detail

template <>
struct term_mapping<detail::arrival_settings> {
  // {Strategy, MaxRestarts, MaxSecondsMs, AutoShutdown, InitTimeoutMs | infinity,
  //  all | [TableName]}
  static void write(term_writer& w, const detail::arrival_settings& a) {
    const auto& f = a.settings.flags;
    w.write_tuple_header(6);
    w.write_atom(to_string(f.strategy));
    w.write(static_cast<std::int64_t>(f.max_restarts));
    w.write(static_cast<std::int64_t>(f.max_seconds.count()));
    w.write_atom(to_string(f.auto_shutdown));
    if (const auto& t = a.settings.init_timeout.value()) {
      w.write(static_cast<std::int64_t>(std::chrono::ceil<std::chrono::milliseconds>(*t).count()));
    } else {
      w.write_atom("infinity");
    }
    if (a.policy.keeps_all()) {
      w.write_atom("all");
    } else {
      w.write(a.policy.names());
    }
  }
  static detail::arrival_settings read(term_reader& r) {
    detail::arrival_settings a;
    auto& f = a.settings.flags;
    r.read_tuple_header(6);
    f.strategy = one_of(r, {strategy::one_for_one, strategy::one_for_all, strategy::rest_for_one});
    f.max_restarts = static_cast<int>(r.read_int64(0, std::numeric_limits<int>::max()));
    f.max_seconds = std::chrono::milliseconds(r.read_int64(1, std::numeric_limits<int>::max()));
    f.auto_shutdown = one_of(
        r, {auto_shutdown::never, auto_shutdown::any_significant, auto_shutdown::all_significant});
    if (r.peek() == term_kind::atom) {
      r.expect_atom("infinity");
    } else {
      a.settings.init_timeout =
          std::chrono::milliseconds(r.read_int64(0, std::numeric_limits<std::int64_t>::max()));
    }
    if (r.peek() == term_kind::atom) {
      r.expect_atom("all");
      a.policy = keep_tables::all();
    } else {
      a.policy = keep_tables::named(r.read<std::vector<std::string>>());
    }
    return a;
  }

 private:
  /// The enumerator whose to_string is the next atom; fails the read for another atom.
  template <class E>
  static E one_of(term_reader& r, std::initializer_list<E> values) {
    const std::string got = r.read_atom().name;
    for (E v : values) {
      if (got == to_string(v)) return v;
    }
    r.fail("a known option atom");
  }
};

template <>
struct term_mapping<detail::transfer_offer> {
  static constexpr std::string_view tag = "peeper_transfer";
  static constexpr auto fields =
      std::make_tuple(&detail::transfer_offer::probe, &detail::transfer_offer::type,
                      &detail::transfer_offer::name, &detail::transfer_offer::supervisor,
                      &detail::transfer_offer::state, &detail::transfer_offer::dict,
                      &detail::transfer_offer::tables, &detail::transfer_offer::settings);
};

template <>
struct term_mapping<detail::transfer_answer> {
  // {ok, Pid} | ok | {error, Code, Message}
  static void write(term_writer& w, const detail::transfer_answer& a) {
    if (a.code != "ok") {
      w.write_tuple_header(3);
      w.write_atom("error");
      w.write_atom(a.code);
      w.write(a.message);
    } else if (a.process) {
      w.write_tuple_header(2);
      w.write_atom("ok");
      w.write(a.process);
    } else {
      w.write_atom("ok");
    }
  }
  static detail::transfer_answer read(term_reader& r) {
    detail::transfer_answer a;
    if (r.peek() == term_kind::atom) {
      r.expect_atom("ok");
      a.code = "ok";
      return a;
    }
    const std::size_t arity = r.read_tuple_header();
    if (arity == 2) {
      r.expect_atom("ok");
      a.code = "ok";
      a.process = r.read<pid>();
      return a;
    }
    if (arity != 3) r.fail("{ok, Pid} | ok | {error, Code, Message}");
    r.expect_atom("error");
    a.code = r.read_atom().name;
    a.message = r.read<std::string>();
    return a;
  }
};

const char* to_string(remote_transfer_errc code) noexcept {
  switch (code) {
    case remote_transfer_errc::not_transferable:
      return "not_transferable";
    case remote_transfer_errc::encode_failed:
      return "encode_failed";
    case remote_transfer_errc::unreachable:
      return "unreachable";
  }
  return "unknown";
}

namespace detail {

namespace {

constexpr const char* receiver_name = "peeper_transfer";

struct declared {
  std::string tag;
  std::shared_ptr<transfer_entry> entry;
};

/// One node's declarations.
struct node_transfers {
  std::weak_ptr<node_core> node;
  std::map<std::string, std::shared_ptr<transfer_entry>> by_tag;
  std::map<peeper::detail::type_id_t, declared> by_server;  // by type_id<Impl>
};

std::mutex registry_mutex;
std::map<const node_core*, node_transfers> registry;  // guarded by registry_mutex

/// n's declarations (made fresh if none, or if they belonged to a node that is gone).
node_transfers& transfers_of(node_core& n) {
  auto& t = registry[&n];
  if (t.node.lock().get() != &n) t = node_transfers{share(n), {}, {}};
  return t;
}

std::shared_ptr<transfer_entry> entry_for_tag(node_core& n, const std::string& tag) {
  std::lock_guard lock(registry_mutex);
  auto& t = transfers_of(n);
  auto it = t.by_tag.find(tag);
  return it == t.by_tag.end() ? nullptr : it->second;
}

std::optional<declared> entry_for_server(node_core& n, peeper::detail::type_id_t server) {
  std::lock_guard lock(registry_mutex);
  auto& t = transfers_of(n);
  auto it = t.by_server.find(server);
  if (it == t.by_server.end()) return std::nullopt;
  return it->second;
}

void answer(remote_caller& to, const transfer_answer& a) {
  term_writer w(&to.pids());
  w.write(a);
  to.reply(w.bytes());
}

/// The registered process the offers are addressed to; they are handled by its inbox.
class idle final : public peeper::detail::behaviour {
 public:
  void handle(peeper::detail::envelope_ptr /*msg*/) override {}
};

/// Starts the arriving instance, in a process of its own, and answers the source.
task<> arrive(std::shared_ptr<node_core> n, std::shared_ptr<transfer_entry> entry,
              std::shared_ptr<remote_caller> from, transfer_offer offer, pid sup) {
  transfer_answer a{"ok", {}, {}};
  try {
    task<pid> started = entry->arrive(n, offer.name, sup, std::string(offer.state.view()),
                                      std::string(offer.dict.view()),
                                      std::string(offer.tables.view()), offer.settings);
    a.process = co_await started;
  } catch (const supervisor_error& e) {
    a = {"start_failed", e.what(), {}};
  } catch (const decode_error& e) {
    a = {"encode_failed", e.what(), {}};
  } catch (const table_error& e) {
    a = {"start_failed", e.what(), {}};  // e.g. a table's name is taken here
  } catch (const std::exception& e) {
    a = {"start_failed", e.what(), {}};
  }
  answer(*from, a);
}

class receiver_inbox final : public inbox {
 public:
  explicit receiver_inbox(std::weak_ptr<node_core> n) : node_(std::move(n)) {}

  bool call(const pid& /*server*/, term_reader& r, std::shared_ptr<remote_caller> from) override {
    auto offer = try_read_last<transfer_offer>(r, r.position());
    if (!offer) return false;
    auto n = node_.lock();
    if (!n) {
      from->reply_error(call_errc::noproc, exit_reason::noproc());
      return true;
    }
    auto entry = entry_for_tag(*n, offer->type);
    if (!entry) {
      answer(*from, {"not_transferable", "no transferable() for " + offer->type + " here", {}});
      return true;
    }
    auto& rt = runtime_of(*n).owner();
    pid sup = whereis(rt, offer->supervisor);
    if (!sup) {
      answer(*from, {"target_not_found", "no process registered as " + offer->supervisor, {}});
      return true;
    }
    if (offer->probe) {
      answer(*from, {"ok", {}, {}});
      return true;
    }
    (void)peeper::spawn(rt, [n, entry, from, offer = std::move(*offer), sup]() mutable {
      return arrive(n, entry, from, std::move(offer), sup);
    });
    return true;
  }
  bool cast(const pid& /*server*/, term_reader& /*r*/) override { return false; }
  bool info(const pid& /*server*/, term_reader& /*r*/) override { return false; }

 private:
  std::weak_ptr<node_core> node_;
};

/// Starts the runtime's receiver unless it runs, and points n's inbox for it at n.
void ensure_receiver(node_core& n) {
  auto& rt = runtime_of(n).owner();
  if (!whereis(rt, receiver_name)) {
    pid p = runtime_of(n).spawn(std::make_unique<idle>());
    try {
      (void)register_name(rt, receiver_name, p);
    } catch (const std::exception&) {
      (void)peeper::exit(p, exit_reason::kill());  // another thread registered one first
    }
  }
  add_inbox(n, receiver_name, std::make_shared<receiver_inbox>(share(n)));
}

/// Offers `o` to `node`'s receiver. Returns the answer if it is "ok"; throws the error it
/// reports, or remote_transfer_error unreachable.
transfer_answer offer_to(node& nd, const std::string& node_name, const transfer_offer& o,
                         std::chrono::milliseconds timeout) {
  transfer_answer a;
  try {
    a = call<transfer_answer>(nd, remote_name{receiver_name, node_name}, o, timeout_t(timeout));
  } catch (const call_error& e) {
    if (e.code() == call_errc::noproc) {
      throw remote_transfer_error(remote_transfer_errc::not_transferable,
                                  node_name + " declares no transferable() type");
    }
    throw remote_transfer_error(remote_transfer_errc::unreachable, node_name + ": " + e.what());
  }
  if (a.code == "ok") return a;
  const std::string where = node_name + ": " + a.message;
  if (a.code == "target_not_found") throw transfer_error(transfer_errc::target_not_found, where);
  if (a.code == "not_transferable") {
    throw remote_transfer_error(remote_transfer_errc::not_transferable, where);
  }
  if (a.code == "encode_failed") {
    throw remote_transfer_error(remote_transfer_errc::encode_failed, where);
  }
  throw transfer_error(transfer_errc::start_failed, where);
}

/// Encodes the kept tables in a process of the source runtime that takes them over (only an
/// owner reads a private table); they stay kept, as they were, for whoever takes them next.
/// Throws encode_error.
std::string encode_tables(runtime& rt, const transfer_entry& entry, std::vector<kept_table>& kept,
                          node_core& n) {
  if (kept.empty()) return entry.encode_tables(kept, n);
  // The term, or why it failed (a message, not an exception_ptr: that would share one
  // exception object between two threads).
  // Shared: the process may still be inside set_value when this thread has the result.
  auto encoded = std::make_shared<std::promise<std::pair<bool, std::string>>>();
  (void)peeper::spawn(rt, [&kept, &entry, &n, encoded]() -> task<> {
    std::erase_if(kept, [](kept_table& k) { return !k.table.core_ptr()->take_over(); });
    try {
      for (auto& k : kept) k.table.core_ptr()->keep_when_orphaned(true);
      encoded->set_value({true, entry.encode_tables(kept, n)});
    } catch (const std::exception& e) {
      encoded->set_value({false, e.what()});
    }
    co_return;
  });
  auto [ok, text] = encoded->get_future().get();
  if (!ok) throw encode_error(text);
  return text;
}

}  // namespace

std::weak_ptr<node_core> share(node_core& n) { return n.weak_from_this(); }

table_kind table_kind_from(std::string_view name) {
  for (table_kind k :
       {table_kind::set, table_kind::ordered_set, table_kind::bag, table_kind::duplicate_bag}) {
    if (name == to_string(k)) return k;
  }
  throw decode_error("transfer: unknown table kind " + std::string(name), 0);
}

table_access table_access_from(std::string_view name) {
  for (table_access a : {table_access::public_, table_access::protected_, table_access::private_}) {
    if (name == to_string(a)) return a;
  }
  throw decode_error("transfer: unknown table access " + std::string(name), 0);
}

void add_transfer_entry(node_core& n, const std::string& tag, peeper::detail::type_id_t server,
                        std::shared_ptr<transfer_entry> entry) {
  {
    std::lock_guard lock(registry_mutex);
    auto& t = transfers_of(n);
    t.by_tag.insert_or_assign(tag, entry);
    t.by_server.insert_or_assign(server, declared{tag, std::move(entry)});
  }
  ensure_receiver(n);
}

}  // namespace detail

pid transfer(node& n, const name& name, const pid& source, const remote_target& target,
             std::chrono::milliseconds timeout) {
  auto& core = detail::core_of(n);
  auto& rt = detail::runtime_of(core).owner();
  if (name.kind() != peeper::name::scope::local) {
    throw remote_transfer_error(remote_transfer_errc::not_transferable,
                                name.to_string() + ": only locally named instances move");
  }
  std::shared_ptr<detail::core_base> old_core =
      peeper::detail::latest_core(peeper::detail::find_instance(rt, name));
  if (!old_core) {
    throw transfer_error(transfer_errc::name_not_found, name.to_string());
  }
  if (!is_alive(source)) throw transfer_error(transfer_errc::source_not_found, source.to_string());
  const pid old_sup = old_core->supervisor();
  const std::optional<child_info> was = peeper::detail::child_entry(source, old_sup);
  if (!was) {
    throw transfer_error(transfer_errc::not_a_child,
                         name.to_string() + " is not a child of " + source.to_string());
  }
  auto declared = detail::entry_for_server(core, old_core->server_type());
  if (!declared) {
    throw remote_transfer_error(remote_transfer_errc::not_transferable,
                                name.to_string() + ": its type has no transferable() here");
  }
  const auto& entry = declared->entry;

  // Everything that can be checked without stopping it: its state's encoding, its last saved
  // dictionary's, and whether the target would take it.
  detail::transfer_offer offer{true,      declared->tag,
                               name.id(), target.supervisor,
                               {},        {},
                               {},        {old_core->settings(), old_core->table_policy()}};
  try {
    (void)entry->encode_state(*old_core, core);
    (void)entry->encode_dictionary(old_core->saved_dictionary(), core);
  } catch (const encode_error& e) {
    throw remote_transfer_error(remote_transfer_errc::encode_failed, e.what());
  }
  (void)detail::offer_to(n, target.node, offer, timeout);

  // Frozen: messages wait in the new core, the old worker's unhandled ones ahead of them.
  std::shared_ptr<detail::core_base> next = old_core->make_successor();
  old_core->succeed_by(next);
  peeper::detail::bind_instance_name(rt, name, next);
  dynamic_supervisor::terminate_child(source, old_sup);
  old_core->hand_over_state(*next);

  detail::transfer_answer moved;
  std::vector<detail::kept_table> tables = next->take_kept_tables();
  try {
    try {
      offer.state = binary::from(entry->encode_state(*next, core));
      offer.dict = binary::from(entry->encode_dictionary(next->saved_dictionary(), core));
      offer.tables = binary::from(detail::encode_tables(rt, *entry, tables, core));
    } catch (const encode_error& e) {
      throw remote_transfer_error(remote_transfer_errc::encode_failed, e.what());
    }
    offer.probe = false;
    moved = detail::offer_to(n, target.node, offer, timeout);
  } catch (...) {
    // It stays: restarted under the source on the new core, with its tables and what waited.
    for (auto& t : tables) next->keep_table(std::move(t));
    (void)dynamic_supervisor::start_child(source, peeper::detail::instance_child(next, was));
    throw;
  }
  // The tables live on in the new instance; the source's copies go.
  for (auto& t : tables) t.table.core_ptr()->discard();
  next->set_supervisor(moved.process);
  entry->forward(core, next, moved.process);
  return moved.process;
}

}  // namespace peeper::dist
