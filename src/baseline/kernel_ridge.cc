#include "baseline/kernel_ridge.h"

#include <algorithm>
#include <span>
#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common/error.h"
#include "eval/metrics.h"

namespace emotune::baseline {
namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

torch::Tensor rows_tensor(const DenseRows& rows, std::size_t width) {
  auto out = torch::empty(
      {static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(width)}, kF64);
  auto* data = out.data_ptr<double>();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != width) {
      throw Error(fmt::format("kernel ridge: person row {} has {} values, expected {}", r + 1,
                              rows[r].size(), width));
    }
    std::copy(rows[r].begin(), rows[r].end(), data + r * width);
  }
  return out;
}

// |a_i - b_j|^2 for every pair, [rows of a, rows of b].
torch::Tensor squared_distances(const torch::Tensor& a, const torch::Tensor& b) {
  const auto a2 = a.pow(2).sum(1, /*keepdim=*/true);
  const auto b2 = b.pow(2).sum(1, /*keepdim=*/true).t();
  return (a2 + b2 - 2.0 * a.matmul(b.t())).clamp_min(0.0);
}

torch::Tensor text_gram(const SparseMatrix* text, std::size_t n) {
  if (!text) return torch::zeros({static_cast<std::int64_t>(n), static_cast<std::int64_t>(n)}, kF64);
  auto values = gram_matrix(*text);
  return torch::from_blob(values.data(),
                          {static_cast<std::int64_t>(n), static_cast<std::int64_t>(n)}, kF64)
      .clone();
}

torch::Tensor targets_tensor(const std::vector<std::vector<double>>& targets, std::size_t n) {
  auto out = torch::empty({static_cast<std::int64_t>(n), static_cast<std::int64_t>(targets.size())},
                          kF64);
  auto* data = out.data_ptr<double>();
  for (std::size_t t = 0; t < targets.size(); ++t) {
    if (targets[t].size() != n) {
      throw Error(fmt::format("kernel ridge: a target has {} values for {} rows",
                              targets[t].size(), n));
    }
    for (std::size_t i = 0; i < n; ++i) data[i * targets.size() + t] = targets[t][i];
  }
  return out;
}

struct Dual {
  torch::Tensor coefficients;  // [n, k]
  torch::Tensor intercept;     // [k]
};

// Ridge in the dual with an unpenalized intercept: the kernel centered on both sides (the
// feature-space mean removed), a = (Kc + alpha I)^-1 (y - mean y). Then sum(a) = 0, so
// f(x) = sum_i a_i k(x, x_i) + mean y - sum_i a_i mean_j k(x_j, x_i).
Dual solve_dual(const torch::Tensor& kernel, const torch::Tensor& y, double alpha) {
  const auto column_means = kernel.mean(0);
  const auto row_means = kernel.mean(1, /*keepdim=*/true);
  const auto centered = kernel - row_means - row_means.t() + kernel.mean();
  const auto y_mean = y.mean(0);
  const auto system = centered + alpha * torch::eye(kernel.size(0), kF64);
  const auto factor = torch::linalg_cholesky(system);
  auto a = torch::cholesky_solve(y - y_mean, factor);
  auto intercept = y_mean - column_means.matmul(a);
  return {std::move(a), std::move(intercept)};
}

void check_setting(const RbfSetting& s) {
  if (!(s.scale > 0) || !(s.gamma > 0)) {
    throw Error(fmt::format("kernel ridge: RBF scale and gamma must be positive, got {} and {}",
                            s.scale, s.gamma));
  }
}

std::size_t person_width(const DenseRows& person) {
  if (person.empty()) throw Error("kernel ridge: no rows");
  if (person.front().empty()) throw Error("kernel ridge: empty person vectors");
  return person.front().size();
}

}  // namespace

std::vector<RbfSetting> default_rbf_grid() {
  std::vector<RbfSetting> grid;
  for (const double gamma : {0.005, 0.01, 0.02, 0.05, 0.1})
    for (const double scale : {0.1, 0.3, 1.0, 3.0, 10.0}) grid.push_back({scale, gamma});
  return grid;
}

std::vector<RbfChoice> choose_rbf_settings(const SparseMatrix* text, const DenseRows& person,
                                           const std::vector<std::vector<double>>& targets,
                                           const std::vector<std::size_t>& fold_of, double alpha,
                                           const std::vector<RbfSetting>& grid) {
  const std::size_t n = person.size();
  const std::size_t width = person_width(person);
  if (text && text->rows != n) throw Error("kernel ridge: text and person rows differ in number");
  if (fold_of.size() != n) throw Error("kernel ridge: one fold per row expected");
  if (grid.empty()) throw Error("kernel ridge: empty grid");
  if (!(alpha > 0)) throw Error(fmt::format("kernel ridge: alpha must be positive, got {}", alpha));
  const std::size_t folds = *std::max_element(fold_of.begin(), fold_of.end()) + 1;
  std::vector<torch::Tensor> fit_at(folds), held_at(folds);
  for (std::size_t f = 0; f < folds; ++f) {
    std::vector<std::int64_t> fit, held;
    for (std::size_t i = 0; i < n; ++i) (fold_of[i] == f ? held : fit).push_back(static_cast<std::int64_t>(i));
    if (fit.empty() || held.empty())
      throw Error(fmt::format("kernel ridge: fold {} leaves no rows to fit or to hold out", f));
    fit_at[f] = torch::tensor(fit, torch::kInt64);
    held_at[f] = torch::tensor(held, torch::kInt64);
  }
  const auto y = targets_tensor(targets, n);
  const auto gram = text_gram(text, n);
  const auto distances = squared_distances(rows_tensor(person, width), rows_tensor(person, width));
  const std::size_t k = targets.size();
  std::vector<RbfChoice> best(k, RbfChoice{{}, -std::numeric_limits<double>::infinity()});
  for (const auto& setting : grid) {
    check_setting(setting);
    const auto kernel = gram + setting.scale * torch::exp(-setting.gamma * distances);
    auto oof = torch::empty_like(y);
    for (std::size_t f = 0; f < folds; ++f) {
      const auto fit_kernel = kernel.index_select(0, fit_at[f]).index_select(1, fit_at[f]);
      const auto dual = solve_dual(fit_kernel, y.index_select(0, fit_at[f]), alpha);
      const auto cross = kernel.index_select(0, held_at[f]).index_select(1, fit_at[f]);
      oof.index_copy_(0, held_at[f], cross.matmul(dual.coefficients) + dual.intercept);
    }
    // One contiguous row per target.
    const auto predicted = oof.t().contiguous();
    const auto gold = y.t().contiguous();
    for (std::size_t t = 0; t < k; ++t) {
      const double r = eval::pearson_unrounded(
          std::span<const double>(gold.data_ptr<double>() + t * n, n),
          std::span<const double>(predicted.data_ptr<double>() + t * n, n));
      if (r > best[t].out_of_fold_r) best[t] = {setting, r};
    }
  }
  return best;
}

