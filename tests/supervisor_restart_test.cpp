// Restart intensity (at the limit and one past it, the period on the
// runtime's clock), escalation through two levels, and auto_shutdown.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "supervisor_test_support.hpp"

namespace sup_test {

using peeper::restart_type;

class supervisor_restart : public ::testing::Test {
 protected:
  /// Kills child `id` of `sup` and lets the supervisor react.
  void crash(const pid& sup, const std::string& id) {
    pid p = child_pid(sup, id);
    ASSERT_TRUE(p) << id << " is not running";
    peeper::exit(p, exit_reason::kill());
    rt_.run_until_idle();
  }

  quiet_log quiet_;
  peeper::runtime rt_{deterministic()};
  log_ptr log_ = std::make_shared<event_log>();
};

TEST_F(supervisor_restart, max_restarts_within_the_period_are_allowed) {
  auto sup = peeper::supervisor::start(rt_, {worker_child("w", log_)},
                                       {.max_restarts = 3, .max_seconds = 5000ms})
                 .process();
  watch(rt_, sup, log_, "sup");
  for (int i = 0; i < 3; ++i) crash(sup, "w");
  EXPECT_TRUE(peeper::is_alive(sup));
  EXPECT_EQ(log_->count("start w"), 4U);
}

TEST_F(supervisor_restart, one_restart_past_the_limit_shuts_the_supervisor_down) {
  auto sup = peeper::supervisor::start(rt_, {worker_child("a", log_), worker_child("w", log_)},
                                       {.max_restarts = 3, .max_seconds = 5000ms})
                 .process();
  watch(rt_, sup, log_, "sup");
  for (int i = 0; i < 3; ++i) crash(sup, "w");
  const std::size_t mark = log_->size();
  crash(sup, "w");
  EXPECT_FALSE(peeper::is_alive(sup));
  // The other children are stopped, then the supervisor exits with shutdown.
  EXPECT_EQ(log_->since(mark), (std::vector<std::string>{"stop a", "sup down shutdown"}));
}

TEST_F(supervisor_restart, zero_max_restarts_shuts_down_at_the_first_crash) {
  auto sup =
      peeper::supervisor::start(rt_, {worker_child("w", log_)}, {.max_restarts = 0}).process();
  crash(sup, "w");
  EXPECT_FALSE(peeper::is_alive(sup));
}

TEST_F(supervisor_restart, restarts_older_than_the_period_are_forgotten) {
  auto sup = peeper::supervisor::start(rt_, {worker_child("w", log_)},
                                       {.max_restarts = 2, .max_seconds = 1000ms})
                 .process();
  crash(sup, "w");
  crash(sup, "w");
  rt_.advance(1001ms);
  crash(sup, "w");
  crash(sup, "w");
  EXPECT_TRUE(peeper::is_alive(sup));
  crash(sup, "w");
  EXPECT_FALSE(peeper::is_alive(sup));
}

// OTP keeps the restarts at or after now - period: one exactly max_seconds
// old still counts.
TEST_F(supervisor_restart, a_restart_exactly_one_period_old_still_counts) {
  auto sup = peeper::supervisor::start(rt_, {worker_child("w", log_)},
                                       {.max_restarts = 1, .max_seconds = 1000ms})
                 .process();
  crash(sup, "w");
  rt_.advance(1000ms);
  crash(sup, "w");
  EXPECT_FALSE(peeper::is_alive(sup));
}

TEST_F(supervisor_restart, temporary_and_normal_transient_exits_do_not_count) {
  auto sup = peeper::supervisor::start(rt_,
                                       {worker_child("t", log_, restart_type::transient),
                                        worker_child("tmp", log_, restart_type::temporary)},
                                       {.max_restarts = 0})
                 .process();
  peeper::cast(peeper::server_ref<worker>(child_pid(sup, "t")), stop_with{exit_reason::normal()});
  crash(sup, "tmp");
  EXPECT_TRUE(peeper::is_alive(sup));
}

// worker crashes -> mid (max 1) gives up -> top (max 1) restarts mid; again
// -> mid gives up again -> top gives up: the whole tree is down.
TEST_F(supervisor_restart, escalation_through_two_levels) {
  auto mid = peeper::supervisor::spec("mid", {worker_child("w", log_)}, {.max_restarts = 1});
  auto top =
      peeper::supervisor::start(rt_, {worker_child("a", log_), mid}, {.max_restarts = 1}).process();
  watch(rt_, top, log_, "top");
  pid mid0 = child_pid(top, "mid");
  watch(rt_, mid0, log_, "mid0");

  crash(mid0, "w");  // mid: 1 restart, fine
  crash(mid0, "w");  // mid: 2 > 1 -> exits shutdown; top restarts it
  EXPECT_FALSE(peeper::is_alive(mid0));
  EXPECT_EQ(log_->count("mid0 down shutdown"), 1U);
  pid mid1 = child_pid(top, "mid");
  ASSERT_TRUE(mid1);
  EXPECT_NE(mid1, mid0);
  EXPECT_TRUE(peeper::is_alive(top));
  EXPECT_TRUE(child_pid(mid1, "w"));

  crash(mid1, "w");
  crash(mid1, "w");  // mid gives up again: top's second restart > 1
  EXPECT_FALSE(peeper::is_alive(mid1));
  EXPECT_FALSE(peeper::is_alive(top));
  EXPECT_EQ(log_->count("top down shutdown"), 1U);
  EXPECT_EQ(log_->count("stop a"), 1U);
}

// A transient supervisor child that gives up (shutdown) is not restarted.
TEST_F(supervisor_restart, transient_child_supervisor_that_gives_up_is_not_restarted) {
  auto mid = peeper::supervisor::spec("mid", {worker_child("w", log_)}, {.max_restarts = 0});
  mid.restart = restart_type::transient;
  auto top = peeper::supervisor::start(rt_, {mid}).process();
  crash(child_pid(top, "mid"), "w");
  EXPECT_TRUE(peeper::is_alive(top));
  EXPECT_FALSE(child_pid(top, "mid"));
}

// ---- auto_shutdown ----------------------------------------------------------------

peeper::child_spec significant(const std::string& id, const log_ptr& log,
                               restart_type restart = restart_type::transient) {
  auto s = worker_child(id, log, restart);
  s.significant = true;
  return s;
}

TEST_F(supervisor_restart, any_significant_child_ending_shuts_down) {
  auto sup = peeper::supervisor::start(rt_, {worker_child("a", log_), significant("s", log_)},
                                       {.auto_shutdown = peeper::auto_shutdown::any_significant})
                 .process();
  watch(rt_, sup, log_, "sup");
  const std::size_t mark = log_->size();
  peeper::cast(peeper::server_ref<worker>(child_pid(sup, "s")), stop_with{exit_reason::normal()});
  rt_.run_until_idle();
  EXPECT_EQ(log_->since(mark), (std::vector<std::string>{"stop s", "stop a", "sup down shutdown"}));
}

TEST_F(supervisor_restart, a_significant_transient_child_that_crashes_is_restarted_instead) {
  auto sup = peeper::supervisor::start(rt_, {significant("s", log_)},
                                       {.auto_shutdown = peeper::auto_shutdown::any_significant})
                 .process();
  crash(sup, "s");
  EXPECT_TRUE(peeper::is_alive(sup));
  EXPECT_TRUE(child_pid(sup, "s"));
}

TEST_F(supervisor_restart, all_significant_waits_for_the_last_significant_child) {
  auto sup = peeper::supervisor::start(
                 rt_,
                 {worker_child("a", log_), significant("s1", log_, restart_type::temporary),
                  significant("s2", log_, restart_type::temporary)},
                 {.auto_shutdown = peeper::auto_shutdown::all_significant})
                 .process();
  crash(sup, "s1");
  EXPECT_TRUE(peeper::is_alive(sup));
  crash(sup, "s2");
  EXPECT_FALSE(peeper::is_alive(sup));
}

TEST_F(supervisor_restart, significant_children_stopped_by_the_supervisor_do_not_count) {
  auto sup = peeper::supervisor::start(rt_, {significant("s", log_)},
                                       {.auto_shutdown = peeper::auto_shutdown::any_significant})
                 .process();
  peeper::supervisor::terminate_child(sup, "s");
  rt_.run_until_idle();
  EXPECT_TRUE(peeper::is_alive(sup));
}

}  // namespace sup_test

namespace sup_test {

// Threaded: children crashed concurrently from an outside thread are all
// restarted; a tree then stops cleanly (a TSan workout).
TEST(supervisor_threaded_test, concurrent_crashes_are_all_restarted) {
  quiet_log quiet;
  peeper::runtime rt({.threads = 2});
  auto log = std::make_shared<event_log>();
  std::vector<peeper::child_spec> children;
  for (int i = 0; i < 20; ++i) children.push_back(worker_child("w", log));
  for (int i = 0; i < 20; ++i) children[i].id = "w" + std::to_string(i);
  auto sub = peeper::supervisor::spec("sub", children, {.max_restarts = 100});
  auto top =
      peeper::supervisor::start(rt, {sub}, {.strategy = peeper::strategy::one_for_all}).process();
  pid s = child_pid(top, "sub");
  for (const auto& c : peeper::supervisor::which_children(s))
    peeper::exit(c.process, exit_reason::kill());
  ASSERT_TRUE(log->wait_count("start w", 40));
  peeper::supervisor::stop(top);
  EXPECT_FALSE(peeper::is_alive(s));
  EXPECT_EQ(log->count("stop w"), 20U);
}

}  // namespace sup_test
