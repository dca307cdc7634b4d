// The term decoder against malformed, truncated and hostile input: every failure is a
// decode_error (or nullopt from try_decode), never a crash, an out-of-bounds read (the asan
// preset runs this), an unbounded allocation or a stack overflow.
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <peeper/dist/codec.hpp>

#include "dist_golden_terms.hpp"

namespace {

namespace dist = peeper::dist;
using testing::HasSubstr;

std::vector<char> bytes_of(std::initializer_list<int> values) {
  std::vector<char> out;
  for (const int v : values) {
    out.push_back(static_cast<char>(v));
  }
  return out;
}

template <class T>
std::string decode_error_of(std::span<const char> bytes, const dist::decode_options& o = {}) {
  try {
    (void)dist::decode<T>(bytes, o);
  } catch (const dist::decode_error& e) {
    return e.what();
  }
  return "no error";
}

// Decodes `bytes` as several targets; each either succeeds or throws decode_error.
void decode_everything(std::span<const char> bytes) {
  const auto one = [&]<class T>(T* /*type*/) {
    try {
      (void)dist::decode<T>(bytes);
    } catch (const dist::decode_error&) {
    }
  };
  one(static_cast<dist::term*>(nullptr));
  one(static_cast<std::int64_t*>(nullptr));
  one(static_cast<std::string*>(nullptr));
  one(static_cast<std::vector<std::uint8_t>*>(nullptr));
  one(static_cast<std::map<std::string, std::vector<double>>*>(nullptr));
  one(static_cast<std::variant<dist::atom, dist::big_int, std::tuple<int, dist::term>>*>(nullptr));
  one(static_cast<std::tuple<dist::atom, std::tuple<dist::erl_pid, dist::term>, dist::term>*>(
      nullptr));
}

TEST(DistCodecRobustness, EveryTruncationOfEveryGoldenTermIsADecodeError) {
  for (const auto& g : dist_golden::all()) {
    const auto whole = g.span();
    for (std::size_t length = 0; length < whole.size(); ++length) {
      SCOPED_TRACE(std::string(g.name) + " cut at " + std::to_string(length));
      EXPECT_THROW((void)dist::decode<dist::term>(whole.first(length)), dist::decode_error);
      EXPECT_FALSE(dist::try_decode<dist::term>(whole.first(length)));
      decode_everything(whole.first(length));
    }
  }
}

TEST(DistCodecRobustness, EverySingleByteChangeOfEveryGoldenTermIsSafe) {
  // Each byte set to a few values that matter (0, 1, lengths' high bytes, every tag).
  std::vector<int> values = {0, 1, 2, 0x7F, 0x80, 0xFE, 0xFF};
  for (int tag = 'C'; tag <= 'z'; ++tag) {
    values.push_back(tag);
  }
  for (const auto& g : dist_golden::all()) {
    if (g.bytes.size() > 64) {
      continue;  // big_large and tuple_large: long, and their bytes repeat the same patterns
    }
    std::vector<char> bytes(g.span().begin(), g.span().end());
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      const char original = bytes[i];
      for (const int v : values) {
        bytes[i] = static_cast<char>(v);
        decode_everything(bytes);
      }
      bytes[i] = original;
    }
  }
}

// `levels` nested containers around the atom x, built with `open` for each level.
std::vector<char> nested(std::size_t levels, std::initializer_list<int> open,
                         std::initializer_list<int> close = {}) {
  std::vector<char> out{static_cast<char>(131)};
  for (std::size_t i = 0; i < levels; ++i) {
    for (const int b : open) {
      out.push_back(static_cast<char>(b));
    }
  }
  for (const int b : {int{'w'}, 1, int{'x'}}) {
    out.push_back(static_cast<char>(b));
  }
  for (std::size_t i = 0; i < levels; ++i) {
    for (const int b : close) {
      out.push_back(static_cast<char>(b));
    }
  }
  return out;
}

