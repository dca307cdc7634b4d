// Ownership as ETS has it: access rights, deletion on the owner's death, the
// heir, give_away, set_heir, destroy and named tables. Deterministic runtime:
// every step is driven by run_until_idle, never by sleeping.
#include <any>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/process.hpp>
#include <peeper/table/make_table.hpp>

namespace {

using peeper::exit_reason;
using peeper::pid;
using peeper::table_access;
using peeper::table_errc;
using peeper::table_kind;
using peeper::table_transfer;

struct stop {};
using int_table = peeper::table<int, int>;

template <class F>
void expect_table_error(table_errc code, F&& fn) {
  try {
    fn();
    ADD_FAILURE() << "expected table_error " << peeper::to_string(code);
  } catch (const peeper::table_error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
  }
}

class ownership : public ::testing::Test {
 protected:
  // A process that idles until sent `stop`, keeping every table_transfer it gets.
  pid spawn_idle() {
    pid p = peeper::spawn(rt_, [this]() -> peeper::task<> {
      while (true) {
        peeper::message m = co_await peeper::receive();
        if (auto* t = m.get_if<table_transfer>()) transfers_.push_back(std::move(*t));
        if (m.is<stop>()) co_return;
      }
    });
    rt_.run_until_idle();
    return p;
  }
  // Runs fn inside p, rethrowing what it throws.
  void on(const pid& p, const std::function<void()>& fn) {
    std::exception_ptr error;
    ASSERT_TRUE(peeper::detail::run_in(p, [&] {
      try {
        fn();
      } catch (...) {
        error = std::current_exception();
      }
    }));
    rt_.run_until_idle();
    if (error) std::rethrow_exception(error);
  }
  int_table make_on(const pid& p, peeper::table_options options) {
    int_table t;
    on(p, [&] { t = peeper::make_table<int, int>(std::move(options)); });
    return t;
  }
  void kill(const pid& p) {
    peeper::exit(p, exit_reason::kill());
    rt_.run_until_idle();
  }

  peeper::runtime rt_{peeper::runtime_options{.deterministic = true}};
  std::vector<table_transfer> transfers_;
};

// ---- access rights -------------------------------------------------------------

TEST_F(ownership, public_tables_are_read_and_written_by_anyone) {
  pid owner = spawn_idle();
  pid other = spawn_idle();
  auto t = make_on(owner, {.access = table_access::public_});
  on(other, [&] {
    t.insert(1, 10);
    EXPECT_EQ(*t.find(1), 10);
  });
  t.insert(2, 20);  // from a thread that is no process
  EXPECT_EQ(t.size(), 2U);
}

TEST_F(ownership, protected_tables_are_read_by_anyone_written_by_the_owner) {
  pid owner = spawn_idle();
  pid other = spawn_idle();
  auto t = make_on(owner, {.access = table_access::protected_});
  on(owner, [&] { t.insert(1, 10); });
  on(other, [&] {
    EXPECT_EQ(*t.find(1), 10);
    expect_table_error(table_errc::access_denied, [&] { t.insert(2, 20); });
    expect_table_error(table_errc::access_denied, [&] { t.erase(1); });
    expect_table_error(table_errc::access_denied, [&] { t.update_counter(1, 1); });
    expect_table_error(table_errc::access_denied, [&] { t.clear(); });
    expect_table_error(table_errc::access_denied, [&] { t.destroy(); });
  });
  EXPECT_EQ(t.lookup(1), std::vector<int>{10});
  expect_table_error(table_errc::access_denied, [&] { t.insert(3, 30); });
  EXPECT_EQ(t.size(), 1U);  // nothing refused changed anything
}

TEST_F(ownership, private_tables_are_the_owners_only) {
  pid owner = spawn_idle();
  pid other = spawn_idle();
  auto t = make_on(owner, {.access = table_access::private_});
  on(owner, [&] { t.insert(1, 10); });
  on(other, [&] {
    expect_table_error(table_errc::access_denied, [&] { (void)t.find(1); });
    expect_table_error(table_errc::access_denied, [&] { (void)t.lookup(1); });
    expect_table_error(table_errc::access_denied, [&] { (void)t.member(1); });
    expect_table_error(table_errc::access_denied, [&] { (void)t.size(); });
    expect_table_error(table_errc::access_denied, [&] { (void)t.to_list(); });
    expect_table_error(table_errc::access_denied, [&] { (void)t.first(); });
    expect_table_error(table_errc::access_denied, [&] { t.insert(2, 2); });
  });
  expect_table_error(table_errc::access_denied, [&] { (void)t.find(1); });
  EXPECT_EQ(t.info().size, 1U);  // info is open to all, as in ETS
}

// ---- the owner's death -----------------------------------------------------------

TEST_F(ownership, a_table_dies_with_its_owner) {
  pid owner = spawn_idle();
  auto t = make_on(owner, {.access = table_access::public_, .name = "doomed"});
  t.insert(1, 1);
  EXPECT_TRUE((peeper::find_table<int, int>(rt_, "doomed")));
  kill(owner);
  EXPECT_TRUE(t.deleted());
  expect_table_error(table_errc::deleted, [&] { (void)t.find(1); });
  EXPECT_FALSE((peeper::find_table<int, int>(rt_, "doomed")));
  // The name is free again.
  pid next = spawn_idle();
  auto again = make_on(next, {.name = "doomed"});
  EXPECT_EQ(peeper::find_any_table(rt_, "doomed"), std::optional<peeper::any_table>(again));
}

TEST_F(ownership, a_table_nobody_holds_lives_until_its_owner_dies) {
  pid owner = spawn_idle();
  on(owner, [&] {
    auto t = peeper::make_table<int, int>({.name = "kept"});
    t.insert(1, 2);
  });  // every handle is gone
  auto found = peeper::find_table<int, int>(rt_, "kept");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found->find(1), 2);
  found.reset();
  peeper::send(owner, stop{});
  rt_.run_until_idle();
  EXPECT_FALSE((peeper::find_table<int, int>(rt_, "kept")));
}

