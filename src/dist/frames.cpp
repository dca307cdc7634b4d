// Frame validation, control messages and exit reasons on the wire (see frames.hpp).
#include "dist/frames.hpp"

#include <array>
#include <cstring>
#include <memory>

#include "peeper/dist/codec.hpp"

namespace peeper::dist::detail {

namespace {

constexpr unsigned char pass_through = 'p';
constexpr unsigned char version_magic = 131;

class cursor {
 public:
  cursor(std::string_view b, std::size_t at) : b_(b), at_(at) {}
  void need(std::size_t n) const {
    if (b_.size() < at_ || b_.size() - at_ < n) throw frame_error("truncated term");
  }
  std::uint32_t u8() {
    need(1);
    return static_cast<unsigned char>(b_[at_++]);
  }
  std::uint32_t u16() {
    need(2);
    auto v = get_u16_at(at_);
    at_ += 2;
    return v;
  }
  std::uint32_t u32() {
    need(4);
    const auto* p = reinterpret_cast<const unsigned char*>(b_.data() + at_);
    at_ += 4;
    return (std::uint32_t{p[0]} << 24U) | (std::uint32_t{p[1]} << 16U) |
           (std::uint32_t{p[2]} << 8U) | std::uint32_t{p[3]};
  }
  void skip(std::size_t n) {
    need(n);
    at_ += n;
  }
  [[nodiscard]] std::size_t at() const noexcept { return at_; }
  void set(std::size_t at) noexcept { at_ = at; }

