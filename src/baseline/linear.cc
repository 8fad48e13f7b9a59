#include "baseline/linear.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common/error.h"

namespace emotune::baseline {

std::vector<double> sparse_times_dense(const SparseMatrix& x, const double* dense, std::size_t k) {
  std::vector<double> out(x.rows * k, 0.0);
  for (std::size_t r = 0; r < x.rows; ++r) {
    double* row = out.data() + r * k;
    for (std::size_t i = x.row_offsets[r]; i < x.row_offsets[r + 1]; ++i) {
      const double v = x.values[i];
      const double* w = dense + static_cast<std::size_t>(x.columns[i]) * k;
      for (std::size_t j = 0; j < k; ++j) row[j] += v * w[j];
    }
  }
  return out;
}

std::vector<double> sparse_transpose_times_dense(const SparseMatrix& x, const double* dense,
                                                 std::size_t k) {
  std::vector<double> out(x.cols * k, 0.0);
  for (std::size_t r = 0; r < x.rows; ++r) {
    const double* d = dense + r * k;
    for (std::size_t i = x.row_offsets[r]; i < x.row_offsets[r + 1]; ++i) {
      double* o = out.data() + static_cast<std::size_t>(x.columns[i]) * k;
      for (std::size_t j = 0; j < k; ++j) o[j] += x.values[i] * d[j];
    }
  }
  return out;
}

// Each row scattered into a dense buffer once, then dotted with every earlier row.
std::vector<double> gram_matrix(const SparseMatrix& x) {
  const std::size_t n = x.rows;
  std::vector<double> gram(n * n, 0.0);
  std::vector<double> dense(x.cols, 0.0);
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t i = x.row_offsets[a]; i < x.row_offsets[a + 1]; ++i)
      dense[static_cast<std::size_t>(x.columns[i])] = x.values[i];
    for (std::size_t b = 0; b <= a; ++b) {
      double dot = 0;
      for (std::size_t i = x.row_offsets[b]; i < x.row_offsets[b + 1]; ++i)
        dot += x.values[i] * dense[static_cast<std::size_t>(x.columns[i])];
      gram[a * n + b] = dot;
      gram[b * n + a] = dot;
    }
    for (std::size_t i = x.row_offsets[a]; i < x.row_offsets[a + 1]; ++i)
      dense[static_cast<std::size_t>(x.columns[i])] = 0.0;
  }
  return gram;
}

namespace {

torch::Tensor as_tensor(std::vector<double>& values, std::vector<std::int64_t> shape) {
  return torch::from_blob(values.data(), shape, torch::kFloat64);
}

}  // namespace

void RidgeRegression::fit(const SparseMatrix& x, const std::vector<std::vector<double>>& targets,
                          double alpha) {
  const std::size_t n = x.rows;
  if (n == 0) throw Error("ridge: no training rows");
  if (!(alpha > 0)) throw Error(fmt::format("ridge: alpha must be positive, got {}", alpha));
  if (targets.empty()) throw Error("ridge: no targets");
  for (const auto& target : targets) {
    if (target.size() != n) {
      throw Error(
          fmt::format("ridge: a target has {} values for {} training rows", target.size(), n));
    }
  }
  const std::size_t k = targets.size();
  auto gram_values = gram_matrix(x);
  const auto gram =
      as_tensor(gram_values, {static_cast<std::int64_t>(n), static_cast<std::int64_t>(n)});
  // Centering X's columns (for the intercept) centers the kernel on both sides.
  const auto row_means = gram.mean(1, /*keepdim=*/true);
  const auto centered = gram - row_means - row_means.t() + gram.mean();
  std::vector<double> y_values(n * k);
  std::vector<double> y_means(k);
  for (std::size_t j = 0; j < k; ++j) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += targets[j][i];
    y_means[j] = sum / static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i) y_values[i * k + j] = targets[j][i] - y_means[j];
  }
  const auto y = as_tensor(y_values, {static_cast<std::int64_t>(n), static_cast<std::int64_t>(k)});
  const auto system = centered + alpha * torch::eye(static_cast<std::int64_t>(n), torch::kFloat64);
  const auto factor = torch::linalg_cholesky(system);
  auto dual = torch::cholesky_solve(y, factor).contiguous();  // [n, k]
  std::vector<double> a(dual.data_ptr<double>(), dual.data_ptr<double>() + n * k);

  // w = Xcᵀ a = Xᵀ a - mean_row(X) * sum(a); b = mean(y) - mean_row(X) · w.
  auto weights = sparse_transpose_times_dense(x, a.data(), k);  // [cols, k]
  std::vector<double> column_means(x.cols, 0.0);
  for (std::size_t i = 0; i < x.nonzeros(); ++i)
    column_means[static_cast<std::size_t>(x.columns[i])] += x.values[i] / static_cast<double>(n);
  features_ = x.cols;
  weights_.assign(k, std::vector<double>(x.cols));
  intercepts_.assign(k, 0.0);
  for (std::size_t j = 0; j < k; ++j) {
    double a_sum = 0;
    for (std::size_t i = 0; i < n; ++i) a_sum += a[i * k + j];
    double mean_dot_w = 0;
    for (std::size_t f = 0; f < x.cols; ++f) {
      const double w = weights[f * k + j] - column_means[f] * a_sum;
      weights_[j][f] = w;
      mean_dot_w += column_means[f] * w;
    }
    intercepts_[j] = y_means[j] - mean_dot_w;
  }
}

