// What arrives on a connection, and what the node sends: messages, calls and their replies,
// signals from remote processes, net_kernel's ping, and Peeper's own hello (see node_core.hpp).
#include <spdlog/spdlog.h>

#include "dist/node_core.hpp"
#include "dist/proxy.hpp"
#include "peeper/dist/codec.hpp"
#include "peeper/runtime/log.hpp"

namespace peeper::dist::detail {

namespace {

using peeper::detail::logger;
constexpr char version_magic = static_cast<char>(131);

erlang_pid to_ei(const erl_pid& p) {
  erlang_pid out{};
  p.node.copy(static_cast<char*>(out.node), std::min(p.node.size(), sizeof out.node - 1));
  out.num = p.num;
  out.serial = p.serial;
  out.creation = p.creation;
  return out;
}

// {Tag, Reply} as an external term; `tag` and `reply` are term bytes.
std::string tagged_reply(std::string_view tag, std::span<const char> reply) {
  std::string m(1, version_magic);
  encode_into(m, [](char* b, int* i) { ei_encode_tuple_header(b, i, 2); });
  m.append(tag);
  m.append(reply.data(), reply.size());
  return m;
}

std::string error_term(call_errc code, const exit_reason& reason) {
  std::string m;
  encode_into(m, [&](char* b, int* i) {
    ei_encode_tuple_header(b, i, 3);
    ei_encode_atom(b, i, "$peeper_error");
    ei_encode_atom(b, i, to_string(code));
  });
  m.append(encode_reason(reason));
  return m;
}

/// A remote caller of a local server (expose.hpp): replies {Tag, Reply} to its pid.
class caller_impl final : public remote_caller {
 public:
  caller_impl(std::shared_ptr<node_core> n, std::weak_ptr<connection> c, const erlang_pid& to,
              std::string tag)
      : node_(std::move(n)), conn_(std::move(c)), to_(to), tag_(std::move(tag)) {}
  void reply(std::span<const char> reply) override {
    std::string frame;
    put_send(frame, to_, tagged_reply(tag_, reply));
    if (auto c = conn_.lock()) (void)c->send(frame);
  }
  void reply_error(call_errc code, const exit_reason& reason) override {
    const std::string e = error_term(code, reason);
    reply(std::span<const char>(e.data(), e.size()));
  }
  pid_context& pids() override { return *node_; }

