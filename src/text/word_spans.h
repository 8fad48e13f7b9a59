#pragma once

// Which word of a text each word piece belongs to, for every tokenizer family (WordPiece "##",
// byte-level BPE "Ġ", SentencePiece "▁") without relying on their markers: a word is a
// whitespace-separated span of the text as written, and its pieces are found by tokenizing
// the text word by word and matching against the pieces of the whole text.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "text/tokenizer.h"

namespace emotune::text {

struct WordSpan {
  std::size_t begin = 0;        // byte offset of the word's first character in the text
  std::size_t end = 0;          // one past its last byte
  std::size_t first_piece = 0;  // index into WordAlignment::ids
  std::size_t piece_count = 0;  // may be 0 (e.g. characters the normalizer drops)
};

struct WordAlignment {
  std::vector<std::int64_t> ids;         // tokenizer.encode_without_specials(text)
  std::vector<WordSpan> words;           // in text order, covering every piece once
  std::vector<std::size_t> piece_word;   // for each id, the index of its word
};

// Every piece lands in exactly one word. Tokenizing word by word gives the whole text's pieces
// for all three families, since none of them joins characters across whitespace; where a
// tokenizer disagrees (e.g. a Unicode space it does not split on), the words involved are
// merged into one rather than misaligned.
WordAlignment align_words(const Tokenizer& tokenizer, std::string_view text);

}  // namespace emotune::text
