// dist::transfer: a Peeper instance moves to a DynamicSupervisor of another C++ node (two
// runtimes and nodes in this process, on loopback, with a private epmd): its state and
// dictionary arrive, its name resolves there, callers on the source keep working through
// forwarding, casts sent during the move are applied once and in order, and every error
// leaves it working on the source.
#include <algorithm>
#include <any>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/dist/codec.hpp>
#include <peeper/dist/node.hpp>
#include <peeper/dist/remote.hpp>
#include <peeper/dist/transfer.hpp>
#include <peeper/server/server.hpp>
#include <peeper/supervisor/dynamic_supervisor.hpp>
#include <peeper/table/make_table.hpp>

#include "dist_test_support.hpp"

namespace dist_transfer_test {

using namespace std::chrono_literals;
namespace dist = peeper::dist;
namespace dyn = peeper::dynamic_supervisor;
using peeper::pid;

struct acc_state {
  std::int64_t n = 0;
  std::vector<std::int64_t> last;  // per sender: the last seq applied
  std::int64_t out_of_order = 0;   // notes that did not follow their sender's previous one
};

struct get {};
struct add {
  std::int64_t by = 0;
};
struct note {
  std::int64_t sender = 0;
  std::int64_t seq = 0;
};
struct report {};  // -> {out_of_order, last...}
struct put_entry {
  std::string key;
  std::string value;
};
struct get_entry {
  std::string key;
};
struct put_opaque {};  // a dictionary value with no encoding
struct opaque {};

struct held_state {
  std::int64_t n = 0;
};
struct hold {
  std::int64_t v = 0;
};

struct deposit {
  std::string account;
  std::int64_t amount = 0;
};
struct balance {
  std::string account;
};
struct crash {};

/// The first init after it is armed waits until released (to stop the target mid-transfer).
struct gate {
  std::promise<void> entered;
  std::promise<void> release;
};
std::atomic<gate*> init_gate{nullptr};

}  // namespace dist_transfer_test

namespace t = dist_transfer_test;

template <>
struct peeper::dist::term_mapping<t::acc_state> {
  static constexpr auto fields =
      std::make_tuple(&t::acc_state::n, &t::acc_state::last, &t::acc_state::out_of_order);
};
template <>
struct peeper::dist::term_mapping<t::held_state> {
  static constexpr auto fields = std::make_tuple(&t::held_state::n);
};
template <>
struct peeper::dist::term_mapping<t::hold> {
  static constexpr std::string_view tag = "hold";
  static constexpr auto fields = std::make_tuple(&t::hold::v);
};
template <>
struct peeper::dist::term_mapping<t::deposit> {
  static constexpr std::string_view tag = "deposit";
  static constexpr auto fields = std::make_tuple(&t::deposit::account, &t::deposit::amount);
};
template <>
struct peeper::dist::term_mapping<t::balance> {
  static constexpr std::string_view tag = "balance";
  static constexpr auto fields = std::make_tuple(&t::balance::account);
};
template <>
struct peeper::dist::term_mapping<t::crash> {
  static constexpr std::string_view tag = "crash";
};
template <>
struct peeper::dist::term_mapping<t::get> {
  static constexpr std::string_view tag = "get";
};
template <>
struct peeper::dist::term_mapping<t::add> {
  static constexpr std::string_view tag = "add";
  static constexpr auto fields = std::make_tuple(&t::add::by);
};
template <>
struct peeper::dist::term_mapping<t::note> {
  static constexpr std::string_view tag = "note";
  static constexpr auto fields = std::make_tuple(&t::note::sender, &t::note::seq);
};
template <>
struct peeper::dist::term_mapping<t::report> {
  static constexpr std::string_view tag = "report";
};
template <>
struct peeper::dist::term_mapping<t::put_entry> {
  static constexpr std::string_view tag = "put_entry";
  static constexpr auto fields = std::make_tuple(&t::put_entry::key, &t::put_entry::value);
};
template <>
struct peeper::dist::term_mapping<t::get_entry> {
  static constexpr std::string_view tag = "get_entry";
  static constexpr auto fields = std::make_tuple(&t::get_entry::key);
};

