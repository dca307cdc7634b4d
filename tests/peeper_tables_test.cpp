// Tables kept across a Peeper worker's crashes (issue 5): scenarios 5, 6
// and 7 of PEEPER_SPEC.md §9 with a kill between the writes and the reads,
// and what the original promises besides: a private table stays private,
// name, kind and access are unchanged, a table made in init is given back
// rather than made again, an heir that is another process wins (with a
// warning), and a cast written just before a kill is kept.
#include <algorithm>
#include <any>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/supervisor/dynamic_supervisor.hpp>

#include "peeper_tables_support.hpp"

namespace peeper_tables_test {

using namespace peeper_test;
using peeper::exit_reason;
using peeper::keep_tables;
using peeper::pid;
using peeper::table_access;
using peeper::table_kind;
using values = std::vector<int>;
namespace dyn = peeper::dynamic_supervisor;

tabled_instance start_tabled(peeper::runtime& rt, peeper::server_options<tstate> o) {
  return peeper::start<tabled>(rt, std::move(o)).value();
}

/// The table named `name` as an outside thread sees it (it must exist).
table_t outside(peeper::runtime& rt, const std::string& name) {
  auto t = peeper::find_table<std::string, int>(rt, name);
  EXPECT_TRUE(t) << "no table " << name;
  return t ? *t : table_t();
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

/// Waits (a bounded spin, for what is done just after the instance's
/// supervisor is reported gone) until `pred` holds; false after hang_guard.
template <class Pred>
bool eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + hang_guard;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

/// Expects transfer to throw transfer_error with `code`.
void expect_refused(peeper::transfer_errc code, peeper::runtime& rt, const peeper::name& n,
                    const pid& from, const pid& to) {
  try {
    (void)peeper::transfer(rt, n, from, to);
    ADD_FAILURE() << "expected transfer_error " << peeper::to_string(code);
  } catch (const peeper::transfer_error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
  }
}

// ---- scenarios 5 and 6
// ---------------------------------------------------------------------------

TEST(peeper_tables, scenario5_kept_tables_heir_tables_and_the_dictionary_survive_a_kill) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s =
      start_tabled(rt, tabled_options({spec("kept"), spec("heired", true)}, keep_tables::all()));
  peeper::cast(s, put{"kept", "a", 1});
  peeper::cast(s, put{"heired", "b", 2});
  peeper::cast(s, dict_put{"d", 3});
  EXPECT_EQ(peeper::call(s, lookup{"kept", "a"}), values{1});
  table_t kept = outside(rt, "kept");
  table_t heired = outside(rt, "heired");

  pid old = peeper::worker(s);
  pid next = crash_worker(rt, s);

  EXPECT_EQ(peeper::call(s, lookup{"kept", "a"}), values{1});
  EXPECT_EQ(peeper::call(s, lookup{"heired", "b"}), values{2});
  EXPECT_EQ(peeper::call(s, dict_get{"d"}), 3);
  // The same tables (handles made before the kill still work), owned by the new worker.
  EXPECT_EQ(outside(rt, "kept"), kept);
  EXPECT_EQ(outside(rt, "heired"), heired);
  EXPECT_EQ(kept.owner(), next);
  EXPECT_EQ(heired.owner(), next);
  EXPECT_NE(kept.owner(), old);
  // The heir is still the server (the next crash keeps the table too); the
  // table kept by keep_tables has no heir, as before the crash.
  EXPECT_EQ(heired.info().heir, peeper::keeper(s));
  EXPECT_FALSE(kept.info().heir);
  peeper::cast(s, put{"heired", "c", 4});
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, lookup{"heired", "c"}), values{4});
  EXPECT_EQ(peeper::call(s, lookup{"kept", "a"}), values{1});
  EXPECT_EQ(peeper::call(s, made_count{}), 2);
}

