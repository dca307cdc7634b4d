// One distribution connection and its I/O thread.
//
// The I/O thread owns the socket: it makes the connection (epmd lookup and handshake through
// ei) for an outgoing one, is the only reader of frames, sends ticks when nothing was written
// for a tick period, and closes the connection when the peer has been silent for longer than
// the peer timeout. Other threads append frames to the outgoing buffer; the one that finds it
// empty also tries to write it at once (non-blocking, under the write lock, which it only
// tries), and leaves what the socket does not take to the I/O thread, which it wakes through an
// eventfd. So a slow or dead peer never blocks a scheduler thread, and an idle connection
// costs no thread hop per message. What a peer does not read accumulates up to max_outgoing
// bytes; a send beyond that closes the connection (logged; its stand-ins' links and monitors
// get noconnection) instead of growing the buffer without bound or blocking the sender.
//
// Simultaneous connects (see node_core.cpp): a connection that loses to another one to the same
// peer gets a successor. Frames queued on it move to the successor, later sends go there, and
// the loser closes gracefully (retire: its written frames are flushed, then its write side is
// shut and it reads until the peer closes) or, when it is the peer's to close, just reads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "dist/socket.hpp"

namespace peeper::dist::detail {

class connection;

/// What a connection reports, on its I/O thread.
class connection_handler {
 public:
  connection_handler() = default;
  connection_handler(const connection_handler&) = delete;
  connection_handler& operator=(const connection_handler&) = delete;
  virtual ~connection_handler() = default;
  /// Makes the outgoing connection: returns the socket after the handshake, or an empty guard
  /// and a description of the failure in `error`.
  virtual fd_guard dial(connection& c, std::string& error) = 0;
  /// The connection is up (handshake done).
  virtual void on_up(connection& c) = 0;
  /// One frame (without its length). Throwing closes the connection as malformed.
  virtual void on_frame(connection& c, std::string_view frame) = 0;
  /// The connection is down (or never came up); `why` says why. Called once.
  virtual void on_down(connection& c, const std::string& why) = 0;
};

struct connection_timing {
  std::chrono::milliseconds tick{1000};          // a tick is sent after this much silence
  std::chrono::milliseconds peer_timeout{4000};  // the peer is dead after this much silence
  std::size_t max_outgoing = 0;  // bytes queued and not yet written before closing; 0: no bound
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  enum class state : std::uint8_t { connecting, up, down };

  /// An outgoing connection to `peer`, dialled by the handler on the I/O thread.
  connection(std::string peer, connection_handler& h, connection_timing t);
  /// An accepted connection (handshake done) on `fd`.
  connection(std::string peer, fd_guard fd, connection_handler& h, connection_timing t);
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  /// Starts the I/O thread. Call once.
  void start();
  /// Queues one frame (the length prefix is added). Any thread. Returns false if the connection
  /// is down (the frame is dropped), or if the frame would take the bytes not yet written beyond
  /// max_outgoing: then the frame is dropped and the connection closes (reported to on_down).
  /// Frames queued while connecting go out once it is up. On a connection that has a successor,
  /// the frame goes to the successor.
  bool send(std::string_view frame);
  /// Queues a frame built in place by `fill` appending to the buffer (under the queue lock:
  /// keep it short). Returns false if the connection is down.
  bool send_with(const std::function<void(std::string&)>& fill);
  /// Asks the I/O thread to close the connection; `why` is reported to on_down. Any thread.
  void close(const std::string& why);
  /// Waits for the I/O thread to end. Not from the I/O thread itself.
  void join();
  /// Waits until the connection is up or down, has a successor, or `deadline`. Returns the
  /// state then.
  state wait_settled(std::chrono::steady_clock::time_point deadline);
  /// Another connection to the same peer replaces this one: frames queued here move to the front
  /// of `successor`'s queue, later sends go there, and this connection closes gracefully (once
  /// up, if still connecting: what was written is flushed, the write side shut, and it reads
  /// until the peer closes). Any thread.
  void retire(const std::shared_ptr<connection>& successor);
  /// Like retire, for a connection that is closing or down: only moves the queued frames and
  /// forwards later sends. Any thread (the handler calls it from on_down).
  void hand_over(const std::shared_ptr<connection>& successor);
  /// The connection that replaced this one, or null.
  [[nodiscard]] std::shared_ptr<connection> successor() {
    std::lock_guard lock(mutex_);
    return successor_;
  }
  /// Whether retire or hand_over was called.
  [[nodiscard]] bool superseded() {
    std::lock_guard lock(mutex_);
    return successor_ != nullptr;
  }
  /// Whether close was asked (or the connection ended).
  [[nodiscard]] bool closing() {
    std::lock_guard lock(mutex_);
    return closing_;
  }
  /// Whether this node made the connection (false: accepted).
  [[nodiscard]] bool outgoing() const noexcept { return outgoing_conn_; }

