#include "io/utf8.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.h"

namespace emotune::io {

namespace {

// Length of the well-formed UTF-8 sequence at `pos` (positive), or minus the length of the
// maximal ill-formed subpart there (Unicode 15, table 3-7 and section 3.9 "U+FFFD Substitution").
int sequence_at(std::string_view bytes, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) return 1;
  int length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return -1;
  }
  for (int i = 1; i < length; ++i) {
    if (pos + i >= bytes.size()) return -i;
    const unsigned char next = byte(pos + i);
    const unsigned char lo = i == 1 ? low : 0x80;
    const unsigned char hi = i == 1 ? high : 0xBF;
    if (next < lo || next > hi) return -i;
  }
  return length;
}

}  // namespace

std::optional<std::size_t> first_invalid_utf8(std::string_view bytes) {
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    if (static_cast<unsigned char>(bytes[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const int n = sequence_at(bytes, pos);
    if (n < 0) return pos;
    pos += static_cast<std::size_t>(n);
  }
  return std::nullopt;
}

Utf8Errors parse_utf8_errors(std::string_view name) {
  if (name == "replace") return Utf8Errors::kReplace;
  if (name == "ignore") return Utf8Errors::kIgnore;
  if (name == "strict") return Utf8Errors::kStrict;
  throw Error(fmt::format("errors \"{}\": expected \"replace\", \"ignore\" or \"strict\"", name));
}

std::string decode_utf8(std::string_view bytes, Utf8Errors errors) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const int n = sequence_at(bytes, pos);
    if (n > 0) {
      out.append(bytes.substr(pos, static_cast<std::size_t>(n)));
      pos += static_cast<std::size_t>(n);
      continue;
    }
    if (errors == Utf8Errors::kStrict) {
      throw Error(fmt::format("decoded bytes are not valid UTF-8 (byte 0x{:02X} at offset {})",
                              static_cast<unsigned char>(bytes[pos]), pos));
    }
    if (errors == Utf8Errors::kReplace) out += "\xEF\xBF\xBD";
    pos += static_cast<std::size_t>(-n);
  }
  return out;
}

std::size_t count_code_points(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(
      text.begin(), text.end(), [](char byte) { return !is_continuation_byte(byte); }));
}

}  // namespace emotune::io