void KernelRidge::fit(const SparseMatrix* text, const DenseRows& person,
                      const std::vector<std::vector<double>>& targets, double alpha,
                      const std::vector<RbfSetting>& settings) {
  const std::size_t n = person.size();
  const std::size_t width = person_width(person);
  if (text && text->rows != n) throw Error("kernel ridge: text and person rows differ in number");
  if (targets.empty() || settings.size() != targets.size())
    throw Error(fmt::format("kernel ridge: {} settings for {} targets", settings.size(),
                            targets.size()));
  if (!(alpha > 0)) throw Error(fmt::format("kernel ridge: alpha must be positive, got {}", alpha));
  for (const auto& s : settings) check_setting(s);
  const auto gram = text_gram(text, n);
  const auto support = rows_tensor(person, width);
  const auto distances = squared_distances(support, support);
  std::vector<Target> fitted;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto& s = settings[t];
    const auto kernel = gram + s.scale * torch::exp(-s.gamma * distances);
    const auto dual = solve_dual(kernel, targets_tensor({targets[t]}, n), alpha);
    const auto a = dual.coefficients.reshape({-1}).contiguous();
    std::vector<double> coefficients(a.data_ptr<double>(), a.data_ptr<double>() + n);
    Target target;
    target.setting = s;
    target.intercept = dual.intercept.item<double>();
    if (text) target.text_weights = sparse_transpose_times_dense(*text, coefficients.data(), 1);
    for (double& c : coefficients) c *= s.scale;
    target.coefficients = std::move(coefficients);
    fitted.push_back(std::move(target));
  }
  support_ = person;
  text_features_ = text ? text->cols : 0;
  targets_ = std::move(fitted);
}

std::vector<std::vector<double>> KernelRidge::predict(const SparseMatrix* text,
                                                      const DenseRows& person) const {
  if (targets_.empty()) throw Error("kernel ridge: predict before fit");
  if ((text != nullptr) != (text_features_ > 0))
    throw Error(text ? "kernel ridge: fitted without text, given text"
                     : "kernel ridge: fitted with text, given none");
  if (text && text->cols != text_features_)
    throw Error(fmt::format("kernel ridge: {} text features, fitted on {}", text->cols,
                            text_features_));
  if (text && text->rows != person.size())
    throw Error("kernel ridge: text and person rows differ in number");
  std::vector<std::vector<double>> out;
  if (person.empty()) {
    out.assign(targets_.size(), {});
    return out;
  }
  const std::size_t width = support_.front().size();
  const auto distances = squared_distances(rows_tensor(person, width), rows_tensor(support_, width));
  for (const auto& target : targets_) {
    auto coefficients = torch::from_blob(const_cast<double*>(target.coefficients.data()),
                                         {static_cast<std::int64_t>(target.coefficients.size())},
                                         kF64);
    const auto values =
        (torch::exp(-target.setting.gamma * distances).matmul(coefficients) + target.intercept)
            .contiguous();
    std::vector<double> predictions(values.data_ptr<double>(),
                                    values.data_ptr<double>() + person.size());
    if (text) {
      const auto linear = sparse_times_dense(*text, target.text_weights.data(), 1);
      for (std::size_t r = 0; r < predictions.size(); ++r) predictions[r] += linear[r];
    }
    out.push_back(std::move(predictions));
  }
  return out;
}

KernelRidge KernelRidge::from_parameters(DenseRows support, std::size_t text_features,
                                         std::vector<Target> targets) {
  const std::size_t n = support.size();
  const std::size_t width = person_width(support);
  for (const auto& row : support)
    if (row.size() != width) throw Error("kernel ridge: support rows of different lengths");
  if (targets.empty()) throw Error("kernel ridge: no targets");
  for (const auto& t : targets) {
    check_setting(t.setting);
    if (t.coefficients.size() != n || t.text_weights.size() != text_features)
      throw Error(fmt::format(
          "kernel ridge: a target has {} coefficients and {} text weights, expected {} and {}",
          t.coefficients.size(), t.text_weights.size(), n, text_features));
  }
  KernelRidge model;
  model.support_ = std::move(support);
  model.text_features_ = text_features;
  model.targets_ = std::move(targets);
  return model;
}

}  // namespace emotune::baseline