TEST_F(ownership, the_heir_inherits_with_contents_name_and_access_intact) {
  pid heir = spawn_idle();
  pid owner = spawn_idle();
  auto t = make_on(owner, {.kind = table_kind::ordered_set,
                           .access = table_access::private_,
                           .name = "inherited",
                           .heir = {heir, std::any(std::string("for you"))}});
  on(owner, [&] {
    t.insert(1, 10);
    t.insert(2, 20);
    EXPECT_EQ(t.info().heir, heir);
  });
  kill(owner);
  ASSERT_EQ(transfers_.size(), 1U);
  const table_transfer& got = transfers_[0];
  EXPECT_EQ(got.from, owner);
  EXPECT_EQ(std::any_cast<std::string>(got.data), "for you");
  EXPECT_EQ(got.table, t);
  auto typed = peeper::table_cast<int, int>(got.table);
  expect_table_error(table_errc::bad_type,
                     [&] { (void)peeper::table_cast<int, std::string>(got.table); });
  on(heir, [&] {
    EXPECT_EQ(typed.to_list(), (std::vector<std::pair<int, int>>{{1, 10}, {2, 20}}));
    auto info = typed.info();
    EXPECT_EQ(info.owner, heir);
    EXPECT_EQ(info.heir, heir);  // as ETS: the heir stays, now without effect
    EXPECT_EQ(info.access, table_access::private_);
    EXPECT_EQ(info.kind, table_kind::ordered_set);
    EXPECT_EQ(info.name, "inherited");
    typed.insert(3, 30);  // the heir owns it: a private table is its to write
  });
  expect_table_error(table_errc::access_denied, [&] { (void)typed.find(1); });
  EXPECT_TRUE((peeper::find_table<int, int>(rt_, "inherited")));
  // The heir is the owner: when it dies, with itself as heir, the table goes.
  kill(heir);
  EXPECT_TRUE(t.deleted());
  EXPECT_FALSE(peeper::find_any_table(rt_, "inherited"));
}

TEST_F(ownership, a_dead_heir_means_deletion) {
  pid heir = spawn_idle();
  pid owner = spawn_idle();
  auto t = make_on(owner, {.access = table_access::public_, .heir = {heir, {}}});
  kill(heir);
  kill(owner);
  EXPECT_TRUE(t.deleted());
  EXPECT_TRUE(transfers_.empty());
}

TEST_F(ownership, an_heir_dead_before_creation_counts_as_none) {
  pid heir = spawn_idle();
  kill(heir);
  pid owner = spawn_idle();
  auto t = make_on(owner, {.heir = {heir, {}}});
  EXPECT_FALSE(t.info().heir);
}

