#pragma once

// Batch prediction over files and WASSA splits, and the folders `emotune predict`,
// `emotune ensemble` and `emotune report` read and write:
//   DIR/predictions.tsv        eval::write_predictions (header, ids, values, probabilities)
//   DIR/predictions.json       what produced it: {"split": "dev"|"test"|null, "source", ...}
//   DIR/predictions_EMP.tsv    for WASSA splits only: the official header-less submission files
//   DIR/predictions_EMO.tsv    in the split's row order, and predictions.zip holding them
//   DIR/predictions.zip
// A run folder used as an ensemble or report member keeps its computed predictions in
// RUN/predictions/<split>/ (the same layout), so they are computed once.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/wassa.h"
#include "eval/ensemble.h"
#include "eval/metrics.h"
#include "eval/submission.h"
#include "serve/predictor.h"
#include "serve/run_predictor.h"

namespace emotune::serve {

struct EssayRecord {
  std::string id;
  std::string text;
};

// Essays from a file chosen by its extension: .tsv (TAB-separated), .csv (comma-separated,
// RFC 4180 quoting, newlines inside quotes allowed), .jsonl/.json (one {"id", "essay"} object a
// line). Tabular files need a header with an `essay` column; `id` is optional (default: the
// 1-based row number). Errors name the file, line and what was expected.
std::vector<EssayRecord> read_essays(const std::filesystem::path& file);

// The essays of a WASSA split, in the split's (and its gold standard's) row order.
std::vector<EssayRecord> wassa_essays(const data::WassaSplit& split);

// The dev gold standard from a loaded dev split (every row has all three labels).
eval::GoldStandard gold_standard(const data::WassaSplit& split);

// Runs `predictor` on every essay (it batches by length itself) and returns one row per essay in
// input order: the model's regression values and/or its emotion probabilities.
eval::Predictions predict_essays(Predictor& predictor, const std::vector<EssayRecord>& essays);

// Writes predictions.tsv and predictions.json into `dir` (created), plus the submission files
// when `split` is given. `metadata` is merged into predictions.json.
void write_prediction_folder(const std::filesystem::path& dir, const eval::Predictions& predictions,
                             std::optional<data::Split> split, nlohmann::json metadata = {});

// The official scores text (Track I when the predictions have regression values, Track II
// when they have emotions) of `predictions` against `gold`; Error when rows or ids differ.
std::string official_scores(const eval::Predictions& predictions, const eval::GoldStandard& gold);

struct MemberScores {
  std::optional<eval::Track1Scores> track1;
  std::optional<eval::ClassificationScores> track2;
};
MemberScores score_predictions(const eval::Predictions& predictions,
                               const eval::GoldStandard& gold);

// Predictions of `dir` for `split`: a predictions folder (predictions.tsv, with a
// predictions.json naming the same split, e.g. an ensemble folder), a run folder's cached
// RUN/predictions/<split>/, or else computed from the run's best model and cached there. The
// ids must be the split's ids in order; anything else is an Error naming `dir`.
eval::Predictions member_predictions(const std::filesystem::path& dir,
                                     const data::WassaSplit& split,
                                     const RunPredictorOptions& options = {});

// The name of a member in tables and folder names: the folder's last component.
std::string member_name(const std::filesystem::path& dir);

enum class EnsembleMethod { mean, prob_sum, vote };
EnsembleMethod parse_ensemble_method(const std::string& name);  // mean | prob-sum | vote
std::string ensemble_method_name(EnsembleMethod method);

struct EnsembleRequest {
  std::vector<std::filesystem::path> members;
  EnsembleMethod method = EnsembleMethod::prob_sum;
  std::vector<double> weights;  // one per member, empty = equal
  bool optimize_weights = false;
  RunPredictorOptions predictor;
};

struct EnsembleResult {
  eval::Predictions predictions;
  std::vector<double> regression_weights;  // normalised
  std::vector<double> emotion_weights;     // normalised
  nlohmann::json description;              // what ensemble.json holds
};

// The ensemble of the members' predictions on `split`. With optimize_weights the weights are
// fitted on the members' dev predictions against `dev` (which must then be given).
EnsembleResult build_ensemble(const EnsembleRequest& request, const data::WassaSplit& split,
                              const data::WassaSplit* dev);

// Writes the ensemble's prediction folder plus ensemble.json.
void write_ensemble_folder(const std::filesystem::path& dir, const EnsembleResult& result,
                           data::Split split);

}  // namespace emotune::serve
