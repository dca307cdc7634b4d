// The term codec of peeper::dist (peeper/dist/codec.hpp).
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <peeper/dist/codec.hpp>

namespace {

namespace dist = peeper::dist;

TEST(DistCodec, IntegerRoundTrip) {
  const auto bytes = dist::encode(42);
  EXPECT_EQ(bytes, (std::vector<char>{char(131), 'a', 42}));
  EXPECT_EQ(dist::decode<int>(bytes), 42);
}

TEST(DistCodec, TupleRoundTrip) {
  const auto value = std::tuple{dist::atom{"ok"}, std::string("hi"), std::vector<int>{1, 2}};
  EXPECT_EQ(dist::decode<decltype(value)>(dist::encode(value)), value);
  EXPECT_EQ(dist::decode<dist::term>(dist::encode(value)).to_string(), "{ok,<<\"hi\">>,[1,2]}");
}

}  // namespace
