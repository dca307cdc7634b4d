#include "dist/ei_support.hpp"

namespace peeper::dist::detail {

void ensure_ei_initialized() noexcept {
  // ei_init() sets up ei's internal state (locks, the connection tables); once suffices.
  [[maybe_unused]] static const int once = ei_init();
}

}  // namespace peeper::dist::detail