namespace dist_transfer_test {

struct acc : peeper::gen_server<acc, acc_state> {
  acc_state init(acc_state s) {
    if (gate* g = init_gate.exchange(nullptr)) {
      g->entered.set_value();
      g->release.get_future().wait();
    }
    return s;
  }
  auto handle_call(get /*m*/, const acc_state& s) { return peeper::reply(s.n); }
  auto handle_call(add m, acc_state& s) {
    s.n += m.by;
    return peeper::reply(s.n);
  }
  auto handle_call(report /*m*/, const acc_state& s) {
    std::vector<std::int64_t> r{s.out_of_order};
    r.insert(r.end(), s.last.begin(), s.last.end());
    return peeper::reply(r);
  }
  auto handle_call(get_entry m, const acc_state& /*s*/) {
    auto* v = peeper::this_process::get<std::string>(m.key);
    return peeper::reply(v != nullptr ? *v : std::string("<none>"));
  }
  auto handle_cast(note m, acc_state& s) {
    const auto i = static_cast<std::size_t>(m.sender);
    if (s.last.size() <= i) s.last.resize(i + 1, 0);
    if (m.seq != s.last[i] + 1) ++s.out_of_order;
    s.last[i] = m.seq;
    return peeper::noreply();
  }
  auto handle_cast(put_entry m, const acc_state& /*s*/) {
    peeper::this_process::put(m.key, m.value);
    return peeper::noreply();
  }
  auto handle_cast(put_opaque /*m*/, const acc_state& /*s*/) {
    peeper::this_process::put(std::string("opaque"), opaque{});
    return peeper::noreply();
  }
};
using acc_instance = peeper::instance<acc>;

/// Another type, declared on the source node only.
struct solo : peeper::gen_server<solo, std::int64_t> {
  std::int64_t init(std::int64_t s) { return s; }
  auto handle_call(get /*m*/, const std::int64_t& s) { return peeper::reply(s); }
};

/// Keeps a table across its worker's ends (heir server_heir()): it cannot move.
struct holder : peeper::gen_server<holder, held_state> {
  held_state init(held_state s) {
    if (!peeper::find_table<std::string, std::int64_t>("held")) {
      (void)peeper::make_table<std::string, std::int64_t>(
          {.name = "held", .heir = peeper::server_heir()});
    }
    return s;
  }
  auto handle_call(hold m, held_state& s) {
    peeper::find_table<std::string, std::int64_t>("held")->insert("v", m.v);
    s.n = m.v;
    return peeper::reply(s.n);
  }
  auto handle_call(get /*m*/, const held_state& /*s*/) {
    return peeper::reply(
        peeper::find_table<std::string, std::int64_t>("held")->find("v").value_or(-1));
  }
};

using accounts_table = peeper::table<std::string, std::int64_t>;
using journal_table = peeper::table<std::int64_t, std::string>;
using amounts_table = peeper::table<std::int64_t, std::int64_t>;

/// Balances in a private table kept by server_heir() (its data: "accounts"), a public bag
/// journal kept by keep_tables, and an unnamed ordered_set of amounts kept by server_heir().
struct ledger : peeper::gen_server<ledger, held_state> {
  held_state init(held_state s) {
    if (peeper::this_server::restored_tables().empty()) {
      (void)peeper::make_table<std::string, std::int64_t>(
          {.access = peeper::table_access::private_,
           .name = "ledger.accounts",
           .heir = peeper::server_heir(std::string("accounts"))});
      (void)peeper::make_table<std::int64_t, std::string>({.kind = peeper::table_kind::bag,
                                                           .access = peeper::table_access::public_,
                                                           .name = "ledger.journal"});
      (void)peeper::make_table<std::int64_t, std::int64_t>(
          {.kind = peeper::table_kind::ordered_set, .heir = peeper::server_heir()});
    }
    return s;
  }
  auto handle_call(deposit m, held_state& s) {
    auto accounts = *peeper::find_table<std::string, std::int64_t>("ledger.accounts");
    const std::int64_t total = accounts.update_counter(m.account, m.amount, 0);
    peeper::find_table<std::int64_t, std::string>("ledger.journal")->insert(s.n, m.account);
    amounts().insert(m.amount, s.n);
    ++s.n;
    return peeper::reply(total);
  }
  auto handle_call(balance m, const held_state& /*s*/) {
    auto accounts = *peeper::find_table<std::string, std::int64_t>("ledger.accounts");
    return peeper::reply(accounts.find(m.account).value_or(-1));
  }
  /// The amounts in order; -1 first if the accounts table came back without its heir data.
  auto handle_call(get /*m*/, const held_state& /*s*/) {
    std::vector<std::int64_t> out;
    for (const auto& r : peeper::this_server::restored_tables()) {
      if (r.table.name() == "ledger.accounts" && std::any_cast<std::string>(&r.data) == nullptr) {
        out.push_back(-1);
      }
    }
    for (const auto& [amount, seq] : amounts().to_list()) out.push_back(amount);
    return peeper::reply(out);
  }
  auto handle_call(crash /*m*/, const held_state& /*s*/) -> peeper::call_result<std::int64_t> {
    throw std::runtime_error("crash on demand");
  }

