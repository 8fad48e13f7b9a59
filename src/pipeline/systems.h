#pragma once
// Final systems: their members' predictions combined per column, written as prediction
// folders, the submission and their dev scores.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/wassa.h"
#include "eval/ensemble.h"
#include "eval/submission.h"
#include "pipeline/member_columns.h"
#include "pipeline/systems_file.h"

namespace emotune::pipeline {

// Where members' runs are. Returns the run folder of a member that can be used, or nullopt
// with `why_not` set (not part of the pipeline, skipped, never trained).
using MemberLocator = std::function<std::optional<std::filesystem::path>(const std::string& member,
                                                                         std::string& why_not)>;

struct SystemPredictions {
  eval::Predictions predictions;
  nlohmann::json description;      // per column the members used and those left out, and why
  std::vector<std::string> notes;  // one line per member left out
};

// Step 3. The system's predictions on `split`: empathy and distress the mean of the available
// members' values, emotion their combination by spec.emotion_method. Members the locator cannot
// find (or seeds a run lacks) are left out, each with a note; nullopt, with `why_not`, when a
// column the system declares has no member left.
std::optional<SystemPredictions> predict_system(const SystemSpec& spec, const MemberLocator& locate,
                                                const data::WassaSplit& split,
                                                const predict::RunPredictorOptions& options,
                                                std::string& why_not);

// Step 4. The system's prediction folder for `split` (serve's layout, with the submission files
// of that split) plus system.json (the description).
void write_system(const std::filesystem::path& dir, const SystemPredictions& system,
                  data::Split split);

// Step 5. The CodaLab submission in `dir`: predictions_EMP.tsv from `track1` (empathy and
// distress), predictions_EMO.tsv from `track2` (emotions), predictions.zip with the files
// written. Either may be null, not both. Both must cover the same essays (the test split).
void write_submission(const std::filesystem::path& dir, const eval::Predictions* track1,
                      const eval::Predictions* track2);

// Dev scores of predictions (any column present): empathy_r, distress_r, average_r (both
// regression columns), macro_f1 and accuracy (emotions), as the official scorer computes them.
Scores dev_scores(const MemberColumns& columns, const eval::GoldStandard& gold);
Scores dev_scores(const eval::Predictions& predictions, const eval::GoldStandard& gold);

}  // namespace emotune::pipeline
