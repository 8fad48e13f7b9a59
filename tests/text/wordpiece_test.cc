#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/test_paths.h"
#include "text/bert_normalizer.h"
#include "text/token_goldens.h"
#include "text/tokenizer.h"

namespace emotune::text {
namespace {

using emotune::testing::hf_fixtures_dir;
using emotune::testing::TempDir;
using Tokens = std::vector<std::string>;

TEST(WordPieceGoldens, Bert) {
  const auto tokenizer = load_tokenizer(hf_fixtures_dir() / "bert");
  EXPECT_EQ(tokenizer->algorithm(), "wordpiece");
  emotune::testing::expect_matches_token_goldens(*tokenizer, "bert");
}

TEST(WordPieceGoldens, Electra) {
  const auto tokenizer = load_tokenizer(hf_fixtures_dir() / "electra");
  emotune::testing::expect_matches_token_goldens(*tokenizer, "electra");
}

TEST(WordPieceGoldens, ElectraPretraining) {
  const auto tokenizer = load_tokenizer(hf_fixtures_dir() / "electra_pretraining");
  emotune::testing::expect_matches_token_goldens(*tokenizer, "electra");
}

class BertRules : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tokenizer_ = load_tokenizer(hf_fixtures_dir() / "bert"); }
  static void TearDownTestSuite() { tokenizer_.reset(); }
  static Tokens tok(std::string_view text) { return tokenizer_->tokenize(text); }
  static std::unique_ptr<Tokenizer> tokenizer_;
};
std::unique_ptr<Tokenizer> BertRules::tokenizer_;

TEST_F(BertRules, SanityIdsFromTheFixtureReadme) {
  EXPECT_EQ(tokenizer_->encode("hello world").input_ids,
            (std::vector<std::int64_t>{101, 7592, 2088, 102}));
  EXPECT_EQ(tokenizer_->vocab_size(), 30522u);
  EXPECT_EQ(tokenizer_->special_ids().unk, 100);
  EXPECT_EQ(tokenizer_->special_ids().mask, 103);
  EXPECT_EQ(tokenizer_->special_ids().pad, 0);
}

TEST_F(BertRules, LowerCasesOrdinaryText) {
  EXPECT_EQ(tok("Hello WORLD"), (Tokens{"hello", "world"}));
}

TEST_F(BertRules, DeletedControlCharactersJoinTheirNeighbours) {
  EXPECT_EQ(tok("bell\x07"
                "char"),
            (Tokens{"bell", "##cha", "##r"}));
  EXPECT_EQ(tok("vt\vff\fend"), (Tokens{"vt", "##ffen", "##d"}));
  // Zero-width space (Cf), soft hyphen (Cf), BOM, U+FFFD and NUL are deleted too.
  EXPECT_EQ(tok("hel\u200blo"), tok("hello"));
  EXPECT_EQ(tok("hel\u00adlo"), tok("hello"));
  EXPECT_EQ(tok("\ufeffhello"), tok("hello"));
  EXPECT_EQ(tok("hel\ufffdlo"), tok("hello"));
  EXPECT_EQ(tok(std::string("hel\0lo", 6)), tok("hello"));
}

TEST_F(BertRules, UnicodeWhitespaceSplits) {
  EXPECT_EQ(tok("hello\u00a0world"), (Tokens{"hello", "world"}));
  EXPECT_EQ(tok("hello\u3000world\u2003again\tand\r\nmore"),
            (Tokens{"hello", "world", "again", "and", "more"}));
  EXPECT_TRUE(tok(" \t\n\u00a0 ").empty());
  EXPECT_TRUE(tok("").empty());
}

TEST_F(BertRules, CjkIdeographsAreTheirOwnWords) {
  const auto tokens = tok("我今天看");
  ASSERT_EQ(tokens.size(), 4u);
  for (const auto& t : tokens) EXPECT_FALSE(t.starts_with("##")) << t;
  EXPECT_EQ(tokens[0], "我");
  // Hiragana is not split that way: it goes through WordPiece as one word.
  EXPECT_EQ(tok("ひらか"), (Tokens{"ひ", "##ら", "##か"}));
}

TEST_F(BertRules, AccentsAreStripped) {
  EXPECT_EQ(tok("Café"), (Tokens{"cafe"}));
  EXPECT_EQ(tok("Ångström"), (Tokens{"ang", "##strom"}));
  EXPECT_EQ(tok("cafe\u0301"), (Tokens{"cafe"}));        // combining acute
  EXPECT_EQ(tok("한"), (Tokens{"ᄒ", "##ᅡ", "##ᆫ"}));  // Hangul → conjoining jamo
  // Python's full lower-case mapping: 'İ' → "i̇", whose dot is then stripped.
  EXPECT_EQ(tok("İstanbul"), tok("istanbul"));
}

TEST_F(BertRules, PunctuationIsSplitOff) {
  EXPECT_EQ(tok("?!?!"), (Tokens{"?", "!", "?", "!"}));
  EXPECT_EQ(tok(":-)"), (Tokens{":", "-", ")"}));
  EXPECT_EQ(tok("don't"), (Tokens{"don", "'", "t"}));
  EXPECT_EQ(tok("a$b^c`d~e|f<g>h=i+j"), (Tokens{"a", "$", "b", "^", "c", "`", "d", "~", "e", "|",
                                                "f", "<", "g", ">", "h", "=", "i", "+", "j"}));
  // Unicode P* characters too: curly quotes, em dash, ellipsis.
  EXPECT_EQ(tok("\u201chi\u201d\u2014ok\u2026"),
            (Tokens{"\u201c", "hi", "\u201d", "\u2014", "ok", "\u2026"}));
}

