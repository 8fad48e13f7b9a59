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
#include "predict/predictor.h"
#include "predict/run_predictor.h"

namespace emotune::predict {

struct EssayRecord {
  std::string id;
  std::string text;
  std::optional<data::PersonValues> person;  // when the input carries the person columns
};

// Essays from a file chosen by its extension: .tsv (TAB-separated), .csv (comma-separated,
// RFC 4180 quoting, newlines inside quotes allowed), .jsonl/.json (one {"id", "essay"} object a
// line). Tabular files need a header with an `essay` column; `id` is optional (default: the
// 1-based row number). Person columns (data::kPersonColumns, as in the WASSA files) are read
// when the header has any of them, and then all of them must be there; a JSON line gives them
// as a "person" object (or as top-level keys). Errors name the file, line and what was
// expected (a missing column, a non-numeric value, an unknown code).
std::vector<EssayRecord> read_essays(const std::filesystem::path& file);

// The person values of one JSON essay: its "person" object, else top-level person keys, else
// nullopt. Numbers may be JSON numbers or strings; errors start with `where`.
std::optional<data::PersonValues> person_values_from_json(const nlohmann::json& object,
                                                          const std::string& where);

// The essays of a WASSA split, in the split's (and its gold standard's) row order, with their
// person values where the split has them.
std::vector<EssayRecord> wassa_essays(const data::WassaSplit& split);

// The dev gold standard from a loaded dev split (every row has all three labels).
eval::GoldStandard gold_standard(const data::WassaSplit& split);

// Runs `predictor` on every essay (it batches by length itself) and returns one row per essay in
// input order: the model's regression values (both, or the one a vanilla model predicts)
// and/or its emotion probabilities. A model that reads person features needs them on every
// essay: an Error names the first essay without them.
eval::Predictions predict_essays(Predictor& predictor, const std::vector<EssayRecord>& essays);

// Writes predictions.tsv and predictions.json into `dir` (created), plus the submission files
// when `split` is given. `metadata` is merged into predictions.json.
void write_prediction_folder(const std::filesystem::path& dir, const eval::Predictions& predictions,
                             std::optional<data::Split> split, nlohmann::json metadata = {});

// The official scores text (Track I when the predictions have regression values, Track II
// when they have emotions) of `predictions` against `gold`; Error when rows or ids differ.
std::string official_scores(const eval::Predictions& predictions, const eval::GoldStandard& gold);

struct MemberScores {
  std::optional<eval::Track1Scores> track1;  // both empathy and distress predicted
  // A vanilla (single-target) member: the Pearson r of the one column it predicts.
  std::optional<double> empathy_only;
  std::optional<double> distress_only;
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

// stack: weights learned on the members' out-of-fold train predictions (eval/stacking.h).
// eval's two emotion combinations (prob-sum, vote; their names are eval's) plus "mean" (the
// average of regression values and of class probabilities) and "stack" (a blend fitted on
// the members' out-of-fold train predictions, eval/stacking.h).
enum class EnsembleMethod { mean, prob_sum, vote, stack };
EnsembleMethod parse_ensemble_method(const std::string& name);  // mean | prob-sum | vote | stack
std::string ensemble_method_name(EnsembleMethod method);
// How a method decides emotions: vote for vote, the probabilities' sum for the others.
eval::EmotionCombination emotion_combination(EnsembleMethod method);

struct EnsembleRequest {
  std::vector<std::filesystem::path> members;
  EnsembleMethod method = EnsembleMethod::prob_sum;
  std::vector<double> weights;  // one per member, empty = equal
  bool optimize_weights = false;
  RunPredictorOptions predictor;
  // For method stack: the train split (labels and row order of the out-of-fold predictions).
  const data::WassaSplit* train = nullptr;
};

// A member's out-of-fold predictions on train (RUN/oof/predictions.tsv, see
// baseline/linear_member.h): rows whose ids are train ids, in train order; how they were made
// (RUN/oof/oof.json) in `scheme`. An Error naming the member when it has none.
struct OutOfFold {
  eval::Predictions predictions;
  nlohmann::json scheme;
};
OutOfFold member_out_of_fold(const std::filesystem::path& dir, const data::WassaSplit& train);

struct EnsembleResult {
  eval::Predictions predictions;
  std::vector<double> regression_weights;  // normalised
  std::vector<double> emotion_weights;     // normalised
  nlohmann::json description;              // what ensemble.json holds
};

// The ensemble of the members' predictions on `split`. With optimize_weights the weights are
// fitted on the members' dev predictions against `dev` (which must then be given). With method
// stack the combination is fitted on the members' out-of-fold train predictions (the rows all
// members have) against the train labels; dev is never read.
EnsembleResult build_ensemble(const EnsembleRequest& request, const data::WassaSplit& split,
                              const data::WassaSplit* dev);

// Writes the ensemble's prediction folder plus ensemble.json.
void write_ensemble_folder(const std::filesystem::path& dir, const EnsembleResult& result,
                           data::Split split);

}  // namespace emotune::predict
