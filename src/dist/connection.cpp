// The I/O thread of a distribution connection (see connection.hpp).
#include "dist/connection.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <exception>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dist/frames.hpp"

namespace peeper::dist::detail {

namespace {

using steady = std::chrono::steady_clock;

std::atomic<std::uint64_t> next_connection_id{1};

// Writes closer together than this go through the I/O thread, batched.
constexpr std::int64_t burst_window_ns = 20'000;

}  // namespace

connection::connection(std::string peer, connection_handler& h, connection_timing t)
    : peer_(std::move(peer)),
      handler_(&h),
      timing_(t),
      peer_timeout_ms_(t.peer_timeout.count()),
      id_(next_connection_id.fetch_add(1)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

connection::connection(std::string peer, fd_guard fd, connection_handler& h, connection_timing t)
    : connection(std::move(peer), h, t) {
  fd_ = std::move(fd);
  outgoing_conn_ = false;
}

connection::~connection() {
  if (thread_.joinable()) {
    close("connection destroyed");
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }
}

void connection::start() {
  thread_ = std::thread([self = shared_from_this()] { self->run(); });
}

bool connection::send(std::string_view frame) {
  return send_with([frame](std::string& out) { out.append(frame); });
}

bool connection::send_with(const std::function<void(std::string&)>& fill) {
  std::unique_lock lock(mutex_);
  if (successor_) {
    auto next = successor_;
    lock.unlock();
    return next->send_with(fill);
  }
  if (closing_ || state_.load(std::memory_order_relaxed) == state::down) return false;
  const bool was_empty = outgoing_.empty();
  const std::size_t at = outgoing_.size();
  outgoing_.append(4, '\0');
  fill(outgoing_);
  if (timing_.max_outgoing != 0 &&
      outgoing_.size() + unwritten_.load(std::memory_order_relaxed) > timing_.max_outgoing) {
    // The peer does not read: rather than grow without bound (or block a scheduler thread), the
    // connection closes; what was queued is lost, and said so: a log line, and noconnection to
    // the links and monitors of the peer's processes.
    outgoing_.resize(at);
    lock.unlock();
    close("outgoing buffer over " + std::to_string(timing_.max_outgoing) + " bytes: " + peer_ +
          " does not read (max_outgoing_bytes)");
    return false;
  }
  put_u32(reinterpret_cast<unsigned char*>(outgoing_.data() + at),
          static_cast<std::uint32_t>(outgoing_.size() - at - 4));
  if (!was_empty) return true;  // whoever found the queue empty is flushing it
  // Write on the caller's thread when nobody else is writing: one wake-up less per message.
  // Never blocks: the socket is non-blocking and the write lock is only tried; what the
  // socket does not take now is left to the I/O thread.
  // In a burst (the last write was moments ago) the I/O thread batches instead: one system
  // call for many frames.
  const auto now_ns = steady::now().time_since_epoch().count();
  const bool burst = now_ns - last_write_ns_.load(std::memory_order_relaxed) < burst_window_ns;
  if (burst || state_.load(std::memory_order_relaxed) != state::up || !write_mutex_.try_lock()) {
    lock.unlock();
    wake();
    return true;
  }
  std::lock_guard write_lock(write_mutex_, std::adopt_lock);
  if (written_ < writing_.size()) {
    writing_.append(outgoing_);  // the I/O thread waits for the socket: queue behind it
    outgoing_.clear();
    note_unwritten();
    lock.unlock();
    return true;
  }
  writing_.swap(outgoing_);
  outgoing_.clear();
  written_ = 0;
  note_unwritten();
  lock.unlock();
  if (!flush_writes()) {
    close("write failed: " + std::string(std::strerror(errno)));
    return true;
  }
  last_write_ns_.store(steady::now().time_since_epoch().count(), std::memory_order_relaxed);
  if (written_ < writing_.size()) wake();  // the I/O thread polls for POLLOUT
  return true;
}

void connection::close(const std::string& why) {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return;
    closing_ = true;
    close_why_ = why;
  }
  wake();
}

void connection::join() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

connection::state connection::wait_settled(steady::time_point deadline) {
  std::unique_lock lock(mutex_);
  settled_.wait_until(lock, deadline,
                      [this] { return current() != state::connecting || successor_ != nullptr; });
  return current();
}

void connection::pass_queue(std::unique_lock<std::mutex>& lock,
                            const std::shared_ptr<connection>& successor) {
  successor_ = successor;
  std::string queued;
  queued.swap(outgoing_);
  // Lock order: a loser's mutex, then its successor's (a successor never locks its loser).
  if (!queued.empty()) successor->prepend(queued);
  lock.unlock();
  settled_.notify_all();
}

void connection::retire(const std::shared_ptr<connection>& successor) {
  std::unique_lock lock(mutex_);
  if (successor_ || successor.get() == this) return;
  retiring_ = true;
  pass_queue(lock, successor);
  wake();
}

void connection::hand_over(const std::shared_ptr<connection>& successor) {
  std::unique_lock lock(mutex_);
  if (successor.get() == this) return;
  pass_queue(lock, successor);
}

void connection::prepend(const std::string& frames) {
  {
    std::lock_guard lock(mutex_);
    outgoing_.insert(0, frames);
  }
  wake();
}

void connection::wake() noexcept {
  std::uint64_t one = 1;
  (void)::write(wake_fd_.get(), &one, sizeof one);
}

void connection::set_state(state s) {
  {
    std::lock_guard lock(mutex_);
    state_.store(s, std::memory_order_release);
  }
  settled_.notify_all();
}

void connection::run() {
  std::string why;
  if (!fd_) {
    try {
      fd_ = handler_->dial(*this, why);
    } catch (const std::exception& e) {
      why = e.what();
    }
  }
  if (fd_) {
    set_nonblocking(fd_.get());
    set_nodelay(fd_.get());
    set_state(state::up);
    handler_->on_up(*this);
    io_loop();
    std::lock_guard lock(mutex_);
    why = close_why_;
  }
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  {
    // A sender writing directly holds the write lock: the socket closes after it is done.
    std::lock_guard write_lock(write_mutex_);
    fd_.reset();
  }
  // Before the state is down, so that a connect waiting on this connection sees the successor
  // the handler may give it (its queued frames move there).
  handler_->on_down(*this, why.empty() ? std::string("connection closed") : why);
  {
    std::lock_guard lock(mutex_);
    outgoing_.clear();
  }
  set_state(state::down);
  finished_.store(true, std::memory_order_release);
}

void connection::io_loop() {
  auto last_read = steady::now();
  last_write_ns_.store(last_read.time_since_epoch().count(), std::memory_order_relaxed);
  std::string why;
  for (;;) {
    bool pending = false;
    bool retiring = false;
    {
      std::lock_guard write_lock(write_mutex_);
      {
        std::lock_guard lock(mutex_);
        if (closing_) return;
        retiring = retiring_;
        if (!outgoing_.empty()) {
          if (written_ == writing_.size()) {
            writing_.clear();
            written_ = 0;
            writing_.swap(outgoing_);
          } else {
            writing_.append(outgoing_);
          }
          outgoing_.clear();
          note_unwritten();
        }
      }
      const auto last_write = steady::time_point(steady::duration(last_write_ns_.load()));
      if (retiring && !write_shut_ && written_ == writing_.size()) {
        // Retired: everything written, so the peer reads it all before the end of the stream.
        (void)::shutdown(fd_.get(), SHUT_WR);
        write_shut_ = true;
      }
      if (!write_shut_ && written_ == writing_.size() &&
          steady::now() - last_write >= timing_.tick) {
        writing_.assign(4, '\0');  // a tick: an empty frame
        written_ = 0;
      }
      if (written_ < writing_.size()) {
        if (!flush_writes()) {
          why = "write failed: " + std::string(std::strerror(errno));
        } else {
          last_write_ns_.store(steady::now().time_since_epoch().count(), std::memory_order_relaxed);
        }
      }
      pending = written_ < writing_.size();
    }
    if (!why.empty()) {
      close(why);
      continue;
    }
    const auto now = steady::now();
    const auto peer_timeout = std::chrono::milliseconds(peer_timeout_ms_.load());
    if (now - last_read >= peer_timeout) {
      close("peer " + peer_ + " silent for " + std::to_string(peer_timeout.count()) +
            " ms (no tick): considered down");
      continue;
    }
    std::array<pollfd, 2> fds{pollfd{fd_.get(), POLLIN, 0}, pollfd{wake_fd_.get(), POLLIN, 0}};
    if (pending) fds[0].events |= POLLOUT;
    const auto last_write = steady::time_point(steady::duration(last_write_ns_.load()));
    // No ticks once the write side is shut (a retired connection only waits for the peer's end).
    auto next_tick = write_shut_ ? steady::duration(peer_timeout) : last_write + timing_.tick - now;
    auto next_dead = last_read + peer_timeout - now;
    auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::min(next_tick, next_dead));
    int n = ::poll(fds.data(), fds.size(),
                   static_cast<int>(std::max<std::int64_t>(1, wait.count() + 1)));
    if (n < 0) {
      if (errno == EINTR) continue;
      close("poll failed");
      continue;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      std::uint64_t v = 0;
      (void)::read(wake_fd_.get(), &v, sizeof v);
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      if (!read_frames(why)) {
        if (retiring) why = "replaced by another connection to " + peer_;
        close(why);
        continue;
      }
      last_read = steady::now();
    }
  }
}

