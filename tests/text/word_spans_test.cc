// align_words (text/word_spans.h) on the four fixture tokenizers: every piece of every fixture
// text lands in exactly one whitespace-separated word, in order, and words hold the pieces HF's
// tokenizer gives for them.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/test_paths.h"
#include "text/tokenizer.h"
#include "text/word_spans.h"

namespace emotune::text {
namespace {

using emotune::testing::hf_fixtures_dir;

std::vector<std::string> fixture_texts() {
  const auto texts = nlohmann::json::parse(read_file(hf_fixtures_dir() / "texts.json"));
  std::vector<std::string> out;
  for (const auto& item : texts.at("texts")) out.push_back(item.at("text").get<std::string>());
  return out;
}

std::vector<std::string> word_pieces(const Tokenizer& tokenizer, const WordAlignment& alignment,
                                     std::size_t word) {
  std::vector<std::string> pieces;
  const auto& span = alignment.words.at(word);
  for (std::size_t p = 0; p < span.piece_count; ++p) {
    pieces.push_back(tokenizer.id_to_token(alignment.ids[span.first_piece + p]));
  }
  return pieces;
}

class WordSpansTest : public ::testing::TestWithParam<std::string> {};

TEST_P(WordSpansTest, EveryPieceOfEveryFixtureTextLandsInOneWordInOrder) {
  const auto tokenizer = load_tokenizer(hf_fixtures_dir() / GetParam());
  for (const auto& text : fixture_texts()) {
    SCOPED_TRACE(text.substr(0, 60));
    const auto alignment = align_words(*tokenizer, text);
    EXPECT_EQ(alignment.ids, tokenizer->encode_without_specials(text));
    ASSERT_EQ(alignment.piece_word.size(), alignment.ids.size());
    std::size_t next_piece = 0, previous_end = 0;
    for (std::size_t w = 0; w < alignment.words.size(); ++w) {
      const auto& word = alignment.words[w];
      EXPECT_EQ(word.first_piece, next_piece);
      EXPECT_GE(word.begin, previous_end);
      EXPECT_LT(word.begin, word.end);
      EXPECT_LE(word.end, text.size());
      for (std::size_t p = 0; p < word.piece_count; ++p) {
        EXPECT_EQ(alignment.piece_word[word.first_piece + p], w);
      }
      next_piece += word.piece_count;
      previous_end = word.end;
    }
    EXPECT_EQ(next_piece, alignment.ids.size());
  }
}

TEST_P(WordSpansTest, PlainEnglishSplitsAtEverySpace) {
  const auto tokenizer = load_tokenizer(hf_fixtures_dir() / GetParam());
  const std::string text = "  I felt so sad,  reading about unbelievably\tcruel floods. ";
  const auto alignment = align_words(*tokenizer, text);
  std::vector<std::string> words;
  for (const auto& word : alignment.words) words.push_back(text.substr(word.begin, word.end - word.begin));
  EXPECT_EQ(words, (std::vector<std::string>{"I", "felt", "so", "sad,", "reading", "about",
                                             "unbelievably", "cruel", "floods."}));
  for (std::size_t w = 0; w < words.size(); ++w) {
    EXPECT_GT(alignment.words[w].piece_count, 0u) << words[w];
  }
  // "sad," is the word and its comma: two pieces in every family.
  EXPECT_EQ(word_pieces(*tokenizer, alignment, 3).size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Families, WordSpansTest,
                         ::testing::Values("electra", "roberta", "albert", "bert"),
                         [](const auto& info) { return info.param; });

TEST(WordSpans, MarkersOfEachFamilyStayInsideTheirWord) {
  const std::string text = "unbelievably sad";
  const auto bert = load_tokenizer(hf_fixtures_dir() / "bert");
  const auto bpe = load_tokenizer(hf_fixtures_dir() / "roberta");
  const auto spm = load_tokenizer(hf_fixtures_dir() / "albert");
  for (const auto* tokenizer : {bert.get(), bpe.get(), spm.get()}) {
    const auto alignment = align_words(*tokenizer, text);
    ASSERT_EQ(alignment.words.size(), 2u);
    const auto second = word_pieces(*tokenizer, alignment, 1);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_TRUE(second[0] == "sad" || second[0] == "\xC4\xA0sad" || second[0] == "\xE2\x96\x81sad")
        << second[0];
  }
}

TEST(WordSpans, EmptyAndBlankTextsHaveNoPieces) {
  const auto tokenizer = load_tokenizer(hf_fixtures_dir() / "bert");
  EXPECT_TRUE(align_words(*tokenizer, "").words.empty());
  EXPECT_TRUE(align_words(*tokenizer, " \t\n").ids.empty());
}

}  // namespace
}  // namespace emotune::text
