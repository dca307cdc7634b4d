// OTP's restart semantics: each strategy x each restart type x each way a
// child can end (normal, abnormal, killed), checked on the children's pids
// and on the order they were stopped and started.
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "supervisor_test_support.hpp"

namespace sup_test {

using peeper::restart_type;
using peeper::strategy;

enum class ending { normal, abnormal, killed };

const char* name_of(ending e) {
  switch (e) {
    case ending::normal:
      return "normal";
    case ending::abnormal:
      return "abnormal";
    case ending::killed:
      return "killed";
  }
  return "?";
}

/// Makes `p` (a worker) end as `e`.
void end_child(const pid& p, ending e) {
  peeper::server_ref<worker> w(p);
  switch (e) {
    case ending::normal:
      peeper::cast(w, stop_with{exit_reason::normal()});
      break;
    case ending::abnormal:
      peeper::cast(w, stop_with{exit_reason::error("boom")});
      break;
    case ending::killed:
      peeper::exit(p, exit_reason::kill());
      break;
  }
}

class supervisor_strategy_matrix
    : public ::testing::TestWithParam<std::tuple<strategy, restart_type, ending>> {
 protected:
  quiet_log quiet_;
};

TEST_P(supervisor_strategy_matrix, restarts_as_otp) {
  const auto [strat, restart, how] = GetParam();
  peeper::runtime rt(deterministic());
  auto log = std::make_shared<event_log>();
  auto out = peeper::supervisor::start(
      rt, {worker_child("a", log), worker_child("b", log, restart), worker_child("c", log)},
      {.strategy = strat, .max_restarts = 10});
  ASSERT_TRUE(out.ok()) << out.to_string();
  const pid sup = out.process();
  EXPECT_EQ(lifecycle(*log), (std::vector<std::string>{"start a", "start b", "start c"}));
  const pid a0 = child_pid(sup, "a");
  const pid b0 = child_pid(sup, "b");
  const pid c0 = child_pid(sup, "c");
  const std::size_t mark = log->size();

  end_child(b0, how);
  rt.run_until_idle();

  const bool restarted = restart == restart_type::permanent ||
                         (restart == restart_type::transient && how != ending::normal);
  std::vector<std::string> expected;
  if (how != ending::killed) expected.emplace_back("stop b");  // its own terminate
  if (restarted) {
    switch (strat) {
      case strategy::one_for_one:
        expected.emplace_back("start b");
        break;
      case strategy::one_for_all:
        for (const char* e : {"stop c", "stop a", "start a", "start b", "start c"})
          expected.emplace_back(e);
        break;
      case strategy::rest_for_one:
        for (const char* e : {"stop c", "start b", "start c"}) expected.emplace_back(e);
        break;
    }
  }
  EXPECT_EQ(lifecycle(*log, mark), expected);
  ASSERT_TRUE(peeper::is_alive(sup));

  const pid a1 = child_pid(sup, "a");
  const pid b1 = child_pid(sup, "b");
  const pid c1 = child_pid(sup, "c");
  EXPECT_TRUE(a1 && c1);
  EXPECT_FALSE(peeper::is_alive(b0));
  if (restarted) {
    EXPECT_TRUE(b1 && b1 != b0);
    EXPECT_EQ(a1 == a0, strat != strategy::one_for_all);
    EXPECT_EQ(c1 == c0, strat == strategy::one_for_one);
    EXPECT_EQ(child_ids(sup), (std::vector<std::string>{"c", "b", "a"}));
    EXPECT_EQ(peeper::call(peeper::server_ref<worker>(b1), ping{}), "b");
  } else {
    EXPECT_EQ(a1, a0);
    EXPECT_EQ(c1, c0);
    EXPECT_FALSE(b1);
    // A temporary child's spec goes with it; a transient one's stays, not running.
    const std::vector<std::string> ids = restart == restart_type::temporary
                                             ? std::vector<std::string>{"c", "a"}
                                             : std::vector<std::string>{"c", "b", "a"};
    EXPECT_EQ(child_ids(sup), ids);
  }
  auto counts = peeper::supervisor::count_children(sup);
  EXPECT_EQ(counts.active, restarted ? 3U : 2U);
  EXPECT_EQ(counts.specs, restart == restart_type::temporary && !restarted ? 2U : 3U);
}

INSTANTIATE_TEST_SUITE_P(
    all, supervisor_strategy_matrix,
    ::testing::Combine(::testing::Values(strategy::one_for_one, strategy::one_for_all,
                                         strategy::rest_for_one),
                       ::testing::Values(restart_type::permanent, restart_type::transient,
                                         restart_type::temporary),
                       ::testing::Values(ending::normal, ending::abnormal, ending::killed)),
    [](const auto& info) {
      return std::string(peeper::to_string(std::get<0>(info.param))) + "_" +
             peeper::to_string(std::get<1>(info.param)) + "_" + name_of(std::get<2>(info.param));
    });

class supervisor_strategy : public ::testing::Test {
 protected:
  quiet_log quiet_;
  peeper::runtime rt_{deterministic()};
  log_ptr log_ = std::make_shared<event_log>();
};

// {shutdown, detail} is an orderly exit too: a transient child is not restarted.
TEST_F(supervisor_strategy, transient_child_ending_with_shutdown_detail_is_not_restarted) {
  auto sup =
      peeper::supervisor::start(rt_, {worker_child("t", log_, restart_type::transient)}).process();
  peeper::cast(peeper::server_ref<worker>(child_pid(sup, "t")),
               stop_with{exit_reason::shutdown("done")});
  rt_.run_until_idle();
  EXPECT_FALSE(child_pid(sup, "t"));
  EXPECT_EQ(child_ids(sup), std::vector<std::string>{"t"});
}

// one_for_all also restarts a child that was not running (terminated by hand).
TEST_F(supervisor_strategy, one_for_all_restarts_children_that_were_not_running) {
  auto sup = peeper::supervisor::start(rt_, {worker_child("a", log_), worker_child("b", log_)},
                                       {.strategy = strategy::one_for_all})
                 .process();
  peeper::supervisor::terminate_child(sup, "a");
  EXPECT_FALSE(child_pid(sup, "a"));
  peeper::exit(child_pid(sup, "b"), exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_TRUE(child_pid(sup, "a"));
  EXPECT_TRUE(child_pid(sup, "b"));
}

// one_for_all / rest_for_one: temporary siblings stopped for a restart are
// not started again, and their specs are gone.
TEST_F(supervisor_strategy, temporary_siblings_are_not_restarted) {
  auto sup = peeper::supervisor::start(
                 rt_,
                 {worker_child("a", log_), worker_child("tmp", log_, restart_type::temporary),
                  worker_child("c", log_)},
                 {.strategy = strategy::rest_for_one})
                 .process();
  const std::size_t mark = log_->size();
  peeper::exit(child_pid(sup, "a"), exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_EQ(lifecycle(*log_, mark),
            (std::vector<std::string>{"stop c", "stop tmp", "start a", "start c"}));
  EXPECT_EQ(child_ids(sup), (std::vector<std::string>{"c", "a"}));
}

// A restart that fails is retried (each try counts) until it succeeds.
TEST_F(supervisor_strategy, failed_restart_is_retried) {
  auto fails_left = std::make_shared<int>(0);
  peeper::child_spec flaky;
  flaky.id = "flaky";
  flaky.start = [fails_left, log = log_]() -> peeper::task<peeper::start_outcome> {
    if (*fails_left > 0) {
      --*fails_left;
      log->add("fail flaky");
      co_return peeper::start_outcome(peeper::start_errc::init_failed,
                                      exit_reason::error("not yet"), {});
    }
    worker_arg a{"flaky",
                 log};  // a named local: GCC 12 mis-relocates aggregate temporaries in co_await
    co_return co_await peeper::start_link<worker>(std::move(a));
  };
  auto sup = peeper::supervisor::start(rt_, {flaky}, {.max_restarts = 3}).process();
  *fails_left = 2;
  const std::size_t mark = log_->size();
  peeper::exit(child_pid(sup, "flaky"), exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_EQ(log_->since(mark),
            (std::vector<std::string>{"fail flaky", "fail flaky", "start flaky"}));
  EXPECT_TRUE(peeper::is_alive(sup));
  EXPECT_TRUE(child_pid(sup, "flaky"));
}

// ... and the tries count for the intensity: 1 crash + 3 failed tries > 3.
TEST_F(supervisor_strategy, failed_restarts_count_for_the_intensity) {
  auto fail = std::make_shared<bool>(false);
  peeper::child_spec flaky;
  flaky.id = "flaky";
  flaky.start = [fail, log = log_]() -> peeper::task<peeper::start_outcome> {
    if (*fail)
      co_return peeper::start_outcome(peeper::start_errc::init_failed, exit_reason::error("no"),
                                      {});
    worker_arg a{"flaky",
                 log};  // a named local: GCC 12 mis-relocates aggregate temporaries in co_await
    co_return co_await peeper::start_link<worker>(std::move(a));
  };
  auto sup = peeper::supervisor::start(rt_, {flaky}, {.max_restarts = 3}).process();
  watch(rt_, sup, log_, "sup");
  *fail = true;
  peeper::exit(child_pid(sup, "flaky"), exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_FALSE(peeper::is_alive(sup));
  EXPECT_EQ(log_->count("sup down shutdown"), 1U);
}

// A restart that returns ignore leaves the child not running.
TEST_F(supervisor_strategy, restart_returning_ignore_leaves_the_child_down) {
  auto ignore = std::make_shared<bool>(false);
  peeper::child_spec s;
  s.id = "w";
  s.start = [ignore, log = log_]() -> peeper::task<peeper::start_outcome> {
    if (*ignore)
      co_return peeper::start_outcome(peeper::start_errc::ignored, exit_reason::normal(), {});
    worker_arg a{"w",
                 log};  // a named local: GCC 12 mis-relocates aggregate temporaries in co_await
    co_return co_await peeper::start_link<worker>(std::move(a));
  };
  auto sup = peeper::supervisor::start(rt_, {s}).process();
  *ignore = true;
  peeper::exit(child_pid(sup, "w"), exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_TRUE(peeper::is_alive(sup));
  EXPECT_EQ(child_ids(sup), std::vector<std::string>{"w"});
  EXPECT_FALSE(child_pid(sup, "w"));
}

// Exits of processes that are not children (or no longer are) change nothing.
TEST_F(supervisor_strategy, exit_of_a_stranger_is_ignored) {
  auto sup = peeper::supervisor::start(rt_, {worker_child("a", log_)}).process();
  peeper::exit(sup, exit_reason::error("from outside"));  // trapped, not from the parent
  rt_.run_until_idle();
  EXPECT_TRUE(peeper::is_alive(sup));
  peeper::send(sup, 42);  // an unexpected message is dropped
  rt_.run_until_idle();
  EXPECT_TRUE(peeper::is_alive(sup));
  EXPECT_EQ(peeper::supervisor::count_children(sup).active, 1U);
}

// A child whose start forgot to link is linked by the supervisor anyway.
TEST_F(supervisor_strategy, unlinked_child_is_supervised_all_the_same) {
  peeper::child_spec s;
  s.id = "u";
  s.start = [log = log_]() -> peeper::task<peeper::start_outcome> {
    worker_arg a{"u",
                 log};  // a named local: GCC 12 mis-relocates aggregate temporaries in co_await
    co_return co_await peeper::async_start<worker>(std::move(a));
  };
  auto sup = peeper::supervisor::start(rt_, {s}).process();
  const pid u0 = child_pid(sup, "u");
  peeper::exit(u0, exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_TRUE(child_pid(sup, "u"));
  EXPECT_NE(child_pid(sup, "u"), u0);
}

}  // namespace sup_test
