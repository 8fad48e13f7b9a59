#pragma once
// A member's predictions on a split, per task (predict's prediction folders are the cache).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/wassa.h"
#include "eval/ensemble.h"
#include "model/heads.h"
#include "predict/run_predictor.h"

namespace emotune::pipeline {

// One member's predictions on one split, per task, in the split's row order.
struct MemberColumns {
  std::vector<std::string> ids;
  std::optional<std::vector<double>> empathy;
  std::optional<std::vector<double>> distress;
  std::optional<eval::Predictions> emotion;  // emotion-only predictions (labels, probabilities)
};

// The tasks the model behind `folder` (a run, seed or best/ folder) predicts, from its
// emotune.json.
std::vector<model::Task> model_tasks(const std::filesystem::path& folder);

// Step 2. The predictions of the model in `folder` for `split`, per task: predict's
// member_predictions, computed once and cached in FOLDER/predictions/<split>/ (a vanilla model
// has its one regression column there).
MemberColumns member_columns(const std::filesystem::path& folder, const data::WassaSplit& split,
                             const predict::RunPredictorOptions& options = {});

}  // namespace emotune::pipeline
