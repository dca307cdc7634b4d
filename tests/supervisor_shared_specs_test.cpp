// Supervisors sharing their child specs (what every Peeper instance's
// supervisor does): each one's children read that supervisor's own context,
// on their first start and on restarts, and the context lives exactly as
// long as its supervisor. A supervisor that shares its context lets any
// thread find it by its pid, under its kind, until it ends.
#include <atomic>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/supervisor/detail/shared_specs.hpp>

#include "supervisor_test_support.hpp"

namespace sup_test {

namespace sup = peeper::supervisor;
using peeper::detail::context_kind;
using peeper::detail::shared_context;
using peeper::detail::shared_specs;
using peeper::detail::start_supervisor;
using peeper::detail::supervisor_context;

/// One spec for every supervisor: the child is named after its supervisor's
/// context, which the supervisor shares first if `share`.
shared_specs named_by_context(const log_ptr& log, bool share = false) {
  peeper::child_spec s;
  s.id = "w";
  s.start = [log, share] {
    if (share) peeper::detail::share_supervisor_context();
    auto name = std::static_pointer_cast<std::string>(supervisor_context());
    return peeper::worker_spec<worker>("w", worker_arg{name ? *name : "none", log}).start();
  };
  return {std::make_shared<const peeper::child_spec>(std::move(s))};
}

class supervisor_shared_specs : public ::testing::Test {
 protected:
  quiet_log quiet_;
  peeper::runtime rt_{deterministic()};
  log_ptr log_ = std::make_shared<event_log>();
};

TEST_F(supervisor_shared_specs, each_supervisor_gives_its_children_its_own_context) {
  const shared_specs specs = named_by_context(log_);
  auto a_ctx = std::make_shared<std::string>("a");
  std::weak_ptr<std::string> a_alive = a_ctx;
  pid a = start_supervisor(rt_, specs, {}, {}, std::move(a_ctx)).process();
  pid b = start_supervisor(rt_, specs, {}, {}, std::make_shared<std::string>("b")).process();
  EXPECT_EQ(log_->all(), (std::vector<std::string>{"start a", "start b"}));
  EXPECT_EQ(specs.front().use_count(), 3);  // shared, not copied, by both supervisors

  // A restart reads the context again.
  peeper::exit(sup::which_children(a).front().process, exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_EQ(log_->count("start a"), 2U);
  EXPECT_EQ(log_->count("start b"), 1U);

  EXPECT_FALSE(a_alive.expired());
  sup::stop(a);
  EXPECT_TRUE(a_alive.expired());  // released with its supervisor
  EXPECT_EQ(sup::which_children(b).size(), 1U);
}

TEST_F(supervisor_shared_specs, a_plain_supervisor_has_no_context) {
  auto specs = named_by_context(log_);
  pid p = sup::start(rt_, {*specs.front()}).process();
  EXPECT_EQ(log_->all(), (std::vector<std::string>{"start none"}));
  sup::stop(p);
}

TEST_F(supervisor_shared_specs, bad_shared_specs_are_refused) {
  auto specs = named_by_context(log_);
  specs.push_back(specs.front());
  try {
    (void)start_supervisor(rt_, specs, {}, {}, nullptr);
    FAIL() << "a duplicate id was accepted";
  } catch (const peeper::supervisor_error& e) {
    EXPECT_EQ(e.code(), peeper::supervisor_errc::bad_spec);
    EXPECT_NE(std::string(e.what()).find("duplicate child id w"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)start_supervisor(rt_, {nullptr}, {}, {}, nullptr), peeper::supervisor_error);
  EXPECT_TRUE(log_->all().empty());
}

TEST_F(supervisor_shared_specs, the_context_is_only_for_supervisors) {
  EXPECT_THROW((void)supervisor_context(), peeper::not_in_process);
  bool threw = false;
  peeper::spawn(rt_, [&threw] {
    try {
      (void)supervisor_context();
    } catch (const peeper::not_in_process&) {
      // wrong: this is a process
    } catch (const std::logic_error&) {
      threw = true;
    }
  });
  rt_.run_until_idle();
  EXPECT_TRUE(threw);
}

std::atomic<int> ended{0};
void count_end(void* /*context*/) noexcept { ended.fetch_add(1); }
const context_kind counted{&count_end};
const context_kind other{};

TEST_F(supervisor_shared_specs, a_shared_context_is_found_by_pid_under_its_kind_until_the_end) {
  ended = 0;
  auto ctx = std::make_shared<std::string>("a");
  pid a = start_supervisor(rt_, named_by_context(log_, true), {}, {}, ctx, &counted).process();
  pid quiet = start_supervisor(rt_, named_by_context(log_), {}, {}, ctx, &counted).process();
  EXPECT_EQ(shared_context(a, counted), ctx);
  EXPECT_EQ(shared_context(a, other), nullptr);                    // another kind
  EXPECT_EQ(shared_context(quiet, counted), nullptr);              // never shared
  EXPECT_EQ(shared_context(child_pid(a, "w"), counted), nullptr);  // not a supervisor
  EXPECT_EQ(shared_context(pid(), counted), nullptr);

  // A restart shares again (idempotent); the end unshares and runs at_end once.
  peeper::exit(child_pid(a, "w"), exit_reason::kill());
  rt_.run_until_idle();
  EXPECT_EQ(shared_context(a, counted), ctx);
  sup::stop(a);
  EXPECT_EQ(shared_context(a, counted), nullptr);
  EXPECT_EQ(ended.load(), 1);
  sup::stop(quiet);
  EXPECT_EQ(ended.load(), 2);
  EXPECT_EQ(ctx.use_count(), 1);
}

TEST_F(supervisor_shared_specs, sharing_is_only_for_supervisors) {
  EXPECT_THROW(peeper::detail::share_supervisor_context(), peeper::not_in_process);
}

// Readers on other threads look contexts up while their supervisors end:
// each answer is the supervisor's own context or null, and null once it ended.
TEST(supervisor_shared_context_stress, lookups_race_supervisors_ending) {
  quiet_log quiet;
  peeper::runtime rt{peeper::runtime_options{.threads = 2}};
  auto log = std::make_shared<event_log>();
  const shared_specs specs = named_by_context(log, true);
  constexpr int n = 200;
  std::vector<pid> sups;
  std::vector<std::shared_ptr<std::string>> contexts;
  for (int i = 0; i < n; ++i) {
    contexts.push_back(std::make_shared<std::string>(std::to_string(i)));
    sups.push_back(start_supervisor(rt, specs, {}, {}, contexts.back(), &other).process());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::atomic<long> found{0};
  std::latch first_pass{2};  // both readers looked at every live supervisor once
  auto reader = [&] {
    for (bool first = true; first || !stop.load(); first = false) {
      for (int i = 0; i < n; ++i) {
        auto c = shared_context(sups[static_cast<std::size_t>(i)], other);
        if (c == nullptr) continue;
        found.fetch_add(1);
        if (*std::static_pointer_cast<std::string>(c) != std::to_string(i)) wrong.fetch_add(1);
      }
      if (first) first_pass.count_down();
    }
  };
  std::thread r1(reader);
  std::thread r2(reader);
  first_pass.wait();
  for (const pid& p : sups) sup::stop(p);
  stop = true;
  r1.join();
  r2.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GE(found.load(), 2L * n);  // the first passes saw them all alive
  for (const pid& p : sups) EXPECT_EQ(shared_context(p, other), nullptr);
  for (const auto& c : contexts) EXPECT_EQ(c.use_count(), 1);  // no lookup kept one
}

}  // namespace sup_test
