// The local-attention start of `emotune pretrain --attention-init local`: does layer 0 look at
// the neighbours before any training, through the model's own embeddings and projections?

#include <cmath>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "io/hf_config.h"
#include "model/electra_pretraining.h"
#include "model/layers.h"
#include "train/local_attention_init.h"
#include "train/train_helpers.h"

namespace emotune::train {
namespace {

io::HfConfig config_of(std::int64_t embedding, std::int64_t hidden, std::int64_t heads) {
  return testing::small_electra_config({500, embedding, hidden, heads, 2, 128});
}

model::ElectraDiscriminator fresh(const io::HfConfig& config) {
  torch::manual_seed(7);
  model::ElectraDiscriminator discriminator(config, model::DropoutRates{0.0, 0.0});
  model::initialize_weights(*discriminator, config.initializer_range);
  discriminator->eval();
  return discriminator;
}

// Mean attention probability of layer 0's `head` from token i to token i + offset, over random
// sequences of 96 tokens (positions 8..87), computed from the model's own tensors.
double attention_to(model::ElectraDiscriminator& discriminator, const io::HfConfig& config,
                    std::int64_t head, std::int64_t offset) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(11);
  const auto ids = torch::randint(5, config.vocab_size, {4, 96}, torch::kLong);
  auto& electra = *discriminator->electra;
  auto hidden = electra.embeddings->forward(ids, torch::zeros_like(ids));
  if (!electra.embeddings_project.is_empty()) hidden = electra.embeddings_project(hidden);
  auto parameters = discriminator->named_parameters(true);
  const std::string layer = "electra.encoder.layer.0.attention.self.";
  const auto head_dim = config.hidden_size / config.num_attention_heads;
  const auto slice = [&](const std::string& name) {
    const auto q = torch::nn::functional::linear(hidden, parameters[layer + name + ".weight"],
                                                 parameters[layer + name + ".bias"]);
    return q.slice(2, head * head_dim, (head + 1) * head_dim);
  };
  const auto probabilities =
      (slice("query").matmul(slice("key").transpose(1, 2)) / std::sqrt(double(head_dim)))
          .softmax(-1);
  const auto rows = torch::arange(8, 88);
  return probabilities.index({torch::indexing::Slice(), rows, rows + offset}).mean().item<double>();
}

void expect_neighbour_heads(std::int64_t embedding, std::int64_t hidden, std::int64_t heads) {
  const auto config = config_of(embedding, hidden, heads);
  auto random = fresh(config);
  auto local = fresh(config);
  initialize_sinusoidal_positions(
      local->named_parameters(true)["electra.embeddings.position_embeddings.weight"],
      config.initializer_range);
  ASSERT_TRUE(initialize_local_attention(*local, config, "electra."));
  const double uniform = 1.0 / 96;
  for (const auto& [head, offset] : {std::pair{0, -1}, std::pair{1, +1}}) {
    const double before = attention_to(random, config, head, offset);
    const double after = attention_to(local, config, head, offset);
    SCOPED_TRACE(::testing::Message() << "E " << embedding << " H " << hidden << " head " << head);
    EXPECT_LT(before, 5 * uniform);
    EXPECT_GT(after, 0.15) << "before: " << before;
    // The other side stays unattended: the head points one way.
    EXPECT_LT(attention_to(local, config, head, -offset), 5 * uniform);
  }
}

TEST(LocalAttentionInit, LayerZeroLooksAtThePreviousAndNextToken) {
  expect_neighbour_heads(128, 128, 4);  // the tiny preset's shape
}

TEST(LocalAttentionInit, ThroughTheEmbeddingProjection) {
  expect_neighbour_heads(64, 128, 2);  // embeddings_project 64 -> 128, as the mini preset
}

TEST(LocalAttentionInit, SinusoidsHaveTheRequestedSpread) {
  auto positions = torch::zeros({128, 64});
  initialize_sinusoidal_positions(positions, 0.1);
  EXPECT_NEAR(positions.std().item<double>(), 0.1, 1e-6);
  // Products depend on the distance only (so one query/key rotation points every position at
  // its neighbour), and a position is most like itself.
  const auto dot = [&](int i, int j) { return (positions[i] * positions[j]).sum().item<double>(); };
  EXPECT_NEAR(dot(40, 41), dot(90, 91), 1e-5);
  EXPECT_NEAR(dot(40, 43), dot(7, 10), 1e-5);
  for (const int j : {39, 41, 60, 100}) EXPECT_GT(dot(40, 40), std::abs(dot(40, j)) + 0.1);
  EXPECT_THROW(initialize_sinusoidal_positions(torch::zeros({8, 5}), 0.1), Error);
}

TEST(LocalAttentionInit, RefusesAProjectionDownAndChangesNothing) {
  const auto config = config_of(128, 32, 1);  // the presets' generators: E 128 -> H 32
  auto model = fresh(config);
  const auto before = model->named_parameters(true)["electra.encoder.layer.0.attention.self.query.weight"].clone();
  EXPECT_FALSE(initialize_local_attention(*model, config, "electra."));
  EXPECT_TRUE(torch::equal(
      before, model->named_parameters(true)["electra.encoder.layer.0.attention.self.query.weight"]));
  EXPECT_THROW(initialize_local_attention(*model, config, "nothing."), Error);
}

}  // namespace
}  // namespace emotune::train
