#pragma once
// A member's predictions on a split, per task, cached in its run folder.

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

// Step 2. The predictions of the model in `folder` for `split`, computed once and cached:
// through predict::member_predictions (FOLDER/predictions/<split>/) for models predicting both
// regression tasks or neither, else (one regression task, e.g. a vanilla empathy model) as
// FOLDER/predictions/<split>/<task>.tsv. A model with one regression task and emotions is an
// Error (emotune's prediction files hold both regression columns or none).
MemberColumns member_columns(const std::filesystem::path& folder, const data::WassaSplit& split,
                             const predict::RunPredictorOptions& options = {});

}  // namespace emotune::pipeline
