#pragma once

// Shared by the train tests: a tiny random-weight backbone folder and a small run config.

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/test_paths.h"
#include "io/hf_config.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "train/config.h"
#include "train/optim.h"

namespace emotune::train::testing {

// The fixture ELECTRA config.json and tokenizer files with freshly initialised weights
// (create_encoder, then saved under the bare base-model names).
inline void make_tiny_backbone(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  const auto source = emotune::testing::hf_fixtures_dir() / "electra";
  fs::create_directories(dir);
  for (const char* name :
       {"config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}) {
    fs::copy_file(source / name, dir / name, fs::copy_options::overwrite_existing);
  }
  torch::manual_seed(99);
  auto encoder = model::create_encoder(dir / "config.json");
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : encoder->named_parameters(true))
    tensors.emplace(item.key(), item.value().detach());
  model::save_tensors(dir / "model.safetensors", tensors);
}

// A small ELECTRA config (dropout 0, weights drawn with std 1/sqrt(hidden), gelu, two token
// types), for the tests that build models in memory.
struct ElectraShape {
  std::int64_t vocab_size, embedding_size, hidden_size, heads;
  std::int64_t layers = 2;
  std::int64_t max_positions = 64;
};
inline io::HfConfig small_electra_config(const ElectraShape& shape) {
  const nlohmann::json config{
      {"model_type", "electra"},
      {"vocab_size", shape.vocab_size},
      {"embedding_size", shape.embedding_size},
      {"hidden_size", shape.hidden_size},
      {"num_hidden_layers", shape.layers},
      {"num_attention_heads", shape.heads},
      {"intermediate_size", 4 * shape.hidden_size},
      {"hidden_act", "gelu"},
      {"hidden_dropout_prob", 0.0},
      {"attention_probs_dropout_prob", 0.0},
      {"max_position_embeddings", shape.max_positions},
      {"type_vocab_size", 2},
      {"initializer_range", 1.0 / std::sqrt(static_cast<double>(shape.hidden_size))},
      {"layer_norm_eps", 1e-12},
      {"pad_token_id", 0}};
  return io::parse_hf_config(config.dump(), "test config");
}

// A config that trains in well under a second per epoch: 32 train rows, 16 dev rows,
// max_length 64, batch 8.
inline TrainConfig tiny_config(const std::filesystem::path& backbone) {
  TrainConfig config;
  config.backbone = backbone.string();
  config.tasks = {model::Task::empathy, model::Task::distress};
  config.max_length = 64;
  config.batch_size = 8;
  config.epochs = 3;
  config.learning_rate = 1e-3;
  config.train_limit = 32;
  config.dev_limit = 16;
  config.seeds = {7};
  return config;
}

// Two safetensors files hold the same tensors, bit for bit.
inline void expect_same_tensors(const std::filesystem::path& a, const std::filesystem::path& b) {
  const auto left = model::load_tensors(a);
  const auto right = model::load_tensors(b);
  ASSERT_EQ(left.size(), right.size());
  for (const auto& [name, tensor] : left) {
    ASSERT_TRUE(right.contains(name)) << name;
    EXPECT_TRUE(torch::equal(tensor, right.at(name))) << name;
  }
}

// The optimizer settings of a reference-stack golden ({"lr", "betas", "eps", "weight_decay"}).
inline AdamWOptions adamw_options_of(const nlohmann::json& golden_optimizer) {
  AdamWOptions options;
  options.lr = golden_optimizer.at("lr").get<double>();
  options.beta1 = golden_optimizer.at("betas").at(0).get<double>();
  options.beta2 = golden_optimizer.at("betas").at(1).get<double>();
  options.eps = golden_optimizer.at("eps").get<double>();
  options.weight_decay = golden_optimizer.at("weight_decay").get<double>();
  return options;
}

}  // namespace emotune::train::testing
