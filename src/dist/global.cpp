// Cluster-wide names between Peeper nodes (see node_core.hpp and docs/distribution.md).
//
// Every node keeps the names registered on it (local_globals_) and those other nodes announced
// (globals_). Messages, all to the node's "$peeper" name:
//   {peeper_global, Id, Pid, Req}       Pid (of the sender's node) is registered under Id;
//                                       Req > 0 asks for {peeper_global_ack, Req, true|false}
//   {peeper_global_drop, Id, Pid}       Pid no longer has Id (it died)
//   {peeper_whereis, Id, Req}           answered by {peeper_whereis_reply, Req, Pid | undefined}
// A conflict (two nodes registering one name at once, or two partitions joining) is settled
// the same way on every node: the registration of the node whose name sorts first wins; a
// node whose own registration loses drops it and logs it.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "dist/node_core.hpp"
#include "peeper/dist/codec.hpp"
#include "peeper/gen_server/call_error.hpp"
#include "peeper/runtime/log.hpp"
#include "peeper/runtime/process.hpp"

namespace peeper::dist::detail {

namespace {

using peeper::detail::logger;

std::string frame_of(const erlang_pid& from, const term_writer& w) {
  std::string frame;
  put_reg_send(frame, from, "$peeper", std::string_view(w.bytes().data(), w.size()));
  return frame;
}

}  // namespace

std::vector<std::shared_ptr<connection>> node_core::up_peers(std::size_t& peeper_count) const {
  std::vector<std::shared_ptr<connection>> out;
  peeper_count = 0;
  std::lock_guard lock(conns_mutex_);
  for (const auto& [n, c] : conns_) {
    if (c->current() != connection::state::up) continue;
    out.push_back(c);
    if (c->is_peeper()) ++peeper_count;
  }
  return out;
}

std::string node_core::node_name_of(const pid& p) {
  erlang_pid remote{};
  std::shared_ptr<connection> conn;
  if (remote_of(p, remote, conn)) return static_cast<const char*>(remote.node);
  return name_;
}

pid node_core::known_global(const std::string& id) {
  if (auto it = local_globals_.find(id); it != local_globals_.end()) {
    if (is_alive(it->second)) return it->second;
    local_globals_.erase(it);
  }
  if (auto it = globals_.find(id); it != globals_.end()) {
    if (is_alive(it->second)) return it->second;
    globals_.erase(it);
  }
  return {};
}

void node_core::announce_global(connection& c, const std::string& id, const pid& p,
                                std::uint64_t req) {
  term_writer w(this);
  w.write_version();
  w.write_tuple_header(4);
  w.write_atom("peeper_global");
  w.write_binary(id);
  w.write(p);
  w.write_uint64(req);
  (void)c.send(frame_of(router(), w));
}

node_core::register_start node_core::begin_register(const std::string& id, const pid& p,
                                                    const pid& waiter) {
  if (!p || !is_alive(p) || node_name_of(p) != name_) return {.done = true};
  const std::uint64_t req = next_ref_.fetch_add(1);
  // Announced to every connection (one whose hello has not arrived yet may be a Peeper node;
  // Erlang drops messages to the unregistered "$peeper"), acknowledged by Peeper nodes.
  std::size_t answers = 0;
  auto peers = up_peers(answers);
  {
    std::lock_guard lock(global_mutex_);
    if (const pid known = known_global(id)) return {.done = true, .result = known == p};
    local_globals_.insert_or_assign(id, p);
    auto& r = global_requests_[req];
    r.waiting = answers;
    r.waiter = waiter;
  }
  for (auto& c : peers) announce_global(*c, id, p, req);
  if (answers == 0) return {.done = true, .result = finish_register(id, p, req)};
  return {.req = req};
}

bool node_core::finish_register(const std::string& id, const pid& p, std::uint64_t req) {
  bool held = false;
  {
    std::lock_guard lock(global_mutex_);
    bool refused = false;
    if (auto r = global_requests_.find(req); r != global_requests_.end()) {
      refused = r->second.refused;
      global_requests_.erase(r);
    }
    auto it = local_globals_.find(id);
    held = it != local_globals_.end() && it->second == p;
    if (refused && held) {
      local_globals_.erase(it);
      held = false;
    }
  }
  if (!held) {
    // Nodes that accepted the announcement before another said no forget it.
    global_died(id, p);
    return false;
  }
  // Unregistered when the process ends, here and on the other nodes.
  (void)peeper::spawn(*rt_, [weak = weak_from_this(), id, p]() -> peeper::task<> {
    (void)peeper::monitor(p);
    auto receive_down = peeper::receive<peeper::down_message>();
    (void)co_await receive_down;
    if (auto n = weak.lock()) n->global_died(id, p);
  });
  return true;
}

bool node_core::register_global(const std::string& id, const pid& p) {
  if (peeper::detail::current() != nullptr) {
    throw call_error(call_errc::would_block, exit_reason::normal(),
                     "register_global blocks its thread (inside a process use co_await "
                     "async_register_global)");
  }
  const register_start start = begin_register(id, p, {});
  if (start.done) return start.result;
  {
    std::unique_lock lock(global_mutex_);
    global_cv_.wait_until(lock, std::chrono::steady_clock::now() + opts_.connect_timeout, [&] {
      const auto& r = global_requests_[start.req];
      return r.waiting == 0 || r.refused;
    });
  }
  return finish_register(id, p, start.req);
}

peeper::task<bool> node_core::register_global_async(std::shared_ptr<node_core> self, std::string id,
                                                    pid p) {
  auto& me = peeper::detail::current_or_throw("async_register_global");
  const register_start start = self->begin_register(id, p, me.self());
  if (start.done) co_return start.result;
  // Suspends the process until the answers are in (answer_global sends global_answered) or
  // connect_timeout; answers of an earlier request that timed out are skipped.
  const auto deadline = std::chrono::steady_clock::now() + self->opts_.connect_timeout;
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) break;
    auto next = peeper::receive<global_answered>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(left));
    const auto got = co_await next;
    if (!got || got->req == start.req) break;
  }
  co_return self->finish_register(id, p, start.req);
}