TEST_F(BertRules, UnmatchableWordsAreOneUnknown) {
  EXPECT_EQ(tok("hello 😀 world"), (Tokens{"hello", "[UNK]", "world"}));
  EXPECT_EQ(tok("ＦＵＬＬＷＩＤＴＨ"), (Tokens{"[UNK]"}));
  EXPECT_EQ(tokenizer_->encode_without_specials("😀"), (std::vector<std::int64_t>{100}));
  EXPECT_EQ(tok("ﬁne"), (Tokens{"ﬁ", "##ne"}));  // no NFKC
}

TEST_F(BertRules, WordsOverOneHundredCharactersAreUnknown) {
  EXPECT_EQ(tok(std::string(101, 'a')), (Tokens{"[UNK]"}));
  const auto hundred = tok(std::string(100, 'a'));
  ASSERT_FALSE(hundred.empty());
  EXPECT_NE(hundred[0], "[UNK]");
  // The limit counts code points, not bytes: 60 two-byte letters are fine.
  std::string greek;
  for (int i = 0; i < 60; ++i) greek += "λ";
  EXPECT_NE(tok(greek), (Tokens{"[UNK]"}));
}

TEST_F(BertRules, SpecialTokensTypedInTheTextAreKept) {
  EXPECT_EQ(tok("Hello [MASK] world[SEP]x"), (Tokens{"hello", "[MASK]", "world", "[SEP]", "x"}));
  EXPECT_EQ(tokenizer_->encode_without_specials("[CLS][PAD] [UNK]"),
            (std::vector<std::int64_t>{101, 0, 100}));
  // Only the exact spelling: lower-case is ordinary text.
  EXPECT_EQ(tok("[mask]"), (Tokens{"[", "mask", "]"}));
}

TEST_F(BertRules, InvalidUtf8IsAnError) {
  EXPECT_THROW(tok("abc\xff"), Error);
  EXPECT_THROW(tok("\xc3"), Error);
  EXPECT_THROW(tok("\xed\xa0\x80"), Error);  // a UTF-16 surrogate
  EXPECT_THROW(tokenizer_->encode("ok [CLS] \xe2\x82"), Error);
  try {
    tok("abcd\xff");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("byte 4"), std::string::npos) << e.what();
  }
}

TEST(BertNormalizerUnit, Classes) {
  EXPECT_TRUE(is_bert_punctuation(U'$'));
  EXPECT_TRUE(is_bert_punctuation(U'\u00bf'));  // ¿ Po
  EXPECT_FALSE(is_bert_punctuation(U'a'));
  EXPECT_FALSE(is_bert_punctuation(U'\u00e9'));
  EXPECT_TRUE(is_cjk_ideograph(U'\u4e2d'));
  EXPECT_TRUE(is_cjk_ideograph(U'\uf900'));
  EXPECT_FALSE(is_cjk_ideograph(U'\u3042'));  // Hiragana
  std::string lowered;
  append_python_lower(U'\u0130', lowered);
  EXPECT_EQ(lowered, "i\u0307");
}

TEST(BertNormalizerUnit, CaseAndAccentsKeptWhenAsked) {
  BertNormalizerOptions options;
  options.do_lower_case = false;
  BertNormalizer normalizer(options);
  BasicWords words;
  normalizer.split("Café e\u0301 x", words);
  ASSERT_EQ(words.size(), 3u);
  EXPECT_EQ(words.text(0), "Café");
  EXPECT_EQ(words.text(1), "\u00e9");  // NFC composed
  EXPECT_EQ(words.text(2), "x");
}

// Writes a checkpoint folder with the fixture's vocab.txt and the given tokenizer_config.json.
void write_wordpiece_dir(const std::filesystem::path& dir, const std::string& config) {
  std::filesystem::copy_file(hf_fixtures_dir() / "bert" / "vocab.txt", dir / "vocab.txt");
  std::ofstream(dir / "tokenizer_config.json") << config;
}

TEST(WordPieceConfig, NeverSplitWordsStayWhole) {
  TempDir dir;
  write_wordpiece_dir(dir.path(), R"({"do_lower_case": true, "never_split": ["c++!"]})");
  const auto tokenizer = load_tokenizer(dir.path());
  EXPECT_EQ(tokenizer->tokenize("I like C++! a lot"), (Tokens{"i", "like", "c++!", "a", "lot"}));
  // Not in the vocabulary: its id is [UNK].
  EXPECT_EQ(tokenizer->encode_without_specials("c++!"), (std::vector<std::int64_t>{100}));
}

TEST(WordPieceConfig, ChineseSplittingAndCaseCanBeSwitchedOff) {
  TempDir dir;
  write_wordpiece_dir(dir.path(),
                      R"({"do_lower_case": false, "tokenize_chinese_chars": false,
                          "model_max_length": 64})");
  const auto tokenizer = load_tokenizer(dir.path());
  EXPECT_EQ(tokenizer->model_max_length(), 64u);
  EXPECT_EQ(tokenizer->tokenize("hello HELLO"), (Tokens{"hello", "[UNK]"}));
  EXPECT_EQ(tokenizer->tokenize("我我").size(), 2u);  // WordPiece: 我 ##我 or [UNK]
  EXPECT_NE(tokenizer->tokenize("我我")[0], "[UNK]");
}

TEST(WordPieceConfig, BadValuesNameTheKey) {
  TempDir dir;
  write_wordpiece_dir(dir.path(), R"({"do_lower_case": "yes"})");
  try {
    load_tokenizer(dir.path());
    FAIL();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("tokenizer_config.json"), std::string::npos) << message;
    EXPECT_NE(message.find("do_lower_case"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace emotune::text