 private:
  [[nodiscard]] std::uint32_t get_u16_at(std::size_t i) const {
    const auto* p = reinterpret_cast<const unsigned char*>(b_.data() + i);
    return (std::uint32_t{p[0]} << 8U) | std::uint32_t{p[1]};
  }
  std::string_view b_;
  std::size_t at_;
};

void skip_atom(cursor& c) {
  switch (c.u8()) {
    case ERL_ATOM_EXT:
    case ERL_ATOM_UTF8_EXT:
      c.skip(c.u16());
      return;
    case ERL_SMALL_ATOM_EXT:
    case ERL_SMALL_ATOM_UTF8_EXT:
      c.skip(c.u8());
      return;
    default:
      throw frame_error("expected an atom");
  }
}

std::size_t validate(std::string_view buf, std::size_t at, int depth);

void validate_n(std::string_view buf, cursor& c, std::uint64_t n, int depth) {
  for (std::uint64_t i = 0; i < n; ++i) c.set(validate(buf, c.at(), depth + 1));
}

std::size_t validate(std::string_view buf, std::size_t at, int depth) {
  if (depth > max_term_depth) throw frame_error("term nested too deep");
  cursor c(buf, at);
  const std::uint32_t tag = c.u8();
  switch (tag) {
    case ERL_SMALL_INTEGER_EXT:
      c.skip(1);
      break;
    case ERL_INTEGER_EXT:
      c.skip(4);
      break;
    case ERL_FLOAT_EXT:
      c.skip(31);
      break;
    case NEW_FLOAT_EXT:
      c.skip(8);
      break;
    case ERL_ATOM_EXT:
    case ERL_ATOM_UTF8_EXT:
    case ERL_SMALL_ATOM_EXT:
    case ERL_SMALL_ATOM_UTF8_EXT:
      c.set(at);
      skip_atom(c);
      break;
    case ERL_REFERENCE_EXT:
      skip_atom(c);
      c.skip(5);
      break;
    case ERL_NEW_REFERENCE_EXT: {
      const std::uint32_t n = c.u16();
      if (n > 5) throw frame_error("reference too long");
      skip_atom(c);
      c.skip(1 + 4 * std::size_t{n});
      break;
    }
    case ERL_NEWER_REFERENCE_EXT: {
      const std::uint32_t n = c.u16();
      if (n > 5) throw frame_error("reference too long");
      skip_atom(c);
      c.skip(4 + 4 * std::size_t{n});
      break;
    }
    case ERL_PORT_EXT:
      skip_atom(c);
      c.skip(5);
      break;
    case ERL_NEW_PORT_EXT:
      skip_atom(c);
      c.skip(8);
      break;
    case ERL_V4_PORT_EXT:
      skip_atom(c);
      c.skip(12);
      break;
    case ERL_PID_EXT:
      skip_atom(c);
      c.skip(9);
      break;
    case ERL_NEW_PID_EXT:
      skip_atom(c);
      c.skip(12);
      break;
    case ERL_SMALL_TUPLE_EXT:
      validate_n(buf, c, c.u8(), depth);
      break;
    case ERL_LARGE_TUPLE_EXT:
      validate_n(buf, c, c.u32(), depth);
      break;
    case ERL_MAP_EXT:
      validate_n(buf, c, 2 * std::uint64_t{c.u32()}, depth);
      break;
    case ERL_NIL_EXT:
      break;
    case ERL_STRING_EXT:
      c.skip(c.u16());
      break;
    case ERL_LIST_EXT:
      validate_n(buf, c, std::uint64_t{c.u32()} + 1, depth);  // elements and tail
      break;
    case ERL_BINARY_EXT:
      c.skip(c.u32());
      break;
    case ERL_BIT_BINARY_EXT: {
      const std::uint32_t n = c.u32();
      c.skip(1 + std::size_t{n});
      break;
    }
    case ERL_SMALL_BIG_EXT: {
      const std::uint32_t n = c.u8();
      c.skip(1 + std::size_t{n});
      break;
    }
    case ERL_LARGE_BIG_EXT: {
      const std::uint32_t n = c.u32();
      c.skip(1 + std::size_t{n});
      break;
    }
    case ERL_NEW_FUN_EXT: {
      const std::uint32_t size = c.u32();  // counts itself
      if (size < 4) throw frame_error("bad fun");
      c.skip(size - 4);
      break;
    }
    case ERL_EXPORT_EXT:
      validate_n(buf, c, 3, depth);
      break;
    default:
      throw frame_error("unknown term tag " + std::to_string(tag));
  }
  return c.at();
}

void put_header(std::string& out, int arity, control_op op) {
  out.push_back(static_cast<char>(pass_through));
  out.push_back(static_cast<char>(version_magic));
  encode_into(out, [&](char* b, int* i) {
    ei_encode_tuple_header(b, i, arity);
    ei_encode_long(b, i, static_cast<long>(op));
  });
}

void put_pid(std::string& out, const erlang_pid& p) {
  encode_into(out, [&](char* b, int* i) { ei_encode_pid(b, i, &p); });
}

void put_atom(std::string& out, std::string_view a) {
  encode_into(out, [&](char* b, int* i) {
    ei_encode_atom_len_as(b, i, a.data(), static_cast<int>(a.size()), ERLANG_UTF8, ERLANG_UTF8);
  });
}

void put_binary(std::string& out, std::string_view s) {
  encode_into(
      out, [&](char* b, int* i) { ei_encode_binary(b, i, s.data(), static_cast<long>(s.size())); });
}

bool plain_atom(std::string_view s) {
  if (s.empty() || s.size() > 255 || s[0] < 'a' || s[0] > 'z') return false;
  for (char ch : s) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_' || ch == '@';
    if (!ok) return false;
  }
  return true;
}

erlang_pid decode_pid(const char* buf, int* index) {
  erlang_pid p{};
  if (ei_decode_pid(buf, index, &p) < 0) throw frame_error("expected a pid");
  return p;
}

std::string decode_atom(const char* buf, int* index) {
  std::array<char, MAXATOMLEN_UTF8> a{};
  if (ei_decode_atom_as(buf, index, a.data(), a.size(), ERLANG_UTF8, nullptr, nullptr) < 0) {
    throw frame_error("expected an atom");
  }
  return {a.data()};
}

}  // namespace

std::size_t validate_term(std::string_view buf, std::size_t at, int depth) {
  return validate(buf, at, depth);
}

