#pragma once

#include <cstddef>
#include <vector>

#include "baseline/tfidf.h"

namespace emotune::baseline {

// Ridge regression with an unpenalized intercept, exactly (no iterations): minimizes
// ||y - Xw - b||^2 + alpha ||w||^2 per target, solved in the dual (n x n, kernel X Xᵀ centered)
// so that a wide sparse X never becomes dense; w = Xcᵀ a is then kept for prediction.
class RidgeRegression {
 public:
  // `targets`: one vector of X.rows values per target. Throws Error on mismatched lengths,
  // no rows, or alpha <= 0.
  void fit(const SparseMatrix& x, const std::vector<std::vector<double>>& targets, double alpha);
  // One vector per target, one value per row of `x`.
  std::vector<std::vector<double>> predict(const SparseMatrix& x) const;

  const std::vector<std::vector<double>>& weights() const { return weights_; }
  const std::vector<double>& intercepts() const { return intercepts_; }
  // A model fitted before: one weight vector (of equal length) and one intercept per target.
  static RidgeRegression from_parameters(std::vector<std::vector<double>> weights,
                                         std::vector<double> intercepts);

 private:
  std::size_t features_ = 0;
  std::vector<std::vector<double>> weights_;
  std::vector<double> intercepts_;
};

struct LogisticOptions {
  double c = 1.0;  // inverse L2 strength, as scikit-learn's C (the intercept is not penalized)
  int max_iterations = 500;
  double gradient_tolerance = 1e-7;
  // scikit-learn's class_weight="balanced": each row's loss weighted by
  // rows / (classes * rows of its class), so rare emotions count as much as frequent ones.
  bool balanced = true;
};

// Multinomial (softmax) logistic regression: minimizes
// C * sum_i weight_i * cross_entropy_i + ||W||^2 / 2
// with full-batch L-BFGS (strong Wolfe line search) in float64 from zero weights, so the
// result is deterministic.
class LogisticRegression {
 public:
  // `labels` in [0, classes). Throws Error on mismatched lengths or labels out of range.
  void fit(const SparseMatrix& x, const std::vector<int>& labels, int classes,
           const LogisticOptions& options = {});
  // Row-major [rows, classes] probabilities.
  std::vector<double> predict_proba(const SparseMatrix& x) const;
  // The most probable class per row (ties: the lowest class id).
  std::vector<int> predict(const SparseMatrix& x) const;

  int classes() const { return classes_; }
  const std::vector<double>& weights() const { return weights_; }  // [features, classes]
  const std::vector<double>& bias() const { return bias_; }
  // A model fitted before; weights row-major [features, classes].
  static LogisticRegression from_parameters(int classes, std::vector<double> weights,
                                            std::vector<double> bias);
  int iterations() const { return iterations_; }
  double final_loss() const { return final_loss_; }

 private:
  std::vector<double> logits(const SparseMatrix& x) const;

  int classes_ = 0;
  std::size_t features_ = 0;
  std::vector<double> weights_;  // [features, classes]
  std::vector<double> bias_;     // [classes]
  int iterations_ = 0;
  double final_loss_ = 0;
};

}  // namespace emotune::baseline
