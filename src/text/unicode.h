#pragma once

#include <string>
#include <string_view>

// Unicode helpers shared by the tokenizers (utf8proc underneath).
namespace emotune::text {

// Python's str.lower() applied one code point at a time (so no final-sigma rule, as HF's
// per-character lowercasing regex does), with the full mapping İ → i̇.
void append_python_lower(char32_t cp, std::string& out);

// Throws Error("invalid UTF-8 at byte N ...") unless `text` is well-formed UTF-8, which is
// what a Python str can hold.
void check_utf8(std::string_view text);

// Appends the UTF-8 encoding of a valid code point.
void append_utf8(char32_t cp, std::string& out);

}  // namespace emotune::text