control parse_frame(std::string_view frame) {
  if (frame.size() < 2 || static_cast<unsigned char>(frame[0]) != pass_through ||
      static_cast<unsigned char>(frame[1]) != version_magic) {
    throw frame_error("not a pass-through frame");
  }
  // Validate the control term (and the message, if any) before ei reads them: ei decoders do
  // not check bounds.
  const std::size_t ctrl_end = validate(frame, 2, 0);
  const char* buf = frame.data();
  int index = 2;
  int arity = 0;
  long op = 0;
  if (ei_decode_tuple_header(buf, &index, &arity) < 0 || arity < 2 ||
      ei_decode_long(buf, &index, &op) < 0) {
    throw frame_error("bad control tuple");
  }
  control c;
  c.op = static_cast<control_op>(op);
  auto term_view = [&](int from) {
    const auto end = validate(frame, static_cast<std::size_t>(from), 0);
    index = static_cast<int>(end);
    return frame.substr(static_cast<std::size_t>(from), end - static_cast<std::size_t>(from));
  };
  switch (c.op) {
    case control_op::send:
      if (arity != 3) throw frame_error("bad SEND");
      (void)term_view(index);  // the unused cookie
      c.to = decode_pid(buf, &index);
      break;
    case control_op::send_sender:
      if (arity != 3) throw frame_error("bad SEND_SENDER");
      c.from = decode_pid(buf, &index);
      c.to = decode_pid(buf, &index);
      break;
    case control_op::reg_send:
      if (arity != 4) throw frame_error("bad REG_SEND");
      c.from = decode_pid(buf, &index);
      (void)term_view(index);
      c.to_name = decode_atom(buf, &index);
      break;
    case control_op::link:
    case control_op::unlink:
      if (arity != 3) throw frame_error("bad LINK/UNLINK");
      c.from = decode_pid(buf, &index);
      c.to = decode_pid(buf, &index);
      break;
    case control_op::unlink_id:
    case control_op::unlink_id_ack: {
      if (arity != 4) throw frame_error("bad UNLINK_ID");
      unsigned long long id = 0;
      if (ei_decode_ulonglong(buf, &index, &id) < 0 || id == 0) {
        throw frame_error("bad UNLINK_ID id");
      }
      c.id = id;
      c.from = decode_pid(buf, &index);
      c.to = decode_pid(buf, &index);
      break;
    }
    case control_op::exit:
    case control_op::exit2:
      if (arity != 4) throw frame_error("bad EXIT");
      c.from = decode_pid(buf, &index);
      c.to = decode_pid(buf, &index);
      c.reason = term_view(index);
      break;
    case control_op::monitor:
    case control_op::demonitor: {
      if (arity != 4) throw frame_error("bad MONITOR_P");
      c.from = decode_pid(buf, &index);
      int type = 0;
      int size = 0;
      ei_get_type(buf, &index, &type, &size);
      if (type == ERL_PID_EXT || type == ERL_NEW_PID_EXT) {
        c.to = decode_pid(buf, &index);
      } else {
        c.to_name = decode_atom(buf, &index);
      }
      c.ref = term_view(index);
      break;
    }
    case control_op::monitor_exit: {
      if (arity != 5) throw frame_error("bad MONITOR_P_EXIT");
      int type = 0;
      int size = 0;
      ei_get_type(buf, &index, &type, &size);
      if (type == ERL_PID_EXT || type == ERL_NEW_PID_EXT) {
        c.from = decode_pid(buf, &index);
      } else {
        (void)term_view(index);  // monitored by name: we never do that
      }
      c.to = decode_pid(buf, &index);
      c.ref = term_view(index);
      c.reason = term_view(index);
      break;
    }
    default:
      throw frame_error("unsupported control message " + std::to_string(op));
  }
  if (static_cast<std::size_t>(index) != ctrl_end) throw frame_error("bad control tuple");
  const bool has_message =
      c.op == control_op::send || c.op == control_op::reg_send || c.op == control_op::send_sender;
  if (has_message) {
    if (frame.size() <= ctrl_end || static_cast<unsigned char>(frame[ctrl_end]) != version_magic) {
      throw frame_error("send without a message");
    }
    if (validate(frame, ctrl_end + 1, 0) != frame.size()) throw frame_error("bad message term");
    c.message = frame.substr(ctrl_end);
  } else if (ctrl_end != frame.size()) {
    throw frame_error("trailing bytes after the control message");
  }
  return c;
}

void put_send(std::string& out, const erlang_pid& to, std::string_view message) {
  put_header(out, 3, control_op::send);
  put_atom(out, "");
  put_pid(out, to);
  out.append(message);
}

void put_reg_send(std::string& out, const erlang_pid& from, std::string_view to_name,
                  std::string_view message) {
  put_header(out, 4, control_op::reg_send);
  put_pid(out, from);
  put_atom(out, "");
  put_atom(out, to_name);
  out.append(message);
}

void put_link(std::string& out, control_op op, const erlang_pid& from, const erlang_pid& to) {
  put_header(out, 3, op);
  put_pid(out, from);
  put_pid(out, to);
}

void put_unlink_id(std::string& out, control_op op, std::uint64_t id, const erlang_pid& from,
                   const erlang_pid& to) {
  put_header(out, 4, op);
  encode_into(out, [&](char* b, int* i) { ei_encode_ulonglong(b, i, id); });
  put_pid(out, from);
  put_pid(out, to);
}

void put_exit(std::string& out, control_op op, const erlang_pid& from, const erlang_pid& to,
              std::string_view reason) {
  put_header(out, 4, op);
  put_pid(out, from);
  put_pid(out, to);
  out.append(reason);
}

