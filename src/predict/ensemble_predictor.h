#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "eval/ensemble.h"
#include "eval/stacking.h"
#include "predict/predictor.h"
#include "predict/run_predictor.h"

namespace emotune::predict {

// Several trained models answering as one, combined exactly as `emotune` combines prediction
// files (eval::ensemble: weighted mean of empathy/distress; prob-sum or vote for emotion).
// Described by `dir`/ensemble.json:
//   {"members": ["runs/electra", "runs/roberta"],   // model folders, relative to `dir`
//    "combination": "prob-sum",                       // or "vote"; default prob-sum
//    "regression_weights": [0.6, 0.4],                // optional, default equal
//    "emotion_weights": [0.5, 0.5]}                   // optional, default equal
// or, as `emotune ensemble` writes it (absolute paths, normalised weights per member):
//   {"members": [{"name": "electra", "path": "/runs/electra", "regression_weight": 0.5,
//                 "emotion_weight": 0.5}, ...],
//    "method": "prob-sum"}                            // mean | prob-sum | vote | stack
// With "method": "stack", key "stack" holds the combination fitted on out-of-fold train
// predictions (eval/stacking.h) and the weights are not used.
// Members must have the same tasks, except that regression members may differ in which of
// empathy/distress they predict (each column averages the members that have it). An essay counts as truncated when any member truncated
// it; its token count is the largest among the members.
class EnsemblePredictor : public Predictor {
 public:
  EnsemblePredictor(const std::filesystem::path& dir, const RunPredictorOptions& options = {});

  const ModelInfo& info() const override { return info_; }
  std::vector<EssayPrediction> predict(const std::vector<EssayInput>& essays) override;

 private:
  std::vector<std::shared_ptr<Predictor>> members_;
  eval::EnsembleOptions ensemble_options_;
  std::optional<eval::StackModel> stack_;
  ModelInfo info_;
};

// An EnsemblePredictor when `dir` holds ensemble.json, else a RunPredictor.
std::shared_ptr<Predictor> load_predictor(const std::filesystem::path& dir,
                                          const RunPredictorOptions& options = {});

}  // namespace emotune::predict
