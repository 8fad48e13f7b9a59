#include "train/scoring.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.h"

namespace emotune::train {
namespace {

double round4(double value) { return std::round(value * 10000.0) / 10000.0; }

// The official scorer's Pearson r: 0 when either side has no variance, clamped, 4 decimals.
double official_pearson(const std::vector<double>& gold, const std::vector<double>& predicted) {
  const auto n = static_cast<double>(gold.size());
  if (gold.empty()) return 0.0;
  double mean_gold = 0, mean_predicted = 0;
  for (std::size_t i = 0; i < gold.size(); ++i) {
    mean_gold += gold[i];
    mean_predicted += predicted[i];
  }
  mean_gold /= n;
  mean_predicted /= n;
  double covariance = 0, variance_gold = 0, variance_predicted = 0;
  for (std::size_t i = 0; i < gold.size(); ++i) {
    const double a = gold[i] - mean_gold;
    const double b = predicted[i] - mean_predicted;
    covariance += a * b;
    variance_gold += a * a;
    variance_predicted += b * b;
  }
  if (variance_gold == 0.0 || variance_predicted == 0.0) return 0.0;
  const double r = covariance / std::sqrt(variance_gold * variance_predicted);
  return round4(std::clamp(r, -1.0, 1.0));
}

}  // namespace

std::map<std::string, double> score_dev(const DevPredictions& predictions) {
  std::map<std::string, double> scores;
  double pearson_sum = 0.0;
  int pearson_count = 0;
  for (const auto& [task, predicted] : predictions.regression_predicted) {
    const auto& gold = predictions.regression_gold.at(task);
    if (gold.size() != predicted.size()) throw Error("score: prediction and gold counts differ");
    const double r = official_pearson(gold, predicted);
    scores["pearson_" + model::task_name(task)] = r;
    pearson_sum += r;
    ++pearson_count;
  }
  if (pearson_count > 0) scores["avg_pearson"] = pearson_sum / pearson_count;

  if (!predictions.emotion_gold.empty()) {
    const auto& gold = predictions.emotion_gold;
    const auto& predicted = predictions.emotion_predicted;
    if (gold.size() != predicted.size()) throw Error("score: prediction and gold counts differ");
    // Labels = union of gold and predicted; a never-predicted label has precision 1, a label
    // never in gold recall 0, F = 0 when P + R = 0 (the official WASSA scorer's rules).
    std::set<int> labels(gold.begin(), gold.end());
    labels.insert(predicted.begin(), predicted.end());
    double f1_sum = 0.0;
    std::size_t correct = 0;
    for (std::size_t i = 0; i < gold.size(); ++i) correct += gold[i] == predicted[i];
    for (const int label : labels) {
      double true_positive = 0, predicted_count = 0, gold_count = 0;
      for (std::size_t i = 0; i < gold.size(); ++i) {
        true_positive += gold[i] == label && predicted[i] == label;
        predicted_count += predicted[i] == label;
        gold_count += gold[i] == label;
      }
      const double precision = predicted_count > 0 ? true_positive / predicted_count : 1.0;
      const double recall = gold_count > 0 ? true_positive / gold_count : 0.0;
      f1_sum += precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    }
    scores["macro_f1"] = round4(f1_sum / static_cast<double>(labels.size()));
    scores["accuracy"] = round4(static_cast<double>(correct) / static_cast<double>(gold.size()));
  }
  return scores;
}

}  // namespace emotune::train
