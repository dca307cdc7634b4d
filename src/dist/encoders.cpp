// The encoders of message types peeper::send may carry to a remote pid (remote.hpp).
#include <mutex>
#include <unordered_map>

#include "peeper/dist/remote.hpp"

namespace peeper::dist::detail {

namespace {

struct encoder_table {
  std::mutex mutex;
  std::unordered_map<peeper::detail::type_id_t, message_encoder> encoders;
};

encoder_table& table() {
  static encoder_table t;
  return t;
}

}  // namespace

void add_encoder(peeper::detail::type_id_t type, message_encoder enc) {
  auto& t = table();
  std::lock_guard lock(t.mutex);
  t.encoders.try_emplace(type, enc);
}

message_encoder encoder_of(peeper::detail::type_id_t type) {
  auto& t = table();
  std::lock_guard lock(t.mutex);
  auto it = t.encoders.find(type);
  return it == t.encoders.end() ? nullptr : it->second;
}

}  // namespace peeper::dist::detail
