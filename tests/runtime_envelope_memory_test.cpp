// Where envelopes live: the block pool for those up to 16-aligned (each freed
// into the class of its dynamic type), the global allocator for over-aligned
// payloads, and envelopes made on one thread and freed on another.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include <peeper/runtime/detail/block_pool.hpp>
#include <peeper/runtime/detail/envelope.hpp>

namespace envelope_memory_test {

using peeper::detail::envelope_kind;
using peeper::detail::envelope_ptr;
using peeper::detail::make_message;
using peeper::detail::payload_envelope;
namespace pool = peeper::detail::block_pool;

struct alignas(16) sixteen {
  std::uint64_t a;
  std::uint64_t b;
};
struct alignas(64) sixty_four {
  std::uint64_t a;
};

std::uintptr_t address(const envelope_ptr& e) { return reinterpret_cast<std::uintptr_t>(e.get()); }

TEST(EnvelopeMemory, PayloadsKeepTheirAlignment) {
  auto e8 = make_message<std::uint64_t>(envelope_kind::message, 8U);
  auto e16 = make_message<sixteen>(envelope_kind::message, sixteen{1, 2});
  auto e64 = make_message<sixty_four>(envelope_kind::message, sixty_four{3});
  EXPECT_EQ(address(e8) % alignof(payload_envelope<std::uint64_t>), 0U);
  EXPECT_EQ(address(e16) % 16, 0U);
  EXPECT_EQ(address(e64) % 64, 0U);
  EXPECT_EQ(static_cast<payload_envelope<sixteen>&>(*e16).value.b, 2U);
  EXPECT_EQ(static_cast<payload_envelope<sixty_four>&>(*e64).value.a, 3U);
}

// Deleted through its base, an envelope goes back to its own type's class:
// the next one of that type, on the same thread, gets the same block.
TEST(EnvelopeMemory, AnEnvelopeFreedThroughItsBaseReturnsToItsOwnClass) {
  if (!pool::enabled) GTEST_SKIP() << "under AddressSanitizer every block is ::operator new's";
  using big = payload_envelope<std::string>;
  auto first = make_message<std::string>(envelope_kind::message, "a string payload");
  const auto* block = first.get();
  first.reset();
  auto small = make_message<char>(envelope_kind::message, 'x');  // another class
  auto again = make_message<std::string>(envelope_kind::message, "another");
  EXPECT_EQ(again.get(), block);
  EXPECT_EQ(static_cast<big&>(*again).value, "another");
  EXPECT_NE(static_cast<const void*>(small.get()), static_cast<const void*>(block));
}

// Made by one thread, checked and freed by another, as messages are (TSan
// watches the blocks' hand-over through the pool).
TEST(EnvelopeMemory, EnvelopesMadeOnOneThreadAreFreedOnAnother) {
  constexpr int count = 100'000;
  std::mutex lock;
  std::condition_variable ready;
  std::deque<envelope_ptr> passing;
  int wrong = 0;
  std::thread consumer([&] {
    for (int expected = 0; expected < count; ++expected) {
      envelope_ptr e;
      {
        std::unique_lock hold(lock);
        ready.wait(hold, [&] { return !passing.empty(); });
        e = std::move(passing.front());
        passing.pop_front();
      }
      if (static_cast<payload_envelope<std::pair<int, int>>&>(*e).value !=
          std::pair{expected, -expected}) {
        ++wrong;
      }
    }
  });
  for (int i = 0; i < count; ++i) {
    auto e = make_message<std::pair<int, int>>(envelope_kind::message, i, -i);
    {
      const std::lock_guard hold(lock);
      passing.push_back(std::move(e));
    }
    ready.notify_one();
  }
  consumer.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_TRUE(passing.empty());
}

}  // namespace envelope_memory_test
