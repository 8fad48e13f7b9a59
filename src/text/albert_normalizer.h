#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace emotune::text {

// The options of HF's AlbertTokenizer that shape its Python-side pre-processing.
struct AlbertPreprocessOptions {
  bool remove_space = true;   // " ".join(text.strip().split())
  bool keep_accents = false;  // false: NFKD, then drop combining characters
  bool do_lower_case = true;  // str.lower()
};

// AlbertTokenizer.preprocess_text (transformers 4.30): collapse Python whitespace, turn ``
// and '' into ", NFKD and drop combining marks unless keep_accents, lowercase. `text` must be
// valid UTF-8 (see check_utf8).
std::string albert_preprocess(std::string_view text, const AlbertPreprocessOptions& options);

// Python's str.lower() applied one code point at a time (so no final-sigma rule, as HF's
// per-character lowercasing regex does), with the full mapping İ → i̇.
void append_python_lower(char32_t cp, std::string& out);

// Throws Error("invalid UTF-8 at byte N ...") unless `text` is well-formed UTF-8, which is
// what a Python str can hold.
void check_utf8(std::string_view text);

// Appends the UTF-8 encoding of a valid code point.
void append_utf8(char32_t cp, std::string& out);

}  // namespace emotune::text
