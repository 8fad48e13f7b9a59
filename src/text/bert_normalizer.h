#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace emotune::text {

// Options of HuggingFace's BasicTokenizer, as tokenizer_config.json names them.
struct BertNormalizerOptions {
  bool do_lower_case = true;
  // nullopt follows do_lower_case (HF's `strip_accents=None`).
  std::optional<bool> strip_accents;
  bool tokenize_chinese_chars = true;
  bool split_on_punctuation = true;
  // tokenizer_config.json's never_split: kept whole and never sent through WordPiece.
  std::vector<std::string> never_split;
  // The special tokens' contents: kept whole (not lower-cased, not split on punctuation) when
  // a whole word equals one, but still sent through WordPiece.
  std::vector<std::string> special_tokens;
};

// The words of one text, stored back to back in one buffer so that splitting a text
// allocates nothing per character or per word once the buffers have grown.
class BasicWords {
 public:
  struct Word {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    bool keep_whole = false;  // a never_split entry: emitted as is, no WordPiece
  };

  void clear() {
    chars_.clear();
    words_.clear();
  }
  std::size_t size() const { return words_.size(); }
  std::string_view text(std::size_t i) const {
    return std::string_view(chars_).substr(words_[i].offset, words_[i].length);
  }
  bool keep_whole(std::size_t i) const { return words_[i].keep_whole; }

 private:
  friend class BertNormalizer;
  std::string chars_;
  std::vector<Word> words_;
  std::string scratch_;
};

// BERT's BasicTokenizer (HF transformers 4.30, slow tokenizer), including the per-character
// Python str.lower() that PreTrainedTokenizer.tokenize applies to non-special text first:
// delete NUL/U+FFFD/C* characters, split around CJK ideographs, split on whitespace, NFC,
// lower-case and strip accents (NFD, drop Mn), split off punctuation.
// ASCII words take a fast path; anything else goes through utf8proc.
class BertNormalizer {
 public:
  explicit BertNormalizer(BertNormalizerOptions options);

  // Appends the words of `text` (text without special tokens) to `out`.
  // Throws Error on invalid UTF-8.
  void split(std::string_view text, BasicWords& out) const;

  const BertNormalizerOptions& options() const { return options_; }

 private:
  void flush_word(BasicWords& out, std::size_t start, bool ascii) const;
  void finish_word(BasicWords& out, std::size_t start) const;
  bool in_never_split(std::string_view word) const;
  bool in_keep_whole(std::string_view word) const;

  BertNormalizerOptions options_;
  bool strip_accents_ = true;
  std::unordered_set<std::string> never_split_all_;  // never_split ∪ special tokens
  std::unordered_set<std::string> keep_whole_;       // never_split only
  std::size_t never_split_min_length_ = 0;
  std::size_t never_split_max_length_ = 0;
};

// HF's definitions, exposed for tests.
bool is_bert_punctuation(char32_t cp);
bool is_cjk_ideograph(char32_t cp);

// Python's str.lower() for one code point (full case mapping: 'İ' gives "i̇").
// Appends the UTF-8 of the result to `out`.
void append_python_lower(char32_t cp, std::string& out);

}  // namespace emotune::text