TEST(peeper_tables, scenario6_a_name_list_keeps_only_those_and_an_heir_table_besides) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_tabled(rt, tabled_options({spec("listed"), spec("unlisted"), spec("heired", true)},
                                           keep_tables::named({"listed", "absent"})));
  for (const char* t : {"listed", "unlisted", "heired"}) peeper::cast(s, put{t, "k", 7});
  EXPECT_EQ(peeper::call(s, lookup{"unlisted", "k"}), values{7});
  table_t unlisted = outside(rt, "unlisted");

  crash_worker(rt, s);

  EXPECT_EQ(peeper::call(s, lookup{"listed", "k"}), values{7});
  EXPECT_EQ(peeper::call(s, lookup{"heired", "k"}), values{7});
  // The unlisted table was deleted with its owner, as ETS does; init made a new one.
  EXPECT_TRUE(unlisted.deleted());
  EXPECT_EQ(peeper::call(s, lookup{"unlisted", "k"}), values{});
  auto restored = peeper::call(s, restored_names{});
  std::sort(restored.begin(), restored.end());
  EXPECT_EQ(restored, (std::vector<std::string>{"heired", "listed"}));
  EXPECT_EQ(peeper::call(s, made_count{}), 4);
}

TEST(peeper_tables, without_keep_tables_or_a_server_heir_a_table_dies_with_its_worker) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_tabled(rt, tabled_options({spec("plain")}));
  peeper::cast(s, put{"plain", "k", 1});
  EXPECT_EQ(peeper::call(s, lookup{"plain", "k"}), values{1});
  table_t before = outside(rt, "plain");
  crash_worker(rt, s);
  EXPECT_TRUE(before.deleted());
  EXPECT_EQ(peeper::call(s, lookup{"plain", "k"}), values{});
  EXPECT_TRUE(peeper::call(s, restored_names{}).empty());
}

// ---- what is kept is the table itself ----------------------------------------------------------

TEST(peeper_tables, a_private_table_stays_private_and_its_worker_can_use_it) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_tabled(
      rt, tabled_options({spec("secret", true, table_kind::set, table_access::private_)}));
  peeper::cast(s, put{"secret", "k", 1});
  EXPECT_EQ(peeper::call(s, lookup{"secret", "k"}), values{1});
  table_t t = outside(rt, "secret");
  auto denied = [&] {
    try {
      (void)t.lookup("k");
    } catch (const peeper::table_error& e) {
      return e.code() == peeper::table_errc::access_denied;
    }
    return false;
  };
  EXPECT_TRUE(denied());
  for (int i = 0; i < 3; ++i) {
    pid w = crash_worker(rt, s);
    EXPECT_EQ(t.access(), table_access::private_);
    EXPECT_EQ(t.owner(), w);
    EXPECT_TRUE(denied());
    EXPECT_EQ(peeper::call(s, lookup{"secret", "k"}), values{1});
    peeper::cast(s, put{"secret", "k" + std::to_string(i), i});
  }
  EXPECT_EQ(peeper::call(s, lookup{"secret", "k2"}), values{2});
}

