// SentencePiece unigram (ALBERT) tokenizer: parity with HF's slow AlbertTokenizer (4.30).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/error_of.h"
#include "common/files.h"
#include "common/test_paths.h"
#include "text/albert_normalizer.h"
#include "text/token_goldens.h"
#include "text/tokenizer.h"
#include "text/unigram.h"

namespace emotune {
namespace {

using text::albert_preprocess;
using text::AlbertPreprocessOptions;
using Pieces = std::vector<std::string>;

std::filesystem::path albert_dir() {
  return testing::hf_fixtures_dir() / "albert";
}

const text::Tokenizer& albert() {
  static const auto tokenizer = text::load_unigram_tokenizer(albert_dir());
  return *tokenizer;
}

// Copies the ALBERT checkpoint's tokenizer files, so a test can break one of them.
void copy_tokenizer_files(const std::filesystem::path& to) {
  for (const char* name : {"spiece.model", "tokenizer_config.json", "special_tokens_map.json"}) {
    std::filesystem::copy_file(albert_dir() / name, to / name);
  }
}

using emotune::testing::error_of;

TEST(UnigramGolden, MatchesAllFixtureTexts) {
  testing::expect_matches_token_goldens(albert(), "albert");
}

TEST(UnigramGolden, LoadTokenizerDispatchesOnSpieceModel) {
  const auto tokenizer = text::load_tokenizer(albert_dir());
  EXPECT_EQ(tokenizer->algorithm(), "unigram");
  EXPECT_EQ(tokenizer->encode("Hello, my dog is cute").input_ids,
            (std::vector<std::int64_t>{2, 10975, 15, 51, 1952, 25, 10901, 3}));
}

TEST(UnigramGolden, SpecialIdsComeFromTheVocabulary) {
  const auto& ids = albert().special_ids();
  EXPECT_EQ(ids.pad, *albert().token_to_id("<pad>"));
  EXPECT_EQ(ids.unk, *albert().token_to_id("<unk>"));
  EXPECT_EQ(ids.cls, *albert().token_to_id("[CLS]"));
  EXPECT_EQ(ids.sep, *albert().token_to_id("[SEP]"));
  EXPECT_EQ(ids.mask, *albert().token_to_id("[MASK]"));
  EXPECT_EQ(albert().model_max_length(), 512u);
}

TEST(AlbertPreprocess, CollapsesPythonWhitespace) {
  const AlbertPreprocessOptions options;
  EXPECT_EQ(albert_preprocess("  too   many \t\n spaces  ", options), "too many spaces");
  EXPECT_EQ(albert_preprocess("a\u00a0\u00a0b\u3000c\v\fd\u2003e\x1f"
                              "f",
                              options),
            "a b c d e f");
  EXPECT_EQ(albert_preprocess(" \t\n\u00a0 ", options), "");
  AlbertPreprocessOptions keep_space;
  keep_space.remove_space = false;
  EXPECT_EQ(albert_preprocess(" a  b ", keep_space), " a  b ");
}

TEST(AlbertPreprocess, TurnsDoubledQuotesIntoDoubleQuote) {
  const AlbertPreprocessOptions options;
  EXPECT_EQ(albert_preprocess("``latex quotes''", options), "\"latex quotes\"");
  EXPECT_EQ(albert_preprocess("```", options), "\"`");
  EXPECT_EQ(albert_preprocess("'''''", options), "\"\"'");
  EXPECT_EQ(albert_preprocess("``Ünïcode''", options), "\"unicode\"");
}

TEST(AlbertPreprocess, NfkdDropsCombiningMarksUnlessKeepAccents) {
  const AlbertPreprocessOptions options;
  EXPECT_EQ(albert_preprocess("ﬁne ﬂow", options), "fine flow");
  EXPECT_EQ(albert_preprocess("①", options), "1");
  EXPECT_EQ(albert_preprocess("x²", options), "x2");
  EXPECT_EQ(albert_preprocess("™", options), "tm");
  EXPECT_EQ(albert_preprocess("ＦＵＬＬ１２３", options), "full123");
  EXPECT_EQ(albert_preprocess("Café naïve Ångström", options), "cafe naive angstrom");
  EXPECT_EQ(albert_preprocess("e\u0301", options), "e");
  EXPECT_EQ(albert_preprocess("です", options), "てす");
  AlbertPreprocessOptions keep;
  keep.keep_accents = true;
  EXPECT_EQ(albert_preprocess("Café ﬁ", keep), "café ﬁ");
}

TEST(AlbertPreprocess, LowercasesWithPythonsFullMapping) {
  const AlbertPreprocessOptions options;
  EXPECT_EQ(albert_preprocess("HeLLo WORLD", options), "hello world");
  EXPECT_EQ(albert_preprocess("ΓΕΙΆ", options), "γεια");
  EXPECT_EQ(albert_preprocess("İ", options), "i");
  AlbertPreprocessOptions keep;
  keep.keep_accents = true;
  EXPECT_EQ(albert_preprocess("İ", keep), "i\u0307");
  AlbertPreprocessOptions cased;
  cased.do_lower_case = false;
  EXPECT_EQ(albert_preprocess("HeLLo", cased), "HeLLo");
}

TEST(UnigramTokenize, DigitCommaRuleSplitsTheComma) {
  EXPECT_EQ(albert().tokenize("1999,"), (Pieces{"▁1999", ","}));
  EXPECT_EQ(albert().tokenize("In 1999, 2000, and 2001,"),
            (Pieces{"▁in", "▁1999", ",", "▁2000", ",", "▁and", "▁2001", ","}));
  // Not after a digit: SentencePiece's own split stands.
  EXPECT_EQ(albert().tokenize("hello,"), (Pieces{"▁hello", ","}));
  const auto ids = albert().encode_without_specials("1999,");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[1], *albert().token_to_id(","));
}

TEST(UnigramTokenize, DigitCommaRuleKeepsAMissingUnderlineMissing) {
  // "x1999," gives SentencePiece pieces where the one ending in "9," has no leading '▁';
  // the re-encoded number must not gain one.
  const auto pieces = albert().tokenize("x1999,");
  ASSERT_FALSE(pieces.empty());
  EXPECT_EQ(pieces.back(), ",");
  for (std::size_t i = 1; i < pieces.size(); ++i) {
    EXPECT_FALSE(pieces[i].starts_with("▁")) << pieces[i];
  }
}

TEST(UnigramTokenize, MaskTakesTheSpaceBeforeItOnly) {
  EXPECT_EQ(albert().tokenize("hello [MASK] world"), (Pieces{"▁hello", "[MASK]", "▁world"}));
  EXPECT_EQ(albert().tokenize("hello[MASK]world"), (Pieces{"▁hello", "[MASK]", "▁world"}));
  const auto ids = albert().encode_without_specials("a [MASK]");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[1], albert().special_ids().mask);
}

