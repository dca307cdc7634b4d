// owned_tables() and the hand-over primitives the Peeper layer builds on
// (keep_when_orphaned, take_over, discard). Deterministic runtime: every
// step is driven by run_until_idle.
#include <algorithm>
#include <exception>
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/errors.hpp>
#include <peeper/runtime/process.hpp>
#include <peeper/table/make_table.hpp>

namespace table_owned_test {

using peeper::exit_reason;
using peeper::pid;
using peeper::table_access;
using int_table = peeper::table<int, int>;

struct stop {};

class owned : public ::testing::Test {
 protected:
  pid spawn_idle() {
    pid p = peeper::spawn(rt_, []() -> peeper::task<> {
      auto op = peeper::receive<stop>();
      co_await op;
    });
    rt_.run_until_idle();
    return p;
  }
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
  std::vector<peeper::any_table> owned_by(const pid& p) {
    std::vector<peeper::any_table> out;
    on(p, [&] { out = peeper::owned_tables(); });
    return out;
  }
  static bool has(const std::vector<peeper::any_table>& v, const peeper::any_table& t) {
    return std::find(v.begin(), v.end(), t) != v.end();
  }
  void kill(const pid& p) {
    peeper::exit(p, exit_reason::kill());
    rt_.run_until_idle();
  }

  peeper::runtime rt_{peeper::runtime_options{.deterministic = true}};
};

TEST_F(owned, owned_tables_lists_what_the_process_made_was_given_and_inherited) {
  pid a = spawn_idle();
  pid b = spawn_idle();
  int_table t1;
  int_table t2;
  int_table t3;
  on(a, [&] {
    t1 = peeper::make_table<int, int>({.name = "t1"});
    t2 = peeper::make_table<int, int>();
    t3 = peeper::make_table<int, int>({.heir = {b, {}}});
  });
  EXPECT_EQ(owned_by(a).size(), 3U);
  EXPECT_TRUE(owned_by(b).empty());

  on(a, [&] { t1.give_away(b); });
  EXPECT_TRUE(has(owned_by(b), t1));
  EXPECT_FALSE(has(owned_by(a), t1));

  on(a, [&] { t2.destroy(); });
  EXPECT_FALSE(has(owned_by(a), t2));

  kill(a);  // t3 goes to its heir b
  auto of_b = owned_by(b);
  EXPECT_EQ(of_b.size(), 2U);
  EXPECT_TRUE(has(of_b, t1));
  EXPECT_TRUE(has(of_b, t3));
  EXPECT_THROW((void)peeper::owned_tables(), peeper::not_in_process);
  peeper::send(b, stop{});
  rt_.run_until_idle();
  EXPECT_TRUE(t1.deleted());
  EXPECT_TRUE(t3.deleted());
}

TEST_F(owned, a_table_kept_when_orphaned_outlives_its_owner_until_taken_over) {
  pid a = spawn_idle();
  pid b = spawn_idle();
  int_table t;
  on(a, [&] {
    t = peeper::make_table<int, int>({.access = table_access::private_, .name = "kept"});
    t.insert(1, 10);
    t.core_ptr()->keep_when_orphaned(true);
  });
  EXPECT_THROW(t.core_ptr()->keep_when_orphaned(false), peeper::table_error);  // owner only
  kill(a);
  EXPECT_FALSE(t.deleted());
  EXPECT_EQ(t.owner(), a);  // still naming the dead owner, followed by nobody
  EXPECT_TRUE(peeper::find_any_table(rt_, "kept"));

  bool taken = false;
  on(b, [&] { taken = t.core_ptr()->take_over(); });
  EXPECT_TRUE(taken);
  EXPECT_EQ(t.owner(), b);
  on(b, [&] { EXPECT_EQ(t.lookup(1), std::vector<int>{10}); });  // private, and b owns it
  EXPECT_TRUE(has(owned_by(b), t));
  // take_over turned the mark off: the new owner's death deletes it, as usual.
  kill(b);
  EXPECT_TRUE(t.deleted());
  EXPECT_FALSE(peeper::find_any_table(rt_, "kept"));
}

TEST_F(owned, take_over_from_a_living_owner_leaves_no_hook_behind) {
  pid a = spawn_idle();
  pid b = spawn_idle();
  int_table t = [&] {
    int_table made;
    on(a, [&] { made = peeper::make_table<int, int>(); });
    return made;
  }();
  on(b, [&] { EXPECT_TRUE(t.core_ptr()->take_over()); });
  EXPECT_EQ(t.owner(), b);
  EXPECT_FALSE(has(owned_by(a), t));
  kill(a);  // a's hook is gone (or finds another owner): the table lives
  EXPECT_FALSE(t.deleted());
  EXPECT_EQ(t.owner(), b);
  kill(b);
  EXPECT_TRUE(t.deleted());
}

TEST_F(owned, discard_deletes_a_kept_table_whoever_calls) {
  pid a = spawn_idle();
  int_table t;
  on(a, [&] {
    t = peeper::make_table<int, int>({.access = table_access::private_});
    t.core_ptr()->keep_when_orphaned(true);
  });
  kill(a);
  EXPECT_FALSE(t.deleted());
  t.core_ptr()->discard();  // from this thread, not a process
  EXPECT_TRUE(t.deleted());
  t.core_ptr()->discard();  // twice: nothing
  bool taken = true;
  pid b = spawn_idle();
  on(b, [&] { taken = t.core_ptr()->take_over(); });
  EXPECT_FALSE(taken);
}

}  // namespace table_owned_test
