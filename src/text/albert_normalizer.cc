#include "text/albert_normalizer.h"

#include <algorithm>
#include <array>
#include <vector>

#include <utf8proc.h>

#include "common/error.h"
#include "text/added_tokens.h"
#include "text/unicode.h"

namespace emotune::text {

namespace {

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Decodes already-validated UTF-8.
std::vector<char32_t> to_code_points(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    utf8proc_int32_t cp = 0;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + pos),
                                    static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
    if (n <= 0) throw Error(fmt::format("invalid UTF-8 at byte {} of the text", pos));
    out.push_back(static_cast<char32_t>(cp));
    pos += static_cast<std::size_t>(n);
  }
  return out;
}

// Python's str.replace for a two-character pattern, left to right, non-overlapping.
template <typename Char>
void replace_pair(std::basic_string<Char>& s, Char first, Char second, Char with) {
  std::size_t write = 0;
  for (std::size_t read = 0; read < s.size(); ++read) {
    if (s[read] == first && read + 1 < s.size() && s[read + 1] == second) {
      s[write++] = with;
      ++read;
    } else {
      s[write++] = s[read];
    }
  }
  s.resize(write);
}

// " ".join(text.split()) with Python's notion of whitespace.
template <typename Char, typename IsSpace>
std::basic_string<Char> collapse_whitespace(const std::basic_string<Char>& in, IsSpace is_space) {
  std::basic_string<Char> out;
  out.reserve(in.size());
  bool pending_space = false;
  for (const Char c : in) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(Char{' '});
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

bool is_ascii_python_space(char c) {
  // str.isspace() for ASCII: \t \n \v \f \r, the four information separators, and space.
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

std::string preprocess_ascii(std::string_view text, const AlbertPreprocessOptions& options) {
  std::string s(text);
  if (options.remove_space) s = collapse_whitespace(s, is_ascii_python_space);
  replace_pair(s, '`', '`', '"');
  replace_pair(s, '\'', '\'', '"');
  // NFKD leaves ASCII unchanged and ASCII has no combining characters.
  if (options.do_lower_case) {
    for (char& c : s) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return s;
}

}  // namespace

std::string albert_preprocess(std::string_view text, const AlbertPreprocessOptions& options) {
  if (is_ascii(text)) return preprocess_ascii(text, options);

  std::u32string s;
  {
    const auto cps = to_code_points(text);
    s.assign(cps.begin(), cps.end());
  }
  if (options.remove_space) s = collapse_whitespace(s, is_python_whitespace);
  replace_pair(s, U'`', U'`', U'"');
  replace_pair(s, U'\'', U'\'', U'"');

  if (!options.keep_accents) {
    // NFKD then drop every character with a non-zero combining class. Because all the marks
    // that canonical reordering would move are dropped, decomposing one code point at a time
    // gives the same result as a whole-string NFKD.
    std::u32string decomposed;
    decomposed.reserve(s.size());
    std::array<utf8proc_int32_t, 32> buffer{};
    for (const char32_t cp : s) {
      if (cp < 0x80) {
        decomposed.push_back(cp);
        continue;
      }
      int boundclass = UTF8PROC_BOUNDCLASS_START;
      const auto n = utf8proc_decompose_char(
          static_cast<utf8proc_int32_t>(cp), buffer.data(), buffer.size(),
          static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT), &boundclass);
      if (n < 0 || static_cast<std::size_t>(n) > buffer.size()) {
        throw Error(fmt::format("cannot NFKD-normalise code point U+{:04X}",
                                static_cast<std::uint32_t>(cp)));
      }
      for (utf8proc_ssize_t i = 0; i < n; ++i) {
        if (utf8proc_get_property(buffer[static_cast<std::size_t>(i)])->combining_class == 0) {
          decomposed.push_back(static_cast<char32_t>(buffer[static_cast<std::size_t>(i)]));
        }
      }
    }
    s = std::move(decomposed);
  }

  std::string out;
  out.reserve(s.size() + 8);
  for (const char32_t cp : s) {
    if (options.do_lower_case) {
      append_python_lower(cp, out);
    } else {
      append_utf8(cp, out);
    }
  }
  return out;
}

}  // namespace emotune::text
