// The inference schedule (model/inference_encoder.h) against HF's first-token goldens: every
// text in HF's batches of 4 (padded, so the nested-tensor path skips real padding) and alone.
// Tolerances, looser than the reference forward's 1e-5 because the schedule reorders float
// operations (fused QKV, the scale applied to q before q·k) or rounds on purpose:
//   fp32  2e-5 absolute (observed ≤ 1.7e-6 on electra, roberta and bert)
//   bf16  0.1 absolute on hidden values of magnitude ~1 (bfloat16 keeps 8 bits: ~0.4% a step)
//   int8  0.1 absolute (dynamic per-tensor input quantization, per-channel weights)
// Reduced precisions must also really differ from fp32 (the test would pass vacuously else).
// The bounds are the same on every CPU: int8 quantizes its weights to 7 bits where the CPU
// has no VNNI (runtime/cpu_capabilities.h), and bf16 is refused, so skipped here with the
// reason, where the CPU has no native bf16. CTest runs these again under ONEDNN_MAX_CPU_ISA=AVX2
// (the `model_avx2` entry), so both kinds of CPU are covered on either.
// Variants: fused layers on nested tensors with the first-token last layer (the default),
// separate products over every token (no fusion, full last layer), bf16 fused, int8.

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <tuple>
#include <string>

#include <gtest/gtest.h>

#include <ATen/core/dispatch/Dispatcher.h>

#include "common/error.h"
#include "io/hf_config.h"
#include "model/encoder.h"
#include "model/inference_encoder.h"
#include "model_test_support.h"
#include "runtime/cpu_capabilities.h"

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
  const auto make = [](InferencePrecision precision, bool packed, bool fused, bool first_only) {
    InferenceEncoderOptions o;
    o.precision = precision;
    o.packed_tokens = packed;
    o.fused_layers = fused;
    o.first_token_last_layer = first_only;
    return o;
  };
  const auto fp32 = InferencePrecision::fp32;
  return {
      {"fp32 packed", make(fp32, true, true, true), 2e-5},
      {"fp32 packed full last layer", make(fp32, true, true, false), 2e-5},
      {"fp32 padded fused", make(fp32, false, true, true), 2e-5},
      {"fp32 padded separate ops full last", make(fp32, false, false, false), 2e-5},
      {"bf16 packed", make(InferencePrecision::bf16, true, true, true), 0.1},
      {"bf16 padded fused", make(InferencePrecision::bf16, false, true, true), 0.1},
      {"int8 packed", make(InferencePrecision::int8, true, false, true), 0.1},
      {"int8 padded", make(InferencePrecision::int8, false, false, true), 0.1},
  };
}

class InferenceEncoderGolden : public ::testing::TestWithParam<std::tuple<Case, Variant>> {};

