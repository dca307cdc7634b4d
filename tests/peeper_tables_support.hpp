// Helpers of the Peeper table tests: a server whose init makes the tables
// its state describes (unless it got them back from a previous worker), and
// messages that write and read them from the worker.
#pragma once

#include <any>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <peeper/server/server.hpp>
#include <peeper/server/tables.hpp>
#include <peeper/table/make_table.hpp>

#include "peeper_test_support.hpp"

namespace peeper_tables_test {

using peeper_test::probe_ptr;

/// How init makes a table: its options, and whether its heir is the server.
struct table_spec {
  peeper::table_options options;
  bool server_heir = false;
};

struct tstate {
  long n = 0;
  std::vector<table_spec> specs;      // made by init unless restored
  int made = 0;                       // tables init has made, over all starts
  std::vector<std::string> restored;  // names init found restored (last start)
  peeper::any_table unnamed;          // the first unnamed table init made
  probe_ptr events;
};

using table_t = peeper::table<std::string, int>;

// Casts.
struct put {  // insert into the table named `table` ("" : the unnamed one)
  std::string table;
  std::string key;
  int value = 0;
};
struct dict_put {
  std::string key;
  int value = 0;
};
// Calls.
struct lookup {  // the values of `key` in `table`
  std::string table;
  std::string key;
};
struct dict_get {
  std::string key;
};
struct restored_names {};  // what init found restored
struct made_count {};
struct restored_unnamed {};  // the unnamed table this worker got back, as restored_tables says
struct restored_data {       // the heir data restored_tables gives with `table` (a string)
  std::string table;
};

inline table_t by_name(const tstate& s, const std::string& name) {
  if (name.empty()) return peeper::table_cast<std::string, int>(s.unnamed);
  auto t = peeper::find_table<std::string, int>(name);
  if (!t) throw std::runtime_error("no table named " + name);
  return *t;
}

struct tabled : peeper::gen_server<tabled, tstate> {
  tstate init(tstate s) {
    s.restored.clear();
    for (const auto& r : peeper::this_server::restored_tables()) {
      s.restored.push_back(r.table.name().empty() ? "<unnamed>" : r.table.name());
    }
    for (const auto& spec : s.specs) {
      const std::string& name = spec.options.name;
      const bool have = name.empty() ? s.unnamed && !s.unnamed.deleted()
                                     : peeper::find_table<std::string, int>(name).has_value();
      if (have) continue;  // got it back
      peeper::table_options o = spec.options;
      if (spec.server_heir) o.heir = peeper::server_heir(std::string("heir of ") + name);
      auto t = peeper::make_table<std::string, int>(o);
      if (name.empty()) s.unnamed = t;
      ++s.made;
    }
    if (s.events) s.events->push("init");
    return s;
  }

  auto handle_cast(put m, const tstate& s) {
    by_name(s, m.table).insert(m.key, m.value);
    return peeper::noreply();
  }
  auto handle_cast(dict_put m, const tstate& /*s*/) {
    peeper::this_process::put(m.key, m.value);
    return peeper::noreply();
  }
  auto handle_call(lookup m, const tstate& s) {
    return peeper::reply(by_name(s, m.table).lookup(m.key));
  }
  auto handle_call(dict_get m, const tstate& /*s*/) {
    const int* v = peeper::this_process::get<int>(m.key);
    return peeper::reply(v != nullptr ? std::optional<int>(*v) : std::nullopt);
  }
  auto handle_call(restored_names /*m*/, const tstate& s) { return peeper::reply(s.restored); }
  auto handle_call(made_count /*m*/, const tstate& s) { return peeper::reply(s.made); }
  auto handle_call(restored_unnamed /*m*/, const tstate& /*s*/) {
    for (const auto& r : peeper::this_server::restored_tables()) {
      if (r.table.name().empty()) return peeper::reply(r.table);
    }
    return peeper::reply(peeper::any_table());
  }
  auto handle_call(restored_data m, const tstate& /*s*/) {
    for (const auto& r : peeper::this_server::restored_tables()) {
      if (r.table.name() != m.table) continue;
      const auto* d = std::any_cast<std::string>(&r.data);
      return peeper::reply(std::optional<std::string>(d != nullptr ? *d : ""));
    }
    return peeper::reply(std::optional<std::string>());
  }
};

using tabled_instance = peeper::instance<tabled>;

inline table_spec spec(std::string name, bool server_heir = false,
                       peeper::table_kind kind = peeper::table_kind::set,
                       peeper::table_access access = peeper::table_access::public_) {
  table_spec s;
  s.options.name = std::move(name);
  s.options.kind = kind;
  s.options.access = access;
  s.server_heir = server_heir;
  return s;
}

inline peeper::server_options<tstate> tabled_options(std::vector<table_spec> specs,
                                                     peeper::keep_tables keep = {}) {
  peeper::server_options<tstate> o;
  o.state.specs = std::move(specs);
  o.keep_tables = std::move(keep);
  return o;
}

}  // namespace peeper_tables_test
