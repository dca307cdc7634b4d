#pragma once
// The heap of the runtime's small blocks: a process with its behaviour (one
// block, see process.hpp), a Peeper instance's core, and the envelopes that
// messages and signals travel in (envelope.hpp).
//
// Why not plain malloc: glibc gives each scheduler thread its own arena and
// grows it one 4 KiB page at a time, each an mprotect under the address
// space's lock, which the other threads' page faults wait for. A million
// instance starts made a quarter of a million such calls and spent half their
// time there. Here a block comes from a slab of its size class (8-byte steps
// up to 1 KiB; bigger blocks go to ::operator new), and each thread
// keeps a few free blocks of each class, so a spawn or an exit takes no lock.
//
// Memory given back by ended processes is kept for new blocks of its class
// and is not returned to the system. Under AddressSanitizer every block goes
// to ::operator new, so that ASan keeps watching process lifetimes.
#include <cstddef>
#include <cstdint>
#include <new>

namespace peeper::detail::block_pool {

inline constexpr std::size_t step = 8;      // every block size is a multiple of it
inline constexpr std::size_t granule = 16;  // blocks whose size is a multiple of it are 16-aligned
inline constexpr std::size_t largest = 1024;

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool enabled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool enabled = false;
#else
inline constexpr bool enabled = true;
#endif
#else
inline constexpr bool enabled = true;
#endif

/// The size class of a block of `size` bytes aligned to `align` (at most 16;
/// the size is rounded up to a multiple of 8 if `align` is 8 or less, else of
/// 16): 1..128 for pooled blocks, 0 for those left to ::operator new. An
/// 8-byte step saves 8 bytes on a block that needs no more than 8-alignment.
constexpr std::uint8_t class_of(std::size_t size, std::size_t align = granule) noexcept {
  if (!enabled || size == 0 || size > largest) return 0;
  const std::size_t unit = align <= step ? step : granule;
  return static_cast<std::uint8_t>((size + unit - 1) / unit * unit / step);
}

/// A block of `size` bytes from class `cls` (class_of(size, align)), aligned
/// to `align`. Any thread. Throws std::bad_alloc.
void* allocate(std::uint8_t cls, std::size_t size);

/// Gives back a block that allocate(cls, ...) returned, from any thread.
void deallocate(std::uint8_t cls, void* block) noexcept;

/// A standard allocator over the pool (std::allocate_shared uses it for a
/// Peeper instance's core and its count).
template <class T>
struct allocator {
  using value_type = T;
  allocator() noexcept = default;
  template <class U>
  allocator(const allocator<U>& /*other*/) noexcept {}  // NOLINT(google-explicit-constructor)

  /// Throws std::bad_alloc (std::bad_array_new_length if n is too big to count).
  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= granule, "the pool aligns blocks to 16 bytes only");
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(
        block_pool::allocate(class_of(n * sizeof(T), alignof(T)), n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    block_pool::deallocate(class_of(n * sizeof(T), alignof(T)), p);
  }
  template <class U>
  bool operator==(const allocator<U>& /*other*/) const noexcept {
    return true;
  }
};

}  // namespace peeper::detail::block_pool
