// Parity with HF transformers: every fixture checkpoint against golden/<family>_forward.*.

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "io/hf_config.h"
#include "io/safetensors.h"
#include "model/encoder.h"
#include "model_test_support.h"

namespace emotune::model {
namespace {

using namespace testing_support;

constexpr double kTolerance = 1e-5;  // fixtures README: reachable float32 atol

struct Case {
  std::string checkpoint;  // folder under fixtures
  std::string golden;      // golden family
};

class EncoderGolden : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    dir_ = emotune::testing::hf_fixtures_dir() / GetParam().checkpoint;
    config_ = io::load_hf_config(dir_);
    encoder_ = load_encoder(dir_);
    encoder_->eval();
    golden_ = load_forward_golden(GetParam().golden);
  }

  torch::Tensor token_types(const std::string& batch) const {
    const auto name = batch + ".token_type_ids";
    return golden_.has(name) ? golden_.at(name) : torch::Tensor();
  }

  std::filesystem::path dir_;
  io::HfConfig config_;
  std::shared_ptr<Encoder> encoder_;
  ForwardGolden golden_;
};

TEST_P(EncoderGolden, StoredBatchesMatchLayerByLayer) {
  torch::InferenceMode inference;
  int batches = 0;
  for (const auto& batch_info : golden_.index.at("batches")) {
    if (!batch_info.at("stored").get<bool>()) continue;
    const auto batch = "batch" + std::to_string(batch_info.at("batch").get<int>());
    const auto& ids = golden_.at(batch + ".input_ids");
    const auto& mask = golden_.at(batch + ".attention_mask");
    const auto out = encoder_->forward_detailed(ids, mask, token_types(batch),
                                                {.hidden_states = true, .pooler = true});
    const double last =
        masked_max_abs_diff(out.last_hidden_state, golden_.at(batch + ".last_hidden_state"), mask);
    EXPECT_LE(last, kTolerance) << batch;
    std::printf("%s %s last_hidden_state max|diff| = %.3g\n", GetParam().checkpoint.c_str(),
                batch.c_str(), last);
    ASSERT_EQ(static_cast<std::int64_t>(out.hidden_states.size()), config_.num_hidden_layers + 1);
    std::size_t layers_compared = 0;
    for (std::size_t k = 0; k < out.hidden_states.size(); ++k) {
      const auto name = batch + ".hidden_states." + std::to_string(k);
      if (!golden_.has(name)) continue;
      EXPECT_LE(masked_max_abs_diff(out.hidden_states[k], golden_.at(name), mask), kTolerance)
          << name;
      ++layers_compared;
    }
    if (batch == "batch0") {
      EXPECT_EQ(layers_compared, out.hidden_states.size());
    }
    const auto pooler_name = batch + ".pooler_output";
    EXPECT_EQ(encoder_->has_pooler(), golden_.has(pooler_name));
    if (golden_.has(pooler_name)) {
      EXPECT_LE(max_abs_diff(out.pooler_output, golden_.at(pooler_name)), kTolerance);
    }
    // The same call through the plain interface gives the same tensor.
    EXPECT_TRUE(
        torch::equal(encoder_->forward(ids, mask, token_types(batch)), out.last_hidden_state));
    ++batches;
  }
  EXPECT_GE(batches, 2);
}

// All texts in HF's batches of 4 (ids from the tokenizer golden), and each text alone.
TEST_P(EncoderGolden, FirstTokenOfEveryTextBatchedAndAlone) {
  torch::InferenceMode inference;
  const auto ids = golden_input_ids(GetParam().golden);
  const auto& cls_batched = golden_.at("cls_batched");
  const auto& cls_single = golden_.at("cls_single");
  ASSERT_EQ(cls_batched.size(0), static_cast<std::int64_t>(ids.size()));
  const auto batch_size = golden_.index.at("batch_size").get<std::size_t>();
  const auto pooler_golden =
      golden_.has("pooler_batched") ? golden_.at("pooler_batched") : torch::Tensor();
  double worst_batched = 0, worst_single = 0, worst_pooler = 0, worst_first_only = 0;
  for (std::size_t start = 0; start < ids.size(); start += batch_size) {
    const std::vector<std::vector<std::int64_t>> rows(
        ids.begin() + start, ids.begin() + std::min(ids.size(), start + batch_size));
    const auto [input_ids, mask] = pad_batch(rows, config_.pad_token_id);
    const auto out = encoder_->forward_detailed(input_ids, mask, {}, {.pooler = true});
    const auto count = static_cast<std::int64_t>(rows.size());
    const auto first = static_cast<std::int64_t>(start);
    const auto golden_rows = cls_batched.narrow(0, first, count);
    worst_batched =
        std::max(worst_batched, max_abs_diff(out.last_hidden_state.select(1, 0), golden_rows));
    if (pooler_golden.defined())
      worst_pooler = std::max(
          worst_pooler, max_abs_diff(out.pooler_output, pooler_golden.narrow(0, first, count)));
    // The last layer computing the first token alone reaches the same answer.
    const auto first_only =
        encoder_->forward_detailed(input_ids, mask, {}, {.pooler = true, .first_token_only = true});
    ASSERT_EQ(first_only.last_hidden_state.sizes(),
              (std::vector<std::int64_t>{count, 1, config_.hidden_size}));
    worst_first_only = std::max(
        worst_first_only, max_abs_diff(first_only.last_hidden_state.select(1, 0), golden_rows));
    if (pooler_golden.defined()) {
      EXPECT_LE(max_abs_diff(first_only.pooler_output, out.pooler_output), kTolerance);
    }
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto [input_ids, mask] = pad_batch({ids[i]}, config_.pad_token_id);
    const auto out = encoder_->forward(input_ids, mask, {});
    worst_single = std::max(worst_single, max_abs_diff(out.select(1, 0)[0], cls_single[i]));
  }
  std::printf(
      "%s cls_batched %.3g (last layer first token only %.3g) cls_single %.3g pooler_batched "
      "%.3g (max|diff|)\n",
      GetParam().checkpoint.c_str(), worst_batched, worst_first_only, worst_single, worst_pooler);
  EXPECT_LE(worst_batched, kTolerance);
  EXPECT_LE(worst_first_only, kTolerance);
  EXPECT_LE(worst_single, kTolerance);
  EXPECT_LE(worst_pooler, kTolerance);
}