  [[nodiscard]] const std::string& peer() const noexcept { return peer_; }
  [[nodiscard]] state current() const noexcept { return state_.load(std::memory_order_acquire); }
  [[nodiscard]] bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }
  /// Whether the peer is a Peeper node (it said hello): it gets the short peer timeout.
  void set_peer_timeout(std::chrono::milliseconds t) noexcept {
    peer_timeout_ms_.store(t.count(), std::memory_order_relaxed);
  }
  /// The peer said hello: it is a Peeper node (it takes part in global names).
  void mark_peeper() noexcept { peeper_.store(true, std::memory_order_release); }
  [[nodiscard]] bool is_peeper() const noexcept { return peeper_.load(std::memory_order_acquire); }
  /// Why dialling failed: a node_errc value (-1: none) and a description. Set by the dialler.
  void set_failure(int code, std::string text) {
    std::lock_guard lock(mutex_);
    failure_ = code;
    failure_text_ = std::move(text);
  }
  [[nodiscard]] int failure() {
    std::lock_guard lock(mutex_);
    return failure_;
  }
  [[nodiscard]] std::string failure_text() {
    std::lock_guard lock(mutex_);
    return failure_text_;
  }
  /// A small id for logs.
  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }

 private:
  void run();
  void io_loop();
  bool flush_writes();
  /// Publishes writing_.size() - written_ (under write_mutex_).
  void note_unwritten() noexcept {
    unwritten_.store(writing_.size() - written_, std::memory_order_relaxed);
  }
  bool read_frames(std::string& why);
  void wake() noexcept;
  void set_state(state s);
  /// Moves the queued frames to `successor` and sets it (under mutex_, held by the caller).
  void pass_queue(std::unique_lock<std::mutex>& lock, const std::shared_ptr<connection>& successor);
  /// Puts `frames` (with their length prefixes) ahead of the queued ones.
  void prepend(const std::string& frames);

  std::string peer_;
  connection_handler* handler_;
  connection_timing timing_;
  std::atomic<std::int64_t> peer_timeout_ms_;
  std::uint64_t id_;
  fd_guard fd_;
  fd_guard wake_fd_;
  std::thread thread_;
  std::atomic<state> state_{state::connecting};
  std::atomic<bool> finished_{false};
  std::atomic<bool> peeper_{false};
  bool outgoing_conn_ = true;

  std::mutex mutex_;
  std::condition_variable settled_;
  std::string outgoing_;  // frames queued by other threads, with their length prefixes
  bool closing_ = false;
  std::string close_why_;
  std::shared_ptr<connection> successor_;  // set by retire / hand_over
  bool retiring_ = false;                  // shut the write side once flushed
  bool write_shut_ = false;                // (I/O thread only)
  int failure_ = -1;
  std::string failure_text_;

  // Socket writes: under write_mutex_, by the I/O thread or by a sender that found the queue
  // empty and the lock free (send_with). Reads: the I/O thread only.
  std::mutex write_mutex_;
  std::string writing_;
  std::size_t written_ = 0;
  // writing_.size() - written_, readable under mutex_ alone (for the max_outgoing check).
  std::atomic<std::size_t> unwritten_{0};
  std::atomic<std::int64_t> last_write_ns_{0};
  std::string reading_;
};

}  // namespace peeper::dist::detail
