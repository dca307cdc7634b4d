// The runtime's block pool (see block_pool.hpp). Each size class has a list
// of free blocks and the unused end of its current slab, under its own lock;
// threads move blocks to and from it in batches.
#include "peeper/runtime/detail/block_pool.hpp"

#include <algorithm>
#include <array>
#include <mutex>

namespace peeper::detail::block_pool {
namespace {

constexpr std::size_t classes = largest / step;
constexpr std::uint16_t batch = 32;               // blocks a thread takes or gives back at once
constexpr std::uint16_t cache_limit = 2 * batch;  // free blocks a thread keeps per class
constexpr std::size_t first_slab = std::size_t{64} << 10U;
constexpr std::size_t last_slab = std::size_t{1} << 20U;

struct free_block {
  free_block* next;
};

free_block* last_of(free_block* list) noexcept {
  while (list->next != nullptr) list = list->next;
  return list;
}

// A slab begins with this header (16 bytes, so blocks stay aligned); the
// pool links its slabs, which it never frees, so they stay reachable.
struct alignas(granule) slab_header {
  slab_header* next;
};

struct size_class {
  std::mutex lock;
  free_block* free = nullptr;  // blocks threads gave back
  char* carve = nullptr;       // the current slab's unused end
  char* carve_end = nullptr;
  std::size_t next_slab = first_slab;  // slabs grow to last_slab as a class is used
};

class pool {
 public:
  // Up to `batch` blocks of class `cls` as a list; `n` receives their count.
  // Throws std::bad_alloc.
  free_block* take(std::size_t cls, std::uint16_t& n) {
    size_class& c = classes_[cls];
    const std::size_t size = cls * step;
    char* fresh = nullptr;
    {
      const std::lock_guard hold(c.lock);
      if (c.free != nullptr) {
        free_block* first = c.free;
        free_block* last = first;
        n = 1;
        while (n < batch && last->next != nullptr) {
          last = last->next;
          ++n;
        }
        c.free = last->next;
        last->next = nullptr;
        return first;
      }
      if (static_cast<std::size_t>(c.carve_end - c.carve) < size) new_slab(c, size);
      const auto fit = static_cast<std::size_t>(c.carve_end - c.carve) / size;
      n = static_cast<std::uint16_t>(std::min<std::size_t>(batch, fit));
      c.carve_end -= n * size;  // from the end
      fresh = c.carve_end;
    }
    // Linked outside the lock: writing the links is the memory's first touch,
    // and the page faults it takes would keep the other threads waiting.
    free_block* first = nullptr;
    for (std::size_t i = n; i-- > 0;) first = new (fresh + i * size) free_block{first};
    return first;  // in address order
  }

  // Takes back the list first..last of class `cls`.
  void give(std::size_t cls, free_block* first, free_block* last) noexcept {
    size_class& c = classes_[cls];
    const std::lock_guard hold(c.lock);
    last->next = c.free;
    c.free = first;
  }

 private:
  void new_slab(size_class& c, std::size_t size) {
    void* raw = ::operator new(c.next_slab);
    auto* header = new (raw) slab_header{nullptr};
    {
      const std::lock_guard hold(slabs_lock_);
      header->next = slabs_;
      slabs_ = header;
    }
    // The old slab's remainder, smaller than a block, is left unused. Blocks
    // are carved down from the end, trimmed to whole blocks: for a size that
    // is a multiple of 16 the end stays 16-aligned, and so do the blocks.
    c.carve = static_cast<char*>(raw) + sizeof(slab_header);
    c.carve_end = static_cast<char*>(raw) + c.next_slab;
    c.carve_end -= static_cast<std::size_t>(c.carve_end - c.carve) % size;
    c.next_slab = std::min(c.next_slab * 2, last_slab);
  }

  std::array<size_class, classes + 1> classes_;
  std::mutex slabs_lock_;
  slab_header* slabs_ = nullptr;
};

// Never destroyed: threads and static destructors give blocks back after main.
pool& the_pool() {
  static pool* const p = new pool;  // NOLINT(cppcoreguidelines-owning-memory)
  return *p;
}

// A thread's free blocks. It gives them all back as the thread ends; a block
// freed after that (by a later thread_local destructor) goes straight back.
struct thread_cache {
  std::array<free_block*, classes + 1> head{};
  std::array<std::uint16_t, classes + 1> count{};

  thread_cache() = default;
  thread_cache(const thread_cache&) = delete;
  thread_cache& operator=(const thread_cache&) = delete;
  ~thread_cache();
};

thread_local bool tl_cache_gone = false;
thread_local thread_cache tl_cache;

thread_cache::~thread_cache() {
  for (std::size_t cls = 1; cls <= classes; ++cls) {
    if (head[cls] != nullptr) the_pool().give(cls, head[cls], last_of(head[cls]));
  }
  tl_cache_gone = true;
}

}  // namespace

void* allocate(std::uint8_t cls, std::size_t size) {
  if (cls == 0) return ::operator new(size);
  if (tl_cache_gone) {
    std::uint16_t n = 0;
    free_block* list = the_pool().take(cls, n);
    if (list->next != nullptr) the_pool().give(cls, list->next, last_of(list->next));
    return list;
  }
  thread_cache& c = tl_cache;
  free_block*& head = c.head[cls];
  if (head == nullptr) head = the_pool().take(cls, c.count[cls]);
  free_block* b = head;
  head = b->next;
  --c.count[cls];
  return b;
}

void deallocate(std::uint8_t cls, void* block) noexcept {
  if (block == nullptr) return;
  if (cls == 0) {
    ::operator delete(block);
    return;
  }
  if (tl_cache_gone) {
    auto* b = new (block) free_block{nullptr};
    the_pool().give(cls, b, b);
    return;
  }
  thread_cache& c = tl_cache;
  free_block*& head = c.head[cls];
  head = new (block) free_block{head};
  if (++c.count[cls] <= cache_limit) return;
  free_block* first = head;
  free_block* last = first;
  for (std::uint16_t i = 1; i < batch; ++i) last = last->next;
  head = last->next;
  c.count[cls] -= batch;
  the_pool().give(cls, first, last);
}

}  // namespace peeper::detail::block_pool