void put_monitor(std::string& out, control_op op, const erlang_pid& from, const erlang_pid& to,
                 std::string_view ref) {
  put_header(out, 4, op);
  put_pid(out, from);
  put_pid(out, to);
  out.append(ref);
}

void put_monitor_exit(std::string& out, const erlang_pid& from, const erlang_pid& to,
                      std::string_view ref, std::string_view reason) {
  put_header(out, 5, control_op::monitor_exit);
  put_pid(out, from);
  put_pid(out, to);
  out.append(ref);
  out.append(reason);
}

std::string encode_reason(const exit_reason& r) {
  std::string out;
  auto tagged = [&](std::string_view tag, const std::string& detail) {
    encode_into(out, [](char* b, int* i) { ei_encode_tuple_header(b, i, 2); });
    put_atom(out, tag);
    put_binary(out, detail);
  };
  using k = exit_reason::kind;
  switch (r.what()) {
    case k::normal:
      put_atom(out, "normal");
      break;
    case k::shutdown:
      if (r.detail().empty()) {
        put_atom(out, "shutdown");
      } else {
        tagged("shutdown", r.detail());
      }
      break;
    case k::kill:
      put_atom(out, "kill");
      break;
    case k::killed:
      put_atom(out, "killed");
      break;
    case k::noproc:
      put_atom(out, "noproc");
      break;
    case k::noconnection:
      put_atom(out, "noconnection");
      break;
    case k::exception:
      tagged("exception", r.detail());
      break;
    case k::error:
      if (plain_atom(r.detail())) {
        put_atom(out, r.detail());
      } else {
        tagged("error", r.detail());
      }
      break;
  }
  return out;
}

exit_reason decode_reason(std::string_view bytes) {
  const char* buf = bytes.data();
  int index = 0;
  int type = 0;
  int size = 0;
  ei_get_type(buf, &index, &type, &size);
  auto atom_at = [&](int& i) { return decode_atom(buf, &i); };
  if (type == ERL_ATOM_EXT || type == ERL_SMALL_ATOM_UTF8_EXT || type == ERL_ATOM_UTF8_EXT ||
      type == ERL_SMALL_ATOM_EXT) {
    const std::string a = atom_at(index);
    if (a == "normal") return exit_reason::normal();
    if (a == "shutdown") return exit_reason::shutdown();
    if (a == "kill") return exit_reason::kill();
    if (a == "killed") return exit_reason::killed();
    if (a == "noproc") return exit_reason::noproc();
    if (a == "noconnection") return exit_reason::noconnection();
    return exit_reason::error(a);
  }
  int arity = 0;
  int i = 0;
  if (ei_decode_tuple_header(buf, &i, &arity) == 0 && arity == 2) {
    int t = 0;
    int sz = 0;
    ei_get_type(buf, &i, &t, &sz);
    if (t == ERL_ATOM_EXT || t == ERL_SMALL_ATOM_UTF8_EXT || t == ERL_ATOM_UTF8_EXT ||
        t == ERL_SMALL_ATOM_EXT) {
      const std::string tag = atom_at(i);
      ei_get_type(buf, &i, &t, &sz);
      if (t == ERL_BINARY_EXT) {
        std::string detail(static_cast<std::size_t>(sz), '\0');
        long len = 0;
        ei_decode_binary(buf, &i, detail.data(), &len);
        if (tag == "shutdown") return exit_reason::shutdown(detail);
        if (tag == "error") return exit_reason::error(detail);
        if (tag == "exception") {
          const auto colon = detail.find(": ");
          if (colon != std::string::npos) {
            return exit_reason::exception(detail.substr(0, colon), detail.substr(colon + 2));
          }
          return exit_reason::exception(detail, "");
        }
      } else if (tag == "shutdown") {
        std::string v(1, static_cast<char>(version_magic));
        v.append(bytes.substr(static_cast<std::size_t>(i)));
        return exit_reason::shutdown(print_term(v));
      }
    }
  }
  std::string v(1, static_cast<char>(version_magic));
  v.append(bytes);
  return exit_reason::error(print_term(v));
}

std::string print_pid(const erlang_pid& p) {
  return "<" + std::string(static_cast<const char*>(p.node)) + "." + std::to_string(p.num) + "." +
         std::to_string(p.serial) + ">";
}

std::string print_term(std::string_view bytes) {
  try {
    term_reader r(std::span<const char>(bytes.data(), bytes.size()));
    r.read_version();
    return r.read<term>().to_string();
  } catch (const std::exception&) {
    return "<unprintable term>";
  }
}

}  // namespace peeper::dist::detail
