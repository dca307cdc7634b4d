// Optional heap accounting for the *_table programs: replacing the global
// allocation functions lets a table count the blocks allocated while it
// creates its objects, by requested size, and the net bytes they keep.
// Without counting on, each allocation costs one relaxed load.
// Include it in exactly one source file of a program (it defines operator new).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>

#include <malloc.h>

namespace heap_count {

inline constexpr std::size_t max_tracked_size = 4096;
inline std::atomic<bool> counting{false};
inline std::array<std::atomic<std::int64_t>, max_tracked_size + 1> allocated_by_size{};
inline std::array<std::atomic<std::int64_t>, max_tracked_size + 1> live_by_usable_size{};
inline std::atomic<std::int64_t> freed{0};
inline std::atomic<std::int64_t> usable_allocated{0};
inline std::atomic<std::int64_t> usable_freed{0};

inline void* allocate(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  if (counting.load(std::memory_order_relaxed)) {
    const std::size_t usable = malloc_usable_size(p);
    allocated_by_size[std::min(n, max_tracked_size)].fetch_add(1, std::memory_order_relaxed);
    live_by_usable_size[std::min(usable, max_tracked_size)].fetch_add(1, std::memory_order_relaxed);
    usable_allocated.fetch_add(static_cast<std::int64_t>(usable), std::memory_order_relaxed);
  }
  return p;
}

inline void release(void* p) noexcept {
  if (p == nullptr) return;
  if (counting.load(std::memory_order_relaxed)) {
    const std::size_t usable = malloc_usable_size(p);
    freed.fetch_add(1, std::memory_order_relaxed);
    live_by_usable_size[std::min(usable, max_tracked_size)].fetch_sub(1, std::memory_order_relaxed);
    usable_freed.fetch_add(static_cast<std::int64_t>(usable), std::memory_order_relaxed);
  }
  std::free(p);
}

/// Prints, per `what` (n of them created while counting), the blocks
/// allocated by requested size, the blocks still held by usable size, and
/// the net usable bytes. Rows below one block in ten objects are left out.
inline void print(const char* what, std::int64_t n) {
  const auto per = [n](std::int64_t v) { return static_cast<double>(v) / static_cast<double>(n); };
  const auto shown = [n](std::int64_t count) { return count * 10 >= n || -count * 10 >= n; };
  std::printf("heap blocks allocated while creating (by requested size, per %s):\n", what);
  std::int64_t blocks = 0;
  for (std::size_t s = 0; s <= max_tracked_size; ++s) {
    const std::int64_t count = allocated_by_size[s].load();
    blocks += count;
    if (shown(count)) {
      std::printf("  %s%4zu bytes: %.2f\n", s == max_tracked_size ? ">=" : "  ", s, per(count));
    }
  }
  std::printf("heap blocks still held (by usable size, per %s):\n", what);
  for (std::size_t s = 0; s <= max_tracked_size; ++s) {
    const std::int64_t count = live_by_usable_size[s].load();
    if (shown(count)) {
      std::printf("  %s%4zu bytes: %.2f\n", s == max_tracked_size ? ">=" : "  ", s, per(count));
    }
  }
  std::printf("  blocks allocated %.2f, freed %.2f; net usable bytes %.0f per %s\n", per(blocks),
              per(freed.load()), per(usable_allocated.load() - usable_freed.load()), what);
}

}  // namespace heap_count

void* operator new(std::size_t n) { return heap_count::allocate(n); }
void* operator new[](std::size_t n) { return heap_count::allocate(n); }
void operator delete(void* p) noexcept { heap_count::release(p); }
void operator delete[](void* p) noexcept { heap_count::release(p); }
void operator delete(void* p, std::size_t /*n*/) noexcept { heap_count::release(p); }
void operator delete[](void* p, std::size_t /*n*/) noexcept { heap_count::release(p); }
