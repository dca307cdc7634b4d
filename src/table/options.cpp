// Names of the table enums, and the shard count of a hash table.
#include "peeper/table/options.hpp"

#include <algorithm>
#include <bit>

#include "peeper/table/detail/hash_table.hpp"
#include "peeper/table/errors.hpp"

namespace peeper {

const char* to_string(table_kind kind) noexcept {
  switch (kind) {
    case table_kind::set:
      return "set";
    case table_kind::ordered_set:
      return "ordered_set";
    case table_kind::bag:
      return "bag";
    case table_kind::duplicate_bag:
      return "duplicate_bag";
  }
  return "unknown";
}

const char* to_string(table_access access) noexcept {
  switch (access) {
    case table_access::public_:
      return "public";
    case table_access::protected_:
      return "protected";
    case table_access::private_:
      return "private";
  }
  return "unknown";
}

const char* to_string(table_errc code) noexcept {
  switch (code) {
    case table_errc::access_denied:
      return "access_denied";
    case table_errc::deleted:
      return "deleted";
    case table_errc::name_taken:
      return "name_taken";
    case table_errc::bad_type:
      return "bad_type";
    case table_errc::bad_key:
      return "bad_key";
    case table_errc::not_owner:
      return "not_owner";
    case table_errc::bad_target:
      return "bad_target";
    case table_errc::unsupported:
      return "unsupported";
  }
  return "unknown";
}

namespace detail {

std::size_t shard_count_for(const table_options& options) noexcept {
  constexpr std::size_t default_shards = 16;
  constexpr std::size_t max_shards = 1024;
  if (!options.write_concurrency || options.kind == table_kind::ordered_set) return 1;
  const std::size_t wanted = options.shards == 0 ? default_shards : options.shards;
  return std::bit_ceil(std::min(wanted, max_shards));
}

}  // namespace detail

}  // namespace peeper
