// DynamicSupervisor: children started at run time, max_children,
// extra_arguments, restarts, intensity, and stopping them all at once.
#include <any>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "supervisor_test_support.hpp"

namespace sup_test {

using peeper::restart_type;
using peeper::supervisor_errc;
namespace dyn = peeper::dynamic_supervisor;

class dynamic_supervisor : public ::testing::Test {
 protected:
  dyn::child child(const std::string& name, restart_type restart = restart_type::permanent) {
    auto c = dyn::worker_child<worker>(worker_arg{name, log_});
    c.restart = restart;
    return c;
  }

  quiet_log quiet_;
  peeper::runtime rt_{deterministic()};
  log_ptr log_ = std::make_shared<event_log>();
};

TEST_F(dynamic_supervisor, start_which_count_terminate) {
  auto sup = dyn::start(rt_).process();
  EXPECT_TRUE(dyn::which_children(sup).empty());
  pid a = dyn::start_child(sup, child("a"));
  pid b = dyn::start_child(sup, child("b"));
  auto children = dyn::which_children(sup);
  ASSERT_EQ(children.size(), 2U);
  EXPECT_EQ(children[0].process, a);
  EXPECT_EQ(children[1].process, b);
  EXPECT_TRUE(children[0].id.empty());
  auto n = dyn::count_children(sup);
  EXPECT_EQ(n.specs, 2U);
  EXPECT_EQ(n.active, 2U);
  EXPECT_EQ(n.workers, 2U);
  EXPECT_EQ(n.supervisors, 0U);

  dyn::terminate_child(sup, a);
  EXPECT_FALSE(peeper::is_alive(a));
  EXPECT_EQ(dyn::count_children(sup).specs, 1U);
  expect_error(supervisor_errc::not_found, [&] { dyn::terminate_child(sup, a); });
  expect_error(supervisor_errc::not_found, [&] { dyn::terminate_child(sup, sup); });
  EXPECT_EQ(log_->all(), (std::vector<std::string>{"start a", "start b", "stop a"}));
}

TEST_F(dynamic_supervisor, max_children) {
  auto sup = dyn::start(rt_, {.max_children = 2}).process();
  pid a = dyn::start_child(sup, child("a"));
  dyn::start_child(sup, child("b"));
  auto e = expect_error(supervisor_errc::max_children, [&] { dyn::start_child(sup, child("c")); });
  EXPECT_NE(std::string(e.what()).find("max_children (2)"), std::string::npos) << e.what();
  EXPECT_EQ(log_->count("start c"), 0U);
  dyn::terminate_child(sup, a);
  EXPECT_TRUE(dyn::start_child(sup, child("c")));
}

TEST_F(dynamic_supervisor, extra_arguments_reach_every_start) {
  auto sup =
      dyn::start(rt_, {.extra_arguments = {std::any(42), std::any(std::string("x"))}}).process();
  dyn::child c;
  c.start = [log =
                 log_](const std::vector<std::any>& extra) -> peeper::task<peeper::start_outcome> {
    std::string name = "w" + std::to_string(std::any_cast<int>(extra.at(0))) +
                       std::any_cast<std::string>(extra.at(1));
    worker_arg a{name, log};
    co_return co_await peeper::start_link<worker>(std::move(a));
  };
  pid w = dyn::start_child(sup, c);
  EXPECT_EQ(peeper::call(peeper::server_ref<worker>(w), ping{}), "w42x");
  peeper::exit(w, exit_reason::kill());  // a restart gets them too
  rt_.run_until_idle();
  EXPECT_EQ(log_->all(), (std::vector<std::string>{"start w42x", "start w42x"}));
}

TEST_F(dynamic_supervisor, restart_types) {
  auto sup = dyn::start(rt_, {.max_restarts = 10}).process();
  pid p = dyn::start_child(sup, child("p"));
  pid t = dyn::start_child(sup, child("t", restart_type::transient));
  pid tmp = dyn::start_child(sup, child("tmp", restart_type::temporary));
  peeper::exit(p, exit_reason::kill());
  peeper::cast(peeper::server_ref<worker>(t), stop_with{exit_reason::normal()});
  peeper::exit(tmp, exit_reason::kill());
  rt_.run_until_idle();
  auto children = dyn::which_children(sup);
  ASSERT_EQ(children.size(), 1U);  // p, restarted; t ended normally, tmp never comes back
  EXPECT_NE(children[0].process, p);
  EXPECT_EQ(peeper::call(peeper::server_ref<worker>(children[0].process), ping{}), "p");

  pid t2 = dyn::start_child(sup, child("t2", restart_type::transient));
  peeper::cast(peeper::server_ref<worker>(t2), stop_with{exit_reason::error("bad")});
  rt_.run_until_idle();
  EXPECT_EQ(dyn::count_children(sup).active, 2U);  // a crashed transient child is restarted
}

TEST_F(dynamic_supervisor, intensity) {
  auto sup = dyn::start(rt_, {.max_restarts = 1}).process();
  watch(rt_, sup, log_, "sup");
  pid a = dyn::start_child(sup, child("a"));
  dyn::start_child(sup, child("b"));
  peeper::exit(a, exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_TRUE(peeper::is_alive(sup));
  pid a2;
  for (auto& c : dyn::which_children(sup)) {
    if (peeper::call(peeper::server_ref<worker>(c.process), ping{}) == "a") a2 = c.process;
  }
  peeper::exit(a2, exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_FALSE(peeper::is_alive(sup));
  EXPECT_EQ(log_->count("stop b"), 1U);
  EXPECT_EQ(log_->count("sup down shutdown"), 1U);
}

TEST_F(dynamic_supervisor, stop_ends_all_children_at_once_killing_the_stubborn_after_their_time) {
  auto sup = dyn::start(rt_).process();
  dyn::start_child(sup, child("a"));
  dyn::start_child(sup, stubborn_child("s", log_, 200ms));
  dyn::start_child(sup, child("b"));
  rt_.run_until_idle();
  const auto t0 = rt_.now();
  dyn::stop(sup);
  EXPECT_GE(rt_.now() - t0, 200ms);
  EXPECT_EQ(log_->count("stop a"), 1U);
  EXPECT_EQ(log_->count("stop b"), 1U);
  EXPECT_EQ(log_->count("got exit s"), 1U);
  rt_.run_until_idle();
  EXPECT_EQ(rt_.process_count(), 0U);
}

TEST_F(dynamic_supervisor, ignore_and_failed_starts_keep_nothing) {
  auto sup = dyn::start(rt_).process();
  EXPECT_FALSE(dyn::start_child(sup, ignored_child("i")));
  auto e = expect_error(supervisor_errc::start_failed,
                        [&] { dyn::start_child(sup, failing_child("f", log_)); });
  EXPECT_EQ(e.reason(), exit_reason::error("boom"));
  EXPECT_TRUE(dyn::which_children(sup).empty());
}

TEST_F(dynamic_supervisor, child_specs_and_the_generic_operations) {
  auto sup = dyn::start(rt_).process();
  pid a = dyn::start_child(sup, worker_child("ignored id", log_));
  pid b = peeper::supervisor::start_child(sup, worker_child("also ignored", log_));
  EXPECT_TRUE(a && b);
  EXPECT_EQ(peeper::supervisor::which_children(sup).size(), 2U);
  EXPECT_EQ(peeper::supervisor::count_children(sup).active, 2U);
}

TEST_F(dynamic_supervisor, bad_children_and_options) {
  expect_error(supervisor_errc::bad_spec, [&] { dyn::start(rt_, {.max_restarts = -1}); });
  expect_error(supervisor_errc::bad_spec, [&] { dyn::start(rt_, {.max_seconds = -1s}); });
  expect_error(supervisor_errc::bad_spec, [&] { (void)dyn::spec("d", {.max_restarts = -1}); });
  auto sup = dyn::start(rt_).process();
  expect_error(supervisor_errc::bad_spec, [&] { dyn::start_child(sup, dyn::child{}); });
  auto sig = child("s", restart_type::temporary);
  sig.significant = true;
  expect_error(supervisor_errc::bad_spec, [&] { dyn::start_child(sup, sig); });
  auto neg = child("n");
  neg.shutdown = -1ms;
  expect_error(supervisor_errc::bad_spec, [&] { dyn::start_child(sup, neg); });
  EXPECT_EQ(log_->size(), 0U);
}

TEST_F(dynamic_supervisor, all_significant_ends_when_the_last_significant_child_does) {
  auto sup = dyn::start(rt_, {.auto_shutdown = peeper::auto_shutdown::all_significant}).process();
  auto sig = child("s1", restart_type::temporary);
  sig.significant = true;
  pid s1 = dyn::start_child(sup, sig);
  pid s2 = dyn::start_child(sup, sig);
  dyn::start_child(sup, child("other"));
  peeper::exit(s1, exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_TRUE(peeper::is_alive(sup));
  peeper::exit(s2, exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_FALSE(peeper::is_alive(sup));
  EXPECT_EQ(log_->count("stop other"), 1U);
}

TEST_F(dynamic_supervisor, as_a_child_of_a_supervisor) {
  auto top = peeper::supervisor::start(rt_, {dyn::spec("dyn", {.max_children = 5})}).process();
  pid d = child_pid(top, "dyn");
  dyn::start_child(d, child("a"));
  auto info = peeper::supervisor::which_children(top);
  EXPECT_EQ(info.at(0).type, peeper::child_type::supervisor);
  peeper::supervisor::stop(top);
  EXPECT_EQ(log_->all(), (std::vector<std::string>{"start a", "stop a"}));
}

TEST_F(dynamic_supervisor, start_link_from_a_process) {
  peeper::spawn(rt_, [log = log_]() -> peeper::task<> {
    dyn::options opts{.max_children = 1};
    auto out = co_await dyn::start_link(std::move(opts));
    auto c = dyn::worker_child<worker>(worker_arg{"x", log});
    pid x = co_await dyn::async_start_child(out.process(), std::move(c));
    auto n = co_await dyn::async_count_children(out.process());
    log->add("active " + std::to_string(n.active));
    co_await dyn::async_terminate_child(out.process(), x);
    auto left = co_await dyn::async_which_children(out.process());
    log->add("left " + std::to_string(left.size()));
    co_await dyn::async_stop(out.process());
    log->add("stopped");
  });
  rt_.run_until_idle();
  EXPECT_EQ(log_->all(),
            (std::vector<std::string>{"start x", "active 1", "stop x", "left 0", "stopped"}));
}

// ---- threaded -------------------------------------------------------------------------

TEST(dynamic_supervisor_threaded, many_outside_threads_start_and_crash_children) {
  quiet_log quiet;
  peeper::runtime rt({.threads = 2});
  auto log = std::make_shared<event_log>();
  auto sup = dyn::start(rt, {.max_restarts = 1000}).process();
  constexpr int threads = 4;
  constexpr int per_thread = 50;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto c = dyn::worker_child<worker>(worker_arg{"w", log});
        pid p = dyn::start_child(sup, std::move(c));
        if (i % 5 == t % 5) peeper::exit(p, exit_reason::kill());
      }
    });
  }
  for (auto& t : ts) t.join();
  // Every child started, plus one restart per child killed.
  ASSERT_TRUE(log->wait_count("start w", threads * per_thread + threads * per_thread / 5));
  EXPECT_EQ(dyn::count_children(sup).specs, static_cast<std::size_t>(threads * per_thread));
  dyn::stop(sup);
  EXPECT_EQ(log->count("stop w"), static_cast<std::size_t>(threads * per_thread));
}

}  // namespace sup_test
