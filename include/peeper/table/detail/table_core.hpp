// The untyped part of a table: identity, access rights, ownership, heir,
// name and deletion. Typed storage (table_store<K, V>) derives from it.
//
// Threading: the hot fields (owner id, deleted flag) are atomics read without
// a lock by every operation; ownership changes (give_away, set_heir, the
// owner's death, destroy) are serialised by a mutex that no read or write of
// the table's contents ever takes.
//
// Lifetime: handles hold the core by shared_ptr, and so does the exit hook
// installed in the owning process, so that a table nobody holds a handle to
// lives on, as in ETS, until its owner dies. Deleting a table frees its
// contents at once; the small core lives until its last handle goes.
#pragma once

#include <any>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "peeper/runtime/detail/process.hpp"
#include "peeper/runtime/detail/type_id.hpp"
#include "peeper/runtime/pid.hpp"
#include "peeper/table/errors.hpp"
#include "peeper/table/info.hpp"
#include "peeper/table/options.hpp"

namespace peeper::detail {

class runtime_core;

/// The key and value types of a table, for checked conversions.
struct table_types {
  type_id_t key = nullptr;
  type_id_t value = nullptr;
  const std::string* key_name = nullptr;
  const std::string* value_name = nullptr;

  template <class K, class V>
  static table_types of() {
    return {type_id<K>(), type_id<V>(), &type_name<K>(), &type_name<V>()};
  }
  [[nodiscard]] bool same(const table_types& o) const noexcept {
    return key == o.key && value == o.value;
  }
  /// "<K, V>".
  [[nodiscard]] std::string to_string() const;
};

class table_core : public std::enable_shared_from_this<table_core> {
 public:
  table_core(table_options options, table_types types);
  table_core(const table_core&) = delete;
  table_core& operator=(const table_core&) = delete;
  virtual ~table_core();

  /// Makes the calling process the owner: registers the name (throws
  /// table_error name_taken), records the heir (throws bad_target for a heir
  /// in another runtime) and follows the owner's exit. Called once, by
  /// make_table, which has already checked that it runs in a process.
  void start(process& creator);

  [[nodiscard]] table_kind kind() const noexcept { return kind_; }
  [[nodiscard]] table_access access() const noexcept { return access_; }
  [[nodiscard]] const table_types& types() const noexcept { return types_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] bool deleted() const noexcept { return deleted_.load(std::memory_order_acquire); }
  [[nodiscard]] pid owner() const;
  [[nodiscard]] table_info info() const;
  /// Objects in the table; throws table_error deleted / access_denied.
  [[nodiscard]] std::size_t size() const {
    check_read();
    return object_count();
  }

  void give_away(const pid& to, std::any data);
  void set_heir(const pid& heir, std::any data);
  void destroy();

  // ---- for the layers above (Peeper keeps its workers' tables) -------------
  /// The heir and its data (a null pid: none). Throws table_error deleted.
  [[nodiscard]] std::pair<pid, std::any> heir() const;
  /// True if `p` owns the table (and it is not deleted).
  [[nodiscard]] bool owned_by(const process& p) const;
  /// On: when the owner exits and no heir takes the table, it is kept
  /// (still naming the dead owner, followed by nobody) instead of deleted,
  /// for whoever holds a handle to take_over() or discard(). Owner only;
  /// throws table_error not_owner, deleted.
  void keep_when_orphaned(bool on);
  /// Makes the calling process the owner at once, without a table_transfer
  /// message, whoever owned the table (a restarted worker taking back what
  /// its predecessor kept); turns keep_when_orphaned off. Returns false if the
  /// table is deleted. Throws not_in_process outside a process.
  bool take_over();
  /// Deletes the table whoever calls (a kept table nobody will take back).
  /// Nothing if it is already deleted.
  void discard() noexcept;

  // ---- checks made by every operation (any thread) ------------------------
  [[nodiscard]] bool caller_is_owner() const noexcept {
    const process* me = current();
    return me != nullptr && me->id() == owner_id_.load(std::memory_order_acquire);
  }
  void check_read() const {
    if (access_ == table_access::private_ && !caller_is_owner()) deny("read");
  }
  void check_write() const {
    if (access_ != table_access::public_ && !caller_is_owner()) deny("write");
  }
  /// Throws table_error deleted once the table is deleted. Called with a
  /// shard lock held: deletion marks the table before it clears the shards.
  void check_live() const {
    if (deleted_.load(std::memory_order_acquire)) throw_deleted();
  }
  [[noreturn]] void deny(const char* what) const;
  [[noreturn]] void throw_deleted() const;
  [[noreturn]] void fail(table_errc code, const std::string& what) const;

 protected:
  /// Objects in the table, read atomically; throws table_error deleted.
  [[nodiscard]] virtual std::size_t object_count() const = 0;
  /// Frees the contents; called once, after the table is marked deleted.
  virtual void clear_data() noexcept = 0;
  [[nodiscard]] bool read_concurrency() const noexcept { return read_concurrency_; }
  [[nodiscard]] bool write_concurrency() const noexcept { return write_concurrency_; }
  [[nodiscard]] virtual std::size_t shard_count() const noexcept { return 1; }

 private:
  void on_owner_exit(std::uint64_t dying);
  void adopt(std::uint64_t new_owner);
  void set_owner_locked(pid p);
  bool hand_to_locked(const pid& to);
  void follow_owner_locked(std::uint64_t owner);
  void drop_hook_locked();
  void retire_locked();
  [[nodiscard]] std::string describe() const;
  void check_same_runtime(const pid& p, const char* what) const;

  const table_kind kind_;
  const table_access access_;
  const bool read_concurrency_;
  const bool write_concurrency_;
  const table_types types_;
  const std::string name_;
  std::atomic<std::uint64_t> owner_id_{0};
  std::atomic<bool> deleted_{false};

  // Ownership state, guarded by meta_.
  mutable std::mutex meta_;
  runtime_core* rt_ = nullptr;
  pid owner_;
  pid heir_;
  std::any heir_data_;
  std::uint64_t hook_id_ = 0;     // the exit hook following the owner...
  std::uint64_t hook_owner_ = 0;  // ...installed in this process (0: none)
  table_heir initial_heir_;       // from the options, until start()
  bool keep_orphaned_ = false;    // see keep_when_orphaned
};

}  // namespace peeper::detail
