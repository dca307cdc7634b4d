#include "peeper/dist/term.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <string_view>

#include <fmt/format.h>

namespace peeper::dist {
namespace {

// A charlist against a list: equal when the list is proper and holds the same codes.
bool same_codes(const charlist& c, const term_list& l) {
  if (!l.proper() || c.chars.size() != l.elements.size()) {
    return false;
  }
  return std::equal(c.chars.begin(), c.chars.end(), l.elements.begin(), [](char ch, const term& t) {
    const auto* v = t.get_if<std::int64_t>();
    return v != nullptr && *v == static_cast<std::uint8_t>(ch);
  });
}

// Erlang's float syntax: a digit on both sides of the point, an exponent without '+' or
// leading zeros: 1.0, 0.1, 1.0e20, 1.5e-7.
std::string float_to_string(double v) {
  std::array<char, 32> text{};
  const auto result = std::to_chars(text.data(), text.data() + text.size(), v);
  std::string s(text.data(), result.ptr);
  const auto e = s.find('e');
  std::string mantissa = s.substr(0, e);
  if (mantissa.find('.') == std::string::npos) {
    mantissa += ".0";
  }
  if (e == std::string::npos) {
    return mantissa;
  }
  std::string exponent = s.substr(e + 1);
  std::string sign;
  if (!exponent.empty() && (exponent.front() == '+' || exponent.front() == '-')) {
    sign = exponent.front() == '-' ? "-" : "";
    exponent.erase(0, 1);
  }
  exponent.erase(0, std::min(exponent.find_first_not_of('0'), exponent.size() - 1));
  return mantissa + "e" + sign + exponent;
}

void append_term(std::string& out, const term& t);

void append_elements(std::string& out, const std::vector<term>& elements) {
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (i != 0) {
      out += ',';
    }
    append_term(out, elements[i]);
  }
}

void append_term(std::string& out, const term& t) {
  std::visit(
      [&out](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::int64_t>) {
          out += fmt::format("{}", v);
        } else if constexpr (std::is_same_v<V, double>) {
          out += float_to_string(v);
        } else if constexpr (std::is_same_v<V, term_list>) {
          out += '[';
          append_elements(out, v.elements);
          if (v.tail) {
            out += '|';
            append_term(out, *v.tail);
          }
          out += ']';
        } else if constexpr (std::is_same_v<V, term_tuple>) {
          out += '{';
          append_elements(out, v.elements);
          out += '}';
        } else if constexpr (std::is_same_v<V, term_map>) {
          out += "#{";
          for (std::size_t i = 0; i < v.entries.size(); ++i) {
            if (i != 0) {
              out += ',';
            }
            append_term(out, v.entries[i].first);
            out += " => ";
            append_term(out, v.entries[i].second);
          }
          out += '}';
        } else {
          out += v.to_string();  // big_int, atom, binary, charlist, erl_pid, erl_ref
        }
      },
      t.value());
}

}  // namespace

bool operator==(const term_list& a, const term_list& b) {
  if (a.elements != b.elements || a.proper() != b.proper()) {
    return false;
  }
  return a.proper() || *a.tail == *b.tail;
}

bool operator==(const term_tuple& a, const term_tuple& b) { return a.elements == b.elements; }

bool operator==(const term_map& a, const term_map& b) { return a.entries == b.entries; }

bool operator==(const term& a, const term& b) {
  const auto* ac = a.get_if<charlist>();
  const auto* bc = b.get_if<charlist>();
  if (ac != nullptr && b.is<term_list>()) {
    return same_codes(*ac, b.as<term_list>());
  }
  if (bc != nullptr && a.is<term_list>()) {
    return same_codes(*bc, a.as<term_list>());
  }
  const auto* ab = a.get_if<big_int>();
  const auto* bb = b.get_if<big_int>();
  if (ab != nullptr && b.is<std::int64_t>()) {
    return *ab == big_int(b.as<std::int64_t>());
  }
  if (bb != nullptr && a.is<std::int64_t>()) {
    return *bb == big_int(a.as<std::int64_t>());
  }
  return a.value() == b.value();
}

bool term::is_nil() const noexcept {
  if (const auto* l = get_if<term_list>()) {
    return l->elements.empty() && l->proper();
  }
  if (const auto* c = get_if<charlist>()) {
    return c->chars.empty();
  }
  return false;
}

std::string term::to_string() const {
  std::string out;
  append_term(out, *this);
  return out;
}

}  // namespace peeper::dist
