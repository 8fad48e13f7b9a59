#include "io/hf_config.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/test_paths.h"

namespace emotune::io {
namespace {

using ::testing::HasSubstr;

nlohmann::json minimal_config() {
  return {{"model_type", "bert"},   {"vocab_size", 100},        {"hidden_size", 32},
          {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"intermediate_size", 64}};
}

std::string config_error(const nlohmann::json& config) {
  try {
    parse_hf_config(config.dump(), "model/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(HfConfig, ReadsEveryFixtureConfigAsTheManifestRecords) {
  const auto root = testing::hf_fixtures_dir();
  const auto manifest = nlohmann::json::parse(read_file(root / "manifest.json"));
  for (const auto& [family, entry] : manifest.at("families").items()) {
    const auto raw = nlohmann::json::parse(read_file(root / family / "config.json"));
    const auto config = load_hf_config(root / family);
    EXPECT_EQ(config.model_type, raw.at("model_type"));
    EXPECT_EQ(config.hidden_size, raw.at("hidden_size"));
    EXPECT_EQ(config.num_hidden_layers, raw.at("num_hidden_layers"));
    EXPECT_EQ(config.num_attention_heads, raw.at("num_attention_heads"));
    EXPECT_EQ(config.intermediate_size, raw.at("intermediate_size"));
    EXPECT_EQ(config.vocab_size, raw.at("vocab_size"));
    EXPECT_EQ(config.max_position_embeddings, raw.at("max_position_embeddings"));
    EXPECT_EQ(config.type_vocab_size, raw.at("type_vocab_size"));
    EXPECT_EQ(config.pad_token_id, raw.at("pad_token_id"));
    EXPECT_DOUBLE_EQ(config.layer_norm_eps, raw.at("layer_norm_eps").get<double>());
    EXPECT_EQ(config.hidden_act, raw.at("hidden_act"));
    EXPECT_EQ(config.embedding_size, raw.value("embedding_size", config.hidden_size));
    EXPECT_EQ(config.architectures, raw.at("architectures").get<std::vector<std::string>>());
    EXPECT_EQ(config.origin, root / family / "config.json");
  }
}

TEST(HfConfig, RobertaAndAlbertSpecifics) {
  const auto root = testing::hf_fixtures_dir();
  const auto roberta = load_hf_config(root / "roberta" / "config.json");
  EXPECT_EQ(roberta.pad_token_id, 1);
  EXPECT_DOUBLE_EQ(roberta.layer_norm_eps, 1e-5);
  const auto albert = load_hf_config(root / "albert");
  EXPECT_EQ(albert.hidden_act, "gelu_new");
  EXPECT_GE(albert.num_hidden_groups, 1);
  EXPECT_GE(albert.inner_group_num, 1);
}

TEST(HfConfig, DefaultsWhenOptionalKeysAreAbsent) {
  const auto config = parse_hf_config(minimal_config().dump(), "c.json");
  EXPECT_EQ(config.embedding_size, 32);
  EXPECT_EQ(config.hidden_act, "gelu");
  EXPECT_EQ(config.position_embedding_type, "absolute");
  EXPECT_EQ(config.head_size(), 8);
}

TEST(HfConfig, MissingRequiredKeyNamesFileAndKey) {
  auto config = minimal_config();
  config.erase("hidden_size");
  const auto message = config_error(config);
  EXPECT_THAT(message, HasSubstr("model/config.json"));
  EXPECT_THAT(message, HasSubstr("'hidden_size'"));
}

TEST(HfConfig, WrongTypesAndValuesAreErrors) {
  auto config = minimal_config();
  config["num_attention_heads"] = "four";
  EXPECT_THAT(config_error(config), HasSubstr("'num_attention_heads': expected an integer"));
  config = minimal_config();
  config["num_attention_heads"] = 5;
  EXPECT_THAT(config_error(config), HasSubstr("not a multiple"));
  config = minimal_config();
  config["hidden_dropout_prob"] = 1.5;
  EXPECT_THAT(config_error(config), HasSubstr("'hidden_dropout_prob'"));
  config = minimal_config();
  config["hidden_act"] = "mish";
  EXPECT_THAT(config_error(config), HasSubstr("'hidden_act'"));
  config = minimal_config();
  config["layer_norm_eps"] = -1;
  EXPECT_THAT(config_error(config), HasSubstr("'layer_norm_eps'"));
  config = minimal_config();
  config["pad_token_id"] = 100;
  EXPECT_THAT(config_error(config), HasSubstr("'pad_token_id'"));
  config = minimal_config();
  config["vocab_size"] = 0;
  EXPECT_THAT(config_error(config), HasSubstr("'vocab_size': expected a positive integer"));
}

TEST(HfConfig, RelativePositionEmbeddingsAreRefused) {
  auto config = minimal_config();
  config["position_embedding_type"] = "relative_key";
  const auto message = config_error(config);
  EXPECT_THAT(message, HasSubstr("'position_embedding_type'"));
  EXPECT_THAT(message, HasSubstr("relative_key"));
}

TEST(HfConfig, NotJsonOrNotAnObject) {
  EXPECT_THROW(parse_hf_config("{", "c.json"), Error);
  EXPECT_THROW(parse_hf_config("[]", "c.json"), Error);
  EXPECT_THROW(load_hf_config("/nonexistent/config.json"), Error);
}

}  // namespace
}  // namespace emotune::io
