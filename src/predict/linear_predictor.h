#pragma once

#include <filesystem>

#include "baseline/linear_member.h"
#include "predict/predictor.h"

namespace emotune::predict {

// A linear member (baseline::LinearModel, written by `emotune baseline --out`) answering as a
// Predictor, so `predict`, `ensemble`, `report` and `serve` treat it like a fine-tuned run.
// ModelInfo: backbone "linear", max_length 0 (no tokens: token_count stays 0), inputs as
// trained ("text" and/or "person").
class LinearPredictor : public Predictor {
 public:
  explicit LinearPredictor(const std::filesystem::path& dir);

  const ModelInfo& info() const override { return info_; }
  std::vector<EssayPrediction> predict(const std::vector<EssayInput>& essays) override;

 private:
  baseline::LinearModel model_;
  ModelInfo info_;
};

// True when `dir` holds a linear member's emotune.json.
bool is_linear_model(const std::filesystem::path& dir);

}  // namespace emotune::predict
