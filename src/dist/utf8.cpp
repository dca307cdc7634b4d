#include "dist/utf8.hpp"

namespace peeper::dist::detail {

std::optional<std::size_t> utf8_length(std::string_view s) noexcept {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<std::uint8_t>(s[i]);
    std::size_t n = 0;
    std::uint32_t c = 0;
    std::uint32_t min = 0;
    if (b0 < 0x80U) {
      n = 1;
      c = b0;
    } else if ((b0 & 0xE0U) == 0xC0U) {
      n = 2;
      c = b0 & 0x1FU;
      min = 0x80U;
    } else if ((b0 & 0xF0U) == 0xE0U) {
      n = 3;
      c = b0 & 0x0FU;
      min = 0x800U;
    } else if ((b0 & 0xF8U) == 0xF0U) {
      n = 4;
      c = b0 & 0x07U;
      min = 0x10000U;
    } else {
      return std::nullopt;
    }
    if (n > s.size() - i) {
      return std::nullopt;
    }
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<std::uint8_t>(s[i + k]);
      if ((b & 0xC0U) != 0x80U) {
        return std::nullopt;
      }
      c = (c << 6U) | (b & 0x3FU);
    }
    if (c < min || c > 0x10FFFFU || (c >= 0xD800U && c <= 0xDFFFU)) {
      return std::nullopt;
    }
    i += n;
    ++count;
  }
  return count;
}

bool append_utf8(std::string& out, std::uint32_t c) {
  if (c > 0x10FFFFU || (c >= 0xD800U && c <= 0xDFFFU)) {
    return false;
  }
  const auto byte = [](std::uint32_t v) { return static_cast<char>(static_cast<std::uint8_t>(v)); };
  if (c < 0x80U) {
    out += byte(c);
  } else if (c < 0x800U) {
    out += byte(0xC0U | (c >> 6U));
    out += byte(0x80U | (c & 0x3FU));
  } else if (c < 0x10000U) {
    out += byte(0xE0U | (c >> 12U));
    out += byte(0x80U | ((c >> 6U) & 0x3FU));
    out += byte(0x80U | (c & 0x3FU));
  } else {
    out += byte(0xF0U | (c >> 18U));
    out += byte(0x80U | ((c >> 12U) & 0x3FU));
    out += byte(0x80U | ((c >> 6U) & 0x3FU));
    out += byte(0x80U | (c & 0x3FU));
  }
  return true;
}

std::string latin1_to_utf8(std::string_view latin1) {
  std::string out;
  out.reserve(latin1.size());
  for (const char ch : latin1) {
    append_utf8(out, static_cast<std::uint8_t>(ch));
  }
  return out;
}

}  // namespace peeper::dist::detail