// Training through the first-token-only last layer gives every weight the gradient of the full
// pass, the skipped rows' weights included (the last layer's keys and values still see them).
TEST_P(EncoderGolden, FirstTokenOnlyGivesTheFullPassGradients) {
  EncoderOptions no_dropout;
  no_dropout.hidden_dropout = 0.0;
  no_dropout.attention_dropout = 0.0;
  auto encoder = load_encoder(dir_, no_dropout);
  encoder->train();
  const auto ids = golden_input_ids(GetParam().golden);
  const std::vector<std::vector<std::int64_t>> rows(
      ids.begin(), ids.begin() + std::min<std::size_t>(3, ids.size()));
  const auto [input_ids, mask] = pad_batch(rows, config_.pad_token_id);
  const auto weights = torch::linspace(-1.0, 1.0, config_.hidden_size);
  const auto gradients = [&](bool first_token_only) {
    encoder->zero_grad();
    const auto out =
        encoder->forward_detailed(input_ids, mask, {}, {.first_token_only = first_token_only});
    (out.last_hidden_state.select(1, 0) * weights).pow(2).sum().backward();
    std::map<std::string, torch::Tensor> grads;
    for (const auto& item : encoder->named_parameters())
      if (item.value().grad().defined()) grads.emplace(item.key(), item.value().grad().clone());
    return grads;
  };
  const auto full = gradients(false);
  const auto first_only = gradients(true);
  ASSERT_EQ(full.size(), first_only.size());
  // Relative to the largest gradient of all: some gradients are zero but for rounding (a key
  // bias shifts a whole row of scores, which softmax ignores).
  double largest = 0;
  for (const auto& [name, grad] : full)
    largest = std::max(largest, grad.abs().max().item<double>());
  ASSERT_GT(largest, 0.0);
  double worst = 0;
  std::string worst_name;
  for (const auto& [name, grad] : full) {
    ASSERT_TRUE(first_only.contains(name)) << name;
    const auto diff = max_abs_diff(grad, first_only.at(name)) / largest;
    if (diff > worst) worst = diff, worst_name = name;
  }
  std::printf("%s first-token-only gradients: worst relative max|diff| %.3g (%s) over %zu\n",
              GetParam().checkpoint.c_str(), worst, worst_name.c_str(), full.size());
  EXPECT_LE(worst, 1e-5) << worst_name;
}

TEST_P(EncoderGolden, ParameterNamesAreTheBareCheckpointNames) {
  const auto file = io::SafetensorsFile(dir_ / "model.safetensors");
  const std::string prefix = encoder_->weight_prefix() + ".";
  std::set<std::string> expected;
  for (const auto& info : file.tensors()) {
    auto name = info.name.starts_with(prefix) ? info.name.substr(prefix.size()) : info.name;
    if (name.starts_with("embeddings.") || name.starts_with("encoder.") ||
        name.starts_with("pooler.") || name.starts_with("embeddings_project."))
      if (name != "embeddings.position_ids") expected.insert(name);
  }
  std::set<std::string> actual;
  for (const auto& item : encoder_->named_parameters()) actual.insert(item.key());
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(encoder_->hidden_size(), config_.hidden_size);
  EXPECT_EQ(encoder_->model_type(), config_.model_type);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, EncoderGolden,
                         ::testing::Values(Case{"electra", "electra"},
                                           Case{"electra_pretraining", "electra"},
                                           Case{"roberta", "roberta"}, Case{"albert", "albert"},
                                           Case{"bert", "bert"}),
                         [](const auto& info) { return info.param.checkpoint; });

}  // namespace
}  // namespace emotune::model
