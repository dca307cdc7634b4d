// Private to peeper::dist: the little UTF-8 the codec needs (atoms are UTF-8 on the wire;
// charlists of code points become UTF-8 strings).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace peeper::dist::detail {

// The number of code points in `s` if it is valid UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF), else nullopt.
std::optional<std::size_t> utf8_length(std::string_view s) noexcept;

// Appends code point `c` to `out`; false (and nothing appended) for a surrogate or a value above
// U+10FFFF.
bool append_utf8(std::string& out, std::uint32_t c);

// `latin1` (one code point 0..255 per byte) as UTF-8.
std::string latin1_to_utf8(std::string_view latin1);

}  // namespace peeper::dist::detail
