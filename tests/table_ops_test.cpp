// Every table operation on every kind, with and without sharding and reader
// slots, run by the owner process in a deterministic runtime.
#include <algorithm>
#include <exception>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/process.hpp>
#include <peeper/table/make_table.hpp>

namespace {

using peeper::table_access;
using peeper::table_errc;
using peeper::table_kind;
using peeper::table_options;

struct stop {};

template <class F>
void expect_table_error(table_errc code, F&& fn) {
  try {
    fn();
    ADD_FAILURE() << "expected table_error " << peeper::to_string(code);
  } catch (const peeper::table_error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
  }
}

// kind, read_concurrency, write_concurrency
using config = std::tuple<table_kind, bool, bool>;

class table_ops : public ::testing::TestWithParam<config> {
 protected:
  void SetUp() override {
    owner_ = peeper::spawn(rt_, []() -> peeper::task<> { co_await peeper::receive<stop>(); });
    rt_.run_until_idle();
    on_owner([&] {
      t_ = peeper::make_table<int, std::string>(
          table_options{.kind = kind(),
                        .access = table_access::private_,
                        .read_concurrency = std::get<1>(GetParam()),
                        .write_concurrency = std::get<2>(GetParam())});
    });
  }
  void TearDown() override {
    peeper::send(owner_, stop{});
    rt_.run_until_idle();
  }

  [[nodiscard]] table_kind kind() const { return std::get<0>(GetParam()); }
  [[nodiscard]] bool is_set() const {
    return kind() == table_kind::set || kind() == table_kind::ordered_set;
  }

  // Runs fn inside the owner (the table is private), rethrowing what it throws.
  void on_owner(const std::function<void()>& fn) {
    std::exception_ptr error;
    ASSERT_TRUE(peeper::detail::run_in(owner_, [&] {
      try {
        fn();
      } catch (...) {
        error = std::current_exception();
      }
    }));
    rt_.run_until_idle();
    if (error) std::rethrow_exception(error);
  }