void node_core::global_died(const std::string& id, const pid& p) {
  {
    std::lock_guard lock(global_mutex_);
    auto it = local_globals_.find(id);
    if (it != local_globals_.end() && it->second == p) local_globals_.erase(it);
  }
  // Told even when a lookup here already forgot the dead process: the others still have it
  // (they drop the name only if it still names `p`).
  term_writer w;
  w.write_version();
  w.write_tuple_header(3);
  w.write_atom("peeper_global_drop");
  w.write_binary(id);
  w.write_pid(to_erl(p));
  const std::string frame = frame_of(router(), w);
  std::size_t answers = 0;
  for (auto& c : up_peers(answers)) (void)c->send(frame);
}

pid node_core::whereis_global(const std::string& id, std::chrono::milliseconds timeout) {
  const std::uint64_t req = next_ref_.fetch_add(1);
  std::size_t answers = 0;
  auto peers = timeout.count() > 0 ? up_peers(answers) : decltype(up_peers(answers)){};
  {
    std::lock_guard lock(global_mutex_);
    if (pid known = known_global(id)) return known;
    if (peers.empty()) return {};
    global_requests_[req].waiting = answers;  // 0: wait for any answer until the timeout
  }
  term_writer w;
  w.write_version();
  w.write_tuple_header(3);
  w.write_atom("peeper_whereis");
  w.write_binary(id);
  w.write_uint64(req);
  const std::string frame = frame_of(router(), w);
  for (auto& c : peers) (void)c->send(frame);
  std::unique_lock lock(global_mutex_);
  global_cv_.wait_until(lock, std::chrono::steady_clock::now() + timeout, [&] {
    const auto& r = global_requests_[req];
    return (answers > 0 && r.waiting == 0) || r.found;
  });
  pid found = global_requests_[req].found;
  global_requests_.erase(req);
  if (found) {
    if (pid known = known_global(id)) return known;  // announced meanwhile
    globals_.insert_or_assign(id, found);
  }
  return found;
}