TEST(UnigramTokenize, SpecialTokensAreMatchedBeforeLowercasing) {
  EXPECT_EQ(albert().tokenize("[CLS] hi [SEP]"), (Pieces{"[CLS]", "▁hi", "[SEP]"}));
  // HF lowercases the non-special text first, so "<PAD>" becomes the special "<pad>".
  EXPECT_EQ(albert().tokenize("<PAD>"), (Pieces{"<pad>"}));
  EXPECT_EQ(albert().encode_without_specials("<unk>"), (std::vector<std::int64_t>{1}));
  // "[cls]" is not a special token once lowercased text is matched case-sensitively.
  EXPECT_NE(albert().tokenize("[cls]"), (Pieces{"[CLS]"}));
}

TEST(UnigramTokenize, OutOfVocabularyRunIsOnePieceMappingToUnk) {
  const auto pieces = albert().tokenize("我今天很难过");
  EXPECT_EQ(pieces, (Pieces{"▁", "我今天很难过"}));
  const auto ids = albert().encode_without_specials("我今天很难过");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[1], albert().special_ids().unk);
  EXPECT_EQ(ids[1], 1);
}

TEST(UnigramTokenize, EmptyAndWhitespaceOnlyGiveNoPieces) {
  EXPECT_TRUE(albert().tokenize("").empty());
  EXPECT_TRUE(albert().tokenize(" \t\n\u00a0\u3000 ").empty());
  EXPECT_EQ(albert().encode("  ").input_ids,
            (std::vector<std::int64_t>{albert().special_ids().cls, albert().special_ids().sep}));
}

TEST(UnigramTokenize, InvalidUtf8IsAnError) {
  for (const std::string& bad : {std::string("caf\xC3"),
                                 std::string("\xFF"
                                             "abc"),
                                 std::string("\xC0\xAF"), std::string("\xED\xA0\x80")}) {
    EXPECT_THROW(albert().tokenize(bad), Error);
    EXPECT_THROW(albert().encode(bad), Error);
  }
  EXPECT_NE(error_of([] { albert().tokenize("ok \xFF"); }).find("invalid UTF-8 at byte 3"),
            std::string::npos);
}