TEST(DistCodecRobustness, NestingIsLimited) {
  const std::size_t limit = dist::term_reader::default_max_depth;
  // {{{...x...}}}: at the limit it decodes (and destroys) fine; one more level is an error.
  const auto at_limit = nested(limit, {'h', 1});
  EXPECT_EQ(dist::decode<dist::term>(at_limit).to_string().size(), 2 * limit + 1);
  EXPECT_THAT(decode_error_of<dist::term>(nested(limit + 1, {'h', 1})),
              HasSubstr("nested deeper than 256 levels"));
  // Hostile depth: a million levels, as lists, tuples, maps and improper-list tails.
  constexpr std::size_t hostile = 1'000'000;
  EXPECT_THAT(decode_error_of<dist::term>(nested(hostile, {'h', 1})), HasSubstr("nested deeper"));
  EXPECT_THAT(decode_error_of<dist::term>(nested(hostile, {'l', 0, 0, 0, 1}, {'j'})),
              HasSubstr("nested deeper"));
  EXPECT_THAT(decode_error_of<dist::term>(nested(hostile, {'t', 0, 0, 0, 1, 'a', 0})),
              HasSubstr("nested deeper"));
  EXPECT_THAT(decode_error_of<dist::term>(nested(hostile, {'l', 0, 0, 0, 1, 'a', 0})),
              HasSubstr("nested deeper"));  // [0 | [0 | [0 | ...]]]
  EXPECT_THAT(decode_error_of<std::vector<int>>(nested(hostile, {'l', 0, 0, 0, 1}, {'j'})),
              HasSubstr("nested deeper"));
  // The limit is an option.
  EXPECT_NO_THROW((void)dist::decode<dist::term>(nested(10, {'h', 1}), {.max_depth = 10}));
  EXPECT_THROW((void)dist::decode<dist::term>(nested(11, {'h', 1}), {.max_depth = 10}),
               dist::decode_error);
  // Deep but valid data in a long flat list is fine: width is not depth.
  std::vector<int> wide(100'000, 7);
  EXPECT_EQ(dist::decode<std::vector<int>>(dist::encode(wide)), wide);
}

TEST(DistCodecRobustness, HugeDeclaredSizesFailWithoutAllocating) {
  // Each declares far more than the bytes that follow.
  EXPECT_THAT(decode_error_of<dist::term>(bytes_of({131, 'l', 0xFF, 0xFF, 0xFF, 0xFF, 'j'})),
              HasSubstr("truncated"));
  EXPECT_THAT(decode_error_of<dist::term>(bytes_of({131, 'i', 0xFF, 0xFF, 0xFF, 0xFF})),
              HasSubstr("truncated"));
  EXPECT_THAT(decode_error_of<dist::term>(bytes_of({131, 't', 0x80, 0, 0, 0, 'a', 1})),
              HasSubstr("truncated"));
  EXPECT_THAT(decode_error_of<dist::term>(bytes_of({131, 'm', 0xFF, 0xFF, 0xFF, 0xFF, 1})),
              HasSubstr("truncated"));
  EXPECT_THAT(decode_error_of<dist::term>(bytes_of({131, 'k', 0xFF, 0xFF, 1})),
              HasSubstr("truncated"));
  EXPECT_THAT(decode_error_of<dist::term>(bytes_of({131, 'o', 0xFF, 0xFF, 0xFF, 0xFF, 0, 1})),
              HasSubstr("truncated"));
  EXPECT_THAT(decode_error_of<dist::term>(bytes_of({131, 'M', 0xFF, 0xFF, 0xFF, 0xFF, 8})),
              HasSubstr("truncated"));
  EXPECT_THAT(decode_error_of<dist::term>(bytes_of({131, 'p', 0xFF, 0xFF, 0xFF, 0xFF})),
              HasSubstr("truncated"));
  EXPECT_THAT(decode_error_of<std::string>(bytes_of({131, 'v', 0xFF, 0xFF, 'a'})),
              HasSubstr("truncated"));
}

TEST(DistCodecRobustness, UnknownAndUnsupportedTags) {
  for (const int tag : std::vector<int>{0, 'A', 'C', 'D', 'N', 'P', 'R', 'u', 'y', 'z', 200, 255}) {
    SCOPED_TRACE(tag);
    EXPECT_THAT(decode_error_of<dist::term>(bytes_of({131, tag, 0, 0, 0, 0, 0, 0})),
                HasSubstr("malformed term at byte 1"));
  }
}

TEST(DistCodecRobustness, MalformedAtoms) {
  // ATOM_EXT is Latin-1: at most 255 bytes.
  std::vector<char> long_latin1 = bytes_of({131, 'd', 1, 0});
  long_latin1.resize(long_latin1.size() + 256, 'a');
  EXPECT_THAT(decode_error_of<dist::atom>(long_latin1), HasSubstr("atom of 256 bytes"));
  // UTF-8 atoms: valid UTF-8, at most 255 characters.
  EXPECT_THAT(decode_error_of<dist::atom>(bytes_of({131, 'w', 2, 0xC3, 0x28})),
              HasSubstr("not valid UTF-8"));
  EXPECT_THAT(decode_error_of<dist::atom>(bytes_of({131, 'w', 3, 0xED, 0xA0, 0x80})),
              HasSubstr("not valid UTF-8"));  // a surrogate
  std::vector<char> long_utf8 = bytes_of({131, 'v', 1, 0});
  long_utf8.resize(long_utf8.size() + 256, 'a');
  EXPECT_THAT(decode_error_of<dist::atom>(long_utf8), HasSubstr("longer than 255 characters"));
  // Latin-1 atoms with every byte >= 0x80 (255 of them: 510 bytes of UTF-8) decode fine.
  std::vector<char> high_latin1 = bytes_of({131, 'd', 0, 255});
  high_latin1.resize(high_latin1.size() + 255, static_cast<char>(0xE9));
  EXPECT_EQ(dist::decode<dist::atom>(high_latin1).name.size(), 510U);
  // ATOM_UTF8_EXT and SMALL_ATOM_EXT, which OTP 25 does not write but may read.
  EXPECT_EQ(dist::decode<dist::atom>(bytes_of({131, 'v', 0, 2, 'o', 'k'})).name, "ok");
  EXPECT_EQ(dist::decode<dist::atom>(bytes_of({131, 's', 2, 'o', 'k'})).name, "ok");
}

TEST(DistCodecRobustness, OlderPidAndReferenceFormats) {
  // PID_EXT: node, ID, Serial, Creation (1 byte).
  EXPECT_EQ(dist::decode<dist::erl_pid>(
                bytes_of({131, 'g', 's', 3, 'a', '@', 'b', 0, 0, 0, 9, 0, 0, 0, 1, 2})),
            (dist::erl_pid{"a@b", 9, 1, 2}));
  // REFERENCE_EXT: node, one ID, Creation (1 byte).
  EXPECT_EQ(dist::decode<dist::erl_ref>(bytes_of({131, 'e', 's', 3, 'a', '@', 'b', 0, 0, 0, 9, 1})),
            (dist::erl_ref{"a@b", 1, {9}}));
  // NEW_REFERENCE_EXT: Len, node, Creation (1 byte), IDs.
  EXPECT_EQ(dist::decode<dist::erl_ref>(
                bytes_of({131, 'r', 0, 2, 's', 3, 'a', '@', 'b', 3, 0, 0, 0, 7, 0, 0, 0, 8})),
            (dist::erl_ref{"a@b", 3, {7, 8}}));
  // A reference with 0 or 6 ids, and a pid whose node is not an atom.
  EXPECT_THAT(decode_error_of<dist::erl_ref>(bytes_of({131, 'Z', 0, 0, 's', 1, 'a', 0, 0, 0, 1})),
              HasSubstr("0 id words"));
  std::vector<char> six = bytes_of({131, 'Z', 0, 6, 's', 1, 'a', 0, 0, 0, 1});
  six.resize(six.size() + 24, 0);
  EXPECT_THAT(decode_error_of<dist::erl_ref>(six), HasSubstr("6 id words"));
  EXPECT_THAT(decode_error_of<dist::erl_pid>(
                  bytes_of({131, 'X', 'a', 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1})),
              HasSubstr("node name is not an atom"));
}

TEST(DistCodecRobustness, IntegerAndFloatEdgeCases) {
  // A bignum with high zero bytes still fits.
  EXPECT_EQ(dist::decode<int>(bytes_of({131, 'n', 9, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0})), -5);
  // "Negative zero" is zero.
  EXPECT_EQ(dist::decode<unsigned>(bytes_of({131, 'n', 1, 1, 0})), 0U);
  EXPECT_EQ(dist::decode<dist::term>(bytes_of({131, 'n', 0, 1})), dist::term(0));
  // FLOAT_EXT filling all 31 bytes (no NUL): read within them.
  std::vector<char> full = bytes_of({131, 'c'});
  const std::string text = "1.50000000000000000000000000000";
  full.insert(full.end(), text.begin(), text.end());
  ASSERT_EQ(full.size(), 33U);
  EXPECT_EQ(dist::decode<double>(full), 1.5);
  std::vector<char> garbage = bytes_of({131, 'c'});
  garbage.resize(33, 'x');
  EXPECT_THAT(decode_error_of<double>(garbage), HasSubstr("malformed FLOAT_EXT"));
}

TEST(DistCodecRobustness, BitstringsAreNotBinaries) {
  EXPECT_THAT(decode_error_of<dist::binary>(dist_golden::get("bitstring").span()),
              HasSubstr("expected binary, found a bitstring"));
  EXPECT_THAT(decode_error_of<dist::term>(bytes_of({131, 'M', 0, 0, 0, 1, 9, 0})),
              HasSubstr("malformed BIT_BINARY_EXT"));
}

TEST(DistCodecRobustness, AListOfNoElementsIsItsTail) {
  // [ | 106] is 106 and [ | []] is []: LIST_EXT with length 0, which Erlang never writes.
  // (Found by the fuzzer: the term decoded as an improper list that encoded differently.)
  const auto tail_int = bytes_of({131, 'l', 0, 0, 0, 0, 'a', 106});
  EXPECT_EQ(dist::decode<dist::term>(tail_int), dist::term(106));
  EXPECT_EQ(dist::decode<int>(tail_int), 106);
  const auto tail_nil = bytes_of({131, 'h', 2, 'l', 0, 0, 0, 0, 'j', 'a', 1});
  EXPECT_EQ((dist::decode<std::tuple<std::vector<int>, int>>(tail_nil)),
            (std::tuple{std::vector<int>{}, 1}));
  EXPECT_EQ(dist::decode<dist::term>(tail_nil).to_string(), "{[],1}");
  const auto inner = bytes_of({131, 'l', 0, 0, 0, 1, 'a', 1, 'l', 0, 0, 0, 0, 'a', 2});
  EXPECT_EQ(dist::decode<dist::term>(inner).to_string(), "[1|2]");
}

TEST(DistCodecRobustness, RewindOnlyBackwards) {
  const auto bytes = dist::encode(std::tuple{1, 2});
  dist::term_reader r(bytes);
  r.read_version();
  r.read_tuple_header(2);
  const std::size_t second = r.position();
  EXPECT_EQ(r.read<int>(), 1);
  EXPECT_THROW(r.rewind(r.position() + 1), std::out_of_range);
  r.rewind(second - 1);  // into the middle of the tuple header: checked again, not trusted
  EXPECT_THROW((void)r.read<int>(), dist::decode_error);
}

}  // namespace
