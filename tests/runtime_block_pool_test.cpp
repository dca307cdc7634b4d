// The runtime's block pool: size classes, block reuse, blocks that cross
// threads, and what a thread's cache gives back when the thread ends.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "peeper/runtime/detail/block_pool.hpp"

namespace block_pool_test {
namespace pool = peeper::detail::block_pool;

// A class is its block size in 8-byte steps; a block that may need 16-alignment
// is rounded to a multiple of 16.
TEST(BlockPool, SizeClassesAreEightByteStepsUpToOneKibibyte) {
  if (!pool::enabled) GTEST_SKIP() << "under AddressSanitizer every block is ::operator new's";
  EXPECT_EQ(pool::class_of(0), 0);
  EXPECT_EQ(pool::class_of(1), 2);
  EXPECT_EQ(pool::class_of(16), 2);
  EXPECT_EQ(pool::class_of(17), 4);
  EXPECT_EQ(pool::class_of(216), 28);
  EXPECT_EQ(pool::class_of(1024), 128);
  EXPECT_EQ(pool::class_of(1025), 0);
  EXPECT_EQ(pool::class_of(1, 8), 1);
  EXPECT_EQ(pool::class_of(136, 8), 17);
  EXPECT_EQ(pool::class_of(137, 8), 18);
  EXPECT_EQ(pool::class_of(136, 4), 17);
  EXPECT_EQ(pool::class_of(1025, 8), 0);
}

class BlockPoolSizes : public ::testing::TestWithParam<std::pair<std::size_t, std::size_t>> {};

TEST_P(BlockPoolSizes, BlocksAreAlignedDistinctAndWholeAndAFreedOneIsReused) {
  const auto [size, align] = GetParam();
  const std::uint8_t cls = pool::class_of(size, align);
  std::vector<void*> blocks;
  for (int i = 0; i < 500; ++i) {  // more than a batch and a cache hold
    void* b = pool::allocate(cls, size);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b) % align, 0U);
    std::memset(b, i & 0xff, size);
    blocks.push_back(b);
  }
  for (int i = 0; i < 500; ++i) {  // no block overlaps another: each kept its fill
    const auto* bytes = static_cast<const unsigned char*>(blocks[static_cast<std::size_t>(i)]);
    for (std::size_t k = 0; k < size; ++k) ASSERT_EQ(bytes[k], i & 0xff) << i << " " << k;
  }
  EXPECT_EQ(std::set<void*>(blocks.begin(), blocks.end()).size(), blocks.size());
  void* last = blocks.back();
  blocks.pop_back();
  pool::deallocate(cls, last);
  if (pool::enabled) {
    EXPECT_EQ(pool::allocate(cls, size), last) << "the thread's cache gives the freed block back";
  } else {
    last = pool::allocate(cls, size);
  }
  blocks.push_back(last);
  for (void* b : blocks) pool::deallocate(cls, b);
}

// 200 bytes, 16-aligned (rounded to 208); 136 bytes, 8-aligned (an odd number of steps).
INSTANTIATE_TEST_SUITE_P(SizeAndAlignment, BlockPoolSizes,
                         ::testing::Values(std::pair<std::size_t, std::size_t>{200, 16},
                                           std::pair<std::size_t, std::size_t>{136, 8}));

TEST(BlockPool, BlocksOverOneKibibyteAreOperatorNews) {
  constexpr std::size_t size = 4096;
  ASSERT_EQ(pool::class_of(size), 0);
  void* b = pool::allocate(0, size);
  std::memset(b, 1, size);
  pool::deallocate(0, b);
  pool::deallocate(0, nullptr);
}

// Blocks made on one thread and freed on another, all at once: each block keeps
// what its maker wrote until its taker checks it (TSan watches the hand-over).
TEST(BlockPool, BlocksMadeOnOneThreadAreFreedOnAnother) {
  constexpr std::size_t size = 96;
  constexpr int per_thread = 20'000;
  constexpr int threads = 4;
  const std::uint8_t cls = pool::class_of(size);
  std::mutex lock;
  std::deque<std::pair<void*, std::uint64_t>> passing;
  std::atomic<int> freed{0};
  std::atomic<bool> corrupt{false};
  auto work = [&](int t) {
    for (int i = 0; i < per_thread; ++i) {
      const std::uint64_t stamp = (std::uint64_t(t) << 32U) | std::uint64_t(i);
      void* b = pool::allocate(cls, size);
      for (std::size_t k = 0; k < size / sizeof stamp; ++k) {
        std::memcpy(static_cast<char*>(b) + k * sizeof stamp, &stamp, sizeof stamp);
      }
      std::pair<void*, std::uint64_t> other{nullptr, 0};
      {
        const std::lock_guard hold(lock);
        passing.emplace_back(b, stamp);
        if (i % 2 == 1 || passing.size() > 64) {
          other = passing.front();
          passing.pop_front();
        }
      }
      if (other.first == nullptr) continue;
      for (std::size_t k = 0; k < size / sizeof stamp; ++k) {
        std::uint64_t seen = 0;
        std::memcpy(&seen, static_cast<char*>(other.first) + k * sizeof stamp, sizeof seen);
        if (seen != other.second) corrupt = true;
      }
      pool::deallocate(cls, other.first);
      freed.fetch_add(1);
    }
  };
  std::vector<std::thread> all;
  for (int t = 0; t < threads; ++t) all.emplace_back(work, t);
  for (auto& th : all) th.join();
  for (auto& [b, stamp] : passing) {
    pool::deallocate(cls, b);
    freed.fetch_add(1);
  }
  EXPECT_FALSE(corrupt.load()) << "a block was handed out twice";
  EXPECT_EQ(freed.load(), threads * per_thread);
}

TEST(BlockPool, AThreadThatEndsGivesItsFreeBlocksBack) {
  if (!pool::enabled) GTEST_SKIP() << "under AddressSanitizer every block is ::operator new's";
  constexpr std::size_t size = 1000;  // a class no other test here uses
  const std::uint8_t cls = pool::class_of(size);
  std::set<void*> cached;
  std::thread([&] {
    std::vector<void*> blocks;
    for (int i = 0; i < 10; ++i) blocks.push_back(pool::allocate(cls, size));
    for (void* b : blocks) pool::deallocate(cls, b);  // stay in this thread's cache
    cached.insert(blocks.begin(), blocks.end());
  }).join();
  std::set<void*> again;
  for (int i = 0; i < 10; ++i) again.insert(pool::allocate(cls, size));
  EXPECT_EQ(again, cached) << "the ended thread's cached blocks come first";
  for (void* b : again) pool::deallocate(cls, b);
}

TEST(BlockPool, AllocatorServesSharedPointers) {
  struct payload {
    std::uint64_t a = 1;
    std::uint64_t b = 2;
  };
  auto p = std::allocate_shared<payload>(pool::allocator<payload>{});
  EXPECT_EQ(p->a + p->b, 3U);
  std::weak_ptr<payload> w = p;
  p.reset();
  EXPECT_TRUE(w.expired());
}

}  // namespace block_pool_test