RidgeRegression RidgeRegression::from_parameters(std::vector<std::vector<double>> weights,
                                                 std::vector<double> intercepts) {
  if (weights.empty() || weights.size() != intercepts.size())
    throw Error(fmt::format("ridge: {} weight vectors and {} intercepts", weights.size(),
                            intercepts.size()));
  for (const auto& w : weights)
    if (w.size() != weights.front().size() || w.empty())
      throw Error("ridge: weight vectors of different or zero length");
  RidgeRegression model;
  model.features_ = weights.front().size();
  model.weights_ = std::move(weights);
  model.intercepts_ = std::move(intercepts);
  return model;
}

std::vector<std::vector<double>> RidgeRegression::predict(const SparseMatrix& x) const {
  if (weights_.empty()) throw Error("ridge: predict before fit");
  if (x.cols != features_)
    throw Error(fmt::format("ridge: {} features, fitted on {}", x.cols, features_));
  std::vector<std::vector<double>> out;
  for (std::size_t j = 0; j < weights_.size(); ++j) {
    const auto column = sparse_times_dense(x, weights_[j].data(), 1);
    std::vector<double> predictions(x.rows);
    for (std::size_t r = 0; r < x.rows; ++r) predictions[r] = column[r] + intercepts_[j];
    out.push_back(std::move(predictions));
  }
  return out;
}

