// model/int8_linear.h: int8 Linear layers with per-token activation scales, against float32.

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "common/error.h"
#include "model/inference_encoder.h"
#include "model/int8_linear.h"

namespace emotune::model {
namespace {

// The quantized engine InferenceEncoder picks: FBGEMM where the build has it, else oneDNN.
bool use_int8_engine() {
  const auto& engines = at::globalContext().supportedQEngines();
  for (const auto wanted : {at::kFBGEMM, at::kONEDNN}) {
    if (std::find(engines.begin(), engines.end(), wanted) != engines.end()) {
      at::globalContext().setQEngine(wanted);
      return true;
    }
  }
  return false;
}

TEST(Int8Linear, EveryTokenKeepsItsOwnPrecision) {
  if (!use_int8_engine()) GTEST_SKIP() << "no quantized engine in this libtorch";
  torch::manual_seed(11);
  const auto weight = torch::randn({48, 96}) * 0.1;
  const auto bias = torch::randn({48});
  // Tokens four orders of magnitude apart in one call: with one scale per call the small ones
  // would quantize to zero and answer with the bias alone.
  const auto x = torch::randn({3, 5, 96}) * torch::tensor({1.0F, 0.01F, 100.0F}).view({3, 1, 1});
  const auto expected = torch::linear(x, weight, bias);
  for (const auto range : {Int8Range::full, Int8Range::seven_bit_activations,
                           Int8Range::seven_bit_weights}) {
    const Int8Linear layer(weight, bias, range);
    const auto y = layer(x);
    ASSERT_EQ(y.sizes(), expected.sizes());
    for (std::int64_t group = 0; group < 3; ++group) {
      const auto signal = (expected[group] - bias).abs().max().item<double>();
      EXPECT_LT((y[group] - expected[group]).abs().max().item<double>(), 0.05 * signal)
          << "range " << static_cast<int>(range) << ", tokens of group " << group;
    }
  }
}

TEST(Int8Linear, RefusesWhatItCannotRun) {
  if (!use_int8_engine()) GTEST_SKIP() << "no quantized engine in this libtorch";
  const auto w = torch::ones({4, 8});
  const auto b = torch::zeros({4});
  EXPECT_THROW(Int8Linear(w, b, Int8Range::automatic), Error);
  EXPECT_THROW(Int8Linear(torch::ones({4, 8, 1}), b, Int8Range::full), Error);
  const Int8Linear layer(w, b, Int8Range::full);
  EXPECT_THROW(layer(torch::ones({2, 7})), Error) << "wrong feature count";
  EXPECT_EQ(layer(torch::ones({2, 3, 8})).sizes(), (std::vector<std::int64_t>{2, 3, 4}));
}

}  // namespace
}  // namespace emotune::model
