#include "text/word_spans.h"

#include <algorithm>

namespace emotune::text {
namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

struct Chunk {
  std::size_t begin;
  std::size_t end;
};

std::vector<Chunk> whitespace_chunks(std::string_view text) {
  std::vector<Chunk> chunks;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_ascii_space(text[i])) ++i;
    if (i == text.size()) break;
    const std::size_t begin = i;
    while (i < text.size() && !is_ascii_space(text[i])) ++i;
    chunks.push_back({begin, i});
  }
  return chunks;
}

}  // namespace

WordAlignment align_words(const Tokenizer& tokenizer, std::string_view text) {
  WordAlignment alignment;
  alignment.ids = tokenizer.encode_without_specials(text);
  const auto& ids = alignment.ids;
  const auto chunks = whitespace_chunks(text);

  std::size_t piece = 0;          // first piece not yet given to a word
  std::size_t segment_start = 0;  // text consumed by accepted words (whitespace included)
  std::size_t pending = 0;        // index of the first chunk of the word being built
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    // The segment carries the whitespace before the word: byte-level BPE marks it ("Ġ").
    const auto segment =
        tokenizer.encode_without_specials(text.substr(segment_start, chunks[c].end - segment_start));
    const bool matches = piece + segment.size() <= ids.size() &&
                         std::equal(segment.begin(), segment.end(), ids.begin() + static_cast<std::ptrdiff_t>(piece));
    if (!matches) continue;  // merge with the next chunk and try again
    alignment.words.push_back({chunks[pending].begin, chunks[c].end, piece, segment.size()});
    piece += segment.size();
    segment_start = chunks[c].end;
    pending = c + 1;
  }
  if (pending < chunks.size()) {
    alignment.words.push_back(
        {chunks[pending].begin, chunks.back().end, piece, ids.size() - piece});
    piece = ids.size();
  }
  if (piece < ids.size()) {
    // Pieces after the last word (e.g. byte-level BPE's trailing whitespace) join it.
    if (alignment.words.empty()) alignment.words.push_back({0, text.size(), 0, 0});
    alignment.words.back().piece_count += ids.size() - piece;
  }
  alignment.piece_word.assign(ids.size(), 0);
  for (std::size_t w = 0; w < alignment.words.size(); ++w) {
    const auto& word = alignment.words[w];
    for (std::size_t p = 0; p < word.piece_count; ++p) alignment.piece_word[word.first_piece + p] = w;
  }
  return alignment;
}

}  // namespace emotune::text