TEST(peeper_tables, name_kind_access_and_contents_are_unchanged_for_every_kind_and_access) {
  quiet_log quiet;
  peeper::runtime rt;
  std::vector<table_spec> specs;
  for (auto kind :
       {table_kind::set, table_kind::ordered_set, table_kind::bag, table_kind::duplicate_bag}) {
    for (auto access : {table_access::public_, table_access::protected_, table_access::private_}) {
      specs.push_back(spec(std::string(peeper::to_string(kind)) + "/" + peeper::to_string(access),
                           false, kind, access));
      specs.back().options.read_concurrency = access == table_access::protected_;
    }
  }
  auto s = start_tabled(rt, tabled_options(specs, keep_tables::all()));
  std::vector<peeper::table_info> before;
  for (const auto& sp : specs) {
    peeper::cast(s, put{sp.options.name, "k", 1});
    peeper::cast(s, put{sp.options.name, "k", 2});
    peeper::cast(s, put{sp.options.name, "k", 2});
  }
  EXPECT_EQ(peeper::call(s, made_count{}), static_cast<int>(specs.size()));  // the casts are done
  for (const auto& sp : specs) before.push_back(outside(rt, sp.options.name).info());

  pid w = crash_worker(rt, s);

  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::string& name = specs[i].options.name;
    SCOPED_TRACE(name);
    peeper::table_info after = outside(rt, name).info();
    EXPECT_EQ(after.name, name);
    EXPECT_EQ(after.kind, before[i].kind);
    EXPECT_EQ(after.access, before[i].access);
    EXPECT_EQ(after.read_concurrency, before[i].read_concurrency);
    EXPECT_EQ(after.write_concurrency, before[i].write_concurrency);
    EXPECT_EQ(after.shards, before[i].shards);
    EXPECT_EQ(after.size, before[i].size);
    EXPECT_EQ(after.owner, w);
  }
  EXPECT_EQ(peeper::call(s, lookup{"set/public", "k"}), values{2});
  EXPECT_EQ(peeper::call(s, lookup{"bag/private", "k"}), (values{1, 2}));
  EXPECT_EQ(peeper::call(s, lookup{"duplicate_bag/protected", "k"}), (values{1, 2, 2}));
  EXPECT_EQ(peeper::call(s, made_count{}), static_cast<int>(specs.size()));
}

TEST(peeper_tables, a_table_made_in_init_is_given_back_not_made_again) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_tabled(rt, tabled_options({spec("once", true), spec("", true)}));
  EXPECT_TRUE(peeper::call(s, restored_names{}).empty());  // a first start gets nothing back
  EXPECT_FALSE(peeper::call(s, restored_unnamed{}));
  for (int i = 0; i < 5; ++i) {
    peeper::cast(s, put{"once", "k" + std::to_string(i), i});
    peeper::cast(s, put{"", "k" + std::to_string(i), i});
    crash_worker(rt, s);
    auto restored = peeper::call(s, restored_names{});
    std::sort(restored.begin(), restored.end());
    EXPECT_EQ(restored, (std::vector<std::string>{"<unnamed>", "once"}));
  }
  EXPECT_EQ(peeper::call(s, made_count{}), 2);
  EXPECT_EQ(outside(rt, "once").size(), 5U);
  EXPECT_EQ(peeper::call(s, lookup{"", "k4"}), values{4});
  // restored_tables() gives back server_heir's data.
  EXPECT_TRUE(peeper::call(s, restored_unnamed{}));
}

TEST(peeper_tables, restored_tables_carry_the_server_heir_data) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s =
      start_tabled(rt, tabled_options({spec("withdata", true), spec("plain")}, keep_tables::all()));
  EXPECT_EQ(peeper::call(s, restored_data{"withdata"}), std::nullopt);  // nothing restored yet
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, restored_data{"withdata"}), "heir of withdata");
  EXPECT_EQ(peeper::call(s, restored_data{"plain"}), "");  // kept by keep_tables: no data
}

TEST(peeper_tables, the_server_functions_refuse_callers_that_are_not_workers) {
  peeper::runtime rt;
  EXPECT_THROW(peeper::this_server::restored_tables(), peeper::not_in_worker);
  EXPECT_THROW((void)peeper::server_heir(), peeper::not_in_worker);
  auto got = std::make_shared<event_queue<std::string>>();
  peeper::spawn(rt, [got]() -> peeper::task<> {
    try {
      (void)peeper::server_heir();
      got->push("no error");
    } catch (const peeper::not_in_worker& e) {
      got->push(e.what());
    }
    co_return;
  });
  auto msg = got->pop();
  ASSERT_TRUE(msg);
  EXPECT_EQ(*msg, "server_heir: must be called from a Peeper worker (its init or callbacks)");
}

