// The runtime's names: local and global maps, and which names each process
// holds, so that its names are released when it exits.
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "peeper/runtime/names.hpp"

namespace peeper::detail {

class process;

class name_table {
 public:
  /// See peeper::register_name.
  bool add(const name& n, const pid& p);
  /// See peeper::unregister_name.
  bool remove(const name& n);
  /// The live process holding `n`, or the null pid.
  pid find(const name& n) const;
  /// Releases every name `p` holds (called as it exits).
  void release_all(process& p);
  /// The names process `id` holds, for logs ("" if none).
  std::string describe(std::uint64_t id) const;

 private:
  std::unordered_map<std::string, pid>& map_for(name::scope s) {
    return s == name::scope::global ? global_ : local_;
  }
  const std::unordered_map<std::string, pid>& map_for(name::scope s) const {
    return s == name::scope::global ? global_ : local_;
  }

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, pid> local_;                 // guarded by mutex_
  std::unordered_map<std::string, pid> global_;                // guarded by mutex_
  std::unordered_map<std::uint64_t, std::vector<name>> held_;  // guarded by mutex_
};

}  // namespace peeper::detail
