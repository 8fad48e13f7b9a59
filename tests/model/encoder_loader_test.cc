// Loading rules: prefixes, optional buffers and pooler, errors, dtypes, round trips.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model_test_support.h"

namespace emotune::model {
namespace {

using namespace testing_support;
using ::testing::HasSubstr;

std::filesystem::path fixture(const std::string& name) {
  return emotune::testing::hf_fixtures_dir() / name;
}

// A copy of a fixture checkpoint folder whose tensors `edit` may change.
class EditedCheckpoint {
 public:
  EditedCheckpoint(const std::string& family,
                   const std::function<void(std::map<std::string, torch::Tensor>&)>& edit,
                   const std::string& config_text = "") {
    std::filesystem::copy_file(fixture(family) / "config.json", dir_ / "config.json");
    if (!config_text.empty()) write_file_atomic(dir_ / "config.json", config_text);
    auto tensors = load_tensors(fixture(family) / "model.safetensors");
    edit(tensors);
    save_tensors(dir_ / "model.safetensors", tensors);
  }
  std::filesystem::path path() const { return dir_.path(); }

 private:
  emotune::testing::TempDir dir_;
};

std::string load_error(const std::filesystem::path& dir) {
  try {
    load_encoder(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

torch::Tensor batch0_output(Encoder& encoder, const ForwardGolden& golden) {
  torch::InferenceMode inference;
  encoder.eval();
  return encoder.forward(
      golden.at("batch0.input_ids"), golden.at("batch0.attention_mask"),
      golden.has("batch0.token_type_ids") ? golden.at("batch0.token_type_ids") : torch::Tensor());
}

// "encoder.layer.<k>.output.dense.bias" of the fixture's last layer (k from its config.json),
// or of the layer `beyond` past it.
std::string output_bias_name(const std::string& family, int beyond = 0) {
  const auto config = nlohmann::json::parse(read_file(fixture(family) / "config.json"));
  return "encoder.layer." + std::to_string(config.at("num_hidden_layers").get<int>() - 1 + beyond) +
         ".output.dense.bias";
}

TEST(EncoderLoader, MissingWeightIsAnErrorNamingIt) {
  const auto name = output_bias_name("bert");
  const EditedCheckpoint checkpoint("bert", [&](auto& tensors) { tensors.erase(name); });
  const auto message = load_error(checkpoint.path());
  EXPECT_THAT(message, HasSubstr("missing 1 weight"));
  EXPECT_THAT(message, HasSubstr(name));
  EXPECT_THAT(message, HasSubstr("model.safetensors"));
}

TEST(EncoderLoader, WrongShapeIsAnErrorNamingTensorAndShapes) {
  const EditedCheckpoint checkpoint("electra_pretraining", [](auto& tensors) {
    auto& w = tensors.at("electra.encoder.layer.0.attention.self.query.weight");
    w = torch::zeros({w.size(0), w.size(1) + 1});
  });
  const auto message = load_error(checkpoint.path());
  EXPECT_THAT(message, HasSubstr("electra.encoder.layer.0.attention.self.query.weight"));
  EXPECT_THAT(message, HasSubstr("has shape"));
}

TEST(EncoderLoader, IntegerWeightIsAnError) {
  const EditedCheckpoint checkpoint("albert", [](auto& tensors) {
    auto& w = tensors.at("encoder.embedding_hidden_mapping_in.bias");
    w = w.to(torch::kLong);
  });
  const auto message = load_error(checkpoint.path());
  EXPECT_THAT(message, HasSubstr("encoder.embedding_hidden_mapping_in.bias"));
  EXPECT_THAT(message, HasSubstr("dtype I64"));
}

TEST(EncoderLoader, BaseWeightTheConfigLacksIsAnError) {
  const auto extra = output_bias_name("bert", 5);
  const EditedCheckpoint checkpoint("bert", [&](auto& tensors) {
    tensors[extra] = tensors.at(output_bias_name("bert"));
  });
  EXPECT_THAT(load_error(checkpoint.path()), HasSubstr(extra));
}

TEST(EncoderLoader, RelativePositionEmbeddingsAreRefused) {
  auto config = nlohmann::json::parse(read_file(fixture("bert") / "config.json"));
  config["position_embedding_type"] = "relative_key_query";
  const EditedCheckpoint checkpoint(
      "bert", [](auto&) {}, config.dump(2));
  const auto message = load_error(checkpoint.path());
  EXPECT_THAT(message, HasSubstr("position_embedding_type"));
  EXPECT_THAT(message, HasSubstr("config.json"));
}

TEST(EncoderLoader, UnknownModelTypeIsRefused) {
  auto config = nlohmann::json::parse(read_file(fixture("bert") / "config.json"));
  config["model_type"] = "deberta";
  const EditedCheckpoint checkpoint(
      "bert", [](auto&) {}, config.dump(2));
  EXPECT_THAT(load_error(checkpoint.path()), HasSubstr("'deberta' is not supported"));
}

TEST(EncoderLoader, MissingSafetensorsFileIsAnError) {
  const emotune::testing::TempDir dir;
  std::filesystem::copy_file(fixture("bert") / "config.json", dir / "config.json");
  EXPECT_THAT(load_error(dir.path()), HasSubstr("no weights: expected model.safetensors"));
}

TEST(EncoderLoader, PositionIdsBufferIsOptionalAndPrefixesAreStripped) {
  const auto golden = load_forward_golden("roberta");
  const auto reference = load_encoder(fixture("roberta"));
  const EditedCheckpoint checkpoint("roberta", [](auto& tensors) {
    std::map<std::string, torch::Tensor> renamed;
    for (auto& [name, tensor] : tensors)
      if (name != "embeddings.position_ids") renamed["roberta." + name] = tensor;
    renamed["lm_head.dense.weight"] = torch::zeros({2, 2});
    tensors = renamed;
  });
  const auto encoder = load_encoder(checkpoint.path());
  EXPECT_TRUE(torch::equal(batch0_output(*encoder, golden), batch0_output(*reference, golden)));
}

TEST(EncoderLoader, CheckpointWithoutPoolerLoadsWithoutOne) {
  const EditedCheckpoint checkpoint("bert", [](auto& tensors) {
    tensors.erase("pooler.dense.weight");
    tensors.erase("pooler.dense.bias");
  });
  const auto encoder = load_encoder(checkpoint.path());
  EXPECT_FALSE(encoder->has_pooler());
  for (const auto& item : encoder->named_parameters())
    EXPECT_FALSE(item.key().starts_with("pooler.")) << item.key();
}

TEST(EncoderLoader, HalfPrecisionCheckpointConvertsToFloat32) {
  const EditedCheckpoint checkpoint("electra", [](auto& tensors) {
    for (auto& [name, tensor] : tensors)
      if (tensor.is_floating_point()) tensor = tensor.to(torch::kBFloat16);
  });
  const auto encoder = load_encoder(checkpoint.path());
  const auto original = load_tensors(fixture("electra") / "model.safetensors");
  for (const auto& item : encoder->named_parameters()) {
    EXPECT_EQ(item.value().scalar_type(), torch::kFloat) << item.key();
    EXPECT_TRUE(
        torch::equal(item.value(), original.at(item.key()).to(torch::kBFloat16).to(torch::kFloat)))
        << item.key();
  }
}

TEST(EncoderLoader, Bfloat16RunIsCloseToFloat32Golden) {
  const auto golden = load_forward_golden("electra");
  EncoderOptions options;
  options.dtype = torch::kBFloat16;
  const auto encoder = load_encoder(fixture("electra"), options);
  const auto out = batch0_output(*encoder, golden);
  EXPECT_EQ(out.scalar_type(), torch::kBFloat16);
  const auto& mask = golden.at("batch0.attention_mask");
  const double worst = masked_max_abs_diff(out, golden.at("batch0.last_hidden_state"), mask);
  EXPECT_LE(worst, 0.25);
  EXPECT_GT(worst, 0.0);  // it really ran in bfloat16
}

TEST(EncoderLoader, DropoutActsInTrainModeOnly) {
  const auto golden = load_forward_golden("bert");
  const auto encoder = load_encoder(fixture("bert"));
  const auto eval_out = batch0_output(*encoder, golden);
  encoder->train();
  torch::manual_seed(7);
  const auto train_out =
      encoder->forward(golden.at("batch0.input_ids"), golden.at("batch0.attention_mask"), {});
  EXPECT_GT(max_abs_diff(train_out, eval_out), 1e-3);

  EncoderOptions no_dropout;
  no_dropout.hidden_dropout = 0.0;
  no_dropout.attention_dropout = 0.0;
  const auto deterministic = load_encoder(fixture("bert"), no_dropout);
  deterministic->train();
  const auto train_no_dropout =
      deterministic->forward(golden.at("batch0.input_ids"), golden.at("batch0.attention_mask"), {});
  EXPECT_TRUE(torch::equal(train_no_dropout.detach(), eval_out));
}

TEST(Checkpoint, SaveAndLoadTensorsRoundTrip) {
  const emotune::testing::TempDir dir;
  std::map<std::string, torch::Tensor> tensors{
      {"f32", torch::randn({3, 5})},
      {"bf16", torch::randn({4}).to(torch::kBFloat16)},
      {"f16", torch::randn({2, 2}).to(torch::kHalf)},
      {"i64", torch::arange(7)},
      {"strided", torch::randn({6, 4}).t()},
      {"scalar", torch::tensor(3.5)},
  };
  save_tensors(dir / "t.safetensors", tensors, {{"format", "pt"}, {"step", "3"}});
  const auto loaded = load_tensors(dir / "t.safetensors");
  ASSERT_EQ(loaded.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    EXPECT_EQ(loaded.at(name).scalar_type(), tensor.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(loaded.at(name), tensor)) << name;
  }
  const io::SafetensorsFile file(dir / "t.safetensors");
  EXPECT_EQ(file.metadata().at("step"), "3");
}

TEST(Checkpoint, EncoderWeightsRoundTripThroughSaveTensors) {
  const auto golden = load_forward_golden("albert");
  const auto encoder = load_encoder(fixture("albert"));
  const emotune::testing::TempDir dir;
  std::map<std::string, torch::Tensor> weights;
  for (const auto& item : encoder->named_parameters()) weights[item.key()] = item.value();
  save_tensors(dir / "model.safetensors", weights);
  std::filesystem::copy_file(fixture("albert") / "config.json", dir / "config.json");
  const auto reloaded = load_encoder(dir.path());
  EXPECT_TRUE(torch::equal(batch0_output(*reloaded, golden), batch0_output(*encoder, golden)));
}

TEST(Checkpoint, CreateEncoderInitialisesLikeHf) {
  const auto encoder = create_encoder(fixture("electra") / "config.json");
  const auto params = encoder->named_parameters();
  EXPECT_TRUE(torch::equal(params["embeddings.LayerNorm.weight"],
                           torch::ones_like(params["embeddings.LayerNorm.weight"])));
  EXPECT_EQ(params["encoder.layer.0.output.dense.bias"].abs().max().item<float>(), 0.0f);
  const double std = params["encoder.layer.0.intermediate.dense.weight"].std().item<double>();
  EXPECT_NEAR(std, 0.02, 0.005);
  EXPECT_EQ(params["embeddings.word_embeddings.weight"][0].abs().max().item<float>(), 0.0f);
}

// attention_scale (train config): every family's query and key tensors scaled, nothing else.
TEST(EncoderLoader, ScaleAttentionLogitsTouchesOnlyQueriesAndKeys) {
  for (const std::string family : {"bert", "roberta", "electra", "albert"}) {
    SCOPED_TRACE(family);
    auto original = load_encoder(fixture(family));
    auto scaled = load_encoder(fixture(family));
    scale_attention_logits(*scaled, 0.5);
    auto before = original->named_parameters(true);
    int queries_and_keys = 0;
    for (const auto& item : scaled->named_parameters(true)) {
      const auto& name = item.key();
      const bool query_or_key = name.find("query.") != std::string::npos ||
                                name.find("key.") != std::string::npos;
      queries_and_keys += query_or_key;
      const auto expected = query_or_key ? before[name] * 0.5 : before[name];
      EXPECT_TRUE(torch::allclose(item.value(), expected)) << name;
    }
    EXPECT_GE(queries_and_keys, 4);
  }
}

TEST(EncoderLoader, StartFromWordEmbeddingsKeepsTheirDirectionsAtTheDrawsScale) {
  for (const std::string family : {"bert", "roberta", "electra", "albert"}) {
    SCOPED_TRACE(family);
    const auto checkpoint = load_encoder(fixture(family));
    EncoderOptions options;
    options.initializer_range = 0.05;
    auto fresh = create_encoder(fixture(family) / "config.json", options);
    auto drawn = fresh->named_parameters(true);
    const auto drawn_before = drawn["embeddings.position_embeddings.weight"].clone();
    start_from_word_embeddings(*fresh, fixture(family), 0.05);

    auto from = checkpoint->named_parameters(true)["embeddings.word_embeddings.weight"];
    auto to = fresh->named_parameters(true)["embeddings.word_embeddings.weight"];
    const auto pad = io::load_hf_config(fixture(family) / "config.json").pad_token_id;
    auto expected = from - from.mean(0, true);
    expected = expected * (0.05 / expected.std().item<double>());
    expected[pad].zero_();
    EXPECT_TRUE(torch::allclose(to, expected, 1e-5, 1e-7));
    EXPECT_EQ(to[pad].abs().max().item<double>(), 0.0);
    // Everything else stays the fresh draw, at the std asked for rather than config.json's.
    EXPECT_TRUE(torch::equal(fresh->named_parameters(true)["embeddings.position_embeddings.weight"],
                             drawn_before));
    EXPECT_NEAR(drawn_before.std().item<double>(), 0.05, 0.01);
  }
}

TEST(EncoderLoader, StartFromWordEmbeddingsRefusesAnotherShape) {
  EditedCheckpoint other_vocab("bert", [](auto& tensors) {
    for (auto& [name, tensor] : tensors)
      if (name.ends_with("word_embeddings.weight")) tensor = tensor.narrow(0, 0, 10).clone();
  });
  auto fresh = create_encoder(fixture("bert") / "config.json");
  try {
    start_from_word_embeddings(*fresh, other_vocab.path(), 0.02);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("model.safetensors"));
    EXPECT_THAT(e.what(), HasSubstr("word_embeddings.weight' has shape [10,"));
  }
}

}  // namespace
}  // namespace emotune::model
