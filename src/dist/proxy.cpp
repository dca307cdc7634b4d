// The stand-in of a remote process (see proxy.hpp).
#include "dist/proxy.hpp"

#include <atomic>

#include <spdlog/spdlog.h>

#include "dist/frames.hpp"
#include "dist/node_core.hpp"
#include "peeper/dist/codec.hpp"
#include "peeper/dist/remote.hpp"
#include "peeper/gen_server/detail/request.hpp"
#include "peeper/runtime/log.hpp"
#include "peeper/runtime/message.hpp"

namespace peeper::dist::detail {

namespace {

using peeper::detail::envelope_kind;
using peeper::detail::logger;

/// The ids of this node's UNLINK_ID signals: unique per connection is enough, never 0.
std::uint64_t next_unlink_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

proxy* proxy::current() {
  auto* p = peeper::detail::current();
  return p == nullptr ? nullptr : dynamic_cast<proxy*>(p->behaviour_ptr());
}

void proxy::send_frame(const std::string& frame) {
  if (auto c = conn_.lock()) (void)c->send(frame);
}

void proxy::handle(peeper::detail::envelope_ptr e) {
  auto n = node_.lock();
  if (!n) return;
  if (e->kind == envelope_kind::call) {
    auto& r = static_cast<peeper::detail::request_envelope&>(*e);
    if (auto* ch = r.reply_to.get()) ch->fail(call_errc::bad_call, exit_reason::normal());
    logger().warn("node {}: a local call to remote pid {}: use dist::call", n->name(),
                  print_pid(remote_));
    return;
  }
  if (e->type == peeper::detail::type_id<down_message>()) {
    // A monitor this stand-in holds for its remote process: tell it the target went down.
    auto& d = static_cast<peeper::detail::payload_envelope<down_message>&>(*e).value;
    auto it = remote_monitors_.find(d.monitor.id());
    if (it == remote_monitors_.end()) return;
    std::string frame;
    put_monitor_exit(frame, n->local_erl(d.process), remote_, it->second, encode_reason(d.reason));
    remote_monitors_.erase(it);
    send_frame(frame);
    return;
  }
  if (e->kind == envelope_kind::message) {
    // dist::term, and the types registered with dist::sendable (remote.hpp).
    const message_encoder encode =
        e->type == peeper::detail::type_id<term>() ? &encode_envelope<term> : encoder_of(e->type);
    if (encode == nullptr) {
      logger().warn(
          "node {}: dropped a {} sent to remote pid {} with peeper::send: the type has no "
          "registered encoding (call dist::sendable<T>() once, or use dist::send)",
          n->name(), e->payload_type_name(), print_pid(remote_));
      return;
    }
    try {
      term_writer w(n.get());
      w.write_version();
      encode(*e, w);
      std::string frame;
      put_send(frame, remote_, std::string_view(w.bytes().data(), w.size()));
      send_frame(frame);
    } catch (const encode_error& err) {
      logger().warn("node {}: dropped a message to {}: {}", n->name(), print_pid(remote_),
                    err.what());
    }
    return;
  }
  logger().warn("node {}: dropped a {} sent to remote pid {}", n->name(), e->payload_type_name(),
                print_pid(remote_));
}

bool proxy::intercept_signal(peeper::detail::envelope& e) {
  auto n = node_.lock();
  if (!n) return false;
  auto& me = *peeper::detail::current();
  std::string frame;
  switch (e.kind) {
    case envelope_kind::exit_signal: {
      auto& s = static_cast<peeper::detail::exit_signal&>(e);
      if (s.linked) {
        // A linked local process ended: the link breaks on the remote side too.
        if (me.rel().links.erase(s.from) == 0) return true;
        put_exit(frame, control_op::exit, n->local_erl(s.from), remote_, encode_reason(s.reason));
      } else {
        const erlang_pid from = s.from ? n->local_erl(s.from) : n->router();
        put_exit(frame, control_op::exit2, from, remote_, encode_reason(s.reason));
      }
      send_frame(frame);
      return true;  // a stand-in never dies of a signal
    }
    case envelope_kind::link:
    case envelope_kind::unlink: {
      auto& s = static_cast<peeper::detail::link_signal&>(e);
      if (e.kind == envelope_kind::link) {
        put_link(frame, control_op::link, n->local_erl(s.from), remote_);
      } else {
        // UNLINK_ID: OTP 23+ peers (ei announces DFLAG_UNLINK_ID); its ack is ignored.
        put_unlink_id(frame, control_op::unlink_id, next_unlink_id(), n->local_erl(s.from),
                      remote_);
      }
      send_frame(frame);
      return false;  // the runtime records it
    }
    case envelope_kind::monitor: {
      auto& s = static_cast<peeper::detail::monitor_signal&>(e);
      put_monitor(frame, control_op::monitor, n->local_erl(s.watcher), remote_,
                  n->make_ref_term(s.tag));
      send_frame(frame);
      return false;
    }
    case envelope_kind::demonitor: {
      auto& s = static_cast<peeper::detail::monitor_signal&>(e);
      auto& watchers = me.rel().watchers;
      auto* it = watchers.find(s.tag);
      if (it != watchers.end()) {
        put_monitor(frame, control_op::demonitor, n->local_erl(it->second), remote_,
                    n->make_ref_term(s.tag));
        send_frame(frame);
      }
      return false;
    }
    default:
      return false;
  }
}

void proxy::on_exit(const exit_reason& /*reason*/) noexcept {
  if (auto n = node_.lock()) n->proxy_exited(peeper::detail::current()->id());
}

void proxy::monitor_for_remote(const pid& target, std::string ref) {
  const peeper::ref r = peeper::monitor(target);
  remote_monitors_[r.id()] = std::move(ref);
}

void proxy::demonitor_for_remote(const std::string& ref) {
  for (auto it = remote_monitors_.begin(); it != remote_monitors_.end(); ++it) {
    if (it->second == ref) {
      (void)peeper::demonitor(peeper::ref::from_id(it->first), true);
      remote_monitors_.erase(it);
      return;
    }
  }
}

}  // namespace peeper::dist::detail
