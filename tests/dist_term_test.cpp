// dist::term, the dynamic Erlang term (peeper/dist/term.hpp): every golden encoding of a real
// Erlang (tests/dist_golden_terms.hpp) decodes into a term, prints in Erlang syntax, and
// encodes back into the same term.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <peeper/dist/codec.hpp>

#include "dist_golden_terms.hpp"

namespace {

namespace dist = peeper::dist;
using dist_golden::get;
using testing::HasSubstr;

// Golden name -> the term's to_string(). Pids and references print their node's name where
// Erlang prints a node index; everything else is Erlang's ~w / ~p on one line.
const std::map<std::string_view, std::string>& printed() {
  static const std::map<std::string_view, std::string> table = {
      {"small_int", "42"},
      {"int_255", "255"},
      {"int_256", "256"},
      {"int_neg1", "-1"},
      {"int32_max", "2147483647"},
      {"int32_min", "-2147483648"},
      {"int32_max_plus1", "2147483648"},
      {"int64_max", "9223372036854775807"},
      {"int64_min", "-9223372036854775808"},
      {"uint64_max", "18446744073709551615"},
      {"uint64_max_plus1", "18446744073709551616"},
      {"big_neg", "-123456789012345678901234567890"},
      {"float_1_5", "1.5"},
      {"float_pi", "3.141592653589793"},
      {"float_neg_small", "-1.0e-300"},
      {"float_old_format", "1.5"},
      {"atom_ok", "ok"},
      {"atom_quoted", "'hello world'"},
      {"atom_latin1", "'h\xC3\xA9llo'"},
      {"atom_empty", "''"},
      {"atom_utf8", "'日本'"},
      {"atom_true", "true"},
      {"atom_undefined", "undefined"},
      {"binary_empty", "<<>>"},
      {"binary_bytes", "<<1,2,3>>"},
      {"binary_utf8", "<<104,195,169,108,108,111>>"},
      {"string_abc", "\"abc\""},
      {"string_latin1", "\"h\xC3\xA9llo\""},
      {"string_unicode", "[26085,26412]"},
      {"nil", "[]"},
      {"list_small_ints", "[1,2,3]"},
      {"list_mixed", "[1,a,<<>>,1.5]"},
      {"list_improper", "[1|2]"},
      {"list_nested", "[[1,[2,[3]]],[]]"},
      {"tuple_empty", "{}"},
      {"tuple_ok", "{ok,42}"},
      {"tuple_point", "{point,1,-2}"},
      {"map_empty", "#{}"},
      {"map_mixed", "#{a => 1,<<\"b\">> => [2]}"},
      {"map_nested", "#{k => #{1 => {x}}}"},
      {"pid", "<nonode@nohost.42.7>"},
      {"ref", "#Ref<nonode@nohost.1.2.3>"},
  };
  return table;
}

bool has_no_term_form(std::string_view name) {
  return name == "port" || name == "fun_local" || name == "fun_export" || name == "bitstring" ||
         name == "compressed";
}

TEST(DistTerm, EveryGoldenTermDecodesPrintsAndRoundTrips) {
  for (const auto& g : dist_golden::all()) {
    SCOPED_TRACE(std::string(g.name) + " = " + std::string(g.erlang));
    if (has_no_term_form(g.name)) {
      continue;
    }
    const dist::term t = dist::decode<dist::term>(g.span());
    if (const auto it = printed().find(g.name); it != printed().end()) {
      EXPECT_EQ(t.to_string(), it->second);
    }
    EXPECT_EQ(dist::decode<dist::term>(dist::encode(t)), t);
  }
}

TEST(DistTerm, IntegersNormalise) {
  EXPECT_TRUE(dist::decode<dist::term>(get("int64_min").span()).is<std::int64_t>());
  EXPECT_TRUE(dist::decode<dist::term>(get("uint64_max").span()).is<dist::big_int>());
  // Canonical bytes: the term encodes as Erlang did.
  for (const auto* name :
       {"small_int",       "int_256",        "int_neg1",        "int32_max",   "int32_min",
        "int32_max_plus1", "int64_max",      "int64_min",       "uint64_max",  "uint64_max_plus1",
        "big_neg",         "big_large",      "float_pi",        "nil",         "binary_bytes",
        "string_abc",      "string_unicode", "list_small_ints", "list_nested", "tuple_empty",
        "map_empty",       "tuple_large"}) {
    const auto golden = get(name).span();
    EXPECT_EQ(dist::encode(dist::decode<dist::term>(golden)),
              std::vector<char>(golden.begin(), golden.end()))
        << name;
  }
}

TEST(DistTerm, LargeTuple) {
  const auto t = dist::decode<dist::term>(get("tuple_large").span());
  const auto& elements = t.as<dist::term_tuple>().elements;
  ASSERT_EQ(elements.size(), 300U);
  EXPECT_EQ(elements.front(), dist::term(1));
  EXPECT_EQ(elements.back(), dist::term(300));
}

TEST(DistTerm, TermsWithoutATermFormAreDecodeErrors) {
  const auto error_of = [](std::string_view name) -> std::string {
    try {
      (void)dist::decode<dist::term>(get(name).span());
    } catch (const dist::decode_error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_THAT(error_of("port"), HasSubstr("found a port"));
  EXPECT_THAT(error_of("fun_local"), HasSubstr("found a fun"));
  EXPECT_THAT(error_of("fun_export"), HasSubstr("found a fun"));
  EXPECT_THAT(error_of("bitstring"), HasSubstr("found a bitstring"));
  EXPECT_THAT(error_of("compressed"), HasSubstr("unknown or unsupported term tag 80"));
  // They can be skipped, though: a receiver that ignores a field.
  dist::term_writer w;
  w.write_tuple_header(3);
  w.write(1);
  const auto fun = get("fun_local").span().subspan(1);
  const auto port = get("port").span().subspan(1);
  std::vector<char> bytes(w.bytes().begin(), w.bytes().end());
  bytes.insert(bytes.end(), fun.begin(), fun.end());
  bytes.insert(bytes.end(), port.begin(), port.end());
  dist::term_reader r(bytes);
  EXPECT_EQ(r.read_tuple_header(), 3U);
  EXPECT_EQ(r.read<int>(), 1);
  EXPECT_EQ(r.peek(), dist::term_kind::function);
  r.skip();
  EXPECT_EQ(r.peek(), dist::term_kind::port);
  r.skip();
  EXPECT_TRUE(r.at_end());
}

TEST(DistTerm, BuildingAndPrinting) {
  const dist::term t = dist::term_tuple{{dist::atom{"ok"}, 42, 1.0, dist::binary::from("hi"),
                                         dist::term_list{{1, 2}, {}},
                                         dist::term_map{{{dist::atom{"k"}, dist::charlist{"v"}}}},
                                         dist::term::integer(std::uint64_t{1} << 63U)}};
  EXPECT_EQ(t.to_string(), "{ok,42,1.0,<<\"hi\">>,[1,2],#{k => \"v\"},9223372036854775808}");
  const auto back = dist::decode<dist::term>(dist::encode(t));
  EXPECT_EQ(back, t);
  EXPECT_EQ(back.as<dist::term_tuple>().elements[6].as<dist::big_int>().to_string(),
            "9223372036854775808");
  EXPECT_TRUE(dist::term().is_nil());
  EXPECT_EQ(dist::term().to_string(), "[]");
  EXPECT_EQ(dist::term(dist::atom{"EXIT"}).to_string(), "'EXIT'");
  EXPECT_EQ(dist::term(dist::atom{"it's"}).to_string(), "'it\\'s'");
  EXPECT_EQ(dist::term(dist::atom{"receive"}).to_string(), "'receive'");
  EXPECT_EQ(dist::term(dist::atom{"node@host"}).to_string(), "node@host");
  EXPECT_EQ(dist::term(1e20).to_string(), "1.0e20");
  EXPECT_EQ(dist::term(-2.5e-7).to_string(), "-2.5e-7");
  EXPECT_EQ(dist::term(100.0).to_string(), "100.0");
  EXPECT_EQ(dist::term(dist::charlist{"a\"\n"}).to_string(), "\"a\\\"\\n\"");
  EXPECT_EQ(dist::term(dist::charlist{"\x01"}).to_string(), "[1]");
  EXPECT_EQ(dist::term(dist::binary::from("\x01q")).to_string(), "<<1,113>>");
}

TEST(DistTerm, ImproperListsBothWays) {
  const dist::term improper =
      dist::term_list{{1, 2}, std::make_shared<const dist::term>(dist::atom{"tail"})};
  EXPECT_EQ(improper.to_string(), "[1,2|tail]");
  const auto back = dist::decode<dist::term>(dist::encode(improper));
  EXPECT_EQ(back, improper);
  EXPECT_FALSE(back.as<dist::term_list>().proper());
  // A list whose tail is a list is that longer list, as in Erlang: [1 | [2]] =:= [1, 2].
  dist::term_writer w;
  w.write_version();
  w.write_list_header(1);
  w.write(1);
  w.write_list_header(1);
  w.write(2);
  w.write_charlist("\x03");
  EXPECT_EQ(dist::decode<dist::term>(w.bytes()), (dist::term(dist::term_list{{1, 2, 3}, {}})));
  EXPECT_EQ(dist::decode<std::vector<int>>(dist::encode(dist::term(dist::term_list{{1, 2}, {}}))),
            (std::vector<int>{1, 2}));
}

TEST(DistTerm, EqualityIsErlangsExactEquality) {
  // "abc" and [97, 98, 99] are the same Erlang term in two encodings.
  EXPECT_EQ(dist::term(dist::charlist{"abc"}), (dist::term(dist::term_list{{97, 98, 99}, {}})));
  EXPECT_EQ((dist::term(dist::term_list{{97, 98, 99}, {}})), dist::term(dist::charlist{"abc"}));
  EXPECT_NE(dist::term(dist::charlist{"abc"}), (dist::term(dist::term_list{{97, 98}, {}})));
  EXPECT_EQ(dist::term(dist::charlist{""}), dist::term());
  // 1 =/= 1.0, and a big_int equals the small integer of the same value.
  EXPECT_NE(dist::term(1), dist::term(1.0));
  EXPECT_EQ(dist::term(dist::big_int(5)), dist::term(5));
  EXPECT_EQ(dist::term(5), dist::term(dist::big_int(5)));
  EXPECT_NE(dist::term(dist::atom{"a"}), dist::term(dist::binary::from("a")));
}

TEST(DistTerm, MapsKeepTheirEntriesInOrder) {
  const auto t = dist::decode<dist::term>(get("map_mixed").span());
  const auto& entries = t.as<dist::term_map>().entries;
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_EQ(entries[0].first, dist::term(dist::atom{"a"}));
  EXPECT_EQ(entries[1].second, (dist::term(dist::charlist{"\x02"})));
}

TEST(DistTerm, BigIntArithmeticHelpers) {
  EXPECT_EQ(dist::big_int::from_string("0").to_string(), "0");
  EXPECT_EQ(dist::big_int::from_string("-0").to_string(), "0");
  EXPECT_FALSE(dist::big_int::from_string("-0").negative());
  EXPECT_EQ(dist::big_int::from_string("-9223372036854775808").to_int64(),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_FALSE(dist::big_int::from_string("9223372036854775808").to_int64());
  EXPECT_EQ(dist::big_int::from_string("9223372036854775808").to_uint64(), std::uint64_t{1} << 63U);
  EXPECT_THROW((void)dist::big_int::from_string("12a"), std::invalid_argument);
  EXPECT_THROW((void)dist::big_int::from_string("-"), std::invalid_argument);
  const std::string digits = "1234567890123456789012345678901234567890123456789";
  EXPECT_EQ(dist::big_int::from_string(digits).to_string(), digits);
  EXPECT_EQ(dist::big_int(false, {0, 0, 0}), dist::big_int());
}

}  // namespace
