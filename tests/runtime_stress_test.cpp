// Stress: thousands of processes on two threads, over a million messages,
// random kills, links and monitors, with invariants checked:
//   - every message sent is handled exactly once (the counts add up);
//   - every monitor gets exactly one DOWN, naming its process;
//   - exactly the processes an abnormal exit reaches through links of
//     non-trapping processes die, and a trapping one gets one EXIT per dead
//     link;
//   - spawn_monitor / spawn_link report each child's own reason.
// Sanitizer builds run a smaller size (ThreadSanitizer is ~10x slower).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/runtime/process.hpp>

#include "test_support.hpp"

namespace runtime_stress_test {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int scale_down = 4;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr int scale_down = 4;
#else
constexpr int scale_down = 1;
#endif
#else
constexpr int scale_down = 1;
#endif

using peeper::exit_reason;
using peeper::pid;

// ---- messages -------------------------------------------------------------------

struct hop {
  int ttl = 0;
};
struct report {};
struct ping {};
struct die {};
struct final_check {};
struct hello {
  int child = 0;
};

// ---- counts add up ----------------------------------------------------------------

TEST(Stress, EveryMessageIsHandledExactlyOnce) {
  const int workers = 2000;
  const int senders = 20;
  constexpr int per_sender = 10000 / scale_down;  // 200,000 first hops, about 1.1 M messages
  constexpr int max_ttl = 9;
  // Each first hop of ttl t is handled t + 1 times as it is forwarded.
  std::int64_t expected = 0;
  for (int s = 0; s < senders + 2; ++s) {
    for (int k = 0; k < per_sender; ++k) expected += (s + k) % (max_ttl + 1) + 1;
  }

  peeper_test::event_queue<bool> done;
  peeper_test::event_queue<std::int64_t> counts;
  std::atomic<std::int64_t> handled{0};
  std::vector<pid> pids;
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  for (int w = 0; w < workers; ++w) {
    pids.push_back(peeper::spawn(rt, [&, w]() -> peeper::task<> {
      std::minstd_rand rng(static_cast<unsigned>(w) + 1);
      std::int64_t mine = 0;
      while (true) {
        peeper::message m = co_await peeper::receive();
        if (auto* h = m.get_if<hop>()) {
          ++mine;
          if (h->ttl > 0) {
            EXPECT_TRUE(peeper::send(pids[rng() % pids.size()], hop{h->ttl - 1}));
          }
          if (handled.fetch_add(1) + 1 == expected) done.push(true);
        } else if (m.is<report>()) {
          counts.push(mine);
          co_return;
        }
      }
    }));
  }
  // Process senders, and two outside threads.
  auto send_all = [&pids](int s) {
    std::minstd_rand rng(static_cast<unsigned>(s) + 1000);
    for (int k = 0; k < per_sender; ++k) {
      EXPECT_TRUE(peeper::send(pids[rng() % pids.size()], hop{(s + k) % (max_ttl + 1)}));
    }
  };
  for (int s = 0; s < senders; ++s) peeper::spawn(rt, [send_all, s] { send_all(s); });
  std::thread t1([&] { send_all(senders); });
  std::thread t2([&] { send_all(senders + 1); });
  t1.join();
  t2.join();
  ASSERT_TRUE(done.pop()) << "handled " << handled.load() << " of " << expected;
  for (const auto& p : pids) peeper::send(p, report{});
  std::int64_t total = 0;
  for (int w = 0; w < workers; ++w) {
    auto c = counts.pop();
    ASSERT_TRUE(c);
    total += *c;
  }
  EXPECT_EQ(total, expected);
  EXPECT_EQ(handled.load(), expected);
  if (scale_down == 1) {
    EXPECT_GT(expected, 1'000'000);
  }
}

// ---- random kills, links and monitors -----------------------------------------------------

struct worker_plan {
  bool traps = false;
  std::vector<int> links;  // earlier workers this one links to
};

enum class blow { kill, error, die, normal };

struct exit_report {
  int index = 0;
  std::vector<pid> exits_from;  // EXIT messages from linked processes
};

struct down_record {
  pid process;
  exit_reason reason;
};

/// One round: n workers, a random link graph, random victims.
void chaos_round(unsigned seed, int n) {
  const int observers = 4;
  const int monitors_per_observer = n / 2;
  std::mt19937 rng(seed);

  // The plan: who traps exits, who links to whom.
  std::vector<worker_plan> plan(static_cast<std::size_t>(n));
  std::vector<std::set<int>> neighbours(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto& p = plan[static_cast<std::size_t>(i)];
    p.traps = rng() % 4 == 0;
    if (i == 0) continue;
    const int count = static_cast<int>(rng() % 3);
    for (int c = 0; c < count; ++c) {
      int j = static_cast<int>(rng() % static_cast<unsigned>(i));
      if (neighbours[static_cast<std::size_t>(i)].insert(j).second) {
        neighbours[static_cast<std::size_t>(j)].insert(i);
        p.links.push_back(j);
      }
    }
  }

  peeper_test::event_queue<int> ready;
  peeper_test::event_queue<exit_report> reports;
  peeper_test::event_queue<down_record> census_downs;
  peeper_test::event_queue<std::string> observer_results;
  std::vector<pid> pids(static_cast<std::size_t>(n));
  peeper::runtime rt(peeper::runtime_options{.threads = 2});

  // 1. Workers: trap or not, link, then serve until killed.
  for (int i = 0; i < n; ++i) {
    pids[static_cast<std::size_t>(i)] = peeper::spawn(rt, [&, i]() -> peeper::task<> {
      const auto& me = plan[static_cast<std::size_t>(i)];
      if (me.traps) peeper::trap_exit(true);
      for (int j : me.links) peeper::link(pids[static_cast<std::size_t>(j)]);
      ready.push(i);
      std::vector<pid> exits;
      while (true) {
        peeper::message m = co_await peeper::receive();
        if (m.is<die>()) throw std::runtime_error("told to die");
        if (auto* x = m.get_if<peeper::exit_message>()) {
          if (x->from) exits.push_back(x->from);  // from a link (not exit() from outside)
        } else if (m.is<report>()) {
          reports.push(exit_report{i, exits});
        }
      }
    });
  }
  for (int i = 0; i < n; ++i) ASSERT_TRUE(ready.pop());

  // The census monitors every worker; observers monitor random ones, some twice.
  peeper::spawn(rt, [&]() -> peeper::task<> {
    for (const auto& p : pids) peeper::monitor(p);
    ready.push(-1);
    for (int i = 0; i < n; ++i) {
      auto d = co_await peeper::receive<peeper::down_message>();
      census_downs.push(down_record{d->process, d->reason});
    }
  });
  std::vector<pid> observer_pids;
  for (int o = 0; o < observers; ++o) {
    observer_pids.push_back(peeper::spawn(rt, [&, o]() -> peeper::task<> {
      std::minstd_rand orng(static_cast<unsigned>(o) + 77);
      std::unordered_map<std::uint64_t, pid> expected;  // monitor ref -> process
      for (int k = 0; k < monitors_per_observer; ++k) {
        const auto& p = pids[orng() % pids.size()];
        expected.emplace(peeper::monitor(p).id(), p);
      }
      ready.push(-1);
      std::string problem;
      const std::size_t total = expected.size();
      std::size_t got = 0;
      while (got < total) {
        auto d = co_await peeper::receive<peeper::down_message>();
        auto it = expected.find(d->monitor.id());
        if (it == expected.end()) {
          problem = "a DOWN for an unknown or already reported monitor";
          break;
        }
        if (it->second != d->process) problem = "a DOWN naming the wrong process";
        expected.erase(it);
        ++got;
      }
      co_await peeper::receive<final_check>();
      if (problem.empty()) {
        // Every worker has exited by now: a second DOWN would be queued already.
        auto extra = co_await peeper::receive<peeper::down_message>(std::chrono::nanoseconds(0));
        if (extra) problem = "an extra DOWN";
      }
      observer_results.push(problem.empty() ? "ok" : problem);
    }));
  }
  for (int o = 0; o < observers + 1; ++o) ASSERT_TRUE(ready.pop());

  // 2. Chaos: agitators ping at random while an outside thread hits 15% of the workers.
  for (int a = 0; a < 4; ++a) {
    peeper::spawn(rt, [&, a]() -> peeper::task<> {
      std::minstd_rand arng(static_cast<unsigned>(a) + 99);
      for (int round = 0; round < 200; ++round) {
        for (int k = 0; k < 100; ++k) peeper::send(pids[arng() % pids.size()], ping{});
        co_await peeper::receive<final_check>(std::chrono::nanoseconds(0));  // lets others run
      }
    });
  }
  std::map<int, blow> victims;
  while (static_cast<int>(victims.size()) < n * 15 / 100) {
    victims.emplace(static_cast<int>(rng() % static_cast<unsigned>(n)),
                    static_cast<blow>(rng() % 4));
  }
  for (const auto& [i, how] : victims) {
    const auto& p = pids[static_cast<std::size_t>(i)];
    switch (how) {
      case blow::kill:
        peeper::exit(p, exit_reason::kill());
        break;
      case blow::error:
        peeper::exit(p, exit_reason::error("chaos"));
        break;
      case blow::die:
        peeper::send(p, die{});
        break;
      case blow::normal:
        peeper::exit(p, exit_reason::normal());
        break;
    }
  }

  // Who must die: the victims an exit can end, then, through links, every
  // non-trapping process linked to a dead one.
  std::set<int> dead;
  std::vector<int> frontier;
  for (const auto& [i, how] : victims) {
    const bool traps = plan[static_cast<std::size_t>(i)].traps;
    if (how == blow::kill || how == blow::die || (how == blow::error && !traps)) {
      dead.insert(i);
      frontier.push_back(i);
    }
  }
  while (!frontier.empty()) {
    int i = frontier.back();
    frontier.pop_back();
    for (int j : neighbours[static_cast<std::size_t>(i)]) {
      if (!plan[static_cast<std::size_t>(j)].traps && dead.insert(j).second) frontier.push_back(j);
    }
  }
  std::unordered_map<pid, int> index;
  for (int i = 0; i < n; ++i) index.emplace(pids[static_cast<std::size_t>(i)], i);

  // 3. The census sees exactly those deaths, each once, each abnormal.
  std::set<int> seen_dead;
  for (std::size_t k = 0; k < dead.size(); ++k) {
    auto d = census_downs.pop();
    ASSERT_TRUE(d) << "only " << k << " of " << dead.size() << " expected deaths";
    const int i = index.at(d->process);
    EXPECT_TRUE(seen_dead.insert(i).second) << "two DOWNs for worker " << i;
    EXPECT_TRUE(dead.contains(i)) << "worker " << i << " died (" << d->reason
                                  << ") though nothing linked reached it";
    EXPECT_FALSE(d->reason.is_normal()) << i;
    // A kill victim dies `killed`, unless a linked worker died first and its exit
    // signal got there before the kill (the outside thread sends them one by one).
    const auto& links_of_i = neighbours[static_cast<std::size_t>(i)];
    const bool link_died =
        std::any_of(links_of_i.begin(), links_of_i.end(), [&](int j) { return dead.contains(j); });
    if (auto v = victims.find(i); v != victims.end() && v->second == blow::kill && !link_died) {
      EXPECT_EQ(d->reason, exit_reason::killed()) << i;
    }
  }
  EXPECT_EQ(seen_dead, dead);

  // 4. Survivors that trap exits got one EXIT per dead link, no more.
  int survivors = 0;
  for (int i = 0; i < n; ++i) {
    if (!dead.contains(i)) {
      peeper::send(pids[static_cast<std::size_t>(i)], report{});
      ++survivors;
    }
  }
  int trapping_checked = 0;
  for (int k = 0; k < survivors; ++k) {
    auto r = reports.pop();
    ASSERT_TRUE(r);
    std::multiset<int> got;
    for (const auto& p : r->exits_from) got.insert(index.at(p));
    std::multiset<int> want;
    for (int j : neighbours[static_cast<std::size_t>(r->index)]) {
      if (dead.contains(j)) want.insert(j);
    }
    if (!plan[static_cast<std::size_t>(r->index)].traps) {
      EXPECT_TRUE(want.empty()) << "non-trapping " << r->index << " outlived a dead link";
    } else {
      EXPECT_EQ(got, want) << "trapping worker " << r->index;
      ++trapping_checked;
    }
  }
  EXPECT_GT(trapping_checked, 0);

  // 5. Kill the rest: every monitor then has its one DOWN.
  for (int i = 0; i < n; ++i) {
    if (!dead.contains(i)) peeper::exit(pids[static_cast<std::size_t>(i)], exit_reason::kill());
  }
  for (std::size_t k = dead.size(); k < static_cast<std::size_t>(n); ++k) {
    auto d = census_downs.pop();
    ASSERT_TRUE(d);
    EXPECT_TRUE(seen_dead.insert(index.at(d->process)).second) << "a second DOWN";
  }
  EXPECT_EQ(seen_dead.size(), static_cast<std::size_t>(n));
  // Every worker has exited (the census saw them all): each observer has had
  // all its DOWNs, exactly one per monitor, and no extra one is queued.
  for (const auto& o : observer_pids) peeper::send(o, final_check{});
  for (int o = 0; o < observers; ++o) EXPECT_EQ(observer_results.pop(), "ok");
}

TEST(Stress, RandomKillsLinksAndMonitorsKeepTheirPromises) {
  peeper_test::quiet_log quiet;  // the `die` victims crash on purpose
  const unsigned rounds = scale_down == 1 ? 10 : 3;
  for (unsigned round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    chaos_round(12345 + round, 3000 / scale_down);
    if (HasFatalFailure()) return;
  }
}

// ---- spawn churn -------------------------------------------------------------------------

/// A short-lived child: says hello, then exits normal, with an error, or by throwing.
struct churn_child {
  int how = 0;
  int index = 0;
  pid parent;
  void operator()() const {
    peeper::send(parent, hello{index});
    if (how == 1)
      peeper::exit(peeper::self(), exit_reason::error("child " + std::to_string(index)));
    if (how == 2) throw std::runtime_error("child " + std::to_string(index));
  }
};

TEST(Stress, SpawnMonitorAndSpawnLinkReportEachChildsOwnReason) {
  peeper_test::quiet_log quiet;  // a third of the children crash on purpose
  const int spawners = 8;
  const int children = 25000 / scale_down;  // per spawner: 200,000 processes in all
  peeper_test::event_queue<std::string> results;
  peeper::runtime rt(peeper::runtime_options{.threads = 2});
  for (int s = 0; s < spawners; ++s) {
    peeper::spawn(rt, [&, s]() -> peeper::task<> {
      const bool linked = s % 2 == 1;
      if (linked) peeper::trap_exit(true);
      std::string problem;
      for (int c = 0; c < children && problem.empty(); ++c) {
        const int how = c % 3;
        const churn_child body{how, c, peeper::self()};
        const exit_reason want =
            how == 0   ? exit_reason::normal()
            : how == 1 ? exit_reason::error("child " + std::to_string(c))
                       : exit_reason::exception("std::runtime_error", "child " + std::to_string(c));
        pid child;
        peeper::ref r;
        if (linked) {
          child = peeper::spawn_link(body);
        } else {
          std::tie(child, r) = peeper::spawn_monitor(body);
        }
        auto h = co_await peeper::receive<hello>();
        if (h->child != c) problem = "hello from the wrong child";
        if (linked) {
          auto x = co_await peeper::receive<peeper::exit_message>();
          if (x->from != child || x->reason != want) {
            problem = "EXIT " + x->reason.to_string() + ", want " + want.to_string();
          }
        } else {
          auto d = co_await peeper::receive<peeper::down_message>();
          if (d->monitor != r || d->process != child || d->reason != want) {
            problem = "DOWN " + d->reason.to_string() + ", want " + want.to_string();
          }
        }
      }
      results.push(problem.empty() ? "ok" : problem);
    });
  }
  for (int s = 0; s < spawners; ++s) EXPECT_EQ(results.pop(), "ok");
}

}  // namespace runtime_stress_test
