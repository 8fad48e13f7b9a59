#include "text/unicode.h"

#include <array>

#include <utf8proc.h>

#include "common/error.h"

namespace emotune::text {

void append_utf8(char32_t cp, std::string& out) {
  std::array<utf8proc_uint8_t, 4> buffer{};
  const auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buffer.data());
  out.append(reinterpret_cast<const char*>(buffer.data()), static_cast<std::size_t>(n));
}

void append_python_lower(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp - 'A' + 'a' : cp));
    return;
  }
  // The one unconditional multi-character lowercase mapping of SpecialCasing.txt.
  if (cp == 0x130) {
    out += "i\xCC\x87";
    return;
  }
  append_utf8(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))), out);
}

void check_utf8(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    utf8proc_int32_t cp = 0;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + pos),
                                    static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
    if (n <= 0) {
      throw Error(fmt::format("invalid UTF-8 at byte {} of the text (byte 0x{:02X})", pos,
                              static_cast<unsigned char>(text[pos])));
    }
    pos += static_cast<std::size_t>(n);
  }
}

}  // namespace emotune::text