TEST(peeper_tables, an_heir_that_is_another_process_takes_the_table_with_a_warning) {
  captured_log log;
  {
    peeper::runtime rt;
    auto parked = std::make_shared<event_queue<std::string>>();
    pid heir = peeper::spawn(rt, [parked]() -> peeper::task<> {
      auto op = peeper::receive<peeper::table_transfer>();
      auto t = co_await op;
      parked->push(t->table.name());
      auto hold = peeper::receive<int>();
      co_await hold;
    });
    auto sp = spec("elsewhere");
    sp.options.heir = peeper::table_heir{heir, {}};
    auto s = start_tabled(rt, tabled_options({sp, spec("mine")}, keep_tables::all()));
    peeper::cast(s, put{"elsewhere", "k", 1});
    EXPECT_EQ(peeper::call(s, lookup{"elsewhere", "k"}), values{1});
    crash_worker(rt, s);
    auto got = parked->pop();
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, "elsewhere");
    EXPECT_EQ(outside(rt, "elsewhere").owner(), heir);
    EXPECT_EQ(outside(rt, "elsewhere").lookup("k"), values{1});
    EXPECT_EQ(peeper::call(s, restored_names{}), std::vector<std::string>{"mine"});
    peeper::send(heir, 0);
  }
  const std::string text = log.text();
  EXPECT_NE(text.find("warning: Peeper server"), std::string::npos) << text;
  EXPECT_NE(text.find("table 'elsewhere' is not kept across worker crashes: its heir is another "
                      "process"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("table 'mine'"), std::string::npos) << text;
}

TEST(peeper_tables, a_write_cast_just_before_a_kill_is_kept) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s = start_tabled(rt, tabled_options({spec("last")}, keep_tables::named({"last"})));
  EXPECT_TRUE(peeper::call(s, restored_names{}).empty());
  for (int i = 0; i < 20; ++i) {
    pid w = peeper::worker(s);
    peeper::cast(s, put{"last", "k" + std::to_string(i), i});
    peeper::exit(w, exit_reason::kill());
    await_restart(rt, s, w);
    EXPECT_EQ(peeper::call(s, lookup{"last", "k" + std::to_string(i)}), values{i});
  }
  EXPECT_EQ(outside(rt, "last").size(), 20U);
}

// ---- restarts of the whole instance, transfer, stop
// ----------------------------------------------

TEST(peeper_tables, tables_survive_one_for_all_restarts_of_keeper_and_worker) {
  quiet_log quiet;
  peeper::runtime rt;
  auto o = tabled_options({spec("kept"), spec("heired", true)}, keep_tables::named({"kept"}));
  o.strategy = peeper::strategy::one_for_all;
  auto s = start_tabled(rt, o);
  peeper::cast(s, put{"kept", "k", 1});
  peeper::cast(s, put{"heired", "k", 2});
  // The worker dies: the keeper takes the tables, then is stopped and restarted too.
  pid k = peeper::keeper(s);
  pid w = peeper::worker(s);
  peeper::exit(w, exit_reason::kill());
  await_exit(rt, k);
  await_restart(rt, s, w);
  EXPECT_EQ(peeper::call(s, lookup{"kept", "k"}), values{1});
  EXPECT_EQ(peeper::call(s, lookup{"heired", "k"}), values{2});
  // The keeper dies while the worker owns the tables: the worker stops and keeps them.
  k = peeper::keeper(s);
  w = peeper::worker(s);
  peeper::exit(k, exit_reason::kill());
  await_restart(rt, s, w);
  EXPECT_EQ(peeper::call(s, lookup{"kept", "k"}), values{1});
  EXPECT_EQ(peeper::call(s, lookup{"heired", "k"}), values{2});
  // The heir follows the new keeper.
  crash_worker(rt, s);
  EXPECT_EQ(outside(rt, "heired").info().heir, peeper::keeper(s));
  EXPECT_EQ(peeper::call(s, made_count{}), 2);
}

