// Supervisors sharing their child specs (what every Peeper instance's
// supervisor does): each one's children read that supervisor's own context,
// on their first start and on restarts, and the context lives exactly as
// long as its supervisor.
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include <peeper/supervisor/detail/shared_specs.hpp>

#include "supervisor_test_support.hpp"

namespace sup_test {

namespace sup = peeper::supervisor;
using peeper::detail::shared_specs;
using peeper::detail::start_supervisor;
using peeper::detail::supervisor_context;

/// One spec for every supervisor: the child is named after its supervisor's context.
shared_specs named_by_context(const log_ptr& log) {
  peeper::child_spec s;
  s.id = "w";
  s.start = [log] {
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

}  // namespace sup_test
