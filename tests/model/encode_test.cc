// encode_texts / `emotune encode`: batching, padding and output layout.

#include <algorithm>
#include <cstdio>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "model/encode.h"
#include "model_test_support.h"

namespace emotune::model {
namespace {

using namespace testing_support;
using ::testing::HasSubstr;

// A tokenizer that replays HF's ids from golden/<family>_tokens.json, so the encoder path is
// tested independently of the tokenizer implementations.
class ReplayTokenizer : public text::Tokenizer {
 public:
  explicit ReplayTokenizer(const std::string& family) {
    const auto root = emotune::testing::hf_fixtures_dir();
    const auto texts = nlohmann::json::parse(read_file(root / "texts.json"));
    const auto golden =
        nlohmann::json::parse(read_file(root / "golden" / (family + "_tokens.json")));
    for (std::size_t i = 0; i < golden.at("texts").size(); ++i) {
      auto ids = golden.at("texts")[i].at("input_ids_512").get<std::vector<std::int64_t>>();
      special_.cls = ids.front();
      special_.sep = ids.back();
      ids_[texts.at("texts")[i].at("text").get<std::string>()] =
          std::vector<std::int64_t>(ids.begin() + 1, ids.end() - 1);
      texts_.push_back(texts.at("texts")[i].at("text").get<std::string>());
    }
    special_.pad = golden.at("special_tokens").at("pad_token")[1].get<std::int64_t>();
  }
  const std::vector<std::string>& texts() const { return texts_; }

  std::vector<std::string> tokenize(std::string_view) const override { return {}; }
  std::vector<std::int64_t> encode_without_specials(std::string_view text) const override {
    return ids_.at(std::string(text));
  }
  std::string id_to_token(std::int64_t) const override { return ""; }
  std::optional<std::int64_t> token_to_id(std::string_view) const override { return {}; }
  std::size_t vocab_size() const override { return 0; }
  std::string decode(const std::vector<std::int64_t>&, bool) const override { return ""; }
  std::string algorithm() const override { return "replay"; }

