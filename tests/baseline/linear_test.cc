// Ridge (exact dual solve) and multinomial logistic regression (L-BFGS) on tiny problems.

#include "baseline/linear.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "sparse_from_dense.h"

namespace emotune::baseline {
namespace {

using testing::from_dense;

TEST(Ridge, OneFeatureMatchesTheClosedForm) {
  // x = (0, 1, 2, 3), y = (1, 3, 5, 7). Centered: x' = (-1.5, -.5, .5, 1.5), Σx'^2 = 5,
  // Σx'y' = 10; w = 10 / (5 + alpha), b = mean(y) - w mean(x).
  const auto x = from_dense({{0.0}, {1.0}, {2.0}, {3.0}});
  const std::vector<double> y = {1, 3, 5, 7};
  RidgeRegression ridge;
  ridge.fit(x, {y}, 1.0);
  const double w = 10.0 / 6.0;
  EXPECT_NEAR(ridge.weights()[0][0], w, 1e-10);
  EXPECT_NEAR(ridge.intercepts()[0], 4.0 - w * 1.5, 1e-10);
  const auto predicted = ridge.predict(from_dense({{10.0}}));
  EXPECT_NEAR(predicted[0][0], 4.0 + w * 8.5, 1e-9);
}

TEST(Ridge, TwoFeaturesTwoTargetsMatchNormalEquations) {
  // With centered X (columns already mean 0), w = (XᵀX + alpha I)⁻¹ Xᵀ y.
  const auto x = from_dense({{1, 0}, {-1, 1}, {0, -1}, {2, 2}, {-2, -2}});
  // Columns sum to 0 so centering changes nothing; XᵀX = [[10, 7], [7, 10]].
  const std::vector<double> y1 = {1, 0, 2, 3, -1};
  const std::vector<double> y2 = {0, 1, 0, 1, 0};
  RidgeRegression ridge;
  ridge.fit(x, {y1, y2}, 2.0);
  const double a = 12, b = 7, d = 12;  // XᵀX + 2I = [[12, 7], [7, 12]]
  const double det = a * d - b * b;
  const double r1 = 1 * 1 + (-1) * 0 + 0 * 2 + 2 * 3 + (-2) * (-1);  // 9
  const double r2 = 0 * 1 + 1 * 0 + (-1) * 2 + 2 * 3 + (-2) * (-1);  // 6
  EXPECT_NEAR(ridge.weights()[0][0], (d * r1 - b * r2) / det, 1e-10);
  EXPECT_NEAR(ridge.weights()[0][1], (a * r2 - b * r1) / det, 1e-10);
  EXPECT_NEAR(ridge.intercepts()[0], 1.0, 1e-10);
  EXPECT_NEAR(ridge.intercepts()[1], 0.4, 1e-10);
}

TEST(Ridge, RejectsBadInput) {
  const auto x = from_dense({{1.0}, {2.0}});
  RidgeRegression ridge;
  EXPECT_THROW(ridge.fit(x, {{1.0}}, 1.0), Error);
  EXPECT_THROW(ridge.fit(x, {{1.0, 2.0}}, 0.0), Error);
  EXPECT_THROW(ridge.predict(x), Error);
}

TEST(Logistic, SeparatesThreeClassesAndIsDeterministic) {
  // Class c lives on feature c (plus a shared noise feature).
  std::vector<std::vector<double>> rows;
  std::vector<int> labels;
  for (int i = 0; i < 30; ++i) {
    const int c = i % 3;
    std::vector<double> row(4, 0.0);
    row[static_cast<std::size_t>(c)] = 1.0 + 0.1 * (i % 5);
    row[3] = 0.3 * ((i * 7) % 4);
    rows.push_back(row);
    labels.push_back(c);
  }
  const auto x = from_dense(rows);
  LogisticRegression model;
  model.fit(x, labels, 3, LogisticOptions{10.0});
  EXPECT_EQ(model.predict(x), labels);
  const auto probabilities = model.predict_proba(from_dense({{0, 2.0, 0, 0}}));
  ASSERT_EQ(probabilities.size(), 3u);
  EXPECT_GT(probabilities[1], 0.9);
  EXPECT_NEAR(probabilities[0] + probabilities[1] + probabilities[2], 1.0, 1e-12);

  LogisticRegression again;
  again.fit(x, labels, 3, LogisticOptions{10.0});
  EXPECT_EQ(again.predict_proba(x), model.predict_proba(x));
}

TEST(Logistic, StrongerRegularizationGivesSofterProbabilities) {
  const auto x = from_dense({{1, 0}, {0, 1}, {1, 0}, {0, 1}});
  const std::vector<int> labels = {0, 1, 0, 1};
  LogisticRegression weak, strong;
  weak.fit(x, labels, 2, LogisticOptions{100.0});
  strong.fit(x, labels, 2, LogisticOptions{0.01});
  EXPECT_GT(weak.predict_proba(x)[0], strong.predict_proba(x)[0]);
  EXPECT_GT(strong.predict_proba(x)[0], 0.5);
}

TEST(Logistic, RejectsBadLabels) {
  const auto x = from_dense({{1.0}, {2.0}});
  LogisticRegression model;
  EXPECT_THROW(model.fit(x, {0, 3}, 3), Error);
  EXPECT_THROW(model.fit(x, {0}, 3), Error);
  EXPECT_THROW(model.fit(x, {0, 1}, 2, LogisticOptions{0.0}), Error);
}

}  // namespace
}  // namespace emotune::baseline
