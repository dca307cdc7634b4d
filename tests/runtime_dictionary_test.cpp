// The per-process dictionary: put / get / erase / keys with keys of many
// shapes, owned by one process, copyable as a value.
#include <algorithm>
#include <any>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/dictionary.hpp>
#include <peeper/runtime/process.hpp>

#include "test_support.hpp"

namespace runtime_dictionary_test {

using peeper_test::deterministic;

struct stop {};
struct dump {};

/// Runs `fn` inside a process of a deterministic runtime.
template <class F>
void in_process(F fn) {
  peeper::runtime rt(deterministic());
  bool ran = false;
  peeper::spawn(rt, [&] {
    fn();
    ran = true;
  });
  rt.run_until_idle();
  ASSERT_TRUE(ran);
}

TEST(Dictionary, PutGetEraseWithStringKeys) {
  in_process([] {
    namespace tp = peeper::this_process;
    EXPECT_FALSE(tp::put("name", std::string("alice")).has_value()) << "no previous value";
    ASSERT_NE(tp::get<std::string>("name"), nullptr);
    EXPECT_EQ(*tp::get<std::string>("name"), "alice");
    // const char*, std::string and std::string_view spell the same key.
    EXPECT_EQ(*tp::get<std::string>(std::string("name")), "alice");
    EXPECT_EQ(*tp::get<std::string>(std::string_view("name")), "alice");
    std::any old = tp::put(std::string("name"), std::string("bob"));
    ASSERT_TRUE(old.has_value());
    EXPECT_EQ(std::any_cast<std::string>(old), "alice");
    EXPECT_EQ(*tp::get<std::string>("name"), "bob");
    std::any erased = tp::erase("name");
    EXPECT_EQ(std::any_cast<std::string>(erased), "bob");
    EXPECT_EQ(tp::get<std::string>("name"), nullptr);
    EXPECT_FALSE(tp::erase("name").has_value()) << "absent";
  });
}

TEST(Dictionary, GetOfAnotherValueTypeIsNull) {
  in_process([] {
    namespace tp = peeper::this_process;
    tp::put("n", 42);
    EXPECT_EQ(tp::get<long>("n"), nullptr);
    EXPECT_EQ(tp::get<std::string>("n"), nullptr);
    ASSERT_NE(tp::get<int>("n"), nullptr);
    *tp::get<int>("n") += 1;  // the value can be changed in place
    EXPECT_EQ(*tp::get<int>("n"), 43);
  });
}

TEST(Dictionary, IntTupleVectorAndPairKeys) {
  in_process([] {
    namespace tp = peeper::this_process;
    tp::put(7, std::string("int"));
    tp::put(std::make_tuple(1, std::string("a"), 2.5), std::string("tuple"));
    tp::put(std::vector<int>{1, 2, 3}, std::string("vector"));
    tp::put(std::make_pair(std::string("k"), 9), std::string("pair"));
    tp::put(std::vector<std::pair<int, std::string>>{{1, "x"}}, std::string("nested"));
    EXPECT_EQ(*tp::get<std::string>(7), "int");
    EXPECT_EQ(*tp::get<std::string>(std::make_tuple(1, std::string("a"), 2.5)), "tuple");
    EXPECT_EQ(*tp::get<std::string>(std::vector<int>{1, 2, 3}), "vector");
    EXPECT_EQ(*tp::get<std::string>(std::make_pair(std::string("k"), 9)), "pair");
    EXPECT_EQ(*tp::get<std::string>(std::vector<std::pair<int, std::string>>{{1, "x"}}), "nested");
    // Equal by value, not by identity; different values are different keys.
    EXPECT_EQ(tp::get<std::string>(std::vector<int>{1, 2}), nullptr);
    EXPECT_EQ(tp::get<std::string>(std::make_tuple(1, std::string("a"), 2.0)), nullptr);
    EXPECT_EQ(tp::get<std::string>(8), nullptr);
    EXPECT_EQ(tp::keys().size(), 5U);
  });
}

TEST(Dictionary, KeysOfDifferentTypesNeverCollide) {
  in_process([] {
    namespace tp = peeper::this_process;
    tp::put(1, std::string("int"));
    tp::put(1L, std::string("long"));
    tp::put("1", std::string("string"));
    tp::put(std::make_tuple(1), std::string("tuple"));
    EXPECT_EQ(*tp::get<std::string>(1), "int");
    EXPECT_EQ(*tp::get<std::string>(1L), "long");
    EXPECT_EQ(*tp::get<std::string>("1"), "string");
    EXPECT_EQ(*tp::get<std::string>(std::make_tuple(1)), "tuple");
    EXPECT_EQ(tp::keys().size(), 4U);
  });
}

TEST(Dictionary, KeysListsEveryKeyWithItsType) {
  in_process([] {
    namespace tp = peeper::this_process;
    tp::put("a", 1);
    tp::put(2, 2);
    tp::put(std::make_pair(3, 4), 3);
    auto keys = tp::keys();
    ASSERT_EQ(keys.size(), 3U);
    int strings = 0;
    int ints = 0;
    int pairs = 0;
    for (const auto& k : keys) {
      if (const auto* s = k.get_if<std::string>()) {
        EXPECT_EQ(*s, "a");
        ++strings;
      } else if (const auto* i = k.get_if<int>()) {
        EXPECT_EQ(*i, 2);
        ++ints;
      } else if (const auto* p = k.get_if<std::pair<int, int>>()) {
        EXPECT_EQ(*p, std::make_pair(3, 4));
        EXPECT_NE(k.type_name().find("pair"), std::string::npos) << k.type_name();
        ++pairs;
      }
    }
    EXPECT_EQ(strings + ints + pairs, 3);
    tp::erase(2);
    EXPECT_EQ(tp::keys().size(), 2U);
  });
}

TEST(Dictionary, EachProcessHasItsOwn) {
  peeper::runtime rt(deterministic());
  std::vector<int> seen;
  auto make = [&seen](int value) {
    return [&seen, value]() -> peeper::task<> {
      peeper::this_process::put("mine", value);
      co_await peeper::receive<dump>();
      seen.push_back(*peeper::this_process::get<int>("mine"));
      EXPECT_EQ(peeper::this_process::keys().size(), 1U);
    };
  };
  auto a = peeper::spawn(rt, make(1));
  auto b = peeper::spawn(rt, make(2));
  rt.run_until_idle();
  peeper::send(a, dump{});
  peeper::send(b, dump{});
  rt.run_until_idle();
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));
}