TEST_F(ownership, the_owner_as_its_own_heir_means_deletion) {
  pid owner = spawn_idle();
  int_table t;
  on(owner, [&] { t = peeper::make_table<int, int>({.heir = {peeper::self(), {}}}); });
  kill(owner);
  EXPECT_TRUE(t.deleted());
}

TEST_F(ownership, the_peeper_pattern_keeper_heir_round_trip) {
  // A keeper is heir; each worker crash hands the table to the keeper, which
  // gives it to the next worker; the heir setting survives each round.
  pid keeper = spawn_idle();
  pid worker = spawn_idle();
  auto t = make_on(worker, {.access = table_access::private_, .heir = {keeper, std::any(7)}});
  on(worker, [&] { t.insert(1, 1); });
  for (int round = 0; round < 3; ++round) {
    kill(worker);
    ASSERT_EQ(transfers_.size(), static_cast<std::size_t>(2 * round + 1));
    EXPECT_EQ(std::any_cast<int>(transfers_.back().data), 7);
    EXPECT_EQ(transfers_.back().from, worker);
    worker = spawn_idle();
    on(keeper, [&] { t.give_away(worker, std::any(std::string("back"))); });
    ASSERT_EQ(transfers_.size(), static_cast<std::size_t>(2 * round + 2));
    EXPECT_EQ(transfers_.back().from, keeper);
    on(worker, [&] { t.update_counter(1, 1); });
  }
  on(worker, [&] { EXPECT_EQ(*t.find(1), 4); });
}

// ---- give_away -----------------------------------------------------------------

TEST_F(ownership, give_away_hands_the_table_over) {
  pid owner = spawn_idle();
  pid target = spawn_idle();
  auto t = make_on(owner, {.access = table_access::protected_});
  on(owner, [&] {
    t.insert(1, 1);
    t.give_away(target, std::any(42));
    expect_table_error(table_errc::access_denied, [&] { t.insert(2, 2); });
    expect_table_error(table_errc::not_owner, [&] { t.give_away(target); });
  });
  ASSERT_EQ(transfers_.size(), 1U);
  EXPECT_EQ(transfers_[0].from, owner);
  EXPECT_EQ(std::any_cast<int>(transfers_[0].data), 42);
  EXPECT_EQ(t.owner(), target);
  on(target, [&] { t.insert(2, 2); });
  // The old owner's exit no longer concerns the table; the new owner's does.
  kill(owner);
  EXPECT_FALSE(t.deleted());
  EXPECT_EQ(t.size(), 2U);
  kill(target);
  EXPECT_TRUE(t.deleted());
}

TEST_F(ownership, give_away_refuses_bad_callers_and_targets) {
  pid owner = spawn_idle();
  pid other = spawn_idle();
  pid dead = spawn_idle();
  kill(dead);
  auto t = make_on(owner, {.access = table_access::public_});
  on(other, [&] { expect_table_error(table_errc::not_owner, [&] { t.give_away(other); }); });
  expect_table_error(table_errc::not_owner, [&] { t.give_away(other); });  // no process
  on(owner, [&] {
    expect_table_error(table_errc::bad_target, [&] { t.give_away(owner); });
    expect_table_error(table_errc::bad_target, [&] { t.give_away(dead); });
    expect_table_error(table_errc::bad_target, [&] { t.give_away(pid()); });
  });
  EXPECT_EQ(t.owner(), owner);
  EXPECT_TRUE(transfers_.empty());
}