 private:
  static amounts_table amounts() {
    for (const auto& t : peeper::owned_tables()) {
      if (t.name().empty()) return peeper::table_cast<std::int64_t, std::int64_t>(t);
    }
    throw std::logic_error("no amounts table");
  }
};

/// What the on_arrival hook of the target node saw, and the commits its listener heard.
struct arrival_seen {
  std::mutex m;
  std::condition_variable cv;
  int max_restarts = 0;
  std::vector<std::string> kept;
  std::vector<std::int64_t> commits;

  /// True once the listener heard a commit of `n` (false after 5 s).
  bool heard(std::int64_t n) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, std::chrono::seconds(5), [&] {
      return std::find(commits.begin(), commits.end(), n) != commits.end();
    });
  }
};

void declare(dist::node& n, const std::shared_ptr<arrival_seen>& seen = nullptr) {
  dist::transferable<holder>(n, "holder", dist::calls<get, hold>{});  // no table_types
  dist::on_arrival<held_state> hook;
  if (seen != nullptr) {
    hook.adjust = [seen](peeper::server_options<held_state>& o) {
      std::lock_guard lock(seen->m);
      seen->max_restarts = o.max_restarts;
      seen->kept = o.keep_tables.names();
      o.listener.on_state_changed = [seen](const held_state& /*old*/, const held_state& now) {
        std::lock_guard l(seen->m);
        seen->commits.push_back(now.n);
        seen->cv.notify_all();
      };
    };
  }
  dist::transferable<ledger>(n, "ledger", dist::calls<get, deposit, balance, crash>{},
                             dist::dictionary_types<std::string>{},
                             dist::table_types<accounts_table, journal_table, amounts_table>{},
                             hook);

  dist::transferable<acc>(n, "acc", dist::calls<get, add, report, get_entry>{},
                          dist::casts<note, put_entry>{}, dist::dictionary_types<std::string>{});
}

bool lists(const pid& sup, const pid& child) {
  for (const auto& c : dyn::which_children(sup)) {
    if (c.process == child) return true;
  }
  return false;
}

class dist_transfer : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(epmd_.ok()) << "epmd did not start";
    declare(n1_);
    declare(n2_, seen_);
    dist::transferable<solo>(n1_, "solo", dist::calls<get>{});
    (void)peeper::register_name(rt2_, "workers", target_);
  }
  dist::node_options opts(const std::string& name) const {
    return {.name = name, .cookie = "secret", .epmd_port = epmd_.port(), .tick_time = 200ms};
  }
  /// Starts an acc named `name` at `value` under the source; returns its instance (by name).
  acc_instance start_acc(const std::string& name, std::int64_t value) {
    peeper::server_options<acc_state> o;
    o.name = name;
    o.state.n = value;
    (void)dyn::start_child(source_, peeper::server_child<acc>(o));
    return {rt1_, name};
  }
  dist::remote_target to2(const std::string& sup = "workers") const { return {sup, node2_}; }

  /// The instance still works on the source, under it, with its value and dictionary.
  void expect_on_source(const acc_instance& a, std::int64_t n) {
    ASSERT_TRUE(a.supervisor());
    EXPECT_FALSE(n1_.is_remote(a.supervisor()));
    EXPECT_TRUE(lists(source_, a.supervisor()));
    EXPECT_EQ(peeper::call(a, get{}), n);
    EXPECT_EQ(peeper::call(a, get_entry{"k"}), "v");
    EXPECT_TRUE(dyn::which_children(target_).empty());
  }

  const std::string node2_ = "cpp2@127.0.0.1";
  dist_test::epmd epmd_;
  peeper::runtime rt1_{{.threads = 2}};
  peeper::runtime rt2_{{.threads = 2}};
  dist::node n1_ = dist::node::start(rt1_, opts("cpp1@127.0.0.1"));
  dist::node n2_ = dist::node::start(rt2_, opts(node2_));
  pid source_ = dyn::start(rt1_).process();
  pid target_ = dyn::start(rt2_).process();
  std::shared_ptr<arrival_seen> seen_ = std::make_shared<arrival_seen>();
};

