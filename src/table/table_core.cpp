// The untyped table: ownership, heir, hand-over on the owner's exit, and
// deletion (see table_core.hpp).
//
// How a table follows its owner: the owner process carries an exit hook
// holding the table. When the owner exits, the hook (on the owner's thread)
// either hands the table to the heir or deletes it. A hand-over (heir or
// give_away) records the new owner at once, then asks the new owner, through
// run_in, to install its own hook, then sends it table_transfer. run_in fails
// only if the new owner has already exited; if it is exiting, the install
// runs before its exit hooks, so the table is never left without a living
// owner's hook.
#include "peeper/table/detail/table_core.hpp"

#include <utility>

#include "peeper/runtime/detail/runtime_core.hpp"
#include "peeper/runtime/process.hpp"
#include "peeper/table/make_table.hpp"
#include "peeper/table/transfer.hpp"
#include "table/names.hpp"
#include "table/owners.hpp"

namespace peeper::detail {

std::string table_types::to_string() const { return "<" + *key_name + ", " + *value_name + ">"; }

void throw_unsupported_kind(table_kind kind, const table_types& types, const char* why) {
  throw table_error(table_errc::unsupported, std::string("make_table: a ") +
                                                 peeper::to_string(kind) + " of " +
                                                 types.to_string() + " is not possible: " + why);
}

table_core::table_core(table_options options, table_types types)
    : kind_(options.kind),
      access_(options.access),
      read_concurrency_(options.read_concurrency),
      write_concurrency_(options.write_concurrency && options.kind != table_kind::ordered_set),
      types_(types),
      name_(std::move(options.name)),
      initial_heir_(std::move(options.heir)) {}

table_core::~table_core() { unindex_owner(owner_id_.load(std::memory_order_acquire), this); }

void table_core::start(process& creator) {
  {
    std::lock_guard lock(meta_);
    rt_ = &creator.rt();
    set_owner_locked(creator.self());
    if (const pid heir = initial_heir_.process) {
      check_same_runtime(heir, "make_table: the heir");
      if (is_alive(heir)) {
        heir_ = heir;
        heir_data_ = std::move(initial_heir_.data);
      }
    }
    initial_heir_ = {};
  }
  // The name last but one: nobody can find the table before it is complete.
  if (!name_.empty()) register_table_name(*rt_, name_, shared_from_this());
  std::lock_guard lock(meta_);
  try {
    follow_owner_locked(creator.id());
  } catch (...) {
    if (!name_.empty()) unregister_table_name(*rt_, name_, this);
    throw;
  }
}

pid table_core::owner() const {
  std::lock_guard lock(meta_);
  if (deleted()) throw_deleted();
  return owner_;
}

table_info table_core::info() const {
  table_info out;
  {
    std::lock_guard lock(meta_);
    if (deleted()) throw_deleted();
    out.owner = owner_;
    out.heir = heir_;
  }
  out.kind = kind_;
  out.access = access_;
  out.name = name_;
  out.read_concurrency = read_concurrency_;
  out.write_concurrency = write_concurrency_;
  out.shards = shard_count();
  out.key_type = *types_.key_name;
  out.value_type = *types_.value_name;
  out.size = object_count();
  return out;
}

void table_core::give_away(const pid& to, std::any data) {
  const process* me = current();
  std::unique_lock lock(meta_);
  if (deleted()) throw_deleted();
  if (me == nullptr || me->id() != owner_id_.load(std::memory_order_acquire)) {
    fail(table_errc::not_owner,
         "give_away: " + describe() + " is owned by " + owner_.to_string() + ", not by the caller");
  }
  if (!to) fail(table_errc::bad_target, "give_away: null pid");
  check_same_runtime(to, "give_away: the target");
  if (to.id() == me->id()) {
    fail(table_errc::bad_target, "give_away: the target " + to.to_string() + " is the owner");
  }
  pid from = owner_;
  if (!hand_to_locked(to)) {
    fail(table_errc::bad_target, "give_away: the target " + to.to_string() + " is not alive");
  }
  drop_hook_locked();
  send(to, table_transfer{any_table(shared_from_this()), std::move(from), std::move(data)});
}

void table_core::set_heir(const pid& heir, std::any data) {
  const process* me = current();
  std::lock_guard lock(meta_);
  if (deleted()) throw_deleted();
  if (me == nullptr || me->id() != owner_id_.load(std::memory_order_acquire)) {
    fail(table_errc::not_owner,
         "set_heir: " + describe() + " is owned by " + owner_.to_string() + ", not by the caller");
  }
  if (heir) check_same_runtime(heir, "set_heir: the heir");
  if (!heir || !is_alive(heir)) {
    heir_ = pid();
    heir_data_.reset();
    return;
  }
  heir_ = heir;
  heir_data_ = std::move(data);
}

void table_core::destroy() {
  check_write();
  std::unique_lock lock(meta_);
  if (deleted()) throw_deleted();
  drop_hook_locked();
  retire_locked();
  lock.unlock();
  clear_data();
}

void table_core::on_owner_exit(std::uint64_t dying) {
  std::unique_lock lock(meta_);
  if (deleted() || owner_id_.load(std::memory_order_acquire) != dying) return;
  hook_id_ = 0;  // this hook is running: nothing to remove
  hook_owner_ = 0;
  if (heir_ && heir_.id() != dying) {
    pid from = owner_;
    pid heir = heir_;
    if (hand_to_locked(heir)) {
      // ETS keeps the heir: it is the owner now, so it has no effect until
      // the table is given away again.
      send(heir, table_transfer{any_table(shared_from_this()), std::move(from), heir_data_});
      return;
    }
  }
  if (keep_orphaned_) return;  // kept for whoever takes it over (see keep_when_orphaned)
  retire_locked();
  lock.unlock();
  clear_data();
}

std::pair<pid, std::any> table_core::heir() const {
  std::lock_guard lock(meta_);
  if (deleted()) throw_deleted();
  return {heir_, heir_data_};
}

bool table_core::owned_by(const process& p) const {
  std::lock_guard lock(meta_);
  return !deleted() && rt_ == &p.rt() && owner_id_.load(std::memory_order_acquire) == p.id();
}

void table_core::keep_when_orphaned(bool on) {
  const process* me = current();
  std::lock_guard lock(meta_);
  if (deleted()) throw_deleted();
  if (me == nullptr || me->id() != owner_id_.load(std::memory_order_acquire)) {
    fail(table_errc::not_owner, "keep_when_orphaned: " + describe() + " is owned by " +
                                    owner_.to_string() + ", not by the caller");
  }
  keep_orphaned_ = on;
}

bool table_core::take_over() {
  process& me = current_or_throw("take_over");
  std::lock_guard lock(meta_);
  if (deleted()) return false;
  keep_orphaned_ = false;
  if (owner_id_.load(std::memory_order_acquire) == me.id()) {
    if (hook_owner_ != me.id()) follow_owner_locked(me.id());
    return true;
  }
  if (hook_owner_ != 0) {
    // The previous owner still follows the table: its hook goes, in that
    // process (if it is exiting, before its exit hooks run; if it has
    // exited, the hook went with it). Should the hook run first, it finds
    // another owner and does nothing.
    run_in(owner_, [hook = hook_id_] { remove_exit_hook(hook); });
  }
  hook_id_ = 0;
  hook_owner_ = 0;
  set_owner_locked(me.self());
  follow_owner_locked(me.id());
  return true;
}

void table_core::discard() noexcept {
  std::unique_lock lock(meta_);
  if (deleted()) return;
  if (hook_owner_ != 0) {
    run_in(owner_, [hook = hook_id_] { remove_exit_hook(hook); });
    hook_id_ = 0;
    hook_owner_ = 0;
  }
  retire_locked();
  lock.unlock();
  clear_data();
}

void table_core::adopt(std::uint64_t new_owner) {
  std::lock_guard lock(meta_);
  // Given away again, or deleted, before the install ran: nothing to follow.
  if (deleted() || owner_id_.load(std::memory_order_acquire) != new_owner) return;
  if (hook_owner_ == new_owner) return;
  follow_owner_locked(new_owner);
}

bool table_core::hand_to_locked(const pid& to) {
  pid previous = owner_;
  set_owner_locked(to);
  const std::uint64_t id = to.id();
  bool installed = run_in(to, [table = shared_from_this(), id] {
    try {
      table->adopt(id);
    } catch (...) {
      // Only allocation can fail here; the table then stays owned, unfollowed.
    }
  });
  if (installed) return true;
  set_owner_locked(std::move(previous));
  return false;
}

void table_core::follow_owner_locked(std::uint64_t owner) {
  hook_id_ = add_exit_hook([self = shared_from_this(), owner](const exit_reason& /*reason*/) {
    self->on_owner_exit(owner);
  });
  hook_owner_ = owner;
}

void table_core::drop_hook_locked() {
  const process* me = current();
  if (hook_owner_ != 0 && me != nullptr && me->id() == hook_owner_) {
    remove_exit_hook(hook_id_);
  }
  hook_id_ = 0;
  hook_owner_ = 0;
}

void table_core::set_owner_locked(pid p) {
  const std::uint64_t from = owner_id_.load(std::memory_order_acquire);
  owner_ = std::move(p);
  owner_id_.store(owner_.id(), std::memory_order_release);
  reindex_owner(from, owner_.id(), shared_from_this());
}

void table_core::retire_locked() {
  deleted_.store(true, std::memory_order_release);
  unindex_owner(owner_id_.load(std::memory_order_acquire), this);
  if (!name_.empty() && rt_ != nullptr) unregister_table_name(*rt_, name_, this);
  heir_ = pid();
  heir_data_.reset();
}

void table_core::check_same_runtime(const pid& p, const char* what) const {
  if (p && &p.control_block()->rt() != rt_) {
    fail(table_errc::bad_target,
         std::string(what) + " " + p.to_string() + " belongs to another runtime");
  }
}

std::string table_core::describe() const {
  if (!name_.empty()) return "table '" + name_ + "'";
  return std::string("unnamed ") + peeper::to_string(kind_) + " table " + types_.to_string();
}

void table_core::deny(const char* what) const {
  pid owner;
  {
    std::lock_guard lock(meta_);
    owner = owner_;
  }
  const pid me = peeper::self();
  fail(table_errc::access_denied, std::string(what) + " denied: " + describe() + " is " +
                                      peeper::to_string(access_) + " and the caller (" +
                                      (me ? me.to_string() : "no process") + ") is not its owner " +
                                      owner.to_string());
}

void table_core::throw_deleted() const { fail(table_errc::deleted, describe() + " is deleted"); }

void table_core::fail(table_errc code, const std::string& what) const {
  throw table_error(code, what);
}

}  // namespace peeper::detail
