// libFuzzer target: the term decoder (peeper/dist/codec.hpp) on arbitrary bytes.
//
// Every input must end in a value or a decode_error: any other exception, a crash, a leak, an
// out-of-bounds access or undefined behaviour (the target is built with ASan and UBSan) is a
// finding. A decoded term must also encode again, into bytes that decode to an equal term.
//
//   build/asan/fuzz/term_decode_fuzzer build/asan/fuzz/corpus/term_decode -max_total_time=60
//
// The seed corpus is fuzz/corpus/term_decode/ (golden encodings of a real Erlang, see
// tests/dist_golden_terms.hpp, and entries the fuzzer found, minimised with -merge=1).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include <peeper/dist/codec.hpp>

namespace dist = peeper::dist;

namespace {

// A user type in both mapping forms, as a receiver would declare it.
struct sample {
  std::int32_t id = 0;
  std::string name;
  std::vector<std::optional<double>> readings;
  std::map<dist::atom, std::variant<bool, std::uint16_t, dist::binary>> tags;
};

struct sample_reply {
  std::variant<sample, dist::atom> value;
};

}  // namespace

template <>
struct peeper::dist::term_mapping<sample> {
  static constexpr std::string_view tag = "sample";
  static constexpr auto fields =
      std::make_tuple(&sample::id, &sample::name, &sample::readings, &sample::tags);
};

template <>
struct peeper::dist::term_mapping<sample_reply> {
  static void write(term_writer& w, const sample_reply& r) {
    w.write_tuple_header(2);
    w.write_atom("reply");
    w.write(r.value);
  }
  static sample_reply read(term_reader& r) {
    r.read_tuple_header(2);
    r.expect_atom("reply");
    return sample_reply{r.read<std::variant<sample, dist::atom>>()};
  }
};

namespace {

template <class T>
void decode_as(std::span<const char> bytes) {
  try {
    (void)dist::decode<T>(bytes);
  } catch (const dist::decode_error&) {
  }
}

// The property: decode -> encode -> decode gives the same term.
void round_trip(std::span<const char> bytes) {
  std::optional<dist::term> t;
  try {
    t = dist::decode<dist::term>(bytes);
  } catch (const dist::decode_error&) {
    return;
  }
  (void)t->to_string();
  // Whatever decoded has an encoding (atoms, node names and references were checked).
  const std::vector<char> again = dist::encode(*t);
  if (!(dist::decode<dist::term>(again) == *t)) {
    std::abort();
  }
}

// A reader over a sequence of terms, with a small nesting limit, skipping what it cannot use.
void read_sequence(std::span<const char> bytes) {
  dist::term_reader r(bytes, nullptr, 8);
  try {
    while (!r.at_end()) {
      const std::size_t start = r.position();
      if (r.peek() == dist::term_kind::function || r.peek() == dist::term_kind::port) {
        r.skip();
      } else {
        (void)r.describe_next();
        (void)r.read<dist::term>();
      }
      if (r.position() <= start) {
        std::abort();  // no progress
      }
    }
  } catch (const dist::decode_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const char> bytes(reinterpret_cast<const char*>(data), size);
  round_trip(bytes);
  decode_as<std::int64_t>(bytes);
  decode_as<std::uint8_t>(bytes);
  decode_as<double>(bytes);
  decode_as<std::string>(bytes);
  decode_as<std::vector<std::int16_t>>(bytes);
  decode_as<dist::charlist>(bytes);
  decode_as<dist::big_int>(bytes);
  decode_as<std::map<std::string, std::vector<double>>>(bytes);
  decode_as<std::tuple<dist::atom, std::tuple<dist::erl_pid, dist::term>, dist::term>>(bytes);
  decode_as<std::variant<dist::erl_ref, std::pair<int, int>, std::vector<dist::term>>>(bytes);
  decode_as<sample>(bytes);
  decode_as<sample_reply>(bytes);
  if (!bytes.empty()) {
    read_sequence(bytes.subspan(1));
  }
  return 0;
}
