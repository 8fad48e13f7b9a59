// Tokenizer training: WordPiece merges and SentencePiece unigram, written as HF folders that
// load_tokenizer reads back.

#include "text/vocab_trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/test_paths.h"
#include "text/tokenizer.h"

namespace emotune {
namespace {

using text::VocabKind;
using text::VocabTrainOptions;

// A small corpus with repeated words (so merges have counts above 2), punctuation, accents
// and a non-Latin script.
std::vector<std::string> corpus() {
  const std::vector<std::string> subjects = {"The reporter", "My neighbour", "Everyone",
                                             "The children", "A café owner"};
  const std::vector<std::string> verbs = {"was saddened by", "felt anxious about",
                                          "couldn't believe", "is angry about", "laughed at"};
  const std::vector<std::string> objects = {"the flooding.", "the unbelievable news!",
                                            "this article; really?", "the wildfires in Greece.",
                                            "the naïve politicians — again. Ελπίδα"};
  std::vector<std::string> texts;
  for (const auto& s : subjects)
    for (const auto& v : verbs)
      for (const auto& o : objects) texts.push_back(s + " " + v + " " + o);
  return texts;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return lines;
}

bool contains_id(const std::vector<std::int64_t>& ids, std::int64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

TEST(VocabKind, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(text::parse_vocab_kind("wordpiece"), VocabKind::wordpiece);
  EXPECT_EQ(text::parse_vocab_kind("unigram"), VocabKind::unigram);
  EXPECT_EQ(text::vocab_kind_name(VocabKind::unigram), "unigram");
  EXPECT_THROW(text::parse_vocab_kind("bpe"), Error);
}

TEST(WordPieceTrainer, SpecialsFirstThenEveryCharacterInBothForms) {
  VocabTrainOptions options;
  options.vocab_size = 300;
  const auto vocab = text::learn_wordpiece_vocab(corpus(), options);
  ASSERT_GE(vocab.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(vocab.begin(), vocab.begin() + 5),
            (std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}));
  const std::set<std::string> entries(vocab.begin(), vocab.end());
  EXPECT_EQ(entries.size(), vocab.size()) << "duplicate entries";
  EXPECT_LE(vocab.size(), 300u);
  // Lower-cased, accents stripped: "é" and "ï" are gone, Greek letters are lower-case.
  for (const char* piece : {"a", "##a", "t", "##t", "ε", "##ε", "!", "—"}) {
    EXPECT_TRUE(entries.contains(piece)) << piece;
  }
  for (const char* piece : {"T", "é", "##ï", "Ε"}) EXPECT_FALSE(entries.contains(piece)) << piece;
  // Frequent words become whole pieces.
  for (const char* piece : {"the", "about"}) EXPECT_TRUE(entries.contains(piece)) << piece;
}

TEST(WordPieceTrainer, MergesTheMostFrequentPairFirst) {
  // "ab" occurs 5 times, "cd" 3 times: the first merge is a + ##b, then c + ##d.
  const std::vector<std::string> texts = {"ab ab ab ab ab cd cd cd"};
  VocabTrainOptions options;
  options.vocab_size = 5 + 8 + 2;
  const auto vocab = text::learn_wordpiece_vocab(texts, options);
  ASSERT_EQ(vocab.size(), 15u);
  EXPECT_EQ(vocab[13], "ab");
  EXPECT_EQ(vocab[14], "cd");
}

TEST(WordPieceTrainer, StopsWhenNoPairReachesTheMinimumCount) {
  const std::vector<std::string> texts = {"xy xy zw"};
  VocabTrainOptions options;
  options.vocab_size = 1000;
  const auto vocab = text::learn_wordpiece_vocab(texts, options);
  // 5 specials, 4 characters x 2 forms, one merge ("xy", seen twice); "zw" is seen once.
  EXPECT_EQ(vocab.size(), 5u + 8u + 1u);
  EXPECT_EQ(vocab.back(), "xy");
}

TEST(WordPieceTrainer, NoLowercaseKeepsCaseAndAccents) {
  VocabTrainOptions options;
  options.vocab_size = 200;
  options.lowercase = false;
  const auto vocab = text::learn_wordpiece_vocab(corpus(), options);
  const std::set<std::string> entries(vocab.begin(), vocab.end());
  for (const char* piece : {"T", "Ε", "##é", "##ï"}) EXPECT_TRUE(entries.contains(piece)) << piece;
}

TEST(WordPieceTrainer, WritesAFolderLoadTokenizerReadsWithoutUnknowns) {
  testing::TempDir out;
  VocabTrainOptions options;
  options.vocab_size = 400;
  const auto texts = corpus();
  const auto result = text::train_vocab(texts, out.path(), options);
  EXPECT_EQ(result.texts, texts.size());
  EXPECT_EQ(result.files.size(), 3u);
  const auto vocab = lines_of(read_file(out / "vocab.txt"));
  EXPECT_EQ(vocab.size(), result.vocab_size);
  const auto config = nlohmann::json::parse(read_file(out / "tokenizer_config.json"));
  EXPECT_EQ(config.at("tokenizer_class"), "BertTokenizer");
  EXPECT_EQ(config.at("do_lower_case"), true);

  const auto tokenizer = text::load_tokenizer(out.path());
  EXPECT_EQ(tokenizer->algorithm(), "wordpiece");
  EXPECT_EQ(tokenizer->vocab_size(), vocab.size());
  const auto& special = tokenizer->special_ids();
  EXPECT_EQ(special.pad, 0);
  EXPECT_EQ(special.unk, 1);
  EXPECT_EQ(special.cls, 2);
  EXPECT_EQ(special.sep, 3);
  EXPECT_EQ(special.mask, 4);
  for (const auto& text : texts) {
    const auto ids = tokenizer->encode_without_specials(text);
    ASSERT_FALSE(ids.empty());
    EXPECT_FALSE(contains_id(ids, special.unk)) << text;
  }
  // A word never seen is still split into known pieces when its characters were seen.
  EXPECT_FALSE(
      contains_id(tokenizer->encode_without_specials("Reported neighbourhoods"), special.unk));
  // A character never seen is unknown.
  EXPECT_TRUE(contains_id(tokenizer->encode_without_specials("qqq 日"), special.unk));
  const auto encoding = tokenizer->encode(texts.front());
  EXPECT_EQ(encoding.input_ids.front(), special.cls);
  EXPECT_EQ(encoding.input_ids.back(), special.sep);
}

TEST(UnigramTrainer, WritesAnAlbertFolderLoadTokenizerReadsWithoutUnknowns) {
  testing::TempDir out;
  VocabTrainOptions options;
  options.kind = VocabKind::unigram;
  options.vocab_size = 120;
  const auto texts = corpus();
  const auto result = text::train_vocab(texts, out.path(), options);
  EXPECT_TRUE(std::filesystem::exists(out / "spiece.model"));
  EXPECT_GT(result.vocab_size, 20u);
  EXPECT_LE(result.vocab_size, 120u);
  // Only the three HF files are left behind, no trainer scratch files.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(out.path()))
    ++files;
  EXPECT_EQ(files, 3u);
  const auto config = nlohmann::json::parse(read_file(out / "tokenizer_config.json"));
  EXPECT_EQ(config.at("tokenizer_class"), "AlbertTokenizer");
  EXPECT_EQ(config.at("keep_accents"), false);

  const auto tokenizer = text::load_tokenizer(out.path());
  EXPECT_EQ(tokenizer->algorithm(), "unigram");
  EXPECT_EQ(tokenizer->vocab_size(), result.vocab_size);
  const auto& special = tokenizer->special_ids();
  EXPECT_EQ(special.pad, 0);
  EXPECT_EQ(special.unk, 1);
  EXPECT_EQ(special.cls, 2);
  EXPECT_EQ(special.sep, 3);
  EXPECT_EQ(special.mask, 4);
  EXPECT_EQ(tokenizer->id_to_token(4), "[MASK]");
  for (const auto& text : texts) {
    const auto ids = tokenizer->encode_without_specials(text);
    ASSERT_FALSE(ids.empty());
    EXPECT_FALSE(contains_id(ids, special.unk)) << text;
  }
  const auto pieces = tokenizer->tokenize("The reporter laughed at the news");
  EXPECT_FALSE(pieces.empty());
  EXPECT_EQ(pieces.front().rfind("\xE2\x96\x81", 0), 0u) << pieces.front();  // starts with ▁
  const auto masked = tokenizer->encode("the [MASK] news");
  EXPECT_TRUE(contains_id(masked.input_ids, special.mask));
}

TEST(VocabTrainer, SameInputGivesIdenticalFiles) {
  for (const auto kind : {VocabKind::wordpiece, VocabKind::unigram}) {
    testing::TempDir first;
    testing::TempDir second;
    VocabTrainOptions options;
    options.kind = kind;
    options.vocab_size = 150;
    const auto a = text::train_vocab(corpus(), first.path(), options);
    const auto b = text::train_vocab(corpus(), second.path(), options);
    ASSERT_EQ(a.files.size(), b.files.size());
    for (std::size_t i = 0; i < a.files.size(); ++i) {
      EXPECT_EQ(sha256_file(a.files[i]), sha256_file(b.files[i]))
          << text::vocab_kind_name(kind) << " " << a.files[i].filename();
    }
  }
}

TEST(VocabTrainer, RejectsBadInput) {
  testing::TempDir out;
  VocabTrainOptions options;
  EXPECT_THROW(text::train_vocab({}, out.path(), options), Error);
  options.vocab_size = 3;
  EXPECT_THROW(text::train_vocab(corpus(), out.path(), options), Error);
  options.vocab_size = 100;
  try {
    text::train_vocab({"fine", "bad \xFF byte"}, out.path(), options);
    FAIL() << "invalid UTF-8 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("text 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(text::train_vocab({" ", "\t"}, out.path(), options), Error);
}

}  // namespace
}  // namespace emotune