 private:
  std::map<std::string, std::vector<std::int64_t>> ids_;
  std::vector<std::string> texts_;
};

// The padded length of the golden's longest batch (its `batches[].seq_len`).
std::int64_t longest_golden_batch(const ForwardGolden& golden) {
  std::int64_t longest = 0;
  for (const auto& batch : golden.index.at("batches"))
    longest = std::max(longest, batch.at("seq_len").get<std::int64_t>());
  return longest;
}

TEST(EncodeTexts, MatchesGoldenFirstTokensAndZeroesPadding) {
  for (const std::string family : {"roberta", "electra"}) {
    const ReplayTokenizer tokenizer(family);
    const auto encoder = load_encoder(emotune::testing::hf_fixtures_dir() / family);
    const auto golden = load_forward_golden(family);
    const auto out = encode_texts(*encoder, tokenizer, tokenizer.texts(), {.batch_size = 4});
    const auto count = static_cast<std::int64_t>(tokenizer.texts().size());
    ASSERT_EQ(out.last_hidden_state.size(0), count);
    // The longest batch as the golden lists it (its longest text truncated to max_length).
    EXPECT_EQ(out.last_hidden_state.size(1), longest_golden_batch(golden));
    EXPECT_EQ(out.last_hidden_state.size(2), encoder->hidden_size());
    EXPECT_EQ(out.attention_mask.scalar_type(), torch::kLong);
    EXPECT_LE(max_abs_diff(out.first_token, golden.at("cls_batched")), 1e-5) << family;
    EXPECT_TRUE(torch::equal(out.first_token, out.last_hidden_state.select(1, 0)));
    // Zeros exactly where the mask is 0; batch 1 (texts 4..7) matches the stored golden.
    const auto padding = out.attention_mask.eq(0).unsqueeze(-1).expand_as(out.last_hidden_state);
    EXPECT_EQ(out.last_hidden_state.masked_select(padding).abs().sum().item<float>(), 0.0f);
    const auto& mask1 = golden.at("batch1.attention_mask");
    EXPECT_TRUE(torch::equal(out.attention_mask.narrow(0, 4, 4), mask1));
    EXPECT_LE(masked_max_abs_diff(out.last_hidden_state.narrow(0, 4, 4),
                                  golden.at("batch1.last_hidden_state"), mask1),
              1e-5);
    // Text 5 is the empty string: [CLS] [SEP] only.
    EXPECT_EQ(out.attention_mask[5].sum().item<std::int64_t>(), 2);
  }
}

TEST(EncodeTexts, BatchSizeDoesNotChangeResultsBeyondPaddingNoise) {
  const ReplayTokenizer tokenizer("bert");
  const auto encoder = load_encoder(emotune::testing::hf_fixtures_dir() / "bert");
  const std::vector<std::string> texts(tokenizer.texts().begin(), tokenizer.texts().begin() + 9);
  const auto one = encode_texts(*encoder, tokenizer, texts, {.batch_size = 1});
  const auto three = encode_texts(*encoder, tokenizer, texts, {.batch_size = 3, .max_length = 0});
  EXPECT_TRUE(torch::equal(one.attention_mask, three.attention_mask));
  EXPECT_LE(max_abs_diff(one.last_hidden_state, three.last_hidden_state), 1e-5);
  EXPECT_THROW(encode_texts(*encoder, tokenizer, texts, {.batch_size = 0}), Error);
}

TEST(ReadJsonlTexts, ReadsTextsAndNamesBadLines) {
  std::istringstream good("{\"text\": \"a\"}\n\n{\"text\": \"b\", \"id\": 3}\n");
  EXPECT_EQ(read_jsonl_texts(good, "in.jsonl"), (std::vector<std::string>{"a", "b"}));
  std::istringstream bad("{\"text\": \"a\"}\n{\"txt\": \"b\"}\n");
  try {
    read_jsonl_texts(bad, "in.jsonl");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("in.jsonl:2"));
  }
  std::istringstream broken("{\"text\": \n");
  EXPECT_THROW(read_jsonl_texts(broken, "in.jsonl"), Error);
}

TEST(EncodeCommand, BadInputLineFailsWithItsLineNumber) {
  const emotune::testing::TempDir dir;
  write_file_atomic(dir / "in.jsonl", "{\"text\": \"fine\"}\n[1, 2]\n");
  const auto result = emotune::testing::run_cli(
      "encode --model " +
      emotune::testing::shell_quote((emotune::testing::hf_fixtures_dir() / "bert").string()) +
      " --input " + emotune::testing::shell_quote((dir / "in.jsonl").string()) + " --output " +
      emotune::testing::shell_quote((dir / "out.safetensors").string()));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("in.jsonl:2"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out.safetensors"));
}

// End to end through the real tokenizers; checks every family whose tokenizer is implemented.
TEST(EncodeCommand, WritesHiddenStatesMatchingTheGolden) {
  const auto root = emotune::testing::hf_fixtures_dir();
  const emotune::testing::TempDir dir;
  const auto texts = nlohmann::json::parse(read_file(root / "texts.json"));
  std::string jsonl;
  for (const auto& t : texts.at("texts"))
    jsonl += nlohmann::json{{"text", t.at("text")}}.dump() + "\n";
  write_file_atomic(dir / "in.jsonl", jsonl);
  int checked = 0;
  for (const std::string family : {"electra", "roberta", "albert", "bert"}) {
    try {
      text::load_tokenizer(root / family);
    } catch (const Error& e) {
      std::printf("%s: tokenizer not available yet (%s)\n", family.c_str(), e.what());
      continue;
    }
    const auto output = dir / (family + ".safetensors");
    const auto result = emotune::testing::run_cli(
        "--threads 2 encode --model " + emotune::testing::shell_quote((root / family).string()) +
        " --batch-size 4 --input " + emotune::testing::shell_quote((dir / "in.jsonl").string()) +
        " --output " + emotune::testing::shell_quote(output.string()));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto out = load_tensors(output);
    const auto golden = load_forward_golden(family);
    EXPECT_LE(max_abs_diff(out.at("first_token"), golden.at("cls_batched")), 1e-5) << family;
    EXPECT_EQ(out.at("last_hidden_state").scalar_type(), torch::kFloat);
    EXPECT_EQ(out.at("last_hidden_state").size(1), longest_golden_batch(golden));
    EXPECT_TRUE(
        torch::equal(out.at("attention_mask").narrow(0, 4, 4), golden.at("batch1.attention_mask")));
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no tokenizer implemented yet";
}

}  // namespace
}  // namespace emotune::model