TEST(Dictionary, PersistsAcrossMessagesAndIsFreedAtExit) {
  peeper::runtime rt(deterministic());
  int last = 0;
  auto p = peeper::spawn(rt, [&last]() -> peeper::task<> {
    for (int i = 1; i <= 3; ++i) {
      co_await peeper::receive<dump>();
      int* n = peeper::this_process::get<int>("count");
      if (n == nullptr) {
        peeper::this_process::put("count", 1);
      } else {
        ++*n;
      }
      // A big value, freed with the process (LeakSanitizer checks).
      peeper::this_process::put(std::make_pair(std::string("blob"), i), std::vector<int>(1000, i));
      last = *peeper::this_process::get<int>("count");
    }
  });
  for (int i = 0; i < 3; ++i) peeper::send(p, dump{});
  rt.run_until_idle();
  EXPECT_EQ(last, 3);
  EXPECT_FALSE(peeper::is_alive(p));
}

TEST(Dictionary, IsACopyableValue) {
  peeper::dictionary d;
  EXPECT_TRUE(d.empty());
  d.put("a", 1);
  d.put(std::vector<int>{1}, std::string("v"));
  peeper::dictionary copy = d;
  d.put("a", 2);
  d.erase(std::vector<int>{1});
  EXPECT_EQ(*copy.get<int>("a"), 1);
  EXPECT_NE(copy.get<std::string>(std::vector<int>{1}), nullptr);
  EXPECT_EQ(copy.size(), 2U);
  EXPECT_EQ(d.size(), 1U);
  EXPECT_EQ(*d.get<int>("a"), 2);
  ASSERT_NE(copy.find("a"), nullptr);
  EXPECT_EQ(std::any_cast<int>(*copy.find("a")), 1);
  EXPECT_EQ(copy.find("zzz"), nullptr);
  std::size_t n = 0;
  for (const auto& [k, v] : copy) {
    (void)k;
    (void)v;
    ++n;
  }
  EXPECT_EQ(n, 2U);
  copy.clear();
  EXPECT_TRUE(copy.empty());
}

TEST(Dictionary, KeysCompareByTypeAndValueAndHashConsistently) {
  peeper::dict_key a(std::string("x"));
  peeper::dict_key b(std::string("x"));
  peeper::dict_key c(std::string("y"));
  peeper::dict_key d(1);
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == d);
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(std::hash<peeper::dict_key>{}(a), a.hash());
  EXPECT_EQ(peeper::make_key("x"), a) << "a C string becomes a std::string key";
  EXPECT_EQ(peeper::hash_value(std::make_tuple(1, 2)), peeper::hash_value(std::make_tuple(1, 2)));
  EXPECT_EQ(peeper::hash_value(std::vector<int>{1, 2}), peeper::hash_value(std::vector<int>{1, 2}));
}

TEST(Dictionary, OutsideAProcessThrowsNotInProcess) {
  EXPECT_THROW((void)peeper::this_process::dict(), peeper::not_in_process);
  EXPECT_THROW((void)peeper::this_process::get<int>("x"), peeper::not_in_process);
  EXPECT_THROW((void)peeper::this_process::erase("x"), peeper::not_in_process);
  EXPECT_THROW((void)peeper::this_process::keys(), peeper::not_in_process);
}

}  // namespace runtime_dictionary_test