TEST_F(dist_transfer, state_and_dictionary_arrive_and_the_name_resolves_on_the_new_node) {
  acc_instance a = start_acc("mover", 10);
  acc_instance by_handle(a.supervisor(), a.core());  // follows the core, not the name
  EXPECT_EQ(peeper::call(a, add{5}), 15);
  peeper::cast(a, put_entry{"k", "v"});
  const pid old_sup = a.supervisor();

  const pid moved = dist::transfer(n1_, "mover", source_, to2());
  ASSERT_TRUE(moved);
  EXPECT_TRUE(n1_.is_remote(moved));
  EXPECT_FALSE(peeper::is_alive(old_sup));
  EXPECT_TRUE(dyn::which_children(source_).empty());
  // Listed by the target, registered there under the name.
  const pid there = peeper::whereis(rt2_, "mover");
  ASSERT_TRUE(there);
  EXPECT_TRUE(lists(target_, there));
  // The name resolves on the new node, with the state and the dictionary.
  const dist::remote_name on2{"mover", node2_};
  EXPECT_EQ(dist::call<std::int64_t>(n1_, on2, get{}), 15);
  EXPECT_EQ(dist::call<std::string>(n1_, on2, get_entry{"k"}), "v");
  EXPECT_EQ(peeper::call(acc_instance(rt2_, "mover"), add{1}), 16);
  // Callers on the source keep working: by name, by the old handle, through the new pid.
  EXPECT_EQ(peeper::call(a, add{1}), 17);
  EXPECT_EQ(peeper::call(by_handle, get_entry{"k"}), "v");
  EXPECT_TRUE(peeper::cast(a, put_entry{"k2", "v2"}));
  EXPECT_EQ(peeper::call(by_handle, get_entry{"k2"}), "v2");
  EXPECT_EQ(a.supervisor(), moved);
  EXPECT_EQ(dist::call<std::int64_t>(n1_, moved, get{}), 17);
}

TEST_F(dist_transfer, casts_sent_during_the_move_are_applied_once_and_in_order) {
  acc_instance a = start_acc("busy", 0);
  constexpr int senders = 4;
  constexpr std::int64_t per_sender = 2000;
  std::atomic<int> started{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&, s] {
      started.fetch_add(1);
      for (std::int64_t i = 1; i <= per_sender; ++i) {
        ASSERT_TRUE(peeper::cast(a, note{s, i}));
      }
    });
  }
  while (started.load() < senders) std::this_thread::yield();
  pid moved;
  std::exception_ptr failed;
  try {
    moved = dist::transfer(n1_, "busy", source_, to2());
  } catch (...) {
    failed = std::current_exception();
  }
  for (auto& th : threads) th.join();
  if (failed) std::rethrow_exception(failed);
  ASSERT_TRUE(moved);
  // Through the forwarder, after every cast above: all applied, once, in per-sender order.
  auto r = peeper::call(a, report{});
  ASSERT_EQ(r.size(), static_cast<std::size_t>(senders) + 1);
  EXPECT_EQ(r[0], 0) << "notes out of order";
  for (int s = 0; s < senders; ++s) EXPECT_EQ(r[s + 1], per_sender) << "sender " << s;
}

TEST_F(dist_transfer, errors_found_before_the_move_leave_the_instance_untouched) {
  acc_instance a = start_acc("stay", 7);
  peeper::cast(a, put_entry{"k", "v"});
  const pid sup = a.supervisor();
  auto expect_local = [&](peeper::transfer_errc code, const peeper::name& n, const pid& from,
                          const dist::remote_target& to) {
    try {
      (void)dist::transfer(n1_, n, from, to);
      ADD_FAILURE() << "expected " << peeper::to_string(code);
    } catch (const peeper::transfer_error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
    }
  };
  auto expect_remote = [&](dist::remote_transfer_errc code, const peeper::name& n,
                           const dist::remote_target& to) {
    try {
      (void)dist::transfer(n1_, n, source_, to, 2s);
      ADD_FAILURE() << "expected " << dist::to_string(code);
    } catch (const dist::remote_transfer_error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
    }
  };
  const pid other = dyn::start(rt1_).process();
  expect_local(peeper::transfer_errc::name_not_found, "nobody", source_, to2());
  expect_local(peeper::transfer_errc::source_not_found, "stay", pid(), to2());
  expect_local(peeper::transfer_errc::not_a_child, "stay", other, to2());
  expect_local(peeper::transfer_errc::target_not_found, "stay", source_, to2("nosuch"));
  expect_remote(dist::remote_transfer_errc::unreachable, "stay", {"workers", "nonode@127.0.0.1"});
  // A type the target does not declare.
  (void)dyn::start_child(source_, peeper::server_child<solo>({.name = "lonely", .state = 3}));
  expect_remote(dist::remote_transfer_errc::not_transferable, "lonely", to2());
  EXPECT_EQ(peeper::call(peeper::instance<solo>(rt1_, "lonely"), get{}), 3);
  // Nothing stopped.
  EXPECT_EQ(a.supervisor(), sup);
  expect_on_source(a, 7);
}

