// Kept tables in a Peeper server (issue 5), two figures:
//
//  1. kill -> first read: a worker owns a table of --entries objects (1 M)
//     kept with server_heir; the worker is killed and a call that reads the
//     table is sent at once. The time from the kill to the reply covers the
//     worker's exit, the hand-over to the keeper, the restart, the hand-back
//     and the call; nothing is copied, so it should not depend on the
//     table's size. The same figure for a server without a table is the
//     baseline.
//  2. casts/s: each cast writes one object into a table of --cast-table
//     objects (100 k) and commits the (small) state; the same server with
//     keep_tables::all() and with no table preservation, alternated within
//     each run; the ratio is no-keep rate / keep rate (1.0: free).
//
//   peeper_tables_table [--runs 5] [--kills 101] [--entries 1000000]
//                       [--casts 200000] [--cast-table 100000] [--threads 2]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "peeper/runtime/log.hpp"
#include "peeper/server/server.hpp"
#include "peeper/server/tables.hpp"
#include "peeper/table/make_table.hpp"

namespace peeper_tables_bench {

using clock_type = std::chrono::steady_clock;
using key = std::uint64_t;
using big_table = peeper::table<key, key>;

struct settings {
  std::size_t entries = 0;
  bool server_heir = false;  // else: keep_tables decides
  std::string table;         // its name: one per server (a stopped one's may linger a moment)
};
struct write {
  key k = 0;
};
struct read {
  key k = 0;
};

struct hstate {
  settings config;
  long writes = 0;
};

/// Owns table "big" (made on the first start only) and counts the writes.
struct holder : peeper::gen_server<holder, hstate> {
  hstate init(hstate s) {
    if (s.config.entries == 0 || peeper::find_table<key, key>(s.config.table)) return s;
    peeper::table_options o{.name = s.config.table};
    if (s.config.server_heir) o.heir = peeper::server_heir();
    auto t = peeper::make_table<key, key>(o);
    std::vector<std::pair<key, key>> batch;
    batch.reserve(s.config.entries);
    for (key k = 0; k < s.config.entries; ++k) batch.emplace_back(k, k);
    t.insert(std::move(batch));
    return s;
  }
  auto handle_cast(write m, hstate& s) {
    big(s).insert(m.k, m.k);
    ++s.writes;
    return peeper::noreply();
  }
  auto handle_call(read m, const hstate& s) {
    return peeper::reply(s.config.entries == 0 ? key{0} : big(s).find(m.k).value_or(0));
  }

 private:
  big_table big(const hstate& s) {
    if (!big_ || big_.deleted()) big_ = *peeper::find_table<key, key>(s.config.table);
    return big_;
  }
  big_table big_;  // this worker's handle, found once
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

peeper::instance<holder> start(peeper::runtime& rt, settings s, peeper::keep_tables keep) {
  static int servers = 0;
  s.table = "big-" + std::to_string(++servers);
  peeper::server_options<hstate> o;
  o.state.config = std::move(s);
  o.keep_tables = std::move(keep);
  o.max_restarts = 1'000'000;
  return peeper::start<holder>(rt, std::move(o)).value();
}

/// Median microseconds from kill to the reply of the first call.
double kill_to_read(peeper::runtime& rt, std::size_t entries, int kills) {
  auto s = start(rt, {entries, true, {}}, {});
  const key probe = entries == 0 ? 0 : entries - 1;
  if (peeper::call(s, read{probe}) != probe) std::fprintf(stderr, "bad table\n");
  std::vector<double> us;
  for (int i = 0; i < kills; ++i) {
    peeper::pid w = peeper::worker(s);
    auto t0 = clock_type::now();
    peeper::exit(w, peeper::exit_reason::kill());
    const key got = peeper::call(s, read{probe});
    auto t1 = clock_type::now();
    if (got != probe) std::fprintf(stderr, "lost the table after a kill\n");
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  peeper::stop(s);
  return median(us);
}

/// Casts per second, each writing one object.
double cast_rate(peeper::runtime& rt, std::size_t table, long casts, peeper::keep_tables keep) {
  auto s = start(rt, {table, false, {}}, std::move(keep));
  auto t0 = clock_type::now();
  for (long i = 0; i < casts; ++i) {
    peeper::cast(s, write{static_cast<key>(i * 7) % table});
  }
  (void)peeper::call(s, read{0});  // after every cast
  auto t1 = clock_type::now();
  peeper::stop(s);
  return static_cast<double>(casts) / std::chrono::duration<double>(t1 - t0).count();
}

}  // namespace peeper_tables_bench

int main(int argc, char** argv) {
  using namespace peeper_tables_bench;
  CLI::App app{"Kept tables in a Peeper server: kill -> first read, casts/s"};
  int runs = 5;
  int kills = 101;
  std::size_t entries = 1'000'000;
  long casts = 200'000;
  std::size_t cast_table = 100'000;
  unsigned threads = 2;
  app.add_option("--runs", runs, "runs (medians over them)");
  app.add_option("--kills", kills, "kills per run");
  app.add_option("--entries", entries, "objects in the killed worker's table");
  app.add_option("--casts", casts, "casts per cast-rate measurement");
  app.add_option("--cast-table", cast_table, "objects in the cast-written table");
  app.add_option("--threads", threads, "scheduler threads");
  CLI11_PARSE(app, argc, argv);

  peeper::set_log_level(peeper::log_level::off);  // the kills' crash reports
  peeper::runtime rt{peeper::runtime_options{.threads = threads}};
  std::vector<double> with_table;
  std::vector<double> without_table;
  std::vector<double> keep_rate;
  std::vector<double> plain_rate;
  std::vector<double> ratio;
  for (int r = 0; r < runs; ++r) {
    with_table.push_back(kill_to_read(rt, entries, kills));
    without_table.push_back(kill_to_read(rt, 0, kills));
    const double plain = cast_rate(rt, cast_table, casts, {});
    const double kept = cast_rate(rt, cast_table, casts, peeper::keep_tables::all());
    plain_rate.push_back(plain);
    keep_rate.push_back(kept);
    ratio.push_back(plain / kept);
  }
  std::printf("| metric (median of %d runs) | figure | target |\n|---|---|---|\n", runs);
  std::printf(
      "| kill -> first read, %zu-object table (median of %d kills) | %.1f us | <= 50 us |\n",
      entries, kills, median(with_table));
  std::printf("| kill -> first call, no table (median of %d kills) | %.1f us | |\n", kills,
              median(without_table));
  std::printf("| casts/s, %zu-object table, no preservation | %.0f | |\n", cast_table,
              median(plain_rate));
  std::printf("| casts/s, same, keep_tables::all() | %.0f | |\n", median(keep_rate));
  std::printf("| ratio no-keep / keep (per run: median) | %.3f | <= 1.2 |\n", median(ratio));
  std::printf("\nper-run ratios:");
  for (double r : ratio) std::printf(" %.3f", r);
  std::printf("\n");
  return 0;
}