TEST_P(InferenceEncoderGolden, FirstTokenOfEveryTextBatchedAndAlone) {
  const auto& [fixture, variant] = GetParam();
  const auto dir = emotune::testing::hf_fixtures_dir() / fixture.checkpoint;
  const auto config = io::load_hf_config(dir);
  auto encoder = load_encoder(dir);
  encoder->eval();
  ASSERT_TRUE(InferenceEncoder::supports(*encoder));
  if (variant.options.precision == InferencePrecision::bf16) {
    const auto refusal = runtime::bf16_refusal(runtime::reduced_precision_support());
    if (!refusal.empty()) {
      try {
        InferenceEncoder refused(*encoder, variant.options);
        FAIL() << "bf16 ran on a CPU without native bf16";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("AVX512_BF16"), std::string::npos) << e.what();
      }
      GTEST_SKIP() << refusal;
    }
  }
  const auto golden = load_forward_golden(fixture.golden);
  const auto ids = golden_input_ids(fixture.golden);
  const auto& cls_batched = golden.at("cls_batched");
  const auto& cls_single = golden.at("cls_single");
  const auto batch_size = golden.index.at("batch_size").get<std::size_t>();
  torch::InferenceMode inference;
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
  std::printf("%s %-36s cls_batched %.3g cls_single %.3g (max|diff|, tolerance %.0e)%s %s\n",
              fixture.checkpoint.c_str(), variant.name, worst_batched, worst_single,
              variant.tolerance, fast.fused() ? " fused" : "", fast.arithmetic().c_str());
  EXPECT_LE(worst_batched, variant.tolerance) << variant.name;
  EXPECT_LE(worst_single, variant.tolerance) << variant.name;
  if (variant.options.precision != InferencePrecision::fp32) {
    EXPECT_GT(worst_batched, 1e-4) << variant.name << ": no sign of reduced precision";
  }
  EXPECT_EQ(fast.packed(), variant.options.packed_tokens) << variant.name;
  EXPECT_EQ(fast.fused(), !variant.options.packed_tokens && variant.options.fused_layers &&
                              variant.options.precision != InferencePrecision::int8 &&
                              config.hidden_act == "gelu")
      << variant.name;
  if (variant.options.precision == InferencePrecision::int8) {
    // Full 8 bits only where the products are VNNI dot products: as oneDNN sees the CPU
    // (Debian's libtorch; ONEDNN_MAX_CPU_ISA caps it), or as the CPU is where the engine is
    // FBGEMM (libtorch 2.x), which ignores that cap.
    const auto support = runtime::reduced_precision_support();
    const auto& engines = at::globalContext().supportedQEngines();
    const bool fbgemm = std::find(engines.begin(), engines.end(), at::kFBGEMM) != engines.end();
    const bool vnni = fbgemm ? support.cpu_isa && runtime::has_int8_dot_product(*support.cpu_isa)
                             : support.int8_dot_product;
    EXPECT_EQ(fast.int8_range() == Int8Range::full, vnni);
    // For the record (docs/performance.md): what each int8 range gives here.
    for (const auto range : {Int8Range::full, Int8Range::seven_bit_activations,
                             Int8Range::seven_bit_weights}) {
      auto options = variant.options;
      options.int8_range = range;
      InferenceEncoder forced(*encoder, options);
      double worst = 0;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto [input_ids, mask] = pad_batch({ids[i]}, config.pad_token_id);
        worst = std::max(worst, max_abs_diff(forced.first_token(input_ids, mask, {})[0],
                                             cls_single[static_cast<std::int64_t>(i)]));
      }
      std::printf("  %s forced %-26s cls_single %.3g\n", fixture.checkpoint.c_str(),
                  forced.arithmetic().c_str(), worst);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, InferenceEncoderGolden,
    ::testing::Combine(::testing::Values(Case{"electra", "electra"}, Case{"roberta", "roberta"},
                                         Case{"bert", "bert"}),
                       ::testing::ValuesIn(variants())),
    [](const auto& info) {
      std::string name = std::get<0>(info.param).checkpoint + "_" + std::get<1>(info.param).name;
      for (auto& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

// The CPU decision checked against what oneDNN's int8 kernels really do. Activations that
// quantize to 255 times weights of 127: without VNNI, int8 products add pairs of u8·s8 products
// into a saturating 16-bit lane, and 2·255·127 = 64770 > 32767 loses about half the sum; 7-bit
// weights (2·255·63 = 32130) or activations (2·127·127 = 32258) never saturate. So: 8 bits are
// exact exactly where the detection reports int8 dot products, and 7 bits are exact everywhere. Run natively and
// under ONEDNN_MAX_CPU_ISA=AVX2 (CTest's `model_avx2`), it checks both answers of the detection.
TEST(Int8Kernels, SaturateExactlyWhereTheCpuDetectionSaysSo) {
  const auto& engines = at::globalContext().supportedQEngines();
  if (std::find(engines.begin(), engines.end(), at::kONEDNN) == engines.end())
    GTEST_SKIP() << "this libtorch has no oneDNN quantized engine";
  at::globalContext().setQEngine(at::kONEDNN);
  const auto support = runtime::reduced_precision_support();
  constexpr std::int64_t kInputs = 64, kOutputs = 8;
  auto x = torch::ones({2, kInputs});
  x.select(1, 0).zero_();  // range [0, 1]: 1 quantizes to the top code (255, or 127)
  const auto w = torch::ones({kOutputs, kInputs});
  const auto quantized =
      at::quantize_per_channel(w, torch::full({kOutputs}, 1.0 / 127, torch::kDouble),
                               torch::zeros({kOutputs}, torch::kLong), 0, torch::kQInt8);
  auto& dispatcher = c10::Dispatcher::singleton();
  std::vector<c10::IValue> stack{quantized, c10::optional<at::Tensor>(torch::zeros({kOutputs}))};
  dispatcher.findSchemaOrThrow("quantized::linear_prepack", "").callBoxed(&stack);
  const auto packed = stack.at(0);
  // The same weights as 7-bit codes (63): what emotune packs without VNNI.
  const auto quantized7 =
      at::quantize_per_channel(w, torch::full({kOutputs}, 1.0 / 63, torch::kDouble),
                               torch::zeros({kOutputs}, torch::kLong), 0, torch::kQInt8);
  std::vector<c10::IValue> stack7{quantized7,
                                  c10::optional<at::Tensor>(torch::zeros({kOutputs}))};
  dispatcher.findSchemaOrThrow("quantized::linear_prepack", "").callBoxed(&stack7);
  const auto output = [&](bool reduce_range, const c10::IValue& weights) {
    std::vector<c10::IValue> call{x, weights, reduce_range};
    dispatcher.findSchemaOrThrow("quantized::linear_dynamic", "").callBoxed(&call);
    return call.at(0).toTensor()[0][0].item<double>();
  };
  const double exact = kInputs - 1;
  EXPECT_NEAR(output(true, packed), exact, 0.01 * exact) << "7-bit activations";
  EXPECT_NEAR(output(false, stack7.at(0)), exact, 0.01 * exact) << "7-bit weights";
  if (support.int8_dot_product) {
    EXPECT_NEAR(output(false, packed), exact, 0.01 * exact)
        << "8-bit activations saturated although the detection reports VNNI ("
        << runtime::int8_summary(support) << ")";
  } else {
    EXPECT_LT(output(false, packed), 0.75 * exact)
        << "8-bit activations did not saturate although the detection reports no VNNI ("
        << runtime::int8_summary(support) << "): int8 loses a bit for nothing";
  }
  std::printf("int8 here: %s\n", runtime::int8_summary(support).c_str());
}

// The packed schedule reads token counts off the mask; a mask with a hole (not ones then
// zeros) must not be read that way: such a batch takes the padded schedule, same answer.
TEST(InferenceEncoder, PackedScheduleHandlesAMaskThatIsNotRightPadding) {
  const auto dir = emotune::testing::hf_fixtures_dir() / "bert";
  const auto config = io::load_hf_config(dir);
  auto encoder = load_encoder(dir);
  encoder->eval();
  const auto ids = golden_input_ids("bert");
  torch::InferenceMode inference;
  auto [input_ids, mask] = pad_batch({ids[0], ids[1], ids[2]}, config.pad_token_id);
  mask[1][1] = 0;  // a hole inside the second essay
  InferenceEncoderOptions packed_options;
  InferenceEncoderOptions padded_options;
  padded_options.packed_tokens = false;
  padded_options.fused_layers = false;
  InferenceEncoder packed(*encoder, packed_options);
  InferenceEncoder padded(*encoder, padded_options);
  ASSERT_TRUE(packed.packed());
  const auto expected = padded.first_token(input_ids, mask, {});
  EXPECT_LE(max_abs_diff(packed.first_token(input_ids, mask, {}), expected), 2e-5);
  // And the hole matters (the check above could not pass by ignoring the mask).
  mask[1][1] = 1;
  EXPECT_GT(max_abs_diff(packed.first_token(input_ids, mask, {})[1], expected[1]), 1e-4);
}

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