TEST_F(dist_transfer, a_refusal_after_the_stop_restarts_it_under_the_source) {
  acc_instance a = start_acc("refused", 3);
  peeper::cast(a, put_entry{"k", "v"});
  // A target that takes no child.
  const pid full = dyn::start(rt2_, {.max_children = 0}).process();
  (void)peeper::register_name(rt2_, "full", full);
  try {
    (void)dist::transfer(n1_, "refused", source_, to2("full"));
    ADD_FAILURE() << "expected start_failed";
  } catch (const peeper::transfer_error& e) {
    EXPECT_EQ(e.code(), peeper::transfer_errc::start_failed) << e.what();
  }
  expect_on_source(a, 3);
  // A dictionary value without encoding (only known once the worker stopped).
  peeper::cast(a, t::put_opaque{});
  EXPECT_EQ(peeper::call(a, get{}), 3);  // the cast was handled
  try {
    (void)dist::transfer(n1_, "refused", source_, to2());
    ADD_FAILURE() << "expected encode_failed";
  } catch (const dist::remote_transfer_error& e) {
    EXPECT_EQ(e.code(), dist::remote_transfer_errc::encode_failed) << e.what();
  }
  expect_on_source(a, 3);
}

TEST_F(dist_transfer, the_target_node_going_down_mid_transfer_leaves_it_on_the_source) {
  acc_instance a = start_acc("stranded", 21);
  peeper::cast(a, put_entry{"k", "v"});
  gate g;
  auto entered = g.entered.get_future();
  init_gate.store(&g);
  auto result = std::async(std::launch::async, [&] {
    try {
      (void)dist::transfer(n1_, "stranded", source_, to2());
      return std::string("moved");
    } catch (const dist::remote_transfer_error& e) {
      return std::string(dist::to_string(e.code()));
    }
  });
  entered.wait();  // the instance's init runs on the target: the offer was accepted
  n2_.stop();
  EXPECT_EQ(result.get(), "unreachable");
  g.release.set_value();
  EXPECT_EQ(peeper::call(a, get{}), 21);
  EXPECT_EQ(peeper::call(a, get_entry{"k"}), "v");
  EXPECT_TRUE(lists(source_, a.supervisor()));
}

