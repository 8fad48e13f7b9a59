// The inference schedule (model/inference_encoder.h) against HF's first-token goldens: every
// text in HF's batches of 4 (padded, so the nested-tensor path skips real padding) and alone.
// Tolerances, looser than the reference forward's 1e-5 because the schedule reorders float
// operations (fused QKV, the scale applied to q before q·k) or rounds on purpose:
//   fp32  2e-5 absolute (observed ≤ 1.7e-6 on electra, roberta and bert)
//   bf16  0.1 absolute on hidden values of magnitude ~1 (bfloat16 keeps 8 bits: ~0.4% a step)
//   int8  0.1 absolute (dynamic per-tensor input quantization, per-channel weights)
// Reduced precisions must also really differ from fp32 (the test would pass vacuously else).
// Variants: fused layers on nested tensors with the first-token last layer (the default),
// separate products over every token (no fusion, full last layer), bf16 fused, int8.

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "io/hf_config.h"
#include "model/encoder.h"
#include "model/inference_encoder.h"
#include "model_test_support.h"

namespace emotune::model {
namespace {

using namespace testing_support;

struct Case {
  std::string checkpoint;  // folder under fixtures
  std::string golden;      // golden family
};

struct Variant {
  const char* name;
  InferenceEncoderOptions options;
  double tolerance;
};

std::vector<Variant> variants() {
  const auto make = [](InferencePrecision precision, bool fused, bool first_only) {
    InferenceEncoderOptions o;
    o.precision = precision;
    o.fused_layers = fused;
    o.first_token_last_layer = first_only;
    return o;
  };
  return {
      {"fp32 fused", make(InferencePrecision::fp32, true, true), 2e-5},
      {"fp32 separate ops, full last layer", make(InferencePrecision::fp32, false, false), 2e-5},
      {"bf16 fused", make(InferencePrecision::bf16, true, true), 0.1},
      {"int8", make(InferencePrecision::int8, false, true), 0.1},
  };
}

class InferenceEncoderGolden : public ::testing::TestWithParam<Case> {};

TEST_P(InferenceEncoderGolden, FirstTokenOfEveryTextBatchedAndAlone) {
  const auto dir = emotune::testing::hf_fixtures_dir() / GetParam().checkpoint;
  const auto config = io::load_hf_config(dir);
  auto encoder = load_encoder(dir);
  encoder->eval();
  ASSERT_TRUE(InferenceEncoder::supports(*encoder));
  const auto golden = load_forward_golden(GetParam().golden);
  const auto ids = golden_input_ids(GetParam().golden);
  const auto& cls_batched = golden.at("cls_batched");
  const auto& cls_single = golden.at("cls_single");
  const auto batch_size = golden.index.at("batch_size").get<std::size_t>();
  torch::InferenceMode inference;
  for (const auto& variant : variants()) {
    InferenceEncoder fast(*encoder, variant.options);
    double worst_batched = 0, worst_single = 0;
    for (std::size_t start = 0; start < ids.size(); start += batch_size) {
      const std::vector<std::vector<std::int64_t>> rows(
          ids.begin() + start, ids.begin() + std::min(ids.size(), start + batch_size));
      const auto [input_ids, mask] = pad_batch(rows, config.pad_token_id);
      const auto first = fast.first_token(input_ids, mask, {});
      ASSERT_EQ(first.scalar_type(), torch::kFloat32);
      ASSERT_EQ(first.sizes(),
                (c10::IntArrayRef{static_cast<std::int64_t>(rows.size()), config.hidden_size}));
      worst_batched =
          std::max(worst_batched,
                   max_abs_diff(first, cls_batched.narrow(0, static_cast<std::int64_t>(start),
                                                          static_cast<std::int64_t>(rows.size()))));
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto [input_ids, mask] = pad_batch({ids[i]}, config.pad_token_id);
      worst_single = std::max(worst_single, max_abs_diff(fast.first_token(input_ids, mask, {})[0],
                                                         cls_single[static_cast<std::int64_t>(i)]));
    }
    std::printf("%s %-36s cls_batched %.3g cls_single %.3g (max|diff|, tolerance %.0e)%s\n",
                GetParam().checkpoint.c_str(), variant.name, worst_batched, worst_single,
                variant.tolerance, fast.fused() ? " fused" : "");
    EXPECT_LE(worst_batched, variant.tolerance) << variant.name;
    EXPECT_LE(worst_single, variant.tolerance) << variant.name;
    if (variant.options.precision != InferencePrecision::fp32) {
      EXPECT_GT(worst_batched, 1e-4) << variant.name << ": no sign of reduced precision";
    }
    EXPECT_EQ(fast.fused(), variant.options.fused_layers &&
                                variant.options.precision != InferencePrecision::int8 &&
                                config.hidden_act == "gelu")
        << variant.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, InferenceEncoderGolden,
                         ::testing::Values(Case{"electra", "electra"}, Case{"roberta", "roberta"},
                                           Case{"bert", "bert"}),
                         [](const auto& info) { return info.param.checkpoint; });

TEST(InferenceEncoder, AlbertIsNotSupportedAndSaysSo) {
  auto encoder = load_encoder(emotune::testing::hf_fixtures_dir() / "albert");
  EXPECT_FALSE(InferenceEncoder::supports(*encoder));
  EXPECT_THROW(InferenceEncoder(*encoder, {}), Error);
}

TEST(InferenceEncoder, PrecisionNamesRoundTrip) {
  for (const auto precision :
       {InferencePrecision::fp32, InferencePrecision::bf16, InferencePrecision::int8})
    EXPECT_EQ(parse_inference_precision(inference_precision_name(precision)), precision);
  EXPECT_THROW(parse_inference_precision("fp16"), Error);
}

}  // namespace
}  // namespace emotune::model
