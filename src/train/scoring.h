#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/heads.h"

namespace emotune::train {

// Dev predictions of one evaluation, row-aligned with the gold values.
struct DevPredictions {
  std::map<model::Task, std::vector<double>> regression_predicted;
  std::map<model::Task, std::vector<double>> regression_gold;
  std::vector<int> emotion_predicted;
  std::vector<int> emotion_gold;
};

// The scores of one evaluation by name, with the official WASSA scorer semantics:
// "pearson_<task>" per regression task and "avg_pearson" (mean of the rounded r's);
// "macro_f1", "micro_f1", "accuracy" for the emotion task.
std::map<std::string, double> score_dev(const DevPredictions& predictions);

}  // namespace emotune::train
