// The term codec of peeper::dist (peeper/dist/codec.hpp): typed mappings both ways, against
// Erlang's own encodings (tests/dist_golden_terms.hpp) and round trips; user mappings; errors.
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <peeper/dist/codec.hpp>

#include "dist_golden_terms.hpp"

namespace dist = peeper::dist;
using dist_golden::get;
using testing::HasSubstr;

// User types, declared the two ways mapping.hpp offers.
struct point {
  int x = 0;
  int y = 0;
  friend bool operator==(const point&, const point&) = default;
};
template <>
struct peeper::dist::term_mapping<point> {
  static constexpr std::string_view tag = "point";
  static constexpr auto fields = std::make_tuple(&point::x, &point::y);
};

struct size2 {
  double w = 0;
  double h = 0;
  friend bool operator==(const size2&, const size2&) = default;
};
template <>
struct peeper::dist::term_mapping<size2> {
  static constexpr auto fields = std::make_tuple(&size2::w, &size2::h);
};

struct get_request {
  friend bool operator==(const get_request&, const get_request&) = default;
};
template <>
struct peeper::dist::term_mapping<get_request> {
  static constexpr std::string_view tag = "get";
};

// A nested, tagged user type with std members.
struct account {
  std::string owner;
  std::vector<point> points;
  std::optional<std::int64_t> limit;
  friend bool operator==(const account&, const account&) = default;
};
template <>
struct peeper::dist::term_mapping<account> {
  static constexpr std::string_view tag = "account";
  static constexpr auto fields =
      std::make_tuple(&account::owner, &account::points, &account::limit);
};

// Custom form: a temperature sent as {celsius, Float}, also accepted as a bare integer.
struct celsius {
  double degrees = 0;
  friend bool operator==(const celsius&, const celsius&) = default;
};
template <>
struct peeper::dist::term_mapping<celsius> {
  static void write(term_writer& w, const celsius& c) {
    w.write_tuple_header(2);
    w.write_atom("celsius");
    w.write_double(c.degrees);
  }
  static celsius read(term_reader& r) {
    if (r.peek() == term_kind::integer) {
      return celsius{static_cast<double>(r.read_int64(-273, 1'000'000))};
    }
    r.read_tuple_header(2);
    r.expect_atom("celsius");
    const std::size_t at = r.position();
    const double d = r.read_double();
    if (d < -273.15) {
      r.rewind(at);
      r.fail("a temperature above absolute zero");
    }
    return celsius{d};
  }
};

