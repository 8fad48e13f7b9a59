#pragma once

// Linear members: the TF-IDF baseline grown into a model that trains, saves, loads and
// predicts like a fine-tuned run, so `predict`, `ensemble`, `report` and `serve` take its run
// folder beside transformer runs.
//
// Features: TF-IDF word n-grams and/or character n-grams (char_wb) of the essay, and/or the
// writer's person vector (data::PersonEncoder, standardized with train statistics), stacked
// side by side. Ridge regression for empathy/distress, multinomial logistic regression for
// emotion. With `person_kernel = rbf` (empathy/distress only) the person vector enters through
// an RBF kernel beside the linear text kernel instead (baseline/kernel_ridge.h), its setting
// chosen per target by writer-grouped out-of-fold r on the training rows.
//
// A linear run folder:
//   RUN/emotune.json                 {"kind": "linear", "tasks": [...], "inputs": [...], ...}
//   RUN/linear_model.json            options, vocabularies (terms, idf), weights
//   RUN/person_standardization.json  when the inputs have "person": train mean/std
//   RUN/oof/predictions.tsv          k-fold out-of-fold predictions on WASSA train (stacking)
//   RUN/oof/oof.json                 how they were made: {"scheme": "k-fold", "folds": k, ...}
//   RUN/summary.json                 {"kind": "linear", "dev": {...}, "statistics": {}}

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "baseline/kernel_ridge.h"
#include "baseline/linear.h"
#include "baseline/tfidf.h"
#include "data/person.h"
#include "eval/metrics.h"
#include "eval/submission.h"

namespace emotune::baseline {

enum class PersonKernel { linear, rbf };
PersonKernel parse_person_kernel(const std::string& name);  // "linear" | "rbf"; Error otherwise

struct LinearMemberOptions {
  std::vector<std::string> tasks = {"empathy", "distress", "emotion"};
  bool words = true;        // TF-IDF word n-grams (word_ngrams)
  bool characters = false;  // TF-IDF char_wb n-grams (char_ngrams)
  bool person = false;      // the person vector
  TfidfOptions word_ngrams;  // 1-2 grams, min_df 2, sublinear tf
  TfidfOptions char_ngrams{.min_n = 2, .max_n = 5, .min_df = 2, .characters = true};
  // The person block's scale beside unit-length TF-IDF rows: one ridge alpha serves both.
  double person_scale = 1.0;
  // linear: the person block is features beside the text. rbf: kernel ridge, the person block
  // through scale * exp(-gamma |p - p'|^2) (regression tasks only).
  PersonKernel person_kernel = PersonKernel::linear;
  // rbf: gamma, with person_scale as the scale; 0 = both chosen per target from
  // default_rbf_grid() by 5-fold out-of-fold r on the training rows, folds grouped by writer.
  double rbf_gamma = 0;
  double ridge_alpha = 1.0;       // fixed, not tuned on dev
  LogisticOptions logistic{1.0};  // C 1, balanced classes
  std::size_t folds = 5;          // k of the out-of-fold predictions on train (0: none)
};

// One essay as a linear model reads it.
struct LinearInput {
  std::string text;
  std::optional<data::PersonValues> person;
};

struct LinearTargets {
  std::vector<double> empathy;
  std::vector<double> distress;
  std::vector<int> emotion;
  // The rows' writers (WASSA response_id): the RBF setting's out-of-fold folds hold a writer's
  // essays out together. Needed only when an RBF setting is chosen.
  std::vector<std::string> writers;
};

class LinearModel {
 public:
  // Errors: unknown task, no feature group chosen, a person-reading model given rows
  // without person values.
  static LinearModel fit(const LinearMemberOptions& options, const std::vector<LinearInput>& rows,
                         const LinearTargets& targets);

  // One row per input; `ids` name them. Person values are required when the model reads them
  // (an Error names the first essay without).
  eval::Predictions predict(const std::vector<LinearInput>& rows,
                            const std::vector<std::string>& ids) const;

  const LinearMemberOptions& options() const { return options_; }
  std::vector<std::string> inputs() const;  // "text" and/or "person"
  std::size_t feature_count() const;
  // rbf person kernel: the setting of each regression task (and the out-of-fold r that chose it;
  // 0 when given).
  std::vector<std::pair<std::string, RbfChoice>> kernel_settings() const;

  // linear_model.json (+ person_standardization.json) in `dir`.
  void save(const std::filesystem::path& dir) const;
  static LinearModel load(const std::filesystem::path& dir);

 private:
  struct Blocks {
    std::optional<SparseMatrix> text;  // word and/or char n-grams side by side
    DenseRows person;                  // standardized person vectors (unscaled)
  };
  Blocks blocks(const std::vector<LinearInput>& rows, bool fit_vectorizers,
                const std::vector<std::string>* ids);
  SparseMatrix features(const Blocks& blocks) const;  // text | person_scale * person

  LinearMemberOptions options_;
  std::optional<TfidfVectorizer> words_;
  std::optional<TfidfVectorizer> characters_;
  std::optional<data::PersonEncoder> person_;
  std::optional<RidgeRegression> ridge_;        // one target per regression task
  std::vector<std::string> ridge_tasks_;        // "empathy"/"distress", in ridge_ order
  std::optional<LogisticRegression> logistic_;  // emotion
  std::optional<KernelRidge> kernel_;           // rbf person kernel, in place of ridge_
  std::vector<double> kernel_out_of_fold_r_;   // per regression task, beside kernel_
};

// Options from a TOML-free key list, as `emotune baseline --out` and the quickstart give them:
// "words", "chars", "person" (inputs), tasks "empathy,distress,emotion".
nlohmann::json linear_options_json(const LinearMemberOptions& options);

struct LinearRunReport {
  std::filesystem::path dir;
  std::size_t features = 0;
  std::vector<std::pair<std::string, RbfChoice>> kernel_settings;  // rbf person kernel only
  eval::Predictions dev;  // dev predictions of the model fitted on all of train
  std::optional<eval::Track1Scores> track1;
  std::optional<eval::ClassificationScores> track2;
};

// Fits on WASSA train, computes k-fold out-of-fold train predictions (the same options, each
// fold's vectorizers and standardization fitted on its training part only), scores dev and
// writes the run folder `out`. Deterministic (folds are grouped by writer, data::writer_folds:
// a writer's five essays are held out together, as dev and test writers are unseen).
LinearRunReport train_linear_run(const std::filesystem::path& data_dir,
                                 const LinearMemberOptions& options,
                                 const std::filesystem::path& out);

// True when `dir` (or the model folder in it) holds a linear model's emotune.json.
bool is_linear_run(const std::filesystem::path& dir);

inline constexpr std::string_view kOutOfFoldDir = "oof";

}  // namespace emotune::baseline
