// Start order, stop order, the shutdown protocol (timeouts, brutal_kill,
// infinity), start failures, and every way a supervisor ends.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "supervisor_test_support.hpp"

namespace sup_test {

using peeper::restart_type;

class supervisor_shutdown : public ::testing::Test {
 protected:
  quiet_log quiet_;
  peeper::runtime rt_{deterministic()};
  log_ptr log_ = std::make_shared<event_log>();
};

TEST_F(supervisor_shutdown, children_start_in_order_and_stop_in_reverse) {
  auto sup = peeper::supervisor::start(
                 rt_, {worker_child("a", log_), worker_child("b", log_), worker_child("c", log_)})
                 .process();
  peeper::supervisor::start_child(sup, worker_child("d", log_));
  watch(rt_, sup, log_, "sup");
  peeper::supervisor::stop(sup);
  rt_.run_until_idle();
  EXPECT_EQ(log_->all(),
            (std::vector<std::string>{"start a", "start b", "start c", "start d", "stop d",
                                      "stop c", "stop b", "stop a", "sup down normal"}));
}

TEST_F(supervisor_shutdown, stop_reason_is_the_exit_reason) {
  auto sup = peeper::supervisor::start(rt_, {worker_child("a", log_)}).process();
  watch(rt_, sup, log_, "sup");
  peeper::supervisor::stop(sup, exit_reason::error("enough"));
  rt_.run_until_idle();
  EXPECT_EQ(log_->count("sup down enough"), 1U);
}

TEST_F(supervisor_shutdown, a_tree_stops_depth_first_newest_first) {
  auto sub = peeper::supervisor::spec("sub", {worker_child("x", log_), worker_child("y", log_)});
  auto top = peeper::supervisor::start(rt_, {worker_child("a", log_), sub, worker_child("b", log_)})
                 .process();
  log_->clear();
  peeper::supervisor::stop(top, exit_reason::shutdown());
  EXPECT_EQ(log_->all(), (std::vector<std::string>{"stop b", "stop y", "stop x", "stop a"}));
}

TEST_F(supervisor_shutdown, runtime_shutdown_stops_the_tree_in_order) {
  auto sub = peeper::supervisor::spec("sub", {worker_child("x", log_), worker_child("y", log_)});
  peeper::supervisor::start(rt_, {worker_child("a", log_), sub});
  log_->clear();
  rt_.shutdown();
  EXPECT_EQ(log_->all(), (std::vector<std::string>{"stop y", "stop x", "stop a"}));
  EXPECT_EQ(rt_.process_count(), 0U);
}

TEST_F(supervisor_shutdown, a_child_ignoring_shutdown_is_killed_after_its_timeout) {
  auto sup =
      peeper::supervisor::start(rt_, {worker_child("a", log_), stubborn_child("s", log_, 300ms)})
          .process();
  rt_.run_until_idle();
  pid s = child_pid(sup, "s");
  watch(rt_, s, log_, "s");
  const auto t0 = rt_.now();
  peeper::supervisor::stop(sup);  // drives the virtual clock to the kill
  EXPECT_GE(rt_.now() - t0, 300ms);
  EXPECT_EQ(log_->since(2), (std::vector<std::string>{"got exit s", "s down killed", "stop a"}));
}

TEST_F(supervisor_shutdown, a_timeout_is_not_used_when_the_child_ends_in_time) {
  auto sup = peeper::supervisor::start(rt_, {slow_child("slow", log_, 100ms, 300ms)}).process();
  rt_.run_until_idle();
  pid s = child_pid(sup, "slow");
  watch(rt_, s, log_, "slow");
  peeper::supervisor::stop(sup);
  rt_.run_until_idle();
  EXPECT_EQ(log_->all(), (std::vector<std::string>{"stop slow", "slow down shutdown"}));
}

TEST_F(supervisor_shutdown, infinity_waits_as_long_as_it_takes) {
  auto sup =
      peeper::supervisor::start(rt_, {slow_child("slow", log_, 60s, peeper::infinity)}).process();
  rt_.run_until_idle();
  pid s = child_pid(sup, "slow");
  watch(rt_, s, log_, "slow");
  const auto t0 = rt_.now();
  peeper::supervisor::stop(sup);
  EXPECT_GE(rt_.now() - t0, 60s);
  EXPECT_EQ(log_->all(), (std::vector<std::string>{"stop slow", "slow down shutdown"}));
}

TEST_F(supervisor_shutdown, brutal_kill_kills_at_once_without_terminate) {
  auto w = worker_child("w", log_);
  w.shutdown = peeper::brutal_kill;
  auto sup = peeper::supervisor::start(rt_, {w}).process();
  pid p = child_pid(sup, "w");
  watch(rt_, p, log_, "w");
  peeper::supervisor::stop(sup);
  rt_.run_until_idle();
  EXPECT_EQ(log_->since(1), std::vector<std::string>{"w down killed"});
}

TEST_F(supervisor_shutdown, a_child_not_trapping_exits_dies_with_shutdown) {
  auto sup =
      peeper::supervisor::start(rt_, {worker_child("w", log_, restart_type::permanent, false)})
          .process();
  pid p = child_pid(sup, "w");
  watch(rt_, p, log_, "w");
  peeper::supervisor::terminate_child(sup, "w");
  rt_.run_until_idle();
  EXPECT_EQ(log_->since(1), std::vector<std::string>{"w down shutdown"});
}

TEST_F(supervisor_shutdown, a_failed_child_start_fails_the_supervisor_start) {
  auto out = peeper::supervisor::start(
      rt_, {worker_child("a", log_), failing_child("b", log_), worker_child("c", log_)});
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error(), peeper::start_errc::init_failed);
  EXPECT_EQ(out.reason(), exit_reason::shutdown("{failed_to_start_child, b, boom}"));
  EXPECT_EQ(log_->all(), (std::vector<std::string>{"start a", "fail b", "stop a"}));
  rt_.run_until_idle();
  EXPECT_EQ(rt_.process_count(), 0U);
}