TEST(UnigramTokenize, TruncatesAndPadsLikeHf) {
  const auto encoding = albert().encode("one two three four five", 4);
  EXPECT_EQ(encoding.input_ids.size(), 4u);
  EXPECT_EQ(encoding.input_ids.front(), albert().special_ids().cls);
  EXPECT_EQ(encoding.input_ids.back(), albert().special_ids().sep);
  const auto batch = albert().encode_batch({"one", "one two three"});
  ASSERT_EQ(batch.batch, 2u);
  EXPECT_EQ(batch.input_ids[batch.length - 1], albert().special_ids().pad);
  EXPECT_EQ(batch.attention_mask[batch.length - 1], 0);
}

TEST(UnigramDecode, JoinsPiecesAndSkipsSpecials) {
  const auto ids = albert().encode("Hello, my dog is cute").input_ids;
  EXPECT_EQ(albert().decode(ids, true), "hello, my dog is cute");
  // HF 4.30 AlbertTokenizer.convert_tokens_to_string: a space before a special token that
  // follows ordinary pieces, none after it.
  EXPECT_EQ(albert().decode(ids, false), "[CLS] hello, my dog is cute[SEP]");
  EXPECT_EQ(albert().decode({}, true), "");
  EXPECT_THROW(albert().decode({static_cast<std::int64_t>(albert().vocab_size())}), Error);
  EXPECT_THROW(albert().decode({-1}), Error);
}

TEST(UnigramVocabulary, LooksUpPieces) {
  EXPECT_EQ(albert().id_to_token(*albert().token_to_id("▁hello")), "▁hello");
  EXPECT_FALSE(albert().token_to_id("no-such-piece-anywhere").has_value());
  EXPECT_EQ(albert().token_to_id("<unk>"), albert().special_ids().unk);
  EXPECT_GT(albert().vocab_size(), 5u);
  EXPECT_THROW(albert().id_to_token(-3), Error);
}

// Every WASSA training essay: ids agree with the pieces, stay in the vocabulary, and the
// pieces spell the pre-processed essay back (SentencePiece's NFKC aside, essays are ASCII-ish).
TEST(UnigramData, TokenizesEveryTrainingEssayConsistently) {
  const auto file = testing::data_dir() / "wassa2021" / "messages_train_ready_for_WS.tsv";
  std::istringstream in(read_file(file));
  std::string line;
  std::getline(in, line);
  std::size_t column = 0;
  {
    std::istringstream header(line);
    std::string name;
    while (std::getline(header, name, '\t') && name != "essay") ++column;
  }
  std::size_t essays = 0;
  std::size_t unknown = 0;  // curly quotes and dashes are not in ALBERT's vocabulary
  std::size_t total = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string essay;
    for (std::size_t i = 0; i <= column; ++i) ASSERT_TRUE(std::getline(fields, essay, '\t'));
    ++essays;
    const auto pieces = albert().tokenize(essay);
    const auto ids = albert().encode_without_specials(essay);
    ASSERT_EQ(pieces.size(), ids.size()) << essay;
    total += ids.size();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      ASSERT_LT(static_cast<std::size_t>(ids[i]), albert().vocab_size());
      const auto known = albert().token_to_id(pieces[i]);
      if (!known) ++unknown;
      ASSERT_EQ(ids[i], known.value_or(albert().special_ids().unk)) << pieces[i];
    }
    ASSERT_FALSE(pieces.empty()) << essay;
    EXPECT_TRUE(pieces.front().starts_with("▁")) << essay;
  }
  EXPECT_EQ(essays, 1860u);
  EXPECT_GT(total, 100000u);
  EXPECT_LT(unknown * 100, total);
}

// Random mixes of ASCII, punctuation, specials, digits+commas, accents, combining marks,
// controls, CJK, emoji and other planes: never a crash, ids always agree with the pieces.
TEST(UnigramRobustness, RandomUnicodeTextsStayConsistent) {
  std::mt19937 random(20210419);
  const std::vector<std::string> atoms = {"a",
                                          "Z",
                                          " ",
                                          "  ",
                                          "\t",
                                          "\n",
                                          "\u00a0",
                                          "\u3000",
                                          "1",
                                          "9,",
                                          "1999,",
                                          ",",
                                          "``",
                                          "''",
                                          "[MASK]",
                                          "[CLS]",
                                          "<pad>",
                                          "<PAD>",
                                          "<unk>",
                                          "é",
                                          "e\u0301",
                                          "İ",
                                          "ß",
                                          "Σ",
                                          "ﬁ",
                                          "①",
                                          "²",
                                          "\u200b",
                                          "\u00ad",
                                          "\x01",
                                          std::string(1, '\0'),
                                          "\x7f",
                                          "我",
                                          "한",
                                          "😢",
                                          "▁",
                                          "\U0010FFFD",
                                          "\uFFFD",
                                          "\u0301",
                                          "—",
                                          "’",
                                          "ＡＢ",
                                          ".",
                                          "!!!",
                                          "http://x.y/1,2"};
  std::uniform_int_distribution<std::size_t> pick(0, atoms.size() - 1);
  std::uniform_int_distribution<int> length(0, 40);
  for (int round = 0; round < 400; ++round) {
    std::string text;
    for (int i = length(random); i > 0; --i) text += atoms[pick(random)];
    SCOPED_TRACE(text);
    const auto pieces = albert().tokenize(text);
    const auto ids = albert().encode_without_specials(text);
    ASSERT_EQ(pieces.size(), ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      ASSERT_FALSE(pieces[i].empty());
      ASSERT_EQ(ids[i], albert().token_to_id(pieces[i]).value_or(albert().special_ids().unk))
          << pieces[i];
    }
    const auto encoding = albert().encode(text, 16);
    ASSERT_LE(encoding.input_ids.size(), 16u);
    EXPECT_NO_THROW(albert().decode(encoding.input_ids, false));
    EXPECT_NO_THROW(albert().decode(encoding.input_ids, true));
  }
}

