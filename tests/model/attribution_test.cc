// Integrated gradients (model/attribution.h): the quadrature rules, the word-embedding entry
// point of every encoder family, and completeness — the attributions of an output sum to the
// output at the input minus the output at the baseline — on the fixture models.

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/test_paths.h"
#include "model/attribution.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "model/model_test_support.h"
#include "text/tokenizer.h"

namespace emotune::model {
namespace {

const std::vector<std::string> kFamilies = {"electra", "roberta", "albert", "bert"};

TEST(Quadrature, GaussLegendreIsExactForPolynomialsOfDegreeTwoNMinusOne) {
  for (const std::size_t n : {1u, 2u, 5u, 32u, 64u}) {
    const auto q = quadrature(IgRule::gauss_legendre, n);
    ASSERT_EQ(q.nodes.size(), n);
    for (std::size_t degree = 0; degree < 2 * n; ++degree) {
      double integral = 0;
      for (std::size_t i = 0; i < n; ++i) {
        EXPECT_GT(q.nodes[i], 0.0);
        EXPECT_LT(q.nodes[i], 1.0);
        integral += q.weights[i] * std::pow(q.nodes[i], static_cast<double>(degree));
      }
      EXPECT_NEAR(integral, 1.0 / static_cast<double>(degree + 1), 1e-12)
          << "n " << n << " degree " << degree;
    }
  }
}

TEST(Quadrature, TrapezoidSpansBothEndsAndIsExactForLines) {
  const auto q = quadrature(IgRule::trapezoid, 5);
  EXPECT_EQ(q.nodes.front(), 0.0);
  EXPECT_EQ(q.nodes.back(), 1.0);
  double sum = 0, first_moment = 0;
  for (std::size_t i = 0; i < 5; ++i) sum += q.weights[i], first_moment += q.weights[i] * q.nodes[i];
  EXPECT_NEAR(sum, 1.0, 1e-15);
  EXPECT_NEAR(first_moment, 0.5, 1e-15);
  EXPECT_THROW(quadrature(IgRule::trapezoid, 1), Error);
}

TEST(IntegratedGradients, MatchesTheClosedFormOfACubic) {
  // F(x) = Σ_t c_t Σ_d x_td³ with baseline 0: IG_t = c_t Σ_d x_td³ exactly (the integrand is a
  // polynomial of degree 2 in α), so 2 Gauss-Legendre points are already exact.
  torch::manual_seed(1);
  const auto input = torch::randn({4, 3}, torch::kFloat64);
  const auto scale = torch::tensor({1.0, -2.0, 0.5, 3.0}, torch::kFloat64);
  const OutputsOfEmbeddings f = [&](const torch::Tensor& x) {
    const auto per_token = x.pow(3).sum(-1);  // [points, length]
    return torch::stack({(per_token * scale).sum(-1), per_token.sum(-1)}, 1);
  };
  IntegratedGradientsOptions options;
  options.steps = 2;
  const auto ig = integrated_gradients(f, input, torch::zeros_like(input), options);
  const auto expected = input.pow(3).sum(-1);
  EXPECT_TRUE(torch::allclose(ig.attributions[0], expected * scale, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(ig.attributions[1], expected, 1e-12, 1e-12));
  EXPECT_NEAR(ig.at_baseline[0].item<double>(), 0.0, 1e-15);
}

TEST(ModelOutputNames, RoundTrip) {
  const auto all = model_outputs({Task::emotion, Task::empathy, Task::distress});
  ASSERT_EQ(all.size(), 9u);
  EXPECT_EQ(all[0].name(), "empathy");
  EXPECT_EQ(all[1].name(), "distress");
  EXPECT_EQ(all[2].name(), "emotion:anger");
  for (const auto& output : all) EXPECT_EQ(parse_model_output(output.name()), output);
  EXPECT_FALSE(parse_model_output("emotion"));
  EXPECT_FALSE(parse_model_output("emotion:bliss"));
  EXPECT_FALSE(parse_model_output("joy"));
}

// A task model on a fixture encoder with seeded heads, dropout off.
TaskModel fixture_task_model(const std::string& family, torch::ScalarType dtype) {
  EncoderOptions options;
  options.hidden_dropout = 0.0;
  options.attention_dropout = 0.0;
  auto encoder = load_encoder(emotune::testing::hf_fixtures_dir() / family, options);
  torch::manual_seed(7);
  TaskModel model(encoder, std::vector<Task>{Task::empathy, Task::distress, Task::emotion}, 0.0);
  {
    // Heads of a trained model's size: outputs a few units wide, probabilities away from 0/1.
    torch::NoGradGuard no_grad;
    for (const Task task : {Task::empathy, Task::distress, Task::emotion}) {
      model->head(task)->weight.normal_(0.0, 0.5);
      model->head(task)->bias.fill_(task == Task::emotion ? 0.0 : 4.0);
    }
  }
  model->eval();
  model->to(dtype);
  for (auto& parameter : model->parameters()) parameter.requires_grad_(false);
  return model;
}

TokenAttributionRequest fixture_request(const std::string& family, std::size_t steps,
                                        IgRule rule) {
  const auto tokenizer = text::load_tokenizer(emotune::testing::hf_fixtures_dir() / family);
  TokenAttributionRequest request;
  request.input_ids =
      tokenizer->encode("I felt so sad and angry reading about the flood; nobody helped them.")
          .input_ids;
  for (std::size_t t = 0; t < request.input_ids.size(); ++t) {
    request.attributed.push_back(t != 0 && t + 1 != request.input_ids.size());
  }
  request.pad_id = tokenizer->special_ids().pad;
  request.outputs = model_outputs({Task::empathy, Task::distress, Task::emotion});
  request.options.steps = steps;
  request.options.rule = rule;
  return request;
}

double worst_gap(const std::vector<OutputAttribution>& attributions) {
  double worst = 0;
  for (const auto& item : attributions) worst = std::max(worst, std::abs(item.completeness_gap()));
  return worst;
}

class AttributionFamilyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AttributionFamilyTest, WordEmbeddingEntryPointEqualsTheForward) {
  auto model = fixture_task_model(GetParam(), torch::kFloat32);
  auto& encoder = model->encoder();
  const auto request = fixture_request(GetParam(), 2, IgRule::gauss_legendre);
  const auto ids = torch::tensor(request.input_ids, torch::kInt64).unsqueeze(0);
  const auto mask = torch::ones_like(ids);
  const auto types = torch::zeros_like(ids);
  torch::NoGradGuard no_grad;
  const auto direct = encoder.forward(ids, mask, types);
  const auto through =
      forward_word_embeddings(encoder, word_embeddings_of(encoder, ids), ids, mask, types);
  EXPECT_TRUE(torch::equal(direct, through));
}

// Completeness at 64 Gauss-Legendre steps in float32, the product's arithmetic. Outputs are a
// regression value of a few units and probabilities in [0, 1]; the tolerance 2e-3 is 0.03% of
// the 1..7 scale and 0.2 percentage points of a probability. It covers the float32 rounding
// of the summed gradients (~1e-5 relative, measured below in float64 at 1e-7 and smaller)
// with a wide margin and fails for any real error (a wrong path, a missing position or
// token-type term, a scaled delta).
TEST_P(AttributionFamilyTest, AttributionsSumToTheOutputDifference) {
  auto model = fixture_task_model(GetParam(), torch::kFloat32);
  const auto request = fixture_request(GetParam(), 64, IgRule::gauss_legendre);
  const auto attributions = attribute_tokens(*model, request);
  ASSERT_EQ(attributions.size(), 9u);
  double largest_difference = 0;
  for (const auto& item : attributions) {
    SCOPED_TRACE(item.output.name());
    ASSERT_EQ(item.tokens.size(), request.input_ids.size());
    EXPECT_EQ(item.tokens.front(), 0.0);  // [CLS] is kept in the baseline
    EXPECT_EQ(item.tokens.back(), 0.0);   // and so is [SEP]
    EXPECT_NEAR(item.sum(), item.value - item.baseline_value, 2e-3);
    largest_difference = std::max(largest_difference, std::abs(item.value - item.baseline_value));
  }
  // The check means something only when the outputs do move between baseline and input.
  EXPECT_GT(largest_difference, 0.05);
  std::cout << GetParam() << ": fp32, 64 Gauss-Legendre steps: worst |gap| "
            << worst_gap(attributions) << ", largest |F(x) - F(x')| " << largest_difference
            << "\n";
  // The regression outputs are the heads' values on the first token.
  const auto ids = torch::tensor(request.input_ids, torch::kInt64).unsqueeze(0);
  torch::NoGradGuard no_grad;
  const auto outputs = model->forward(ids, torch::ones_like(ids), torch::zeros_like(ids));
  EXPECT_NEAR(attributions[0].value, outputs.at(Task::empathy).item<double>(), 1e-5);
}

// The gap is quadrature error: in float64 (no rounding to hide behind) it falls as the
// trapezoid rule's O(1/n²) from 4 to 16 to 64 points, and Gauss-Legendre at 64 points leaves
// next to nothing.
TEST_P(AttributionFamilyTest, TheGapShrinksWithTheSteps) {
  auto model = fixture_task_model(GetParam(), torch::kFloat64);
  const double at4 = worst_gap(attribute_tokens(*model, fixture_request(GetParam(), 4, IgRule::trapezoid)));
  const double at16 = worst_gap(attribute_tokens(*model, fixture_request(GetParam(), 16, IgRule::trapezoid)));
  const double at64 = worst_gap(attribute_tokens(*model, fixture_request(GetParam(), 64, IgRule::trapezoid)));
  const double gauss64 =
      worst_gap(attribute_tokens(*model, fixture_request(GetParam(), 64, IgRule::gauss_legendre)));
  std::cout << GetParam() << ": worst |gap| trapezoid 4/16/64 steps " << at4 << " / " << at16
            << " / " << at64 << ", Gauss-Legendre 64 steps " << gauss64 << "\n";
  EXPECT_GT(at4, 1e-6) << "a 4-point trapezoid should be visibly off on these paths";
  EXPECT_LT(at16, at4 / 4);
  EXPECT_LT(at64, at16 / 4);
  EXPECT_LT(gauss64, 1e-7);
}

TEST_P(AttributionFamilyTest, ZerosBaselineAndSmallPassesGiveTheSameCompleteness) {
  auto model = fixture_task_model(GetParam(), torch::kFloat64);
  auto request = fixture_request(GetParam(), 32, IgRule::gauss_legendre);
  const auto whole = attribute_tokens(*model, request);
  request.options.max_tokens_per_pass = 1;  // one interpolation point a pass
  const auto split = attribute_tokens(*model, request);
  for (std::size_t k = 0; k < whole.size(); ++k) {
    for (std::size_t t = 0; t < whole[k].tokens.size(); ++t) {
      EXPECT_NEAR(whole[k].tokens[t], split[k].tokens[t], 1e-10);
    }
  }
  request.options.baseline = IgBaseline::zeros;
  const auto zeros = attribute_tokens(*model, request);
  EXPECT_LT(worst_gap(zeros), 1e-6);
  EXPECT_NE(zeros[0].baseline_value, whole[0].baseline_value);
}

INSTANTIATE_TEST_SUITE_P(Families, AttributionFamilyTest, ::testing::ValuesIn(kFamilies),
                         [](const auto& info) { return info.param; });

TEST(Attribution, RejectsRequestsTheModelCannotAnswer) {
  auto encoder = load_encoder(emotune::testing::hf_fixtures_dir() / "electra");
  TaskModel model(encoder, std::vector<Task>{Task::empathy}, 0.0);
  model->eval();
  TokenAttributionRequest request;
  request.input_ids = {101, 2000, 102};
  request.attributed = {false, true, false};
  request.outputs = {ModelOutput{Task::emotion, 3}};
  EXPECT_THROW(attribute_tokens(*model, request), Error);
  request.outputs = {ModelOutput{Task::empathy, 0}};
  request.attributed = {true};
  EXPECT_THROW(attribute_tokens(*model, request), Error);
}

}  // namespace
}  // namespace emotune::model