TEST_F(dist_transfer, kept_tables_move_with_their_contents_marks_and_policy) {
  peeper::server_options<held_state> o;
  o.name = "ledger";
  o.max_restarts = 7;
  o.keep_tables = peeper::keep_tables::named({"ledger.journal"});
  (void)dyn::start_child(source_, peeper::server_child<ledger>(o));
  peeper::instance<ledger> l(rt1_, "ledger");
  EXPECT_EQ(peeper::call(l, deposit{"alice", 5}), 5);
  EXPECT_EQ(peeper::call(l, deposit{"bob", 7}), 7);
  EXPECT_EQ(peeper::call(l, deposit{"alice", 3}), 8);
  const auto journal_before = peeper::find_table<std::int64_t, std::string>(rt1_, "ledger.journal");
  ASSERT_TRUE(journal_before);

  const pid moved = dist::transfer(n1_, "ledger", source_, to2());
  ASSERT_TRUE(moved);
  // The source's copies are gone; the target has them, with the same kinds and access.
  EXPECT_FALSE(peeper::find_any_table(rt1_, "ledger.journal"));
  EXPECT_THROW((void)journal_before->size(), peeper::table_error);
  auto journal = peeper::find_table<std::int64_t, std::string>(rt2_, "ledger.journal");
  ASSERT_TRUE(journal);
  EXPECT_EQ(journal->info().kind, peeper::table_kind::bag);
  EXPECT_EQ(journal->info().access, peeper::table_access::public_);
  EXPECT_EQ(journal->lookup(0), std::vector<std::string>{"alice"});
  EXPECT_EQ(journal->size(), 3U);
  auto accounts = peeper::find_table<std::string, std::int64_t>(rt2_, "ledger.accounts");
  ASSERT_TRUE(accounts);
  EXPECT_EQ(accounts->info().access, peeper::table_access::private_);
  EXPECT_THROW((void)accounts->lookup("alice"), peeper::table_error);  // still private
  const pid worker2 = peeper::whereis(rt2_, "ledger.GenServer");
  EXPECT_EQ(accounts->owner(), worker2);
  EXPECT_EQ(journal->owner(), worker2);

  const dist::remote_name on2{"ledger", node2_};
  EXPECT_EQ(dist::call<std::int64_t>(n1_, on2, balance{"alice"}), 8);
  EXPECT_EQ(dist::call<std::vector<std::int64_t>>(n1_, on2, get{}),
            (std::vector<std::int64_t>{3, 5, 7}));
  {
    std::lock_guard lock(seen_->m);
    EXPECT_EQ(seen_->max_restarts, 7);  // the source's options arrived
    EXPECT_EQ(seen_->kept, std::vector<std::string>{"ledger.journal"});
  }
  // A crash there: the policy and the server_heir marks keep the tables, contents and data.
  EXPECT_THROW((void)dist::call<std::int64_t>(n1_, on2, crash{}), peeper::call_error);
  EXPECT_EQ(dist::call<std::int64_t>(n1_, on2, deposit{"bob", 1}), 8);
  EXPECT_NE(peeper::whereis(rt2_, "ledger.GenServer"), worker2);
  EXPECT_EQ(dist::call<std::vector<std::int64_t>>(n1_, on2, get{}),
            (std::vector<std::int64_t>{1, 3, 5, 7}));
  EXPECT_EQ(journal->size(), 4U);
  EXPECT_TRUE(seen_->heard(4));  // the listener given on arrival hears the commits
}

TEST_F(dist_transfer, a_table_that_cannot_move_keeps_the_instance_and_its_tables_on_the_source) {
  // An undeclared table type: found once the worker stopped, so restarted on the source.
  (void)dyn::start_child(source_, peeper::server_child<holder>({.name = "holder"}));
  peeper::instance<holder> h(rt1_, "holder");
  EXPECT_EQ(peeper::call(h, hold{42}), 42);
  try {
    (void)dist::transfer(n1_, "holder", source_, to2());
    ADD_FAILURE() << "expected encode_failed";
  } catch (const dist::remote_transfer_error& e) {
    EXPECT_EQ(e.code(), dist::remote_transfer_errc::encode_failed) << e.what();
  }
  EXPECT_TRUE(lists(source_, h.supervisor()));
  EXPECT_EQ(peeper::call(h, get{}), 42);

  // The target has tables of the same names: it refuses the instance, whose tables stay.
  (void)dyn::start_child(target_, peeper::server_child<ledger>({.name = "squatter"}));
  (void)dyn::start_child(
      source_,
      peeper::server_child<ledger>(
          {.name = "ledger", .keep_tables = peeper::keep_tables::named({"ledger.journal"})}));
  peeper::instance<ledger> l(rt1_, "ledger");
  EXPECT_EQ(peeper::call(l, deposit{"carol", 9}), 9);
  try {
    (void)dist::transfer(n1_, "ledger", source_, to2());
    ADD_FAILURE() << "expected start_failed";
  } catch (const peeper::transfer_error& e) {
    EXPECT_EQ(e.code(), peeper::transfer_errc::start_failed) << e.what();
  }
  EXPECT_TRUE(lists(source_, l.supervisor()));
  EXPECT_EQ(peeper::call(l, balance{"carol"}), 9);
  EXPECT_EQ(peeper::call(l, get{}), std::vector<std::int64_t>{9});
  auto journal = peeper::find_table<std::int64_t, std::string>(rt1_, "ledger.journal");
  ASSERT_TRUE(journal);
  EXPECT_EQ(journal->size(), 1U);
  EXPECT_EQ(dyn::which_children(target_).size(), 1U);  // only the squatter
}

}  // namespace dist_transfer_test