void LogisticRegression::fit(const SparseMatrix& x, const std::vector<int>& labels, int classes,
                             const LogisticOptions& options) {
  const std::size_t n = x.rows;
  if (n == 0) throw Error("logistic regression: no training rows");
  if (labels.size() != n)
    throw Error(fmt::format("logistic regression: {} labels for {} rows", labels.size(), n));
  if (classes < 2) throw Error("logistic regression: needs at least 2 classes");
  if (!(options.c > 0))
    throw Error(fmt::format("logistic regression: C must be positive, got {}", options.c));
  for (std::size_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= classes)
      throw Error(fmt::format("logistic regression: label {} of row {} is outside 0..{}", labels[i],
                              i + 1, classes - 1));
  }
  const auto k = static_cast<std::size_t>(classes);
  classes_ = classes;
  features_ = x.cols;
  const auto options64 = torch::TensorOptions().dtype(torch::kFloat64);
  auto weights = torch::zeros({static_cast<std::int64_t>(x.cols), classes}, options64);
  auto bias = torch::zeros({classes}, options64);
  std::vector<double> one_hot(n * k, 0.0);
  std::vector<double> class_rows(k, 0.0);
  for (const int label : labels) class_rows[static_cast<std::size_t>(label)] += 1.0;
  // Weighted one-hot rows: the weight multiplies both the loss and the gradient of a row.
  std::vector<double> row_weights(n, 1.0);
  for (std::size_t i = 0; i < n; ++i) {
    const auto label = static_cast<std::size_t>(labels[i]);
    if (options.balanced)
      row_weights[i] = static_cast<double>(n) / (static_cast<double>(k) * class_rows[label]);
    one_hot[i * k + label] = 1.0;
  }
  const auto weight_column = as_tensor(row_weights, {static_cast<std::int64_t>(n), 1});
  const auto targets = as_tensor(one_hot, {static_cast<std::int64_t>(n), classes});

  // The objective divided by C * n (same minimizer) keeps the gradient scale independent of n.
  const double l2 = 1.0 / (options.c * static_cast<double>(n));
  torch::optim::LBFGS optimizer(std::vector<torch::Tensor>{weights, bias},
                                torch::optim::LBFGSOptions(1.0)
                                    .max_iter(options.max_iterations)
                                    .max_eval(options.max_iterations * 5 / 4)
                                    .tolerance_grad(options.gradient_tolerance)
                                    .tolerance_change(1e-12)
                                    .history_size(20)
                                    .line_search_fn("strong_wolfe"));
  int evaluations = 0;
  auto closure = [&]() -> torch::Tensor {
    torch::NoGradGuard no_grad;
    ++evaluations;
    auto scores = sparse_times_dense(x, weights.data_ptr<double>(), k);
    const auto logits =
        as_tensor(scores, {static_cast<std::int64_t>(n), classes}) + bias.unsqueeze(0);
    const auto log_probabilities = torch::log_softmax(logits, 1);
    const auto loss =
        -(log_probabilities * targets * weight_column).sum() / static_cast<double>(n) +
        0.5 * l2 * weights.pow(2).sum();
    auto residual =
        ((log_probabilities.exp() - targets) * weight_column / static_cast<double>(n)).contiguous();
    auto gradient = sparse_transpose_times_dense(x, residual.data_ptr<double>(), k);
    weights.mutable_grad() =
        as_tensor(gradient, {static_cast<std::int64_t>(x.cols), classes}).clone() + l2 * weights;
    bias.mutable_grad() = residual.sum(0);
    return loss;
  };
  const auto loss = optimizer.step(closure);
  iterations_ = evaluations;
  final_loss_ = loss.item<double>();
  weights_.assign(weights.data_ptr<double>(), weights.data_ptr<double>() + x.cols * k);
  bias_.assign(bias.data_ptr<double>(), bias.data_ptr<double>() + k);
}

LogisticRegression LogisticRegression::from_parameters(int classes, std::vector<double> weights,
                                                       std::vector<double> bias) {
  if (classes < 2 || bias.size() != static_cast<std::size_t>(classes) || weights.empty() ||
      weights.size() % static_cast<std::size_t>(classes) != 0) {
    throw Error(fmt::format("logistic regression: {} weights and {} biases for {} classes",
                            weights.size(), bias.size(), classes));
  }
  LogisticRegression model;
  model.classes_ = classes;
  model.features_ = weights.size() / static_cast<std::size_t>(classes);
  model.weights_ = std::move(weights);
  model.bias_ = std::move(bias);
  return model;
}

std::vector<double> LogisticRegression::logits(const SparseMatrix& x) const {
  if (weights_.empty()) throw Error("logistic regression: predict before fit");
  if (x.cols != features_)
    throw Error(fmt::format("logistic regression: {} features, fitted on {}", x.cols, features_));
  auto scores = sparse_times_dense(x, weights_.data(), static_cast<std::size_t>(classes_));
  for (std::size_t r = 0; r < x.rows; ++r)
    for (int j = 0; j < classes_; ++j)
      scores[r * static_cast<std::size_t>(classes_) + static_cast<std::size_t>(j)] +=
          bias_[static_cast<std::size_t>(j)];
  return scores;
}

std::vector<double> LogisticRegression::predict_proba(const SparseMatrix& x) const {
  auto scores = logits(x);
  const auto k = static_cast<std::size_t>(classes_);
  for (std::size_t r = 0; r < x.rows; ++r) {
    double* row = scores.data() + r * k;
    const double top = *std::max_element(row, row + k);
    double sum = 0;
    for (std::size_t j = 0; j < k; ++j) sum += (row[j] = std::exp(row[j] - top));
    for (std::size_t j = 0; j < k; ++j) row[j] /= sum;
  }
  return scores;
}

std::vector<int> LogisticRegression::predict(const SparseMatrix& x) const {
  const auto scores = logits(x);
  const auto k = static_cast<std::size_t>(classes_);
  std::vector<int> out(x.rows);
  for (std::size_t r = 0; r < x.rows; ++r) {
    const double* row = scores.data() + r * k;
    out[r] = static_cast<int>(std::max_element(row, row + k) - row);
  }
  return out;
}

}  // namespace emotune::baseline