TEST_F(ownership, a_target_that_dies_before_running_deletes_the_table) {
  pid owner = spawn_idle();
  pid target = spawn_idle();
  auto t = make_on(owner, {.access = table_access::public_});
  // The owner gives away and the target is killed before either runs again.
  ASSERT_TRUE(peeper::detail::run_in(owner, [&] { t.give_away(target); }));
  peeper::exit(target, exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_TRUE(t.deleted());
  EXPECT_FALSE(peeper::is_alive(target));
}

TEST_F(ownership, give_away_across_runtimes_is_refused) {
  peeper::runtime other_rt{peeper::runtime_options{.deterministic = true}};
  pid stranger =
      peeper::spawn(other_rt, []() -> peeper::task<> { co_await peeper::receive<stop>(); });
  other_rt.run_until_idle();
  pid owner = spawn_idle();
  auto t = make_on(owner, {});
  on(owner, [&] {
    expect_table_error(table_errc::bad_target, [&] { t.give_away(stranger); });
    expect_table_error(table_errc::bad_target, [&] { t.set_heir(stranger); });
    expect_table_error(table_errc::bad_target, [&] {
      peeper::make_table<int, int>({.heir = {stranger, {}}});
    });
  });
  peeper::send(stranger, stop{});
  other_rt.run_until_idle();
}

// ---- set_heir ------------------------------------------------------------------

TEST_F(ownership, set_heir_sets_clears_and_checks_the_caller) {
  pid owner = spawn_idle();
  pid heir = spawn_idle();
  pid dead = spawn_idle();
  kill(dead);
  auto t = make_on(owner, {.access = table_access::public_});
  expect_table_error(table_errc::not_owner, [&] { t.set_heir(heir); });
  on(heir, [&] { expect_table_error(table_errc::not_owner, [&] { t.set_heir(heir); }); });
  on(owner, [&] {
    t.set_heir(dead);
    EXPECT_FALSE(t.info().heir);
    t.set_heir(heir, std::any(1));
    EXPECT_EQ(t.info().heir, heir);
    t.set_heir(pid());
    EXPECT_FALSE(t.info().heir);
    t.set_heir(heir, std::any(2));
  });
  kill(owner);
  ASSERT_EQ(transfers_.size(), 1U);
  EXPECT_EQ(std::any_cast<int>(transfers_[0].data), 2);
  EXPECT_EQ(t.owner(), heir);
}

// ---- destroy -------------------------------------------------------------------

TEST_F(ownership, destroy_needs_write_access) {
  pid owner = spawn_idle();
  pid other = spawn_idle();
  auto prot = make_on(owner, {.access = table_access::protected_, .name = "p"});
  auto pub = make_on(owner, {.access = table_access::public_, .name = "q"});
  on(other, [&] {
    expect_table_error(table_errc::access_denied, [&] { prot.destroy(); });
    pub.destroy();
  });
  EXPECT_TRUE(pub.deleted());
  EXPECT_FALSE(peeper::find_any_table(rt_, "q"));
  EXPECT_FALSE(prot.deleted());
  on(owner, [&] { prot.destroy(); });
  EXPECT_FALSE(peeper::find_any_table(rt_, "p"));
  kill(owner);  // its exit hooks find nothing left to do
}

// ---- named tables --------------------------------------------------------------

TEST_F(ownership, names_are_unique_per_runtime_and_typed) {
  pid a = spawn_idle();
  pid b = spawn_idle();
  auto t = make_on(a, {.access = table_access::public_, .name = "shared"});
  t.insert(1, 2);
  on(b, [&] {
    expect_table_error(table_errc::name_taken,
                       [&] { peeper::make_table<int, int>({.name = "shared"}); });
    expect_table_error(table_errc::name_taken,
                       [&] { peeper::make_table<std::string, int>({.name = "shared"}); });
    auto found = peeper::find_table<int, int>("shared");
    ASSERT_TRUE(found);
    EXPECT_EQ(*found->find(1), 2);
    expect_table_error(table_errc::bad_type,
                       [&] { (void)peeper::find_table<int, std::string>("shared"); });
  });
  EXPECT_FALSE((peeper::find_table<int, int>(rt_, "absent")));
  auto any = peeper::find_any_table(rt_, "shared");
  ASSERT_TRUE(any);
  EXPECT_TRUE((any->holds<int, int>()));
  EXPECT_FALSE((any->holds<int, long>()));
  EXPECT_EQ(any->name(), "shared");

  // Another runtime has names of its own.
  peeper::runtime other_rt{peeper::runtime_options{.deterministic = true}};
  EXPECT_FALSE(peeper::find_any_table(other_rt, "shared"));
  bool made = false;
  peeper::spawn(other_rt, [&] {
    auto mine = peeper::make_table<int, int>({.name = "shared"});
    made = mine.name() == "shared";
  });
  other_rt.run_until_idle();
  EXPECT_TRUE(made);
  EXPECT_EQ((*peeper::find_table<int, int>(rt_, "shared")->find(1)), 2);
}

}  // namespace