TEST_F(supervisor_shutdown, a_throwing_start_function_is_a_failed_start) {
  peeper::child_spec bad;
  bad.id = "bad";
  bad.start = []() -> peeper::task<peeper::start_outcome> {
    throw std::runtime_error("no way");
    co_return peeper::start_outcome();
  };
  auto out = peeper::supervisor::start(rt_, {bad});
  EXPECT_EQ(out.error(), peeper::start_errc::init_failed);
  EXPECT_NE(out.reason().detail().find("no way"), std::string::npos) << out.reason();
}

struct refuses : peeper::gen_server<refuses, int> {
  peeper::init_result<int> init(int /*x*/) { return peeper::stop(exit_reason::error("nope")); }
};

TEST_F(supervisor_shutdown, a_child_whose_init_fails_fails_the_start) {
  auto out = peeper::supervisor::start(rt_, {peeper::worker_spec<refuses>("r", 1)});
  EXPECT_EQ(out.error(), peeper::start_errc::init_failed);
  EXPECT_EQ(out.reason(), exit_reason::shutdown("{failed_to_start_child, r, nope}"));
}

TEST_F(supervisor_shutdown, ignored_children_are_kept_unless_temporary) {
  auto sup = peeper::supervisor::start(
                 rt_, {ignored_child("i"), ignored_child("tmp", restart_type::temporary),
                       worker_child("a", log_)})
                 .process();
  EXPECT_EQ(child_ids(sup), (std::vector<std::string>{"a", "i"}));
  EXPECT_FALSE(child_pid(sup, "i"));
}

TEST_F(supervisor_shutdown, the_parent_ending_stops_the_supervisor_with_its_reason) {
  auto sup_pid = std::make_shared<pid>();
  pid parent = peeper::spawn(rt_, [sup_pid, log = log_]() -> peeper::task<> {
    std::vector<peeper::child_spec> children{worker_child("a", log)};  // not a braced list in
    auto out = co_await peeper::supervisor::start_link(std::move(children));  // co_await (GCC 12)
    *sup_pid = out.process();
    co_await peeper::receive<int>();
    throw std::runtime_error("parent gone");
  });
  rt_.run_until_idle();
  ASSERT_TRUE(*sup_pid);
  watch(rt_, *sup_pid, log_, "sup");
  peeper::send(parent, 1);
  rt_.run_until_idle();
  EXPECT_FALSE(peeper::is_alive(*sup_pid));
  auto events = log_->all();
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[1], "stop a");
  EXPECT_NE(events[2].find("sup down {exception, std::runtime_error: parent gone}"),
            std::string::npos)
      << events[2];
}

TEST_F(supervisor_shutdown, a_taken_name_is_already_started) {
  auto first = peeper::supervisor::start(rt_, {}, {}, {.name = "sup"});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(peeper::whereis(rt_, "sup"), first.process());
  auto second = peeper::supervisor::start(rt_, {worker_child("a", log_)}, {}, {.name = "sup"});
  EXPECT_EQ(second.error(), peeper::start_errc::already_started);
  EXPECT_EQ(second.process(), first.process());
  EXPECT_EQ(log_->size(), 0U);
}

TEST_F(supervisor_shutdown, gen_server_stop_works_on_a_supervisor) {
  auto sup = peeper::supervisor::start(rt_, {worker_child("a", log_)}).process();
  peeper::stop(sup);
  EXPECT_FALSE(peeper::is_alive(sup));
  EXPECT_EQ(log_->count("stop a"), 1U);
}

TEST_F(supervisor_shutdown, async_stop_from_a_process) {
  auto sup = peeper::supervisor::start(rt_, {worker_child("a", log_)}).process();
  peeper::spawn(rt_, [sup, log = log_]() -> peeper::task<> {
    co_await peeper::supervisor::async_stop(sup, exit_reason::shutdown());
    log->add("stopped");
  });
  rt_.run_until_idle();
  EXPECT_EQ(log_->since(1), (std::vector<std::string>{"stop a", "stopped"}));
}

}  // namespace sup_test
