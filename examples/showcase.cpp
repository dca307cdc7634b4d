// Peeper showcase: servers that keep their state through crashes.
//
// Four account servers run as Peeper instances under a DynamicSupervisor.
// Client threads deposit into them while a chaos thread crashes their
// workers every way a process can die: an exception in a callback, a kill
// signal, a callback returning stop. At the end every account is checked
// against what the clients sent: no committed deposit and no queued message
// may be lost (only the poisoned messages that crashed a worker are
// dropped, and they carry no money).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "peeper/server/server.hpp"

namespace showcase {

struct account {
  long balance = 0;
  long deposits = 0;
};

struct deposit {
  long amount;
};
struct poison {};  // its callback throws
struct halt {};    // its callback returns stop
struct balance {};

struct bank_account : peeper::gen_server<bank_account, account> {
  account init(account a) { return a; }  // on a restart: the last committed state
  auto handle_cast(deposit d, account& a) {
    a.balance += d.amount;
    ++a.deposits;
    return peeper::noreply();
  }
  auto handle_cast(poison /*p*/, account& /*a*/) -> peeper::noreply_t<> {
    throw std::runtime_error("poisoned message");
  }
  auto handle_call(halt /*h*/, const account& /*a*/) {
    return peeper::stop(peeper::exit_reason::error("asked to halt"), true);
  }
  auto handle_call(balance /*b*/, const account& a) { return peeper::reply(a); }
};

}  // namespace showcase

int main() {
  using namespace showcase;
  using namespace std::chrono_literals;
  peeper::set_log_level(
      peeper::log_level::off);  // crashes are the point here; the listener reports them
  peeper::runtime rt;
  std::printf("Peeper showcase: %u scheduler threads\n\n", rt.threads());

  constexpr int accounts = 4;
  constexpr int clients = 4;
  constexpr int deposits_per_client = 50'000;
  std::atomic<int> crashes{0};

  peeper::pid bank = peeper::dynamic_supervisor::start(rt).process();
  std::vector<peeper::instance<bank_account>> acct;
  for (int i = 0; i < accounts; ++i) {
    std::string name = "account-" + std::to_string(i);
    peeper::server_options<account> opts;
    opts.name = peeper::name(name);
    opts.listener.on_terminate = [name, &crashes](const peeper::exit_reason& why,
                                                  const account& kept) {
      ++crashes;
      if (crashes <= 12) {
        std::printf("  %s worker ended (%s); state kept: balance %ld after %ld deposits\n",
                    name.c_str(), why.to_string().c_str(), kept.balance, kept.deposits);
      }
    };
    peeper::dynamic_supervisor::start_child(bank, peeper::server_child<bank_account>(opts));
    acct.emplace_back(rt, peeper::name(name));
  }
  std::printf("started %d accounts under a DynamicSupervisor\n", accounts);

  // Clients: each deposits 1..9 into random accounts and remembers what it sent.
  std::vector<std::vector<long>> sent(clients, std::vector<long>(accounts, 0));
  std::atomic<bool> chaos_on{true};
  std::vector<std::thread> client_threads;
  for (int c = 0; c < clients; ++c) {
    client_threads.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c));
      for (int i = 0; i < deposits_per_client; ++i) {
        int a = static_cast<int>(rng() % accounts);
        long amount = static_cast<long>(rng() % 9 + 1);
        if (peeper::cast(acct[static_cast<std::size_t>(a)], deposit{amount})) sent[c][a] += amount;
      }
    });
  }

  // Chaos: crash workers every way a process can die, while deposits flow.
  std::thread chaos([&] {
    std::mt19937 rng(42);
    int round = 0;
    while (chaos_on) {
      auto& victim = acct[rng() % accounts];
      switch (round++ % 3) {
        case 0:
          peeper::cast(victim, poison{});  // an exception in a callback
          break;
        case 1:
          peeper::exit(peeper::worker(victim), peeper::exit_reason::kill());  // an untrappable kill
          break;
        default:
          peeper::call(victim, halt{});  // a callback that returns stop
      }
      std::this_thread::sleep_for(2ms);  // pacing the demo, not synchronisation
    }
  });

  for (auto& t : client_threads) t.join();
  chaos_on = false;
  chaos.join();
  if (crashes > 12) std::printf("  ... and %d more\n", crashes - 12);

  std::printf("\n%-10s %14s %14s %10s\n", "account", "sent", "balance", "deposits");
  bool all_ok = true;
  long total_deposits = 0;
  for (int a = 0; a < accounts; ++a) {
    long expected = 0;
    for (int c = 0; c < clients; ++c) expected += sent[c][a];
    account got = peeper::call(acct[a], balance{});  // queued behind every deposit sent
    total_deposits += got.deposits;
    bool ok = got.balance == expected;
    all_ok = all_ok && ok;
    std::printf("account-%-2d %14ld %14ld %10ld  %s\n", a, expected, got.balance, got.deposits,
                ok ? "ok" : "LOST");
  }
  std::printf("\n%d worker crashes; %ld of %d deposits applied.\n", crashes.load(), total_deposits,
              clients * deposits_per_client);
  std::printf(all_ok ? "No committed state and no queued message was lost.\n"
                     : "MISMATCH: something was lost.\n");
  return all_ok && total_deposits == clients * deposits_per_client ? 0 : 1;
}