bool connection::flush_writes() {
  while (written_ < writing_.size()) {
    ssize_t n = ::send(fd_.get(), writing_.data() + written_, writing_.size() - written_,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      written_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // EAGAIN: the I/O thread polls for POLLOUT and writes the rest; anything else is fatal.
    note_unwritten();
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  writing_.clear();
  written_ = 0;
  note_unwritten();
  return true;
}

bool connection::read_frames(std::string& why) {
  std::array<char, 65536> chunk{};
  for (;;) {
    ssize_t n = ::recv(fd_.get(), chunk.data(), chunk.size(), MSG_DONTWAIT);
    if (n > 0) {
      reading_.append(chunk.data(), static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < chunk.size()) break;
      continue;
    }
    if (n == 0) {
      why = "connection closed by " + peer_;
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    why = "read failed: " + std::string(std::strerror(errno));
    return false;
  }
  std::size_t at = 0;
  while (reading_.size() - at >= 4) {
    const std::uint32_t len = get_u32(reinterpret_cast<const unsigned char*>(reading_.data() + at));
    if (len > max_frame_size) {
      why = "malformed frame from " + peer_ + ": length " + std::to_string(len);
      return false;
    }
    if (reading_.size() - at - 4 < len) break;
    if (len > 0) {
      try {
        handler_->on_frame(*this, std::string_view(reading_.data() + at + 4, len));
      } catch (const std::exception& e) {
        why = "malformed frame from " + peer_ + ": " + e.what();
        return false;
      }
    }
    at += 4 + len;
  }
  reading_.erase(0, at);
  return true;
}

}  // namespace peeper::dist::detail
