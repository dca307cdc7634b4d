// Transfer between DynamicSupervisors (scenario 7, without tables): the
// instance moves with its state and dictionary under its name; the errors
// leave it working where it was; and no message is lost on the way.
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/supervisor/dynamic_supervisor.hpp>

#include "peeper_test_support.hpp"

namespace peeper_transfer_test {

using namespace peeper_test;
using peeper::exit_reason;
using peeper::pid;
using peeper::transfer_errc;
namespace dyn = peeper::dynamic_supervisor;

bool lists(const pid& sup, const pid& child) {
  for (const auto& c : dyn::which_children(sup)) {
    if (c.process == child) return true;
  }
  return false;
}

/// Starts a counter named `n` at `value` under `sup`; returns its pid.
pid start_under(const pid& sup, const peeper::name& n, long value, probe_ptr events = nullptr) {
  auto o = counter_options(value, std::move(events));
  o.name = n;
  return dyn::start_child(sup, peeper::server_child<counter>(o));
}

/// Expects transfer to throw transfer_error with `code`.
void expect_refused(transfer_errc code, peeper::runtime& rt, const peeper::name& n, const pid& from,
                    const pid& to) {
  try {
    (void)peeper::transfer(rt, n, from, to);
    ADD_FAILURE() << "expected transfer_error " << peeper::to_string(code);
  } catch (const peeper::transfer_error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
  }
}

class peeper_transfer : public ::testing::Test {
 protected:
  peeper::runtime rt_;
  pid source_ = dyn::start(rt_).process();
  pid target_ = dyn::start(rt_).process();
};

TEST_F(peeper_transfer, the_instance_keeps_its_restart_type) {
  auto o = counter_options(3);
  o.name = "transient";
  auto child = peeper::server_child<counter>(o);
  child.restart = peeper::restart_type::transient;
  (void)dyn::start_child(source_, std::move(child));
  pid moved = peeper::transfer(rt_, "transient", source_, target_);
  auto kids = dyn::which_children(target_);
  ASSERT_EQ(kids.size(), 1U);
  EXPECT_EQ(kids[0].process, moved);
  EXPECT_EQ(kids[0].restart, peeper::restart_type::transient);
  EXPECT_EQ(kids[0].type, peeper::child_type::supervisor);
  EXPECT_EQ(peeper::call(counter_instance(rt_, "transient"), get{}), 3);
}

TEST_F(peeper_transfer, the_instance_keeps_its_shutdown_and_significant_flag) {
  dyn::options significant_ends;
  significant_ends.auto_shutdown = peeper::auto_shutdown::any_significant;
  const pid source = dyn::start(rt_, significant_ends).process();
  const pid target = dyn::start(rt_, significant_ends).process();
  auto o = counter_options(3);
  o.name = "significant";
  auto child = peeper::server_child<counter>(o);
  child.restart = peeper::restart_type::transient;
  child.shutdown = std::chrono::milliseconds(250);
  child.significant = true;
  (void)dyn::start_child(source, std::move(child));

  const pid moved = peeper::transfer(rt_, "significant", source, target);
  auto kids = dyn::which_children(target);
  ASSERT_EQ(kids.size(), 1U);
  EXPECT_EQ(kids[0].process, moved);
  EXPECT_TRUE(kids[0].shutdown == peeper::shutdown_t(std::chrono::milliseconds(250)));
  EXPECT_TRUE(kids[0].significant);
  EXPECT_TRUE(dyn::which_children(source).empty());
  // Significant under the target too: its orderly end ends the target, not the source.
  event_queue<exit_reason> target_end;
  watch(rt_, target, target_end);
  peeper::stop(counter_instance(rt_, "significant"));
  auto why = target_end.pop();
  ASSERT_TRUE(why);
  EXPECT_TRUE(why->is_orderly()) << why->to_string();
  EXPECT_TRUE(peeper::is_alive(source));
}

TEST_F(peeper_transfer, the_instance_moves_with_its_state_and_dictionary_under_its_name) {
  pid old_sup = start_under(source_, "mover", 10);
  counter_instance by_name(rt_, "mover");
  counter_instance by_handle(by_name.supervisor(),
                             by_name.core());  // follows the core, not the name
  EXPECT_EQ(peeper::call(by_name, inc_call{5}), 15);
  peeper::cast(by_name, dict_put{"k", "v"});
  peeper::cast(by_name, tagged{1});
  EXPECT_EQ(peeper::call(by_name, get{}), 15);
  pid old_worker = peeper::worker(by_name);

  pid moved = peeper::transfer(rt_, "mover", source_, target_);
  ASSERT_TRUE(moved);
  EXPECT_NE(moved, old_sup);
  EXPECT_FALSE(peeper::is_alive(old_sup));
  EXPECT_FALSE(peeper::is_alive(old_worker));
  // The target lists it, the source does not; the name resolves to it.
  EXPECT_TRUE(lists(target_, moved));
  EXPECT_FALSE(lists(source_, old_sup));
  EXPECT_TRUE(dyn::which_children(source_).empty());
  EXPECT_EQ(peeper::whereis(rt_, "mover"), moved);
  EXPECT_EQ(by_name.supervisor(), moved);
  EXPECT_EQ(peeper::whereis(rt_, peeper::worker_name("mover")), peeper::worker(by_name));
  // State and dictionary are intact.
  EXPECT_EQ(peeper::call(by_name, get{}), 15);
  EXPECT_EQ(peeper::call(by_name, dict_get{"k"}), "v");
  EXPECT_EQ(peeper::call(by_name, get_seen{}), std::vector<int>{1});
  EXPECT_EQ(peeper::call(by_handle, inc_call{1}), 16);
  // It is a working instance under its new supervisor: crashes keep the state.
  {
    quiet_log quiet;
    crash_worker(rt_, by_name);
  }
  EXPECT_EQ(peeper::call(by_name, get{}), 16);
  EXPECT_EQ(peeper::call(by_name, dict_get{"k"}), "v");
}

TEST_F(peeper_transfer, an_instance_can_move_back_and_forth) {
  start_under(source_, peeper::name::global("pingpong"), 0);
  counter_instance s(rt_, peeper::name::global("pingpong"));
  pid from = source_;
  pid to = target_;
  for (int i = 1; i <= 6; ++i) {
    EXPECT_EQ(peeper::call(s, inc_call{1}), i);
    pid moved = peeper::transfer(rt_, peeper::name::global("pingpong"), from, to);
    EXPECT_TRUE(lists(to, moved));
    EXPECT_TRUE(dyn::which_children(from).empty());
    std::swap(from, to);
  }
  EXPECT_EQ(peeper::call(s, get{}), 6);
}

TEST_F(peeper_transfer, the_listener_goes_on_after_a_transfer) {
  auto log = std::make_shared<event_queue<std::string>>();
  auto o = counter_options(1);
  o.name = "heard";
  o.listener.on_state_changed = [log](const cstate& a, const cstate& b) {
    log->push(std::to_string(a.n) + "->" + std::to_string(b.n));
  };
  dyn::start_child(source_, peeper::server_child<counter>(o));
  counter_instance s(rt_, "heard");
  expect_event(*log, "1->1");
  peeper::cast(s, inc{1});
  expect_event(*log, "1->2");
  peeper::transfer(rt_, "heard", source_, target_);
  expect_event(*log, "2->2");  // the new worker's init
  peeper::cast(s, inc{1});
  expect_event(*log, "2->3");
}

// ---- errors leave the instance where it was
// -------------------------------------------------------

void expect_still_working(peeper::runtime& rt, const pid& source, const pid& sup,
                          const peeper::name& n, long value) {
  counter_instance s(rt, n);
  EXPECT_EQ(s.supervisor(), sup);
  EXPECT_TRUE(lists(source, sup));
  EXPECT_EQ(peeper::whereis(rt, n), sup);
  EXPECT_EQ(peeper::call(s, get{}), value);
  EXPECT_EQ(peeper::call(s, inc_call{1}), value + 1);
}

TEST_F(peeper_transfer, an_unknown_name_moves_nothing) {
  pid sup = start_under(source_, "stay", 3);
  expect_refused(transfer_errc::name_not_found, rt_, "nobody", source_, target_);
  expect_still_working(rt_, source_, sup, "stay", 3);
  EXPECT_TRUE(dyn::which_children(target_).empty());
}

TEST_F(peeper_transfer, a_target_that_does_not_exist_moves_nothing) {
  pid sup = start_under(source_, "stay", 3);
  pid gone = dyn::start(rt_).process();
  dyn::stop(gone);
  expect_refused(transfer_errc::target_not_found, rt_, "stay", source_, gone);
  expect_refused(transfer_errc::target_not_found, rt_, "stay", source_, pid());
  expect_still_working(rt_, source_, sup, "stay", 3);
}

TEST_F(peeper_transfer, a_source_that_does_not_exist_moves_nothing) {
  pid sup = start_under(source_, "stay", 3);
  pid gone = dyn::start(rt_).process();
  dyn::stop(gone);
  expect_refused(transfer_errc::source_not_found, rt_, "stay", gone, target_);
  expect_still_working(rt_, source_, sup, "stay", 3);
  EXPECT_TRUE(dyn::which_children(target_).empty());
}

TEST_F(peeper_transfer, a_wrong_source_moves_nothing) {
  pid sup = start_under(source_, "stay", 3);
  expect_refused(transfer_errc::not_a_child, rt_, "stay", target_, source_);
  expect_still_working(rt_, source_, sup, "stay", 3);
  EXPECT_TRUE(dyn::which_children(target_).empty());
}

TEST_F(peeper_transfer, an_instance_not_under_any_dynamic_supervisor_moves_nothing) {
  auto o = counter_options(3);
  o.name = "alone";
  auto s = start_counter(rt_, o);
  expect_refused(transfer_errc::not_a_child, rt_, "alone", source_, target_);
  EXPECT_EQ(peeper::call(s, inc_call{1}), 4);
}

TEST_F(peeper_transfer,
       a_target_that_refuses_restarts_the_instance_under_the_source_with_its_state) {
  pid full = dyn::start(rt_, {.max_children = 0}).process();
  start_under(source_, "refused", 3);
  counter_instance s(rt_, "refused");
  peeper::cast(s, inc{1});
  expect_refused(transfer_errc::start_failed, rt_, "refused", source_, full);
  EXPECT_TRUE(dyn::which_children(full).empty());
  ASSERT_EQ(dyn::which_children(source_).size(), 1U);
  EXPECT_EQ(s.supervisor(), dyn::which_children(source_)[0].process);
  EXPECT_EQ(peeper::call(s, get{}), 4);
}

// ---- no message is lost during a transfer
// -----------------------------------------------------------

TEST_F(peeper_transfer, messages_queued_for_the_old_worker_are_handled_by_the_new_one_in_order) {
  quiet_log quiet;  // the old worker is shut down in a callback
  auto events = std::make_shared<probe>();
  start_under(source_, "queued", 0, events);
  counter_instance s(rt_, "queued");
  expect_event(*events, "init 0");
  gate_ref g = start_gate(rt_);
  peeper::cast(s, block_cast{g});
  expect_event(*events, "blocked");
  // Queued behind the blocked callback in the old worker's mailbox.
  for (int i = 1; i <= 20; ++i) peeper::cast(s, tagged{i});
  peeper::send(s, tag_info{21});
  peeper::cast(s, inc{7});
  event_queue<int> answered;
  peeper::spawn(rt_, [s, &answered]() -> peeper::task<> {
    auto op = peeper::async_call(s, tagged_call{22}, hang_guard);
    answered.push(co_await op);
  });
  auto queued_call =
      std::async(std::launch::async, [&] { return peeper::call(s, inc_call{1}, hang_guard); });
  pid moved = peeper::transfer(rt_, "queued", source_, target_);
  EXPECT_EQ(s.supervisor(), moved);
  EXPECT_EQ(answered.pop(), 22);
  EXPECT_EQ(queued_call.get(), 8);  // sent after the inc{7}
  auto seen = peeper::call(s, get_seen{});
  EXPECT_EQ(seen, iota(1, 22));
  EXPECT_EQ(peeper::call(s, get{}), 8);
}

TEST_F(peeper_transfer, messages_sent_during_a_transfer_are_all_handled_in_each_senders_order) {
  start_under(source_, "busy", 0);
  counter_instance by_name(rt_, "busy");
  counter_instance by_handle(by_name.supervisor(), by_name.core());
  constexpr int per_sender = 400;
  std::atomic<bool> go{false};
  auto sender = [&](const counter_instance& s, int base) {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < per_sender; ++i) {
      EXPECT_TRUE(peeper::cast(s, tagged{base + i}));
      EXPECT_TRUE(peeper::cast(s, inc{1}));
    }
    return peeper::call(s, get{}, hang_guard);  // after this sender's casts
  };
  auto a = std::async(std::launch::async, sender, by_name, 100000);
  auto b = std::async(std::launch::async, sender, by_handle, 200000);
  go.store(true);
  event_queue<int> from_process;
  peeper::spawn(rt_, [by_name, &from_process]() -> peeper::task<> {
    for (int i = 0; i < per_sender; ++i) {
      peeper::cast(by_name, tagged{300000 + i});
      peeper::send(by_name, inc_info{});
    }
    auto last = peeper::async_call(by_name, get{}, hang_guard);
    co_await last;
    from_process.push(1);
  });
  pid moved = peeper::transfer(rt_, "busy", source_, target_);
  (void)a.get();
  (void)b.get();
  EXPECT_EQ(from_process.pop(), 1);
  EXPECT_EQ(by_name.supervisor(), moved);
  EXPECT_EQ(peeper::call(by_name, get{}), 3 * per_sender);
  auto seen = peeper::call(by_name, get_seen{});
  ASSERT_EQ(seen.size(), 3U * per_sender);
  for (int base : {100000, 200000, 300000}) {
    std::vector<int> mine;
    for (int t : seen) {
      if (t / 100000 == base / 100000) mine.push_back(t);
    }
    EXPECT_EQ(mine, iota(base, base + per_sender - 1)) << "sender " << base;
  }
}

}  // namespace peeper_transfer_test