TEST(peeper_tables, stopping_the_instance_deletes_its_kept_tables) {
  quiet_log quiet;
  peeper::runtime rt;
  auto s =
      start_tabled(rt, tabled_options({spec("kept"), spec("heired", true)}, keep_tables::all()));
  peeper::cast(s, put{"kept", "k", 1});
  EXPECT_EQ(peeper::call(s, lookup{"kept", "k"}), values{1});
  table_t kept = outside(rt, "kept");
  table_t heired = outside(rt, "heired");
  peeper::stop(s);
  // The instance's core lets them go just after its supervisor is reported gone.
  EXPECT_TRUE(eventually([&] { return kept.deleted() && heired.deleted(); }));
  EXPECT_FALSE((peeper::find_table<std::string, int>(rt, "kept")));
  // A new instance may make tables of the same names.
  auto again = start_tabled(rt, tabled_options({spec("kept")}, keep_tables::all()));
  EXPECT_EQ(peeper::call(again, lookup{"kept", "k"}), values{});
  EXPECT_EQ(peeper::call(again, made_count{}), 1);
}

TEST(peeper_tables, scenario7_transfer_moves_state_tables_and_dictionary) {
  quiet_log quiet;
  peeper::runtime rt;
  pid source = dyn::start(rt).process();
  pid target = dyn::start(rt).process();
  pid nowhere = dyn::start(rt).process();
  auto o = tabled_options({spec("kept", false, table_kind::ordered_set, table_access::private_),
                           spec("heired", true), spec("", true)},
                          keep_tables::named({"kept"}));
  o.name = "moving";
  o.state.n = 42;
  dyn::start_child(source, peeper::server_child<tabled>(o));
  tabled_instance s(rt, "moving");
  peeper::cast(s, put{"kept", "k", 1});
  peeper::cast(s, put{"heired", "k", 2});
  peeper::cast(s, put{"", "k", 3});
  peeper::cast(s, dict_put{"d", 4});
  EXPECT_EQ(peeper::call(s, lookup{"", "k"}), values{3});
  table_t kept = outside(rt, "kept");

  // Refused transfers leave it working where it was, tables included.
  dyn::stop(nowhere);
  expect_refused(peeper::transfer_errc::target_not_found, rt, "moving", source, nowhere);
  expect_refused(peeper::transfer_errc::not_a_child, rt, "moving", target, source);
  EXPECT_EQ(peeper::call(s, lookup{"kept", "k"}), values{1});
  EXPECT_EQ(kept.owner(), peeper::worker(s));

  pid moved = peeper::transfer(rt, "moving", source, target);
  ASSERT_TRUE(moved);
  EXPECT_EQ(s.supervisor(), moved);
  EXPECT_EQ(peeper::call(s, lookup{"kept", "k"}), values{1});
  EXPECT_EQ(peeper::call(s, lookup{"heired", "k"}), values{2});
  EXPECT_EQ(peeper::call(s, lookup{"", "k"}), values{3});
  EXPECT_EQ(peeper::call(s, dict_get{"d"}), 4);
  EXPECT_EQ(peeper::call(s, made_count{}), 3);
  EXPECT_EQ(outside(rt, "kept"), kept);
  EXPECT_EQ(kept.owner(), peeper::worker(s));
  EXPECT_EQ(kept.access(), table_access::private_);
  EXPECT_EQ(outside(rt, "heired").info().heir, peeper::keeper(s));
  // And it keeps them across crashes under its new supervisor.
  crash_worker(rt, s);
  EXPECT_EQ(peeper::call(s, lookup{"kept", "k"}), values{1});
  EXPECT_EQ(peeper::call(s, lookup{"", "k"}), values{3});
  // Back again.
  peeper::transfer(rt, "moving", target, source);
  EXPECT_EQ(peeper::call(s, lookup{"heired", "k"}), values{2});
  EXPECT_EQ(peeper::call(s, made_count{}), 3);
}

}  // namespace peeper_tables_test
