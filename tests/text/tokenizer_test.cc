#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/test_paths.h"
#include "text/tokenizer.h"

namespace emotune::text {
namespace {

using emotune::testing::hf_fixtures_dir;
using emotune::testing::TempDir;
using Ids = std::vector<std::int64_t>;

// The message of the Error that load_tokenizer(dir) throws ("" if none).
std::string load_error(const std::filesystem::path& dir) {
  try {
    load_tokenizer(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void write(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(LoadTokenizer, MissingFolderOrFilesAreErrors) {
  TempDir dir;
  EXPECT_NE(load_error(dir / "nope").find("no such directory"), std::string::npos);
  const auto message = load_error(dir.path());
  EXPECT_NE(message.find("no tokenizer files"), std::string::npos) << message;
  EXPECT_NE(message.find(dir.path().string()), std::string::npos) << message;
}

TEST(LoadTokenizer, EmptyVocabIsAnError) {
  TempDir dir;
  write(dir / "vocab.txt", "");
  const auto message = load_error(dir.path());
  EXPECT_NE(message.find("vocab.txt"), std::string::npos) << message;
  EXPECT_NE(message.find("empty"), std::string::npos) << message;
}

TEST(LoadTokenizer, CorruptVocabNamesTheLine) {
  TempDir dir;
  write(dir / "vocab.txt", "[PAD]\n[UNK]\n\xff\xfe\x01\n[CLS]\n");
  auto message = load_error(dir.path());
  EXPECT_NE(message.find("vocab.txt:3:"), std::string::npos) << message;

  write(dir / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n\n[SEP]\n");
  message = load_error(dir.path());
  EXPECT_NE(message.find("vocab.txt:4:"), std::string::npos) << message;

  write(dir / "vocab.txt", "[PAD]\r\n[UNK]\r\n");
  message = load_error(dir.path());
  EXPECT_NE(message.find("vocab.txt:1:"), std::string::npos) << message;

  write(dir / "vocab.txt", "[PAD]\n[UNK]\nhello\n[CLS]\nhello\n");
  message = load_error(dir.path());
  EXPECT_NE(message.find("vocab.txt:5:"), std::string::npos) << message;
  EXPECT_NE(message.find("duplicate"), std::string::npos) << message;
}

TEST(LoadTokenizer, VocabWithoutTheSpecialTokensIsAnError) {
  TempDir dir;
  // A vocabulary cut short: the specials that tokenizer_config.json names are missing.
  write(dir / "vocab.txt", "[PAD]\nhello\nworld\n");
  const auto message = load_error(dir.path());
  EXPECT_NE(message.find("vocab.txt"), std::string::npos) << message;
  EXPECT_NE(message.find("[UNK]"), std::string::npos) << message;
}

TEST(LoadTokenizer, MalformedTokenizerConfigNamesTheFile) {
  TempDir dir;
  std::filesystem::copy_file(hf_fixtures_dir() / "bert" / "vocab.txt", dir / "vocab.txt");
  write(dir / "tokenizer_config.json", "{\"do_lower_case\": tru");
  const auto message = load_error(dir.path());
  EXPECT_NE(message.find("tokenizer_config.json"), std::string::npos) << message;
}

class Framing : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tokenizer_ = load_tokenizer(hf_fixtures_dir() / "bert"); }
  static void TearDownTestSuite() { tokenizer_.reset(); }
  static std::unique_ptr<Tokenizer> tokenizer_;
};
std::unique_ptr<Tokenizer> Framing::tokenizer_;

TEST_F(Framing, EncodeAddsSpecialsAndTruncates) {
  EXPECT_EQ(tokenizer_->encode("").input_ids, (Ids{101, 102}));
  EXPECT_EQ(tokenizer_->encode("hello world", 3).input_ids, (Ids{101, 7592, 102}));
  EXPECT_EQ(tokenizer_->encode("hello world", 2).input_ids, (Ids{101, 102}));
  EXPECT_THROW(tokenizer_->encode("hello", 1), Error);
  // max_length 0 = model_max_length: a long text stops at 512.
  std::string long_text;
  for (int i = 0; i < 600; ++i) long_text += "hello ";
  const auto encoding = tokenizer_->encode(long_text);
  ASSERT_EQ(encoding.input_ids.size(), 512u);
  EXPECT_EQ(encoding.input_ids.back(), 102);
  EXPECT_EQ(encoding.attention_mask, Ids(512, 1));
  EXPECT_EQ(encoding.token_type_ids, Ids(512, 0));
}

TEST_F(Framing, EncodeBatchPadsToTheLongest) {
  const auto batch = tokenizer_->encode_batch({"hello world", "", "hello"});
  ASSERT_EQ(batch.batch, 3u);
  ASSERT_EQ(batch.length, 4u);
  EXPECT_EQ(batch.input_ids, (Ids{101, 7592, 2088, 102,  //
                                  101, 102, 0, 0,        //
                                  101, 7592, 102, 0}));
  EXPECT_EQ(batch.attention_mask, (Ids{1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0}));
  EXPECT_EQ(batch.token_type_ids, Ids(12, 0));
  const auto truncated = tokenizer_->encode_batch({"hello world", "hello"}, 3);
  EXPECT_EQ(truncated.length, 3u);
  EXPECT_EQ(truncated.input_ids, (Ids{101, 7592, 102, 101, 7592, 102}));
  EXPECT_EQ(tokenizer_->encode_batch({}).batch, 0u);
}

TEST_F(Framing, DecodeRoundTrip) {
  const auto ids = tokenizer_->encode("Hello, world! It's unbelievable.").input_ids;
  EXPECT_EQ(tokenizer_->decode(ids), "hello, world! it's unbelievable.");
  EXPECT_EQ(tokenizer_->decode(ids, false), "[CLS] hello, world! it's unbelievable. [SEP]");
  EXPECT_EQ(tokenizer_->decode({}), "");
  EXPECT_THROW(tokenizer_->decode({1 << 30}), Error);
}

TEST_F(Framing, TokenLookups) {
  EXPECT_EQ(tokenizer_->token_to_id("hello"), 7592);
  const auto ing = tokenizer_->token_to_id("##ing");
  ASSERT_TRUE(ing.has_value());
  EXPECT_EQ(tokenizer_->id_to_token(*ing), "##ing");
  EXPECT_FALSE(tokenizer_->token_to_id("no-such-token").has_value());
  EXPECT_EQ(tokenizer_->id_to_token(7592), "hello");
  EXPECT_THROW(tokenizer_->id_to_token(-1), Error);
  EXPECT_THROW(tokenizer_->id_to_token(30522), Error);
}

}  // namespace
}  // namespace emotune::text
