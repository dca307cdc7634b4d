// The queue of a process's messages and of a Peeper route's waiting ones (a
// circle through its last entry) against std::deque as the reference:
// random pushes, pops, splices in front and removals by predicate keep the
// same entries in the same order, and every entry is destroyed once.
#include <algorithm>
#include <deque>
#include <memory>
#include <random>

#include <gtest/gtest.h>

#include <peeper/runtime/detail/envelope.hpp>

namespace {

using peeper::detail::envelope;
using peeper::detail::envelope_kind;
using peeper::detail::envelope_list;
using peeper::detail::envelope_ptr;

struct counted_envelope final : envelope {
  static inline int live = 0;
  explicit counted_envelope(int v) : envelope(envelope_kind::message), value(v) { ++live; }
  counted_envelope(const counted_envelope&) = delete;
  counted_envelope& operator=(const counted_envelope&) = delete;
  ~counted_envelope() override { --live; }
  int value;
};

envelope_ptr make(int v) { return std::make_unique<counted_envelope>(v); }
int value_of(const envelope& e) { return static_cast<const counted_envelope&>(e).value; }

std::deque<int> drain(envelope_list& l) {
  std::deque<int> out;
  while (envelope_ptr e = l.pop_front()) out.push_back(value_of(*e));
  return out;
}

TEST(runtime_envelope_list, matches_a_reference_deque) {
  std::mt19937 rng(3);
  int next = 0;
  {
    envelope_list l;
    std::deque<int> ref;
    for (int i = 0; i < 20'000; ++i) {
      switch (rng() % 5) {
        case 0:
        case 1:
          ref.push_back(next);
          l.push_back(make(next++));
          break;
        case 2: {
          envelope_ptr e = l.pop_front();
          ASSERT_EQ(e == nullptr, ref.empty());
          if (e) {
            EXPECT_EQ(value_of(*e), ref.front());
            ref.pop_front();
          }
          break;
        }
        case 3: {  // a batch of 0-3 entries spliced in front
          envelope_list front;
          std::deque<int> batch;
          for (unsigned k = rng() % 4; k > 0; --k) {
            batch.push_back(next);
            front.push_back(make(next++));
          }
          l.splice_front(std::move(front));
          ref.insert(ref.begin(), batch.begin(), batch.end());
          break;
        }
        default: {  // remove the first entry divisible by a small number
          const int d = static_cast<int>(rng() % 4) + 1;
          auto pred = [d](const envelope& e) { return value_of(e) % d == 0; };
          envelope_ptr e = l.remove_first_if(pred);
          auto it = std::find_if(ref.begin(), ref.end(), [d](int v) { return v % d == 0; });
          ASSERT_EQ(e == nullptr, it == ref.end());
          EXPECT_EQ(l.any_of(pred), std::any_of(it == ref.end() ? it : it + 1, ref.end(),
                                                [d](int v) { return v % d == 0; }));
          if (e) {
            EXPECT_EQ(value_of(*e), *it);
            ref.erase(it);
          }
        }
      }
      ASSERT_EQ(l.empty(), ref.empty());
      ASSERT_EQ(counted_envelope::live, static_cast<int>(ref.size()));
    }
    envelope_list moved = std::move(l);
    EXPECT_TRUE(l.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_EQ(drain(moved), ref);
  }
  EXPECT_EQ(counted_envelope::live, 0);
}

TEST(runtime_envelope_list, splicing_into_an_empty_list_and_dropping_the_rest) {
  {
    envelope_list l;
    envelope_list front;
    front.push_back(make(1));
    front.push_back(make(2));
    l.splice_front(std::move(front));
    l.push_back(make(3));
    envelope_list more;
    more.push_back(make(0));
    l.splice_front(std::move(more));
    l.splice_front(envelope_list());
    EXPECT_EQ(drain(l), (std::deque<int>{0, 1, 2, 3}));
    l.push_back(make(4));
    l.push_back(make(5));
  }  // the destructor drops what is left
  EXPECT_EQ(counted_envelope::live, 0);
}

}  // namespace