void node_core::answer_global(std::uint64_t req, bool ok, const pid& found) {
  pid waiter;
  {
    std::lock_guard lock(global_mutex_);
    auto it = global_requests_.find(req);
    if (it == global_requests_.end()) return;  // late: the request timed out
    auto& r = it->second;
    const bool settled = r.waiting == 0 || r.refused;
    if (r.waiting > 0) --r.waiting;
    if (!ok) r.refused = true;
    if (found && !r.found) r.found = found;
    if (!settled && (r.waiting == 0 || r.refused)) waiter = r.waiter;
    global_cv_.notify_all();
  }
  // Once per request. (If the waiter's receive timed out at this very moment, the message stays
  // in its mailbox, where its next async_register_global skips it.)
  if (waiter) (void)peeper::send(waiter, global_answered{req});
}

bool node_core::handle_global(connection& c, std::size_t arity, term_reader& r) {
  if (arity == 4 && r.read_atom_if("peeper_global")) {
    const std::string id = r.read_string();
    const pid p = r.read<pid>();
    const std::uint64_t req = r.read_uint64();
    bool ok = true;
    pid lost;
    {
      std::lock_guard lock(global_mutex_);
      const pid cur = known_global(id);
      // The same node's announcement replaces its own; else the first node name wins.
      if (cur && cur != p && node_name_of(cur) != c.peer() && node_name_of(cur) < c.peer()) {
        ok = false;
      } else if (p) {
        if (auto it = local_globals_.find(id); it != local_globals_.end()) {
          lost = it->second;
          local_globals_.erase(it);
        }
        globals_.insert_or_assign(id, p);
      }
    }
    if (lost) {
      logger().warn("node {}: the global name {} of {} goes to {} of {} (the first node name wins)",
                    name_, id, lost.to_string(), p.to_string(), c.peer());
    }
    if (req != 0) {
      term_writer w;
      w.write_version();
      w.write_tuple_header(3);
      w.write_atom("peeper_global_ack");
      w.write_uint64(req);
      w.write_atom(ok ? "true" : "false");
      (void)c.send(frame_of(router(), w));
    }
    return true;
  }
  if (arity == 3 && r.read_atom_if("peeper_global_ack")) {
    const std::uint64_t req = r.read_uint64();
    answer_global(req, r.read_atom_if("true"), {});
    return true;
  }
  if (arity == 3 && r.read_atom_if("peeper_global_drop")) {
    const std::string id = r.read_string();
    const pid p = r.read<pid>();
    std::lock_guard lock(global_mutex_);
    if (auto it = globals_.find(id); it != globals_.end() && it->second == p) globals_.erase(it);
    return true;
  }
  if (arity == 3 && r.read_atom_if("peeper_whereis")) {
    const std::string id = r.read_string();
    const std::uint64_t req = r.read_uint64();
    pid known;
    {
      std::lock_guard lock(global_mutex_);
      known = known_global(id);
    }
    term_writer w(this);
    w.write_version();
    w.write_tuple_header(3);
    w.write_atom("peeper_whereis_reply");
    w.write_uint64(req);
    if (known) {
      w.write(known);
    } else {
      w.write_atom("undefined");
    }
    (void)c.send(frame_of(router(), w));
    return true;
  }
  if (arity == 3 && r.read_atom_if("peeper_whereis_reply")) {
    const std::uint64_t req = r.read_uint64();
    const pid found = r.peek() == term_kind::atom ? pid{} : r.read<pid>();
    answer_global(req, true, found);
    return true;
  }
  return false;
}

}  // namespace peeper::dist::detail

namespace peeper::dist {

peeper::task<bool> node::async_register_global(std::string id, pid p) {
  return detail::node_core::register_global_async(core_, std::move(id), std::move(p));
}

}  // namespace peeper::dist
