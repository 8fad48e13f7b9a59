#include "train/scoring.h"

#include "common/error.h"
#include "eval/metrics.h"

namespace emotune::train {

std::map<std::string, double> score_dev(const DevPredictions& predictions) {
  std::map<std::string, double> scores;
  double pearson_sum = 0.0;
  int pearson_count = 0;
  for (const auto& [task, predicted] : predictions.regression_predicted) {
    const auto& gold = predictions.regression_gold.at(task);
    if (gold.size() != predicted.size() || gold.empty()) {
      throw Error("score: prediction and gold counts differ or are empty");
    }
    // Rounded to 4 decimals as the official scorer does; the average is over the rounded r's.
    const double r = eval::pearson(gold, predicted);
    scores["pearson_" + model::task_name(task)] = r;
    pearson_sum += r;
    ++pearson_count;
  }
  if (pearson_count > 0) scores["avg_pearson"] = pearson_sum / pearson_count;

  if (!predictions.emotion_gold.empty()) {
    const auto classification =
        eval::classification_scores(predictions.emotion_gold, predictions.emotion_predicted);
    scores["macro_f1"] = classification.macro_f1;
    scores["micro_f1"] = classification.micro_f1;
    scores["accuracy"] = classification.accuracy;
  }
  return scores;
}

}  // namespace emotune::train