  peeper::runtime rt_{peeper::runtime_options{.deterministic = true}};
  peeper::pid owner_;
  peeper::table<int, std::string> t_;
};

TEST_P(table_ops, insert_lookup_find_member_count) {
  on_owner([&] {
    EXPECT_TRUE(t_.lookup(1).empty());
    EXPECT_FALSE(t_.find(1));
    EXPECT_FALSE(t_.member(1));
    t_.insert(1, "a");
    t_.insert(1, "b");
    t_.insert(1, "a");
    EXPECT_TRUE(t_.member(1));
    switch (kind()) {
      case table_kind::set:
      case table_kind::ordered_set:
        EXPECT_EQ(t_.lookup(1), std::vector<std::string>{"a"});
        EXPECT_EQ(t_.count(1), 1U);
        break;
      case table_kind::bag:
        EXPECT_EQ(t_.lookup(1), (std::vector<std::string>{"a", "b"}));
        EXPECT_EQ(t_.count(1), 2U);
        break;
      case table_kind::duplicate_bag:
        EXPECT_EQ(t_.lookup(1), (std::vector<std::string>{"a", "b", "a"}));
        EXPECT_EQ(t_.count(1), 3U);
        break;
    }
    EXPECT_EQ(*t_.find(1), is_set() ? "a" : "a");
    std::vector<std::string> seen;
    EXPECT_TRUE(t_.visit(1, [&](const std::string& v) { seen.push_back(v); }));
    EXPECT_EQ(seen, t_.lookup(1));
    EXPECT_FALSE(t_.visit(2, [&](const std::string&) { ADD_FAILURE(); }));
  });
}

TEST_P(table_ops, insert_new_one_and_many) {
  on_owner([&] {
    EXPECT_TRUE(t_.insert_new(1, "a"));
    EXPECT_FALSE(t_.insert_new(1, "b"));
    EXPECT_EQ(t_.lookup(1), std::vector<std::string>{"a"});
    // All or nothing: key 1 exists, so neither 2 nor 3 is stored.
    EXPECT_FALSE(t_.insert_new({{2, "x"}, {1, "y"}, {3, "z"}}));
    EXPECT_FALSE(t_.member(2));
    EXPECT_FALSE(t_.member(3));
    EXPECT_TRUE(t_.insert_new({{2, "x"}, {3, "z"}}));
    EXPECT_EQ(t_.size(), 3U);
  });
}

TEST_P(table_ops, insert_many) {
  on_owner([&] {
    std::vector<std::pair<int, std::string>> batch;
    for (int i = 0; i < 100; ++i) batch.emplace_back(i, std::to_string(i));
    t_.insert(batch);
    EXPECT_EQ(t_.size(), 100U);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(*t_.find(i), std::to_string(i));
    t_.insert({{1000, "x"}, {1001, "y"}});
    EXPECT_EQ(t_.size(), 102U);
  });
}

TEST_P(table_ops, erase_and_erase_object) {
  on_owner([&] {
    t_.insert(1, "a");
    t_.insert(1, "b");
    t_.insert(1, "b");
    t_.insert(2, "c");
    EXPECT_FALSE(t_.erase_object(2, "zzz"));
    EXPECT_TRUE(t_.erase_object(1, "b"));
    switch (kind()) {
      case table_kind::set:
      case table_kind::ordered_set:
        EXPECT_FALSE(t_.member(1));  // the value was "b": the object is gone
        break;
      case table_kind::bag:
      case table_kind::duplicate_bag:  // every copy of ("1", "b") goes
        EXPECT_EQ(t_.lookup(1), std::vector<std::string>{"a"});
        break;
    }
    EXPECT_TRUE(t_.erase(2));
    EXPECT_FALSE(t_.erase(2));
    EXPECT_FALSE(t_.member(2));
  });
}

TEST_P(table_ops, take) {
  on_owner([&] {
    t_.insert(1, "a");
    t_.insert(1, "b");
    auto got = t_.take(1);
    const std::vector<std::string> want =
        is_set() ? std::vector<std::string>{"b"} : std::vector<std::string>{"a", "b"};
    EXPECT_EQ(got, want);
    EXPECT_FALSE(t_.member(1));
    EXPECT_TRUE(t_.take(1).empty());
  });
}

TEST_P(table_ops, update_and_update_counter) {
  peeper::table<std::string, long> counters;
  on_owner(
      [&] { counters = peeper::make_table<std::string, long>(table_options{.kind = kind()}); });
  on_owner([&] {
    if (!is_set()) {
      t_.insert(1, "a");
      expect_table_error(table_errc::unsupported, [&] { t_.update(1, [](std::string&) {}); });
      expect_table_error(table_errc::unsupported, [&] { counters.update_counter("x", 1, 0); });
      return;
    }
    expect_table_error(table_errc::bad_key, [&] { counters.update_counter("x", 1); });
    EXPECT_EQ(counters.update_counter("x", 5, 10), 15);
    EXPECT_EQ(counters.update_counter("x", -3), 12);
    EXPECT_FALSE(t_.update(1, [](std::string& s) { s += "!"; }));
    t_.insert(1, "a");
    EXPECT_TRUE(t_.update(1, [](std::string& s) { s += "!"; }));
    EXPECT_EQ(*t_.find(1), "a!");
    // A throwing update leaves the value as it was.
    EXPECT_THROW(t_.update(1,
                           [](std::string& s) {
                             s = "torn";
                             throw std::runtime_error("half-way");
                           }),
                 std::runtime_error);
    EXPECT_EQ(*t_.find(1), "a!");
    t_.upsert(7, "seed", [](std::string& s) { s += "+"; });
    t_.upsert(7, "seed", [](std::string& s) { s += "+"; });
    EXPECT_EQ(*t_.find(7), "seed++");
  });
}

TEST_P(table_ops, select_select_delete_to_list_size_clear) {
  on_owner([&] {
    for (int i = 0; i < 20; ++i) t_.insert(i, std::to_string(i % 3));
    if (!is_set()) t_.insert(4, "extra");
    auto zeros = t_.select([](const int&, const std::string& v) { return v == "0"; });
    std::set<int> keys;
    for (auto& [k, v] : zeros) {
      EXPECT_EQ(v, "0");
      keys.insert(k);
    }
    EXPECT_EQ(keys, (std::set<int>{0, 3, 6, 9, 12, 15, 18}));
    if (kind() == table_kind::ordered_set) {
      EXPECT_TRUE(std::is_sorted(zeros.begin(), zeros.end()));
    }
    const std::size_t total = is_set() ? 20 : 21;
    EXPECT_EQ(t_.size(), total);
    EXPECT_EQ(t_.to_list().size(), total);
    EXPECT_EQ(t_.select_delete([](const int& k, const std::string&) { return k >= 10; }), 10U);
    EXPECT_EQ(t_.size(), total - 10);
    t_.clear();
    EXPECT_EQ(t_.size(), 0U);
    EXPECT_TRUE(t_.to_list().empty());
  });
}

TEST_P(table_ops, traversal_visits_every_key_once) {
  on_owner([&] {
    EXPECT_FALSE(t_.first());
    EXPECT_FALSE(t_.last());
    for (int i = 0; i < 200; ++i) t_.insert(i * 7 % 200, "v");
    if (!is_set()) t_.insert(5, "w");
    std::vector<int> walked;
    for (auto k = t_.first(); k; k = t_.next(*k)) walked.push_back(*k);
    std::vector<int> sorted = walked;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(sorted.size(), 200U);
    for (int i = 0; i < 200; ++i) EXPECT_EQ(sorted[static_cast<std::size_t>(i)], i);
    if (kind() == table_kind::ordered_set) {
      EXPECT_EQ(walked, sorted);
      EXPECT_EQ(*t_.last(), 199);
      EXPECT_EQ(*t_.prev(100), 99);
      EXPECT_FALSE(t_.prev(0));
      t_.erase(50);
      EXPECT_EQ(*t_.next(50), 51);  // from an erased key: the order decides
      EXPECT_EQ(*t_.prev(50), 49);
    } else {
      // The order is stable while the table does not change.
      std::vector<int> again;
      for (auto k = t_.first(); k; k = t_.next(*k)) again.push_back(*k);
      EXPECT_EQ(walked, again);
      EXPECT_EQ(t_.last(), t_.first());
      t_.erase(50);
      expect_table_error(table_errc::bad_key, [&] { (void)t_.next(50); });
    }
  });
}

TEST_P(table_ops, info_describes_the_table) {
  on_owner([&] {
    t_.insert(1, "a");
    auto info = t_.info();
    EXPECT_EQ(info.kind, kind());
    EXPECT_EQ(info.access, table_access::private_);
    EXPECT_EQ(info.owner, owner_);
    EXPECT_FALSE(info.heir);
    EXPECT_TRUE(info.name.empty());
    EXPECT_EQ(info.size, 1U);
    EXPECT_EQ(info.read_concurrency, std::get<1>(GetParam()));
    const bool sharded = std::get<2>(GetParam()) && kind() != table_kind::ordered_set;
    EXPECT_EQ(info.write_concurrency, sharded);
    EXPECT_EQ(info.shards, sharded ? 16U : 1U);
    EXPECT_EQ(info.key_type, "int");
    EXPECT_NE(info.value_type.find("string"), std::string::npos);
  });
}

TEST_P(table_ops, destroy_makes_every_operation_fail) {
  on_owner([&] {
    t_.insert(1, "a");
    auto copy = t_;
    t_.destroy();
    EXPECT_TRUE(copy.deleted());
    expect_table_error(table_errc::deleted, [&] { (void)copy.lookup(1); });
    expect_table_error(table_errc::deleted, [&] { copy.insert(2, "b"); });
    expect_table_error(table_errc::deleted, [&] { (void)copy.size(); });
    expect_table_error(table_errc::deleted, [&] { (void)copy.info(); });
    expect_table_error(table_errc::deleted, [&] { (void)copy.first(); });
    expect_table_error(table_errc::deleted, [&] { copy.destroy(); });
  });
}

std::string config_name(const ::testing::TestParamInfo<config>& info) {
  return std::string(peeper::to_string(std::get<0>(info.param))) +
         (std::get<1>(info.param) ? "_read_slots" : "") +
         (std::get<2>(info.param) ? "_sharded" : "_one_shard");
}

INSTANTIATE_TEST_SUITE_P(
    all_kinds, table_ops,
    ::testing::Combine(::testing::Values(table_kind::set, table_kind::ordered_set, table_kind::bag,
                                         table_kind::duplicate_bag),
                       ::testing::Bool(), ::testing::Bool()),
    config_name);

// ---- types a kind cannot hold ------------------------------------------------

struct unhashable {
  int v = 0;
  bool operator==(const unhashable&) const = default;
  bool operator<(const unhashable& o) const { return v < o.v; }
};
struct no_equality {
  int v = 0;
};

TEST(table_types, a_kind_the_types_cannot_make_is_refused) {
  peeper::runtime rt{peeper::runtime_options{.deterministic = true}};
  std::vector<table_errc> codes;
  auto attempt = [&](auto make) {
    try {
      make();
    } catch (const peeper::table_error& e) {
      codes.push_back(e.code());
    }
  };
  peeper::spawn(rt, [&] {
    attempt([] { peeper::make_table<unhashable, int>({.kind = table_kind::set}); });
    attempt([] { peeper::make_table<unhashable, int>({.kind = table_kind::ordered_set}); });
    attempt([] { peeper::make_table<int, no_equality>({.kind = table_kind::bag}); });
    attempt([] { peeper::make_table<int, no_equality>({.kind = table_kind::duplicate_bag}); });
  });
  rt.run_until_idle();
  // The ordered_set of unhashable and the duplicate_bag of no_equality work.
  EXPECT_EQ(codes, (std::vector<table_errc>{table_errc::unsupported, table_errc::unsupported}));
}

TEST(table_types, make_table_outside_a_process_throws_not_in_process) {
  EXPECT_THROW((peeper::make_table<int, int>()), peeper::not_in_process);
}

TEST(table_types, null_handle_reports_deleted) {
  peeper::table<int, int> t;
  EXPECT_FALSE(t);
  EXPECT_TRUE(t.deleted());
  expect_table_error(table_errc::deleted, [&] { (void)t.find(1); });
  expect_table_error(table_errc::deleted, [&] { (void)t.info(); });
  expect_table_error(table_errc::deleted, [&] { (void)peeper::table_cast<int, int>(t); });
}

}  // namespace
