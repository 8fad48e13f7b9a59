// Kernel ridge over TF-IDF rows (linear) and person vectors (RBF): the optimality conditions
// of the solution, what the RBF learns that a linear model cannot, and the grid choice.

#include "baseline/kernel_ridge.h"

#include <gmock/gmock.h>

#include <cmath>
#include <random>
#include <vector>

#include "baseline/linear.h"
#include "common/error.h"
#include "common/error_of.h"
#include "eval/metrics.h"
#include "sparse_from_dense.h"

namespace emotune::baseline {
namespace {

using emotune::testing::error_of;
using ::testing::HasSubstr;

using eval::pearson_unrounded;
using testing::from_dense;

// y = 2 p0 p1 (a pure interaction of two person columns) + 0.5 x0 (a text feature) + noise.
struct Problem {
  DenseRows person, text;
  std::vector<double> y;
};

Problem interaction_problem(std::size_t n, unsigned seed) {
  std::mt19937 random(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::bernoulli_distribution present(0.3);
  Problem p;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> person(4), text(6, 0.0);
    for (auto& v : person) v = normal(random);
    for (auto& v : text) v = present(random) ? std::abs(normal(random)) : 0.0;
    text[0] += 0.01;  // no empty rows
    p.y.push_back(2.0 * person[0] * person[1] + 0.5 * text[0] + 0.1 * normal(random));
    p.person.push_back(person);
    p.text.push_back(text);
  }
  return p;
}

TEST(KernelRidge, FittedValuesMeetTheOptimalityConditions) {
  // min ||y - K a - b||^2 + alpha aᵀ K a over a and an unpenalized b: at the optimum the
  // training residuals are alpha * a and sum to zero. The stored RBF coefficients are
  // scale * a, the text weights Xᵀ a; so both follow from predictions on the training rows,
  // whatever centering the solver uses inside.
  const auto p = interaction_problem(60, 1);
  const auto text = from_dense(p.text);
  for (const bool with_text : {false, true}) {
    const double alpha = 0.7;
    const RbfSetting setting{2.0, 0.3};
    KernelRidge model;
    model.fit(with_text ? &text : nullptr, p.person, {p.y}, alpha, {setting});
    const auto fitted = model.predict(with_text ? &text : nullptr, p.person).front();
    const auto& target = model.targets().front();
    double residual_sum = 0;
    for (std::size_t i = 0; i < p.y.size(); ++i) {
      const double residual = p.y[i] - fitted[i];
      residual_sum += residual;
      EXPECT_NEAR(residual, alpha * target.coefficients[i] / setting.scale, 1e-8) << i;
    }
    EXPECT_NEAR(residual_sum, 0.0, 1e-8);
    if (with_text) {
      // Text weights = Xᵀ a.
      double w0 = 0;
      for (std::size_t i = 0; i < p.y.size(); ++i)
        w0 += p.text[i][0] * target.coefficients[i] / setting.scale;
      EXPECT_NEAR(target.text_weights[0], w0, 1e-10);
    } else {
      EXPECT_TRUE(target.text_weights.empty());
    }
  }
}

TEST(KernelRidge, LearnsAnInteractionThatALinearModelCannot) {
  const auto train = interaction_problem(300, 2);
  const auto held = interaction_problem(200, 3);
  KernelRidge kernel;
  kernel.fit(nullptr, train.person, {train.y}, 1.0, {{1.0, 0.2}});
  const double kernel_r = pearson_unrounded(kernel.predict(nullptr, held.person).front(), held.y);
  RidgeRegression linear;
  linear.fit(from_dense(train.person), {train.y}, 1.0);
  const double linear_r =
      pearson_unrounded(linear.predict(from_dense(held.person)).front(), held.y);
  EXPECT_GT(kernel_r, 0.6);
  EXPECT_LT(std::abs(linear_r), 0.25);
  // The text block adds its linear part on top.
  const auto train_text = from_dense(train.text);
  const auto held_text = from_dense(held.text);
  KernelRidge both;
  both.fit(&train_text, train.person, {train.y}, 1.0, {{1.0, 0.2}});
  EXPECT_GT(pearson_unrounded(both.predict(&held_text, held.person).front(), held.y), kernel_r);
  // A stored model predicts the same.
  const auto restored =
      KernelRidge::from_parameters(both.support(), both.text_features(), both.targets());
  EXPECT_EQ(restored.predict(&held_text, held.person), both.predict(&held_text, held.person));
}

TEST(KernelRidge, ChoiceIsTheBestOutOfFoldSettingPerTarget) {
  const auto p = interaction_problem(120, 4);
  std::vector<double> noise_target;  // a second target the person vector says nothing about
  std::mt19937 random(8);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (std::size_t i = 0; i < p.y.size(); ++i) noise_target.push_back(normal(random));
  std::vector<std::size_t> fold_of;
  for (std::size_t i = 0; i < p.y.size(); ++i) fold_of.push_back((i / 2) % 3);  // pairs together
  const std::vector<RbfSetting> grid = {{0.1, 0.01}, {1.0, 0.2}, {10.0, 0.2}, {1.0, 2.0}};
  const auto choices = choose_rbf_settings(nullptr, p.person, {p.y, noise_target}, fold_of, 1.0, grid);
  ASSERT_EQ(choices.size(), 2u);
  // Recompute each setting's out-of-fold r through fit/predict on the folds.
  std::vector<double> best_r = {-2, -2};
  for (const auto& setting : grid) {
    std::vector<std::vector<double>> oof(2, std::vector<double>(p.y.size()));
    for (std::size_t f = 0; f < 3; ++f) {
      DenseRows fit_rows, held_rows;
      std::vector<std::vector<double>> fit_y(2);
      std::vector<std::size_t> held_at;
      for (std::size_t i = 0; i < p.y.size(); ++i) {
        if (fold_of[i] == f) {
          held_rows.push_back(p.person[i]);
          held_at.push_back(i);
        } else {
          fit_rows.push_back(p.person[i]);
          fit_y[0].push_back(p.y[i]);
          fit_y[1].push_back(noise_target[i]);
        }
      }
      KernelRidge model;
      model.fit(nullptr, fit_rows, fit_y, 1.0, {setting, setting});
      const auto predicted = model.predict(nullptr, held_rows);
      for (std::size_t t = 0; t < 2; ++t)
        for (std::size_t j = 0; j < held_at.size(); ++j) oof[t][held_at[j]] = predicted[t][j];
    }
    const double r0 = pearson_unrounded(oof[0], p.y), r1 = pearson_unrounded(oof[1], noise_target);
    if (r0 > best_r[0]) best_r[0] = r0;
    if (r1 > best_r[1]) best_r[1] = r1;
    if (setting.scale == choices[0].setting.scale && setting.gamma == choices[0].setting.gamma)
      EXPECT_NEAR(choices[0].out_of_fold_r, r0, 1e-9);
  }
  EXPECT_NEAR(choices[0].out_of_fold_r, best_r[0], 1e-9);
  EXPECT_NEAR(choices[1].out_of_fold_r, best_r[1], 1e-9);
  EXPECT_GT(choices[0].out_of_fold_r, 0.5);
  EXPECT_LT(choices[1].out_of_fold_r, 0.3);
}

TEST(KernelRidge, RejectsBadInput) {
  const auto p = interaction_problem(10, 6);
  KernelRidge model;
  EXPECT_THAT(error_of([&] { model.fit(nullptr, p.person, {p.y}, 1.0, {{0.0, 0.1}}); }),
              HasSubstr("must be positive"));
  EXPECT_THAT(error_of([&] { model.fit(nullptr, p.person, {p.y}, 1.0, {}); }),
              HasSubstr("settings for 1 targets"));
  EXPECT_THAT(error_of([&] { model.predict(nullptr, p.person); }), HasSubstr("before fit"));
  model.fit(nullptr, p.person, {p.y}, 1.0, {{1.0, 0.1}});
  const auto text = from_dense(p.text);
  EXPECT_THAT(error_of([&] { model.predict(&text, p.person); }), HasSubstr("fitted without text"));
  auto short_rows = p.person;
  short_rows[3].pop_back();
  EXPECT_THAT(error_of([&] { model.predict(nullptr, short_rows); }), HasSubstr("person row 4"));
  std::vector<std::size_t> one_fold(p.y.size(), 0);
  EXPECT_THAT(error_of([&] {
                choose_rbf_settings(nullptr, p.person, {p.y}, one_fold, 1.0, default_rbf_grid());
              }),
              HasSubstr("fold 0 leaves no rows"));
}

}  // namespace
}  // namespace emotune::baseline