 private:
  std::shared_ptr<node_core> node_;
  std::weak_ptr<connection> conn_;
  erlang_pid to_;
  std::string tag_;
};

// An exit reason from its term (see encode_reason in frames.hpp).
exit_reason reason_of(const term& t) {
  if (const auto* a = t.get_if<atom>()) {
    if (a->name == "normal") return exit_reason::normal();
    if (a->name == "shutdown") return exit_reason::shutdown();
    if (a->name == "kill") return exit_reason::kill();
    if (a->name == "killed") return exit_reason::killed();
    if (a->name == "noproc") return exit_reason::noproc();
    if (a->name == "noconnection") return exit_reason::noconnection();
    return exit_reason::error(a->name);
  }
  if (const auto* tu = t.get_if<term_tuple>(); tu != nullptr && tu->elements.size() == 2) {
    const auto* tag = tu->elements[0].get_if<atom>();
    const auto* bin = tu->elements[1].get_if<binary>();
    if (tag != nullptr && bin != nullptr) {
      const std::string detail(bin->view());
      if (tag->name == "shutdown") return exit_reason::shutdown(detail);
      if (tag->name == "error") return exit_reason::error(detail);
      if (tag->name == "exception") {
        const auto colon = detail.find(": ");
        if (colon == std::string::npos) return exit_reason::exception(detail, "");
        return exit_reason::exception(detail.substr(0, colon), detail.substr(colon + 2));
      }
    }
  }
  return exit_reason::error(t.to_string());
}

}  // namespace

std::optional<peeper_error> read_peeper_error(term_reader& r) {
  const std::size_t at = r.position();
  try {
    if (r.peek() == term_kind::tuple && r.read_tuple_header() == 3 &&
        r.read_atom_if("$peeper_error")) {
      const atom code = r.read_atom();
      const exit_reason reason = reason_of(r.read<term>());
      static constexpr std::array<call_errc, 8> codes{
          call_errc::timeout,     call_errc::noproc,   call_errc::exited,   call_errc::calling_self,
          call_errc::would_block, call_errc::bad_call, call_errc::no_reply, call_errc::bad_reply};
      for (call_errc c : codes) {
        if (code.name == to_string(c)) return peeper_error{c, reason};
      }
      return peeper_error{call_errc::exited, exit_reason::error(code.name)};
    }
  } catch (const decode_error&) {
  }
  r.rewind(at);
  return std::nullopt;
}

void node_core::dispatch(connection& c, const control& ctl) {
  switch (ctl.op) {
    case control_op::send:
    case control_op::send_sender: {
      if (ctl.to.num == 0 && ctl.to.serial == 0 &&
          std::string_view(static_cast<const char*>(ctl.to.node)) == name_) {
        handle_reply(ctl.message);
        return;
      }
      pid to = local_pid(ctl.to);
      if (!to) return;  // a dead or unknown process: dropped, as Erlang does
      deliver_message(c, ctl, to, {});
      return;
    }
    case control_op::reg_send: {
      if (ctl.to_name == "net_kernel") {
        handle_net_kernel(c, ctl.message);
        return;
      }
      if (ctl.to_name == "$peeper") {
        handle_peeper(c, ctl.message);
        return;
      }
      deliver_message(c, ctl, whereis(*rt_, ctl.to_name), ctl.to_name);
      return;
    }
    default:
      remote_signal(c, ctl);
  }
}

std::shared_ptr<inbox> node_core::inbox_for(const std::string& name, const pid& to) {
  std::lock_guard lock(inbox_mutex_);
  if (inboxes_.empty()) return nullptr;
  if (!name.empty()) {
    auto it = inboxes_.find(name);
    return it == inboxes_.end() ? nullptr : it->second;
  }
  for (const auto& [n, box] : inboxes_) {
    if (whereis(*rt_, n) == to) return box;
  }
  return nullptr;
}

void node_core::deliver_message(connection& c, const control& ctl, const pid& to,
                                const std::string& name) {
  const std::span<const char> bytes(ctl.message.data(), ctl.message.size());
  term_reader r(bytes, this);
  auto box = inbox_for(name, to);
  auto describe = [&] { return name.empty() ? to.to_string() : name; };
  try {
    r.read_version();
    const std::size_t start = r.position();
    if (r.peek() == term_kind::tuple) {
      const std::size_t arity = r.read_tuple_header();
      if (arity == 3 && r.read_atom_if("$gen_call")) {
        r.read_tuple_header(2);
        const erl_pid from = r.read_pid();
        const std::size_t tag_at = r.position();
        r.skip();
        std::string tag(ctl.message.substr(tag_at, r.position() - tag_at));
        auto caller = std::make_shared<caller_impl>(shared_from_this(), c.weak_from_this(),
                                                    to_ei(from), std::move(tag));
        if (!to) {
          caller->reply_error(call_errc::noproc, exit_reason::noproc());
          return;
        }
        if (box) {
          if (!box->call(to, r, caller)) {
            logger().warn(
                "node {}: a call to {} from {} decodes into none of its call types: "
                "{}",
                name_, describe(), c.peer(), print_term(ctl.message));
            caller->reply_error(call_errc::bad_call, exit_reason::normal());
          }
          return;
        }
      } else if (arity == 2 && box && to && r.read_atom_if("$gen_cast")) {
        if (!box->cast(to, r)) {
          logger().warn(
              "node {}: dropped a cast to {} from {} that decodes into none of its "
              "cast types: {}",
              name_, describe(), c.peer(), print_term(ctl.message));
        }
        return;
      }
    }
    if (!to) return;  // an unregistered name: dropped, as Erlang does
    r.rewind(start);
    if (box) {
      if (!box->info(to, r)) {
        logger().warn(
            "node {}: dropped a message to {} from {} that decodes into none of its "
            "accepted types: {}",
            name_, describe(), c.peer(), print_term(ctl.message));
      }
      return;
    }
    term t = r.read<term>();
    (void)peeper::send(to, std::move(t));
  } catch (const decode_error& e) {
    logger().warn("node {}: dropped a message to {} from {}: {}", name_, describe(), c.peer(),
                  e.what());
  }
}

void node_core::handle_reply(std::string_view message) {
  term_reader r(std::span<const char>(message.data(), message.size()), this);
  try {
    r.read_version();
    r.read_tuple_header(2);
    const std::size_t tag_at = r.position();
    r.skip();
    const std::uint64_t id = ref_id(message.substr(tag_at, r.position() - tag_at));
    pending_call pc;
    {
      std::lock_guard lock(calls_mutex_);
      auto it = calls_.find(id);
      if (it == calls_.end()) return;  // late (timed out) or unknown
      pc = std::move(it->second);
      calls_.erase(it);
    }
    if (auto* ch = pc.caller.get()) pc.read(*ch, r);
  } catch (const decode_error& e) {
    logger().warn("node {}: dropped a malformed reply: {}", name_, e.what());
  }
}

void node_core::handle_net_kernel(connection& c, std::string_view message) {
  // net_adm:ping sends {'$gen_call', {From, Tag}, {is_auth, Node}} and waits for `yes`.
  term_reader r(std::span<const char>(message.data(), message.size()), this);
  try {
    r.read_version();
    r.read_tuple_header(3);
    r.expect_atom("$gen_call");
    r.read_tuple_header(2);
    const erl_pid from = r.read_pid();
    const std::size_t tag_at = r.position();
    r.skip();
    std::string tag(message.substr(tag_at, r.position() - tag_at));
    caller_impl caller(shared_from_this(), c.weak_from_this(), to_ei(from), std::move(tag));
    if (r.peek() == term_kind::tuple && r.read_tuple_header() == 2 && r.read_atom_if("is_auth")) {
      term_writer w;
      w.write_atom("yes");
      caller.reply(w.bytes());
    } else {
      caller.reply_error(call_errc::bad_call, exit_reason::normal());
    }
  } catch (const decode_error& e) {
    logger().warn("node {}: dropped a net_kernel message from {}: {}", name_, c.peer(), e.what());
  }
}

void node_core::handle_peeper(connection& c, std::string_view message) {
  term_reader r(std::span<const char>(message.data(), message.size()), this);
  try {
    r.read_version();
    const std::size_t arity = r.read_tuple_header();
    if (arity == 3 && r.read_atom_if("peeper_hello")) {
      (void)r.read_atom();
      const auto peer_tick = std::chrono::milliseconds(r.read_int64(1, 3'600'000));
      c.set_peer_timeout(std::max(peer_tick, opts_.tick_time) * opts_.peer_ticks);
      c.mark_peeper();
      return;
    }
    if (handle_global(c, arity, r)) return;
    logger().warn("node {}: unknown Peeper message from {}: {}", name_, c.peer(),
                  print_term(message));
  } catch (const decode_error& e) {
    logger().warn("node {}: dropped a Peeper message from {}: {}", name_, c.peer(), e.what());
  }
}

void node_core::remote_signal(connection& c, const control& ctl) {
  using peeper::detail::current;
  using peeper::detail::envelope_kind;
  using peeper::detail::exit_signal;
  using peeper::detail::link_signal;
  using peeper::detail::process;
  using peeper::detail::run_in;
  // Signals from the remote process to a local one are delivered from this (the connection's)
  // thread, in the order they arrive, like its messages; the stand-in only keeps its own
  // records (links, monitors) through run_in.
  const pid local = local_pid(ctl.to);
  const pid stand_in = proxy_for(ctl.from);
  if (!stand_in) return;
  switch (ctl.op) {
    case control_op::link:
      if (!local) {
        std::string frame;
        put_exit(frame, control_op::exit, ctl.to, ctl.from, encode_reason(exit_reason::noproc()));
        (void)c.send(frame);
        return;
      }
      // The stand-in records its half first; then this thread signals `local`, so that the
      // link is ahead of what the remote process sends next (a message goes straight from this
      // thread to `local`): OTP keeps the signals of one sender in order. If `local` is gone,
      // its noproc exit reaches the stand-in after the link was recorded.
      if (!run_in(stand_in, [local] { current()->add_link_local(local); })) return;
      process::deliver(local.control_block(),
                       std::make_unique<link_signal>(envelope_kind::link, stand_in));
      return;
    case control_op::unlink_id_ack:
      return;  // the stand-in and the local process dropped the link when it was sent
    case control_op::unlink_id: {
      std::string frame;
      put_unlink_id(frame, control_op::unlink_id_ack, ctl.id, ctl.to, ctl.from);
      (void)c.send(frame);
      [[fallthrough]];
    }
    case control_op::unlink:
      if (!local) return;
      (void)run_in(stand_in, [local] { current()->rel().links.erase(local); });
      process::deliver(local.control_block(),
                       std::make_unique<link_signal>(envelope_kind::unlink, stand_in));
      return;
    case control_op::exit:
      // The remote end of a link exited: `local` acts on it if it is still linked.
      if (!local) return;
      (void)run_in(stand_in, [local] { current()->rel().links.erase(local); });
      process::deliver(local.control_block(),
                       std::make_unique<exit_signal>(stand_in, decode_reason(ctl.reason), true));
      return;
    case control_op::exit2:
      if (!local) return;
      process::deliver(local.control_block(),
                       std::make_unique<exit_signal>(stand_in, decode_reason(ctl.reason), false));
      return;
    case control_op::monitor: {
      const pid target = ctl.to_name.empty() ? local : whereis(*rt_, ctl.to_name);
      std::string ref(ctl.ref);
      if (!target) {
        std::string frame;
        put_monitor_exit(frame, ctl.to, ctl.from, ref, encode_reason(exit_reason::noproc()));
        (void)c.send(frame);
        return;
      }
      (void)run_in(stand_in, [target, ref] {
        if (auto* p = proxy::current()) p->monitor_for_remote(target, ref);
      });
      return;
    }
    case control_op::demonitor: {
      std::string ref(ctl.ref);
      (void)run_in(stand_in, [ref] {
        if (auto* p = proxy::current()) p->demonitor_for_remote(ref);
      });
      return;
    }
    case control_op::monitor_exit: {
      const std::uint64_t tag = ref_id(ctl.ref);
      exit_reason reason = decode_reason(ctl.reason);
      (void)run_in(stand_in, [tag, reason] {
        auto& me = *current();
        auto& watchers = me.rel().watchers;
        auto* it = watchers.find(tag);
        if (it == watchers.end()) return;
        pid watcher = std::move(it->second);
        watchers.erase(it);
        peeper::detail::process::deliver(
            watcher.control_block(),
            std::make_unique<peeper::detail::down_signal>(tag, me.self(), reason));
      });
      return;
    }
    default:
      return;
  }
}

bool node_core::send_via_stand_in(const pid& stand_in, const std::shared_ptr<connection>& conn,
                                  std::string frame) {
  // Through the stand-in's inbox, as a function it runs in arrival order with the link,
  // monitor and exit signals sent to it: a message never overtakes a signal sent before it by
  // the same sender, nor the other way round.
  return peeper::detail::run_in(stand_in,
                                [weak = std::weak_ptr<connection>(conn), frame = std::move(frame)] {
                                  if (auto c = weak.lock()) (void)c->send(frame);
                                });
}

bool node_core::send_encoded(const destination& to, std::span<const char> message) {
  const std::string_view msg(message.data(), message.size());
  std::string frame;
  if (const auto* p = std::get_if<pid>(&to)) {
    erlang_pid remote{};
    std::shared_ptr<connection> conn;
    if (!remote_of(*p, remote, conn) || !conn) return false;
    put_send(frame, remote, msg);
    return send_via_stand_in(*p, conn, std::move(frame));
  }
  const auto& rn = std::get<remote_name>(to);
  if (rn.node == name_) {
    // This node: as if it came from the network.
    control ctl;
    ctl.op = control_op::reg_send;
    ctl.to_name = rn.name;
    ctl.message = msg;
    const pid target = whereis(*rt_, rn.name);
    if (!target) return false;
    connection none(name_, *this, {});
    deliver_message(none, ctl, target, rn.name);
    return true;
  }
  auto conn = connection_to(rn.node);
  if (!conn) return false;
  put_reg_send(frame, router(), rn.name, msg);
  return conn->send(frame);
}

void node_core::start_call(const destination& to, std::span<const char> msg, from_ref caller,
                           reply_reader read) {
  auto* ch = caller.get();
  std::shared_ptr<connection> conn;
  erlang_pid remote{};
  const remote_name* rn = std::get_if<remote_name>(&to);
  if (rn != nullptr) {
    conn = connection_to(rn->node);
  } else if (const pid& p = std::get<pid>(to); !remote_of(p, remote, conn)) {
    if (!p || (p.control_block()->exited() &&
               p.control_block()->reason() != exit_reason::noconnection())) {
      ch->fail(call_errc::noproc, exit_reason::noproc());
    } else if (p.control_block()->exited()) {
      ch->fail(call_errc::exited, exit_reason::noconnection());  // a stand-in whose node is gone
    } else {
      ch->fail(call_errc::bad_call, exit_reason::normal());  // a local pid: use peeper::call
    }
    return;
  }
  if (!conn) {
    ch->fail(call_errc::exited, exit_reason::noconnection());
    return;
  }
  const std::uint64_t id = next_ref_.fetch_add(1);
  const std::string tag = make_ref_term(id);
  // {'$gen_call', {Router, Tag}, Msg}
  std::string m(1, version_magic);
  const erlang_pid from = router();
  encode_into(m, [&](char* b, int* i) {
    ei_encode_tuple_header(b, i, 3);
    ei_encode_atom(b, i, "$gen_call");
    ei_encode_tuple_header(b, i, 2);
    ei_encode_pid(b, i, &from);
  });
  m.append(tag);
  m.append(msg.data(), msg.size());
  std::string frame;
  if (rn != nullptr) {
    put_reg_send(frame, from, rn->name, m);
  } else {
    put_send(frame, remote, m);
  }
  {
    std::lock_guard lock(calls_mutex_);
    if (calls_.size() >= calls_sweep_at_) {
      std::erase_if(calls_, [](const auto& kv) {
        return kv.second.caller.get() == nullptr || kv.second.caller.get()->done();
      });
      calls_sweep_at_ = std::max<std::size_t>(1024, 2 * calls_.size());
    }
    calls_.emplace(id, pending_call{std::move(caller), read, conn->id()});
  }
  const bool sent = rn != nullptr ? conn->send(frame)
                                  : send_via_stand_in(std::get<pid>(to), conn, std::move(frame));
  if (!sent) {
    from_ref failed;
    {
      std::lock_guard lock(calls_mutex_);
      if (auto it = calls_.find(id); it != calls_.end()) {
        failed = std::move(it->second.caller);
        calls_.erase(it);
      }
    }
    if (auto* f = failed.get()) f->fail(call_errc::exited, exit_reason::noconnection());
  }
}

void node_core::expose(const std::string& name, std::shared_ptr<inbox> box) {
  std::lock_guard lock(inbox_mutex_);
  inboxes_.insert_or_assign(name, std::move(box));
}

bool node_core::unexpose(const std::string& name) {
  std::lock_guard lock(inbox_mutex_);
  return inboxes_.erase(name) > 0;
}

}  // namespace peeper::dist::detail