// Random bytes: either valid UTF-8 that tokenizes, or an Error; never a crash.
TEST(UnigramRobustness, RandomBytesGiveTokensOrAnError) {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(1, 24);
  int errors = 0;
  for (int round = 0; round < 300; ++round) {
    std::string text;
    for (int i = length(random); i > 0; --i) text.push_back(static_cast<char>(byte(random)));
    try {
      albert().tokenize(text);
    } catch (const Error& e) {
      ++errors;
      EXPECT_NE(std::string(e.what()).find("invalid UTF-8"), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(errors, 100);
}

TEST(UnigramLoader, MissingSpieceModelNamesTheFile) {
  testing::TempDir dir;
  const auto message = error_of([&] { text::load_unigram_tokenizer(dir.path()); });
  EXPECT_NE(message.find("spiece.model"), std::string::npos) << message;
  EXPECT_THROW(text::load_tokenizer(dir.path()), Error);
}

TEST(UnigramLoader, TruncatedSpieceModelNamesTheFile) {
  testing::TempDir dir;
  copy_tokenizer_files(dir.path());
  const auto model = dir / "spiece.model";
  const auto bytes = read_file(model);
  for (const std::size_t keep :
       {std::size_t{0}, std::size_t{7}, bytes.size() / 2, bytes.size() - 3}) {
    std::filesystem::remove(model);
    write_file_atomic(model, bytes.substr(0, keep));
    const auto message = error_of([&] { text::load_unigram_tokenizer(dir.path()); });
    EXPECT_NE(message.find(model.string()), std::string::npos) << keep << ": " << message;
  }
}

TEST(UnigramLoader, GarbageSpieceModelNamesTheFile) {
  testing::TempDir dir;
  copy_tokenizer_files(dir.path());
  const auto model = dir / "spiece.model";
  std::filesystem::remove(model);
  write_file_atomic(model, "this is not a protobuf at all \xFF\xFE\x00\x01 just text");
  const auto message = error_of([&] { text::load_unigram_tokenizer(dir.path()); });
  EXPECT_NE(message.find(model.string()), std::string::npos) << message;
}

TEST(UnigramLoader, BadConfigValueNamesFileAndKey) {
  testing::TempDir dir;
  copy_tokenizer_files(dir.path());
  std::filesystem::remove(dir / "tokenizer_config.json");
  write_file_atomic(dir / "tokenizer_config.json", R"({"do_lower_case": "yes"})");
  const auto message = error_of([&] { text::load_unigram_tokenizer(dir.path()); });
  EXPECT_NE(message.find("tokenizer_config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("do_lower_case"), std::string::npos) << message;
}

TEST(UnigramLoader, ConfigOptionsAreHonoured) {
  testing::TempDir dir;
  copy_tokenizer_files(dir.path());
  std::filesystem::remove(dir / "tokenizer_config.json");
  std::filesystem::remove(dir / "special_tokens_map.json");
  write_file_atomic(dir / "tokenizer_config.json",
                    R"({"do_lower_case": false, "model_max_length": 128, "mask_token": "[MASK]"})");
  const auto tokenizer = text::load_unigram_tokenizer(dir.path());
  EXPECT_EQ(tokenizer->model_max_length(), 128u);
  // The cased model has no "▁Hello" piece variant for upper case letters' lower forms.
  EXPECT_NE(tokenizer->tokenize("Hello"), albert().tokenize("Hello"));
  // A plain-string mask token still takes the space before it (AlbertTokenizer wraps it).
  EXPECT_EQ(tokenizer->tokenize("a [MASK] b"), (Pieces{"▁a", "[MASK]", "▁b"}));
}

}  // namespace
}  // namespace emotune
