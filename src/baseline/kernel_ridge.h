#pragma once

// Kernel ridge regression over an essay's TF-IDF row and its writer's person vector, with the
// kernel k(a, b) = x_a · x_b + scale * exp(-gamma * |p_a - p_b|^2): linear in the text (as the
// ridge members) and an RBF on the person vector, so that person columns may interact (the
// IRI scales with each other and with demographics) where a linear member only adds them.
// Either block may be absent (no text: the RBF alone). Solved exactly in the dual (n x n) with
// an unpenalized intercept, like RidgeRegression. The RBF part keeps the training person
// vectors (the support) to predict; the text part folds into one weight per feature.
//
// The RBF setting (scale, gamma) of each target is chosen from a small grid by out-of-fold
// Pearson r on the training rows, folds grouped by writer (data::writer_folds), so a writer's
// essays are held out together as dev and test writers are unseen. No dev label is read.

#include <cstddef>
#include <vector>

#include "baseline/tfidf.h"

namespace emotune::baseline {

struct RbfSetting {
  double scale = 1.0;  // weight of the RBF kernel beside the linear text kernel
  double gamma = 0.01;
};

// Person vectors, one row each (all of equal length).
using DenseRows = std::vector<std::vector<double>>;

struct RbfChoice {
  RbfSetting setting;
  double out_of_fold_r = 0;  // of the chosen setting
};

// The grid the choice searches: scale x gamma.
std::vector<RbfSetting> default_rbf_grid();

// Per target, the setting of `grid` with the highest out-of-fold Pearson r (ties: the first in
// grid order). `text` may be null (no text block); `fold_of[i]` is row i's fold (0..k-1, at
// least two folds). Each fold's model is fitted on the other folds' rows with ridge `alpha`.
std::vector<RbfChoice> choose_rbf_settings(const SparseMatrix* text, const DenseRows& person,
                                           const std::vector<std::vector<double>>& targets,
                                           const std::vector<std::size_t>& fold_of, double alpha,
                                           const std::vector<RbfSetting>& grid);

class KernelRidge {
 public:
  struct Target {
    RbfSetting setting;
    std::vector<double> text_weights;  // one per text feature (empty without text)
    std::vector<double> coefficients;  // one per support row, the RBF scale folded in
    double intercept = 0;
  };

  // One setting per target. Throws Error on mismatched sizes, no rows, alpha <= 0, or a
  // non-positive scale or gamma.
  void fit(const SparseMatrix* text, const DenseRows& person,
           const std::vector<std::vector<double>>& targets, double alpha,
           const std::vector<RbfSetting>& settings);
  // One vector per target, one value per row. `text` must be given exactly when the model
  // was fitted with text (same number of features).
  std::vector<std::vector<double>> predict(const SparseMatrix* text, const DenseRows& person) const;

  const DenseRows& support() const { return support_; }
  const std::vector<Target>& targets() const { return targets_; }
  std::size_t text_features() const { return text_features_; }
  // A model fitted before (what fit() would have stored).
  static KernelRidge from_parameters(DenseRows support, std::size_t text_features,
                                     std::vector<Target> targets);

 private:
  DenseRows support_;
  std::size_t text_features_ = 0;  // 0: no text block
  std::vector<Target> targets_;
};

}  // namespace emotune::baseline
