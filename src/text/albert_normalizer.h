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
// valid UTF-8 (see text/unicode.h check_utf8).
std::string albert_preprocess(std::string_view text, const AlbertPreprocessOptions& options);

}  // namespace emotune::text
