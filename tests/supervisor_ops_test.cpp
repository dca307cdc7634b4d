// Every supervisor operation's success and error results, bad specs, and
// the operations from inside a process (async_ forms).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "supervisor_test_support.hpp"

namespace sup_test {

using peeper::restart_type;
using peeper::supervisor_errc;
namespace sup = peeper::supervisor;

class supervisor_ops : public ::testing::Test {
 protected:
  quiet_log quiet_;
  peeper::runtime rt_{deterministic()};
  log_ptr log_ = std::make_shared<event_log>();
};

TEST_F(supervisor_ops, which_children_is_newest_first_with_every_field) {
  auto s = peeper::supervisor::spec("sub", {});
  auto t = worker_child("t", log_, restart_type::transient);
  auto p = sup::start(rt_, {worker_child("a", log_), s, t}).process();
  auto children = sup::which_children(p);
  ASSERT_EQ(children.size(), 3U);
  EXPECT_EQ(children[0].id, "t");
  EXPECT_EQ(children[0].restart, restart_type::transient);
  EXPECT_EQ(children[0].type, peeper::child_type::worker);
  EXPECT_EQ(children[1].id, "sub");
  EXPECT_EQ(children[1].type, peeper::child_type::supervisor);
  EXPECT_EQ(children[2].id, "a");
  for (auto& c : children) {
    EXPECT_TRUE(peeper::is_alive(c.process));
    EXPECT_FALSE(c.restarting);
  }
}

TEST_F(supervisor_ops, count_children) {
  auto p = sup::start(rt_, {worker_child("a", log_), sup::spec("sub", {}), ignored_child("i")})
               .process();
  auto n = sup::count_children(p);
  EXPECT_EQ(n.specs, 3U);
  EXPECT_EQ(n.active, 2U);
  EXPECT_EQ(n.supervisors, 1U);
  EXPECT_EQ(n.workers, 2U);
}

TEST_F(supervisor_ops, start_child_results) {
  auto p = sup::start(rt_, {worker_child("a", log_)}).process();
  pid b = sup::start_child(p, worker_child("b", log_));
  EXPECT_TRUE(peeper::is_alive(b));
  EXPECT_EQ(child_ids(p), (std::vector<std::string>{"b", "a"}));

  auto e = expect_error(supervisor_errc::already_started,
                        [&] { sup::start_child(p, worker_child("b", log_)); });
  EXPECT_EQ(e.process(), b);

  sup::terminate_child(p, "b");
  expect_error(supervisor_errc::already_present,
               [&] { sup::start_child(p, worker_child("b", log_)); });

  e = expect_error(supervisor_errc::start_failed,
                   [&] { sup::start_child(p, failing_child("f", log_)); });
  EXPECT_EQ(e.reason(), exit_reason::error("boom"));
  EXPECT_EQ(child_ids(p), (std::vector<std::string>{"b", "a"}));  // nothing kept

  EXPECT_FALSE(sup::start_child(p, ignored_child("i")));
  EXPECT_EQ(child_ids(p), (std::vector<std::string>{"i", "b", "a"}));
  EXPECT_FALSE(sup::start_child(p, ignored_child("tmp", restart_type::temporary)));
  EXPECT_EQ(child_ids(p), (std::vector<std::string>{"i", "b", "a"}));
}

TEST_F(supervisor_ops, start_child_whose_name_is_taken) {
  auto p = sup::start(rt_, {}).process();
  auto named = peeper::worker_spec<worker>("n1", worker_arg{"n1", log_}, {.name = "the_name"});
  pid first = sup::start_child(p, named);
  named.id = "n2";
  auto e = expect_error(supervisor_errc::already_started, [&] { sup::start_child(p, named); });
  EXPECT_EQ(e.process(), first);
}

TEST_F(supervisor_ops, terminate_child_results) {
  auto p =
      sup::start(rt_, {worker_child("a", log_), worker_child("tmp", log_, restart_type::temporary)})
          .process();
  sup::terminate_child(p, "a");
  EXPECT_EQ(child_ids(p), (std::vector<std::string>{"tmp", "a"}));
  EXPECT_FALSE(child_pid(p, "a"));
  sup::terminate_child(p, "a");  // not running: still fine
  sup::terminate_child(p, "tmp");
  EXPECT_EQ(child_ids(p), std::vector<std::string>{"a"});  // a temporary spec goes with it
  expect_error(supervisor_errc::not_found, [&] { sup::terminate_child(p, "nope"); });
  EXPECT_EQ(log_->count("stop a"), 1U);
}

TEST_F(supervisor_ops, restart_child_results) {
  auto p = sup::start(rt_, {worker_child("a", log_)}).process();
  expect_error(supervisor_errc::running, [&] { sup::restart_child(p, "a"); });
  expect_error(supervisor_errc::not_found, [&] { sup::restart_child(p, "nope"); });
  sup::terminate_child(p, "a");
  pid a = sup::restart_child(p, "a");
  EXPECT_TRUE(peeper::is_alive(a));
  EXPECT_EQ(child_pid(p, "a"), a);
}

TEST_F(supervisor_ops, delete_child_results) {
  auto p = sup::start(rt_, {worker_child("a", log_)}).process();
  expect_error(supervisor_errc::running, [&] { sup::delete_child(p, "a"); });
  expect_error(supervisor_errc::not_found, [&] { sup::delete_child(p, "nope"); });
  sup::terminate_child(p, "a");
  sup::delete_child(p, "a");
  EXPECT_TRUE(sup::which_children(p).empty());
  expect_error(supervisor_errc::not_found, [&] { sup::restart_child(p, "a"); });
}

// While a restart is being retried, the child reads `restarting`, and
// restart_child / delete_child say so. A helper process asks, from inside
// the runtime, between two tries.
TEST_F(supervisor_ops, restarting_child) {
  auto fail = std::make_shared<bool>(false);
  auto sup_pid = std::make_shared<pid>();
  auto asked = std::make_shared<bool>(false);
  peeper::child_spec flaky;
  flaky.id = "flaky";
  flaky.start = [fail, sup_pid, asked, log = log_]() -> peeper::task<peeper::start_outcome> {
    if (*fail) {
      if (!*asked) {
        *asked = true;
        peeper::spawn_link([fail, sup_pid, log]() -> peeper::task<> {
          auto children = co_await sup::async_which_children(*sup_pid);
          log->add(children.at(0).restarting && !children.at(0).process ? "restarting" : "?");
          try {
            co_await sup::async_restart_child(*sup_pid, "flaky");
          } catch (const peeper::supervisor_error& e) {
            log->add(std::string("restart_child: ") + peeper::to_string(e.code()));
          }
          try {
            co_await sup::async_delete_child(*sup_pid, "flaky");
          } catch (const peeper::supervisor_error& e) {
            log->add(std::string("delete_child: ") + peeper::to_string(e.code()));
          }
          *fail = false;
        });
      }
      co_return peeper::start_outcome(peeper::start_errc::init_failed, exit_reason::error("no"),
                                      {});
    }
    worker_arg a{"flaky", log};
    co_return co_await peeper::start_link<worker>(std::move(a));
  };
  auto p = sup::start(rt_, {flaky}, {.max_restarts = 1000}).process();
  *sup_pid = p;
  *fail = true;
  peeper::exit(child_pid(p, "flaky"), exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_EQ(log_->since(1), (std::vector<std::string>{"restarting", "restart_child: restarting",
                                                      "delete_child: restarting", "start flaky"}));
  EXPECT_TRUE(child_pid(p, "flaky"));
}

TEST_F(supervisor_ops, operations_from_inside_a_process) {
  auto p = sup::start(rt_, {}).process();
  peeper::spawn(rt_, [p, log = log_]() -> peeper::task<> {
    pid b = co_await sup::async_start_child(p, worker_child("b", log));
    auto n = co_await sup::async_count_children(p);
    log->add("active " + std::to_string(n.active) + (b ? " b" : ""));
    co_await sup::async_terminate_child(p, "b");
    pid b2 = co_await sup::async_restart_child(p, "b");
    log->add(b2 != b ? "restarted" : "?");
    co_await sup::async_terminate_child(p, "b");
    co_await sup::async_delete_child(p, "b");
    try {
      co_await sup::async_terminate_child(p, "b");
    } catch (const peeper::supervisor_error& e) {
      log->add(peeper::to_string(e.code()));
    }
  });
  rt_.run_until_idle();
  EXPECT_EQ(log_->all(), (std::vector<std::string>{"start b", "active 1 b", "stop b", "start b",
                                                   "restarted", "stop b", "not_found"}));
}

TEST_F(supervisor_ops, errors_of_the_target) {
  auto p = sup::start(rt_, {}).process();
  sup::stop(p);
  auto e = expect_error(supervisor_errc::noproc, [&] { sup::which_children(p); });
  expect_error(supervisor_errc::noproc, [&] { sup::count_children(pid()); });
  expect_error(supervisor_errc::noproc, [&] { sup::stop(p); });

  auto server = peeper::start<worker>(rt_, worker_arg{"w", log_}).value().resolve();
  expect_error(supervisor_errc::not_a_supervisor, [&] { sup::which_children(server); });

  auto dyn = peeper::dynamic_supervisor::start(rt_).process();
  expect_error(supervisor_errc::not_supported, [&] { sup::terminate_child(dyn, "x"); });
  expect_error(supervisor_errc::not_supported, [&] { sup::restart_child(dyn, "x"); });
  expect_error(supervisor_errc::not_supported, [&] { sup::delete_child(dyn, "x"); });
  auto st = sup::start(rt_, {}).process();
  expect_error(supervisor_errc::not_supported,
               [&] { peeper::dynamic_supervisor::terminate_child(st, server); });
}

TEST_F(supervisor_ops, blocking_operation_inside_a_process_would_block) {
  auto p = sup::start(rt_, {}).process();
  peeper::spawn(rt_, [p, log = log_]() {
    try {
      sup::which_children(p);
    } catch (const peeper::supervisor_error& e) {
      log->add(peeper::to_string(e.code()));
    }
  });
  rt_.run_until_idle();
  EXPECT_EQ(log_->all(), std::vector<std::string>{"would_block"});
}

TEST_F(supervisor_ops, a_child_operating_on_its_own_supervisor_is_calling_self) {
  peeper::child_spec s;
  s.id = "self";
  s.start = [log = log_]() -> peeper::task<peeper::start_outcome> {
    try {
      co_await sup::async_count_children(peeper::self());  // runs in the supervisor
    } catch (const peeper::supervisor_error& e) {
      log->add(peeper::to_string(e.code()));
    }
    co_return peeper::start_outcome(peeper::start_errc::ignored, exit_reason::normal(), {});
  };
  sup::start(rt_, {s});
  EXPECT_EQ(log_->all(), std::vector<std::string>{"calling_self"});
}

// ---- bad input --------------------------------------------------------------------------

TEST_F(supervisor_ops, bad_specs_are_rejected_before_anything_starts) {
  auto ok = worker_child("a", log_);
  auto expect_bad = [&](std::vector<peeper::child_spec> children, peeper::supervisor_flags flags,
                        const std::string& words) {
    auto e = expect_error(supervisor_errc::bad_spec, [&] { sup::start(rt_, children, flags); });
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    expect_error(supervisor_errc::bad_spec, [&] { (void)sup::spec("s", children, flags); });
  };
  expect_bad({ok, ok}, {}, "duplicate child id a");
  auto empty = ok;
  empty.id.clear();
  expect_bad({empty}, {}, "empty id");
  auto no_start = ok;
  no_start.start = nullptr;
  expect_bad({no_start}, {}, "no start function");
  auto negative = ok;
  negative.shutdown = -5ms;
  expect_bad({negative}, {}, "negative shutdown");
  auto sig = ok;
  sig.significant = true;
  sig.restart = restart_type::transient;
  expect_bad({sig}, {}, "auto_shutdown is never");
  sig.restart = restart_type::permanent;
  expect_bad({sig}, {.auto_shutdown = peeper::auto_shutdown::any_significant}, "permanent");
  expect_bad({ok}, {.max_restarts = -1}, "max_restarts");
  expect_bad({ok}, {.max_seconds = 0ms}, "max_seconds");
  expect_bad({ok}, {.strategy = static_cast<peeper::strategy>(7)}, "strategy");
  EXPECT_EQ(log_->size(), 0U);
  EXPECT_EQ(rt_.process_count(), 0U);
}

TEST_F(supervisor_ops, bad_specs_are_rejected_by_start_child) {
  auto p = sup::start(rt_, {worker_child("a", log_)}).process();
  auto sig = worker_child("s", log_, restart_type::temporary);
  sig.significant = true;
  expect_error(supervisor_errc::bad_spec, [&] { sup::start_child(p, sig); });
  auto no_start = worker_child("n", log_);
  no_start.start = nullptr;
  expect_error(supervisor_errc::bad_spec, [&] { sup::start_child(p, no_start); });
  EXPECT_EQ(child_ids(p), std::vector<std::string>{"a"});
}

TEST_F(supervisor_ops, worker_spec_takes_the_servers_defaults) {
  auto s = peeper::worker_spec<defaulted>("d", 1);
  EXPECT_EQ(s.id, "d");
  EXPECT_EQ(s.restart, restart_type::transient);
  ASSERT_TRUE(s.shutdown);
  EXPECT_EQ(*s.shutdown, peeper::shutdown_t(250ms));
  auto plain = peeper::worker_spec<worker>("w", worker_arg{"w", log_});
  EXPECT_EQ(plain.restart, restart_type::permanent);
  EXPECT_FALSE(plain.shutdown);
  EXPECT_EQ(peeper::default_shutdown(peeper::child_type::worker), peeper::shutdown_t(5000ms));
  EXPECT_EQ(peeper::default_shutdown(peeper::child_type::supervisor).to_string(), "infinity");
  auto p = sup::start(rt_, {s}).process();
  EXPECT_TRUE(child_pid(p, "d"));
}

}  // namespace sup_test