namespace {

template <class T>
T round_trip(const T& value) {
  return dist::decode<T>(dist::encode(value));
}

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

// ---- integers ------------------------------------------------------------------------------

TEST(DistCodecIntegers, DecodeErlangEncodings) {
  EXPECT_EQ(dist::decode<int>(get("small_int").span()), 42);
  EXPECT_EQ(dist::decode<std::uint8_t>(get("int_255").span()), 255);
  EXPECT_EQ(dist::decode<std::int16_t>(get("int_256").span()), 256);
  EXPECT_EQ(dist::decode<std::int8_t>(get("int_neg1").span()), -1);
  EXPECT_EQ(dist::decode<std::int32_t>(get("int32_max").span()), 2147483647);
  EXPECT_EQ(dist::decode<std::int32_t>(get("int32_min").span()),
            std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(dist::decode<std::uint32_t>(get("int32_max_plus1").span()), 2147483648U);
  EXPECT_EQ(dist::decode<std::int64_t>(get("int64_max").span()),
            std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(dist::decode<std::int64_t>(get("int64_min").span()),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(dist::decode<std::uint64_t>(get("uint64_max").span()),
            std::numeric_limits<std::uint64_t>::max());
}

TEST(DistCodecIntegers, EncodeAsErlangDoes) {
  const auto same = [](auto value, std::string_view golden) {
    const auto expected = get(golden).span();
    EXPECT_EQ(dist::encode(value), std::vector<char>(expected.begin(), expected.end())) << golden;
  };
  same(42, "small_int");
  same(255U, "int_255");
  same(std::int16_t{256}, "int_256");
  same(-1L, "int_neg1");
  same(2147483647, "int32_max");
  same(std::numeric_limits<std::int32_t>::min(), "int32_min");
  same(std::int64_t{2147483648}, "int32_max_plus1");
  same(std::numeric_limits<std::int64_t>::max(), "int64_max");
  same(std::numeric_limits<std::int64_t>::min(), "int64_min");
  same(std::numeric_limits<std::uint64_t>::max(), "uint64_max");
  same(dist::big_int::from_string("18446744073709551616"), "uint64_max_plus1");
  same(dist::big_int::from_string("-123456789012345678901234567890"), "big_neg");
}

TEST(DistCodecIntegers, BigIntegersBothSigns) {
  const auto beyond = dist::decode<dist::big_int>(get("uint64_max_plus1").span());
  EXPECT_EQ(beyond.to_string(), "18446744073709551616");
  EXPECT_FALSE(beyond.to_uint64());
  const auto negative = dist::decode<dist::big_int>(get("big_neg").span());
  EXPECT_TRUE(negative.negative());
  EXPECT_EQ(negative.to_string(), "-123456789012345678901234567890");
  // 1 bsl 2100 needs 263 bytes: LARGE_BIG_EXT.
  const auto large = dist::decode<dist::big_int>(get("big_large").span());
  EXPECT_EQ(large.magnitude().size(), 263U);
  EXPECT_EQ(large.magnitude().back(), 0x10);
  const auto large_bytes = get("big_large").span();
  EXPECT_EQ(dist::encode(large), std::vector<char>(large_bytes.begin(), large_bytes.end()));
  // Small values are big_ints too.
  EXPECT_EQ(dist::decode<dist::big_int>(get("int_neg1").span()), dist::big_int(-1));
  EXPECT_EQ(round_trip(dist::big_int(std::numeric_limits<std::int64_t>::min())),
            dist::big_int(std::numeric_limits<std::int64_t>::min()));
  EXPECT_LT(dist::big_int::from_string("-99999999999999999999999"), dist::big_int(-5));
  EXPECT_GT(large, beyond);
}

TEST(DistCodecIntegers, OutOfRangeIsADecodeErrorNotATruncation) {
  EXPECT_THAT(decode_error_of<std::int8_t>(dist::encode(300)),
              HasSubstr("expected integer in [-128, 127], found integer 300 at byte 1"));
  EXPECT_THAT(decode_error_of<std::uint8_t>(dist::encode(-1)),
              HasSubstr("expected integer in [0, 255], found integer -1"));
  EXPECT_THAT(decode_error_of<std::uint64_t>(get("int_neg1").span()),
              HasSubstr("found integer -1"));
  EXPECT_THAT(decode_error_of<std::int64_t>(get("uint64_max").span()),
              HasSubstr("found integer 18446744073709551615"));
  EXPECT_THAT(decode_error_of<std::uint64_t>(get("uint64_max_plus1").span()),
              HasSubstr("found integer 18446744073709551616"));
  EXPECT_THAT(decode_error_of<int>(get("big_large").span()),
              HasSubstr("found integer 145542856500"));
  EXPECT_THAT(decode_error_of<int>(get("atom_ok").span()),
              HasSubstr("expected integer in [-2147483648, 2147483647], found atom ok at byte 1"));
  EXPECT_THAT(decode_error_of<int>(get("float_1_5").span()), HasSubstr("found float 1.5"));
}

TEST(DistCodecIntegers, EveryIntegralTypeRoundTripsItsLimits) {
  const auto limits = [](auto zero) {
    using T = decltype(zero);
    EXPECT_EQ(round_trip(std::numeric_limits<T>::min()), std::numeric_limits<T>::min());
    EXPECT_EQ(round_trip(std::numeric_limits<T>::max()), std::numeric_limits<T>::max());
  };
  limits(char{});
  limits(static_cast<signed char>(0));
  limits(static_cast<unsigned char>(0));
  limits(std::int16_t{});
  limits(std::uint16_t{});
  limits(std::int32_t{});
  limits(std::uint32_t{});
  limits(std::int64_t{});
  limits(std::uint64_t{});
  limits(0LL);
  limits(0ULL);
}

// ---- floats, atoms, booleans ---------------------------------------------------------------

TEST(DistCodecFloats, BothFormatsAndRoundTrip) {
  EXPECT_EQ(dist::decode<double>(get("float_1_5").span()), 1.5);
  EXPECT_EQ(dist::decode<double>(get("float_pi").span()), 3.141592653589793);
  EXPECT_EQ(dist::decode<double>(get("float_neg_small").span()), -1.0e-300);
  EXPECT_EQ(dist::decode<double>(get("float_old_format").span()), 1.5);  // FLOAT_EXT
  const auto pi = get("float_pi").span();
  EXPECT_EQ(dist::encode(3.141592653589793), std::vector<char>(pi.begin(), pi.end()));
  EXPECT_EQ(round_trip(-0.0), 0.0);
  EXPECT_TRUE(std::signbit(round_trip(-0.0)));
  EXPECT_EQ(round_trip(std::numeric_limits<double>::denorm_min()),
            std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(round_trip(1.25F), 1.25F);
  EXPECT_THAT(decode_error_of<float>(dist::encode(1e300)), HasSubstr("range of C++ float"));
  // Integers are not floats: the types differ in Erlang too.
  EXPECT_THAT(decode_error_of<double>(get("small_int").span()),
              HasSubstr("expected float, found integer 42"));
}

TEST(DistCodecFloats, NanAndInfinityHaveNoEncoding) {
  EXPECT_THROW((void)dist::encode(std::numeric_limits<double>::quiet_NaN()), dist::encode_error);
  EXPECT_THROW((void)dist::encode(std::numeric_limits<double>::infinity()), dist::encode_error);
  // A peer that sends one anyway: NEW_FLOAT_EXT with the bits of +infinity.
  EXPECT_THAT(decode_error_of<double>(bytes_of({131, 'F', 0x7F, 0xF0, 0, 0, 0, 0, 0, 0})),
              HasSubstr("NaN or infinite"));
}

TEST(DistCodecAtoms, LatinAndUtf8) {
  EXPECT_EQ(dist::decode<dist::atom>(get("atom_ok").span()), dist::atom{"ok"});
  EXPECT_EQ(dist::decode<dist::atom>(get("atom_quoted").span()).name, "hello world");
  // ATOM_EXT holds Latin-1: é (233) comes out as UTF-8.
  EXPECT_EQ(dist::decode<dist::atom>(get("atom_latin1").span()).name, "h\xC3\xA9llo");
  EXPECT_EQ(dist::decode<dist::atom>(get("atom_utf8").span()).name, "日本");
  EXPECT_EQ(dist::decode<dist::atom>(get("atom_empty").span()).name, "");
  for (const auto* name : {"ok", "hello world", "h\xC3\xA9llo", "日本", ""}) {
    const dist::atom a{name};
    EXPECT_EQ(round_trip(a), a) << name;
  }
  const dist::atom with_nul{std::string("a\0b", 3)};
  EXPECT_EQ(round_trip(with_nul), with_nul);
  // Erlang decodes what we encode to the same atom: ei writes SMALL_ATOM_UTF8_EXT.
  EXPECT_EQ(dist::encode(dist::atom{"日本"}),
            std::vector<char>(get("atom_utf8").span().begin(), get("atom_utf8").span().end()));
}

TEST(DistCodecAtoms, LimitsOnEncoding) {
  EXPECT_NO_THROW((void)dist::encode(dist::atom{std::string(255, 'a')}));
  EXPECT_THROW((void)dist::encode(dist::atom{std::string(256, 'a')}), dist::encode_error);
  std::string cjk;
  for (int i = 0; i < 255; ++i) {
    cjk += "日";
  }
  EXPECT_EQ(round_trip(dist::atom{cjk}).name, cjk);  // 255 characters, 765 bytes
  EXPECT_THROW((void)dist::encode(dist::atom{cjk + "日"}), dist::encode_error);
  EXPECT_THROW((void)dist::encode(dist::atom{"bad\xFF"}), dist::encode_error);
}

TEST(DistCodecAtoms, BooleansMonostateAndOptional) {
  EXPECT_TRUE(dist::decode<bool>(get("atom_true").span()));
  EXPECT_FALSE(round_trip(false));
  EXPECT_THAT(decode_error_of<bool>(get("atom_ok").span()),
              HasSubstr("expected boolean (true or false), found atom ok"));
  EXPECT_EQ(dist::decode<std::optional<int>>(get("atom_undefined").span()), std::nullopt);
  EXPECT_EQ(dist::decode<std::optional<int>>(get("small_int").span()), 42);
  EXPECT_EQ(round_trip(std::optional<std::string>("x")), "x");
  EXPECT_EQ(round_trip(std::optional<std::string>()), std::nullopt);
  EXPECT_EQ(dist::encode(std::optional<int>()), dist::encode(dist::atom{"undefined"}));
  EXPECT_NO_THROW((void)dist::decode<std::monostate>(get("atom_undefined").span()));
  EXPECT_THROW((void)dist::decode<std::monostate>(get("atom_ok").span()), dist::decode_error);
}

// ---- binaries and strings ------------------------------------------------------------------

TEST(DistCodecStrings, BinariesAndTheirTypes) {
  EXPECT_TRUE(dist::decode<dist::binary>(get("binary_empty").span()).bytes.empty());
  EXPECT_EQ(dist::decode<dist::binary>(get("binary_bytes").span()),
            (dist::binary{{std::byte{1}, std::byte{2}, std::byte{3}}}));
  EXPECT_EQ(dist::decode<std::string>(get("binary_utf8").span()), "h\xC3\xA9llo");
  // std::string encodes as a binary, like Elixir's strings.
  const auto utf8 = get("binary_utf8").span();
  EXPECT_EQ(dist::encode(std::string("h\xC3\xA9llo")), std::vector<char>(utf8.begin(), utf8.end()));
  const std::string every_byte = [] {
    std::string s;
    for (int i = 0; i < 256; ++i) {
      s += static_cast<char>(i);
    }
    return s;
  }();
  EXPECT_EQ(round_trip(every_byte), every_byte);
  EXPECT_EQ(round_trip(dist::binary::from(every_byte)).view(), every_byte);
  EXPECT_THAT(decode_error_of<dist::binary>(get("string_abc").span()),
              HasSubstr("expected binary, found string \"abc\""));
}

TEST(DistCodecStrings, CharlistsDecodeIntoStdString) {
  EXPECT_EQ(dist::decode<std::string>(get("string_abc").span()), "abc");  // STRING_EXT
  EXPECT_EQ(dist::decode<std::string>(get("string_latin1").span()), "h\xC3\xA9llo");
  EXPECT_EQ(dist::decode<std::string>(get("string_unicode").span()), "日本");  // list of ints
  EXPECT_EQ(dist::decode<std::string>(get("nil").span()), "");
  EXPECT_THAT(decode_error_of<std::string>(get("list_mixed").span()),
              HasSubstr("expected integer in [0, 1114111], found atom a"));
  EXPECT_THAT(decode_error_of<std::string>(get("list_improper").span()),
              HasSubstr("expected [] (the end of a proper list), found integer 2"));
  EXPECT_THAT(decode_error_of<std::string>(get("atom_ok").span()),
              HasSubstr("expected string (a binary or a list of character codes)"));
  // A surrogate is not a character.
  EXPECT_THAT(
      decode_error_of<std::string>(bytes_of({131, 'l', 0, 0, 0, 1, 'b', 0, 0, 0xD8, 0, 'j'})),
      HasSubstr("surrogate"));
}

TEST(DistCodecStrings, Charlist) {
  EXPECT_EQ(dist::decode<dist::charlist>(get("string_latin1").span()).chars, "h\xE9llo");
  EXPECT_EQ(dist::decode<dist::charlist>(get("nil").span()).chars, "");
  const auto abc = get("string_abc").span();
  EXPECT_EQ(dist::encode(dist::charlist{"abc"}), std::vector<char>(abc.begin(), abc.end()));
  EXPECT_EQ(dist::encode(dist::charlist{""}), dist::encode(std::vector<int>{}));
  // Beyond 65535 characters Erlang (and ei) write a plain list.
  const dist::charlist longer{std::string(70000, 'x')};
  EXPECT_EQ(round_trip(longer), longer);
  EXPECT_THROW((void)dist::decode<dist::charlist>(get("string_unicode").span()),
               dist::decode_error);
}

// ---- lists, tuples, maps -------------------------------------------------------------------

TEST(DistCodecContainers, Vectors) {
  EXPECT_EQ(dist::decode<std::vector<int>>(get("list_small_ints").span()),
            (std::vector<int>{1, 2, 3}));  // STRING_EXT
  EXPECT_EQ(dist::decode<std::vector<int>>(get("nil").span()), std::vector<int>{});
  EXPECT_EQ(dist::decode<std::vector<std::int64_t>>(get("string_unicode").span()),
            (std::vector<std::int64_t>{26085, 26412}));
  EXPECT_EQ(dist::decode<std::vector<std::vector<int>>>(
                dist::encode(std::vector<std::vector<int>>{{1}, {}, {2, 3}})),
            (std::vector<std::vector<int>>{{1}, {}, {2, 3}}));
  EXPECT_EQ(round_trip(std::vector<std::string>{"a", "", "b"}),
            (std::vector<std::string>{"a", "", "b"}));
  // STRING_EXT elements must fit the element type.
  EXPECT_THAT(decode_error_of<std::vector<std::int8_t>>(get("string_latin1").span()),
              HasSubstr("within the element type's range"));
  EXPECT_THAT(decode_error_of<std::vector<int>>(get("list_improper").span()),
              HasSubstr("expected [] (the end of a proper list), found integer 2"));
  EXPECT_THAT(decode_error_of<std::vector<int>>(get("tuple_ok").span()),
              HasSubstr("expected list, found tuple {ok, ...} of 2 elements at byte 1"));
}

TEST(DistCodecContainers, TuplesAndPairs) {
  EXPECT_EQ(dist::decode<std::tuple<>>(get("tuple_empty").span()), std::tuple<>{});
  EXPECT_EQ((dist::decode<std::pair<dist::atom, int>>(get("tuple_ok").span())),
            (std::pair{dist::atom{"ok"}, 42}));
  EXPECT_EQ((dist::decode<std::tuple<dist::atom, int, int>>(get("tuple_point").span())),
            (std::tuple{dist::atom{"point"}, 1, -2}));
  const auto ok = get("tuple_ok").span();
  EXPECT_EQ(dist::encode(std::tuple{dist::atom{"ok"}, 42}).size(), ok.size() - 1)
      << "ei writes SMALL_ATOM_UTF8_EXT (one byte shorter than ATOM_EXT's 2-byte length)";
  EXPECT_THAT((decode_error_of<std::tuple<int, int>>(get("tuple_point").span())),
              HasSubstr("expected tuple of 2 elements, found tuple {point, ...} of 3 elements"));
  const auto nested = std::tuple{1, std::pair{std::string("x"), std::vector<double>{1.5}}, true};
  EXPECT_EQ(round_trip(nested), nested);
}

TEST(DistCodecContainers, Maps) {
  EXPECT_TRUE((dist::decode<std::map<int, int>>(get("map_empty").span()).empty()));
  using inner = std::map<int, std::tuple<dist::atom>>;
  const auto nested = dist::decode<std::map<dist::atom, inner>>(get("map_nested").span());
  EXPECT_EQ(nested,
            (std::map<dist::atom, inner>{{dist::atom{"k"}, inner{{1, {dist::atom{"x"}}}}}}));
  const std::map<std::string, std::vector<int>> m{{"a", {1}}, {"b", {}}};
  EXPECT_EQ(round_trip(m), m);
  const std::unordered_map<int, std::string> u{{1, "one"}, {2, "two"}};
  EXPECT_EQ(round_trip(u), u);
  // map_mixed has an atom key and a binary key: not a map of one key type.
  EXPECT_THROW((void)(dist::decode<std::map<dist::atom, int>>(get("map_mixed").span())),
               dist::decode_error);
}

TEST(DistCodecContainers, DuplicateKeysAfterConversionAreAnError) {
  // #{"a" => 1, <<"a">> => 2}: two keys in Erlang, one std::string.
  dist::term_writer w;
  w.write_version();
  w.write_map_header(2);
  w.write_charlist("a");
  w.write(1);
  w.write_binary(std::string_view("a"));
  w.write(2);
  EXPECT_THAT((decode_error_of<std::map<std::string, int>>(w.bytes())),
              HasSubstr("without duplicate keys"));
  EXPECT_EQ(dist::decode<dist::term>(w.bytes()).to_string(), "#{\"a\" => 1,<<\"a\">> => 2}");
}

// ---- pids and references -------------------------------------------------------------------

TEST(DistCodecPids, NewPidAndNewerReference) {
  const auto p = dist::decode<dist::erl_pid>(get("pid").span());
  EXPECT_EQ(p, (dist::erl_pid{"nonode@nohost", 42, 7, 0}));
  const auto pid_bytes = get("pid").span();
  EXPECT_EQ(dist::encode(p).size(), pid_bytes.size() - 1)
      << "NEW_PID_EXT with the node as SMALL_ATOM_UTF8_EXT";
  EXPECT_EQ(round_trip(p), p);
  const auto r = dist::decode<dist::erl_ref>(get("ref").span());
  EXPECT_EQ(r, (dist::erl_ref{"nonode@nohost", 0, {3, 2, 1}}));
  EXPECT_EQ(r.to_string(), "#Ref<nonode@nohost.1.2.3>");
  EXPECT_EQ(round_trip(r), r);
  const dist::erl_ref five{"cpp@127.0.0.1", 0x12345678, {1, 2, 3, 4, 5}};
  EXPECT_EQ(round_trip(five), five);
  const dist::erl_pid big{"cpp@127.0.0.1", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF};
  EXPECT_EQ(round_trip(big), big);
  EXPECT_THROW((void)dist::encode(dist::erl_ref{"n@h", 1, {}}), dist::encode_error);
  EXPECT_THROW((void)dist::encode(dist::erl_ref{"n@h", 1, {1, 2, 3, 4, 5, 6}}), dist::encode_error);
  EXPECT_THROW((void)dist::encode(dist::erl_pid{std::string(300, 'n'), 1, 2, 3}),
               dist::encode_error);
}

// A gen_server:call as it arrives: {'$gen_call', {Pid, [alias | Ref]}, get}.
struct gen_call {
  dist::erl_pid from;
  dist::term tag;
  get_request request;
};
}  // namespace
template <>
struct peeper::dist::term_mapping<gen_call> {
  static void write(term_writer& w, const gen_call& c) {
    w.write_tuple_header(3);
    w.write_atom("$gen_call");
    w.write(std::pair{c.from, c.tag});
    w.write(c.request);
  }
  static gen_call read(term_reader& r) {
    r.read_tuple_header(3);
    r.expect_atom("$gen_call");
    auto [from, tag] = r.read<std::pair<erl_pid, term>>();
    return gen_call{std::move(from), std::move(tag), r.read<get_request>()};
  }
};
namespace {

TEST(DistCodecPids, GenServerCallFromErlang) {
  const auto call = dist::decode<gen_call>(get("gen_call").span());
  EXPECT_EQ(call.from, (dist::erl_pid{"nonode@nohost", 80, 0, 0}));
  const auto& tag = call.tag.as<dist::term_list>();
  ASSERT_EQ(tag.elements.size(), 1U);
  EXPECT_EQ(tag.elements[0], dist::term(dist::atom{"alias"}));
  ASSERT_FALSE(tag.proper());
  EXPECT_TRUE(tag.tail->is<dist::erl_ref>());
  // Re-encoded and decoded again, the tag is unchanged (the reply must carry it verbatim).
  EXPECT_EQ(round_trip(call).tag, call.tag);
}

class recording_context final : public dist::pid_context {
 public:
  dist::erl_pid to_erl(const peeper::pid& p) override {
    return dist::erl_pid{"cpp@127.0.0.1", static_cast<std::uint32_t>(p.id()), 0, 5};
  }
  peeper::pid from_erl(const dist::erl_pid& p) override {
    seen.push_back(p);
    return peeper::pid{};
  }
  std::vector<dist::erl_pid> seen;
};

TEST(DistCodecPids, LocalPidsGoThroughThePidContext) {
  recording_context context;
  const auto bytes = dist::encode(std::pair{peeper::pid{}, 1}, &context);
  EXPECT_EQ((dist::decode<std::pair<dist::erl_pid, int>>(bytes).first),
            (dist::erl_pid{"cpp@127.0.0.1", 0, 0, 5}));
  const auto back =
      dist::decode<std::pair<peeper::pid, int>>(bytes, dist::decode_options{.pids = &context});
  EXPECT_FALSE(back.first);
  ASSERT_EQ(context.seen.size(), 1U);
  EXPECT_EQ(context.seen[0].node, "cpp@127.0.0.1");
  // Without a context: clear errors, not a crash.
  EXPECT_THROW((void)dist::encode(peeper::pid{}), dist::encode_error);
  EXPECT_THAT(decode_error_of<peeper::pid>(get("pid").span()), HasSubstr("without a pid_context"));
}

// ---- user mappings -------------------------------------------------------------------------

TEST(DistCodecUserTypes, DeclarativeTaggedTuple) {
  EXPECT_EQ(dist::decode<point>(get("tuple_point").span()), (point{1, -2}));
  EXPECT_EQ(dist::encode(point{1, -2}), dist::encode(std::tuple{dist::atom{"point"}, 1, -2}));
  EXPECT_THAT(decode_error_of<point>(get("tuple_ok").span()),
              HasSubstr("expected {point, _, _}, found tuple {ok, ...} of 2 elements at byte 1"));
  EXPECT_THAT(decode_error_of<point>(dist::encode(std::tuple{dist::atom{"pt"}, 1, 2})),
              HasSubstr("expected {point, _, _}, found tuple {pt, ...} of 3 elements"));
  EXPECT_THAT(decode_error_of<point>(dist::encode(std::tuple{dist::atom{"point"}, 1, 1.5})),
              HasSubstr("expected integer in [-2147483648, 2147483647], found float 1.5"));
}

TEST(DistCodecUserTypes, FieldsOnlyTagOnlyAndNested) {
  EXPECT_EQ(dist::encode(size2{1.5, 2.5}), dist::encode(std::tuple{1.5, 2.5}));
  EXPECT_EQ(round_trip(size2{1.5, 2.5}), (size2{1.5, 2.5}));
  // A tag without fields is the bare atom: gen_server:call(Name, get) sends `get`.
  EXPECT_EQ(dist::encode(get_request{}), dist::encode(dist::atom{"get"}));
  EXPECT_NO_THROW((void)dist::decode<get_request>(dist::encode(dist::atom{"get"})));
  EXPECT_THAT(decode_error_of<get_request>(get("atom_ok").span()),
              HasSubstr("expected get, found atom ok"));
  const account a{"ann", {{1, 2}, {3, 4}}, std::nullopt};
  EXPECT_EQ(round_trip(a), a);
  EXPECT_EQ(dist::decode<dist::term>(dist::encode(a)).to_string(),
            "{account,<<\"ann\">>,[{point,1,2},{point,3,4}],undefined}");
  const account b{"bob", {}, 100};
  EXPECT_EQ(round_trip(b), b);
}

TEST(DistCodecUserTypes, CustomReadAndWrite) {
  EXPECT_EQ(round_trip(celsius{21.5}), celsius{21.5});
  EXPECT_EQ(dist::encode(celsius{21.5}), dist::encode(std::tuple{dist::atom{"celsius"}, 21.5}));
  EXPECT_EQ(dist::decode<celsius>(dist::encode(20)), celsius{20});
  EXPECT_THAT(decode_error_of<celsius>(dist::encode(std::tuple{dist::atom{"celsius"}, -300.0})),
              HasSubstr("expected a temperature above absolute zero, found float -300.0 at byte"));
  const std::vector<celsius> readings{{1}, {2.5}};
  EXPECT_EQ(round_trip(readings), readings);
}

// ---- variants ------------------------------------------------------------------------------

TEST(DistCodecVariants, FirstAlternativeThatDecodesWins) {
  using v = std::variant<int, double, std::string, point, get_request>;
  EXPECT_EQ(dist::decode<v>(get("small_int").span()), v(42));
  EXPECT_EQ(dist::decode<v>(get("float_1_5").span()), v(1.5));
  EXPECT_EQ(dist::decode<v>(get("binary_utf8").span()), v(std::string("h\xC3\xA9llo")));
  EXPECT_EQ(dist::decode<v>(get("string_abc").span()), v(std::string("abc")));
  EXPECT_EQ(dist::decode<v>(get("tuple_point").span()), v(point{1, -2}));
  EXPECT_EQ(dist::decode<v>(dist::encode(dist::atom{"get"})), v(get_request{}));
  // Order decides between alternatives that both accept the term.
  using wide_first = std::variant<std::int64_t, std::int8_t>;
  EXPECT_EQ(dist::decode<wide_first>(get("small_int").span()).index(), 0U);
  using narrow_first = std::variant<std::int8_t, std::int64_t>;
  EXPECT_EQ(dist::decode<narrow_first>(get("small_int").span()).index(), 0U);
  EXPECT_EQ(dist::decode<narrow_first>(get("int_256").span()).index(), 1U);
  // A list decodes as a string first when std::string comes first.
  using text_first = std::variant<std::string, std::vector<int>>;
  EXPECT_EQ(dist::decode<text_first>(get("list_small_ints").span()).index(), 0U);
  using list_first = std::variant<std::vector<int>, std::string>;
  EXPECT_EQ(dist::decode<list_first>(get("list_small_ints").span()).index(), 0U);
  // No alternative: every alternative's reason is in the message.
  const std::string error = decode_error_of<std::variant<int, point>>(get("atom_ok").span());
  EXPECT_THAT(error, HasSubstr("one of the variant's alternatives"));
  EXPECT_THAT(error, HasSubstr("expected {point, _, _}"));
  EXPECT_THAT(error, HasSubstr("found atom ok at byte 1"));
  EXPECT_EQ(round_trip(v(point{5, 6})), v(point{5, 6}));
}

// ---- whole-buffer rules and try_decode -----------------------------------------------------

TEST(DistCodecFraming, VersionByteAndTrailingBytes) {
  EXPECT_THAT(decode_error_of<int>(bytes_of({130, 'a', 1})),
              HasSubstr("expected the version byte 131, found 130 at byte 0"));
  EXPECT_THAT(decode_error_of<int>(bytes_of({})), HasSubstr("found end of input at byte 0"));
  EXPECT_THAT(decode_error_of<int>(bytes_of({131})), HasSubstr("found end of input at byte 1"));
  EXPECT_EQ(dist::decode<int>(bytes_of({'a', 7}), {.version = false}), 7);
  EXPECT_THAT(decode_error_of<int>(bytes_of({131, 'a', 1, 0})),
              HasSubstr("expected the end of the input, found 1 more bytes at byte 3"));
  EXPECT_EQ(dist::decode<int>(bytes_of({131, 'a', 1, 0}), {.whole_buffer = false}), 1);
}

TEST(DistCodecFraming, ReaderOverSeveralTerms) {
  dist::term_writer w;
  w.write_version();
  w.write(1);
  w.write_version();
  w.write(std::string("two"));
  dist::term_reader r(w.bytes());
  r.read_version();
  EXPECT_EQ(r.read<int>(), 1);
  r.read_version();
  EXPECT_EQ(r.read<std::string>(), "two");
  EXPECT_TRUE(r.at_end());
  EXPECT_NO_THROW(r.expect_end());
}

TEST(DistCodecFraming, TryDecodeReportsInsteadOfThrowing) {
  std::string why;
  EXPECT_EQ(dist::try_decode<point>(get("atom_ok").span(), {}, &why), std::nullopt);
  EXPECT_THAT(why, HasSubstr("expected {point, _, _}, found atom ok"));
  EXPECT_EQ(dist::try_decode<point>(get("tuple_point").span()), (point{1, -2}));
  EXPECT_EQ(dist::try_decode<int>(bytes_of({131, 'b', 0})), std::nullopt);
  // Without a pid_context a pid does not decode into a peeper::pid.
  EXPECT_EQ(dist::try_decode<peeper::pid>(get("pid").span()), std::nullopt);
}

TEST(DistCodecFraming, DecodeErrorCarriesTheOffset) {
  const auto bytes = dist::encode(std::tuple{1, 2, dist::atom{"x"}});
  try {
    (void)dist::decode<std::tuple<int, int, int>>(bytes);
    FAIL() << "no error";
  } catch (const dist::decode_error& e) {
    EXPECT_EQ(e.offset(), 7U);  // 131, 'h', 3, 'a', 1, 'a', 2, then the atom
    EXPECT_THAT(e.what(), HasSubstr("found atom x at byte 7"));
  }
}

}  // namespace
