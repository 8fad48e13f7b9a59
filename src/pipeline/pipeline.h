#pragma once

// A pipeline trains several systems and combines them into final systems, the way the paper
// does: every step is a function a driver can call on its own (`emotune reproduce` runs the
// paper's, see reproduce.h; a quick start on a small encoder can run its own), and
// run_pipeline() chains them:
//
//   1. train_member      each member (a training config + its run folder): trained, resumed
//                        from its snapshots, or skipped when finished or its backbone is absent
//   2. member_columns    a member's predictions on a split, per task (cached in the run)
//   3. predict_system    a final system: each task column combined over the members available
//   4. write_system      the system's prediction folder for dev or test (with the official
//                        predictions_EMP.tsv / predictions_EMO.tsv / predictions.zip)
//   5. write_submission  the one CodaLab submission from the systems marked `submit`
//   6. serve::write_report  the HTML report over the members' runs and the systems' dev folders
//   7. dev_scores, format_comparison     dev scores (ComparisonRow) beside the published numbers
//
// Output folder of run_pipeline (OUT):
//   OUT/runs/<member>/                 run folders (see docs/training.md)
//   OUT/systems/{dev,test}/<system>/   predictions.tsv, predictions.json, system.json and the
//                                      official submission files of that split
//   OUT/submission/                    predictions_EMP.tsv, predictions_EMO.tsv, predictions.zip
//   OUT/report/report.html (+ .svg)    the report
//   OUT/results.md, OUT/results.json   the comparison table
//
// Systems are described in TOML (configs/ensembles/paper.toml):
//   [[ensemble]]  name, title, empathy = [members], distress = [...], emotion = [...],
//                 emotion_method = "prob-sum" | "vote", submit = bool, paper = { scores }
//   [paper]       <member> = { scores }   published numbers of single members
// where a member reference is "<member>" (the best seed of its run by the run's dev selection
// metric) or "<member>#k" (its k-th best seed), and scores are keys of kScoreNames with the
// prefix dev_ or test_ (dev_macro_f1 = 0.64, test_empathy_r = 0.558, ...).

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/wassa.h"
#include "eval/ensemble.h"
#include "eval/submission.h"
#include "model/heads.h"
#include "serve/run_predictor.h"
#include "train/config.h"
#include "train/trainer.h"

namespace emotune::pipeline {

// ---- members -------------------------------------------------------------------------------

// One system to fine-tune.
struct Member {
  std::string name;  // e.g. "emotion-electra-base-ba": the config file's stem
  train::TrainConfig config;
  std::filesystem::path run_dir;
  // Where `config` comes from: the file, then "key=value" overrides in order (as `train
  // --set`), so that a child `emotune train` process can build the same config.
  std::filesystem::path config_file;
  std::vector<std::string> overrides;
};

// Every *.toml of `configs_dir` (sorted by name) as a member, each config with `overrides`
// ("key=value", as `train --set`) applied in order and its run folder runs_dir/<name>.
std::vector<Member> load_members(const std::filesystem::path& configs_dir,
                                 std::span<const std::string> overrides,
                                 const std::filesystem::path& runs_dir);

enum class MemberStatus {
  missing_backbone,  // the backbone folder does not exist: not trained
  done,              // a finished run with the same config was found: nothing trained
  resumed,           // an interrupted run (or one given more seeds) was continued
  trained,           // trained from the start
};
std::string_view to_string(MemberStatus status);

struct MemberOutcome {
  std::string member;
  MemberStatus status = MemberStatus::trained;
  std::string detail;  // what happened, and for a skip what was expected where
  std::string message() const { return member + ": " + detail; }  // the log line
  bool available() const { return status != MemberStatus::missing_backbone; }
};

// What train_member would do now, without training: missing_backbone or done (with the same
// details), resumed (an interrupted run of the same config, or one given more seeds, is
// there) or trained (nothing there yet). A run folder holding another config is an Error naming
// the first key that differs.
MemberOutcome plan_member(const Member& member, const std::filesystem::path& data_dir);

// Step 1. Trains `member` into its run folder unless it holds a finished run of the same config
// (seeds and device may differ: more seeds are trained, finished ones kept). An interrupted run
// is resumed from its snapshots. A run folder holding another config is an Error naming the
// first key that differs. A missing backbone folder is no error: the member is skipped and the
// message names the folder expected. When training ran, predictions cached in the run folder
// are removed (the best model may have changed).
MemberOutcome train_member(const Member& member, const std::filesystem::path& data_dir,
                           const train::TrainHooks& hooks = {});

// The outcome of a member just trained (status trained) or resumed (status resumed) by someone
// else, e.g. a child `emotune train` process: its cached predictions are removed (the best
// model may have changed) and the detail reports its summary.json, as train_member's does.
MemberOutcome trained_member_outcome(const Member& member, MemberStatus status);

// Logs the outcome's message: info when the member is available, a warning when it was skipped.
void log_outcome(const MemberOutcome& outcome);

// Step 1 for every member, in order, each outcome logged; by member name.
std::map<std::string, MemberOutcome> train_members(std::span<const Member> members,
                                                   const std::filesystem::path& data_dir,
                                                   const train::TrainHooks& hooks = {});

// True when `run_dir` holds a finished run (summary.json).
bool is_finished_run(const std::filesystem::path& run_dir);

// "<member>" or "<member>#k": the k-th best seed (k >= 1) of a member's run.
struct MemberRef {
  std::string member;
  int rank = 1;
  std::string text() const;  // as written in the config
};
MemberRef parse_member_ref(std::string_view text);  // Error on "name#0", "name#x", "#2", ...

// The folder to predict with for `ref` in the finished run `run_dir`: the run itself for its
// best seed (rank 1), else RUN/seed-<n> of the rank-th best seed by summary.json's scores;
// nullopt, with `why_not` set, when the run has fewer seeds.
std::optional<std::filesystem::path> member_folder(const std::filesystem::path& run_dir, int rank,
                                                   std::string& why_not);

// ---- predictions ---------------------------------------------------------------------------

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
// through serve::member_predictions (FOLDER/predictions/<split>/) for models predicting both
// regression tasks or neither, else (one regression task, e.g. a vanilla empathy model) as
// FOLDER/predictions/<split>/<task>.tsv. A model with one regression task and emotions is an
// Error (emotune's prediction files hold both regression columns or none).
MemberColumns member_columns(const std::filesystem::path& folder, const data::WassaSplit& split,
                             const serve::RunPredictorOptions& options = {});

// ---- systems -------------------------------------------------------------------------------

// Score names (each used as dev_<name> or test_<name> in published numbers).
inline constexpr std::string_view kScoreNames[] = {"empathy_r", "distress_r", "average_r",
                                                   "macro_f1", "accuracy"};
using Scores = std::map<std::string, double>;  // e.g. {"macro_f1": 0.64, "accuracy": 0.7111}

// A final system: each task column the combination of its members' predictions of that task.
struct SystemSpec {
  std::string name;   // folder name under OUT/systems/<split>/
  std::string title;  // for tables
  std::vector<MemberRef> empathy, distress, emotion;
  eval::EmotionCombination emotion_method = eval::EmotionCombination::prob_sum;
  // Its test predictions go into the submission. When several built systems of a track are
  // marked submit (only code can do that; a systems file may mark one per track), the one with
  // the best dev score is submitted: average_r for Track I, macro_f1 for Track II.
  bool submit = false;
  Scores paper_dev, paper_test;
  std::vector<std::string> member_names() const;  // every member named, once, in order
};

struct PipelineSpec {
  std::vector<SystemSpec> systems;
  std::map<std::string, Scores> paper_dev;  // published dev numbers of single members
};

// Reads a systems file (see the top of this header). Unknown keys, unknown score names, a
// system with no column, empathy without distress (or the reverse), two systems submitted for
// the same track, duplicate names: Error naming the file and key.
PipelineSpec load_pipeline_spec(const std::filesystem::path& file);

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
                                                const serve::RunPredictorOptions& options,
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

// ---- comparison table ----------------------------------------------------------------------

struct ComparisonRow {
  std::string name;
  std::string status;  // "trained", "done", "skipped: ...", "ensemble of 3", ...
  Scores ours_dev;
  Scores paper_dev;
  Scores paper_test;
};

// Step 7. A plain-text table: one line per (row, score) with ours on dev beside the paper's dev
// and test numbers ("-" where there is none), then the status of rows without scores.
std::string format_comparison(std::span<const ComparisonRow> rows);
// The same as a Markdown table.
std::string format_comparison_markdown(std::span<const ComparisonRow> rows);

// ---- the whole pipeline --------------------------------------------------------------------

struct PipelineOptions {
  std::filesystem::path data_dir;
  std::filesystem::path out_dir;
  serve::RunPredictorOptions predictor;  // prediction runs on the CPU
  train::TrainHooks hooks;
  bool write_report = true;
};

struct SystemOutcome {
  std::string name;
  bool built = false;
  std::string detail;              // why it was skipped, or what it combined
  std::filesystem::path dev_dir;   // OUT/systems/dev/<name>
  std::filesystem::path test_dir;  // OUT/systems/test/<name>
  Scores dev;
  bool submitted = false;  // its test predictions are in the submission
};

struct PipelineResult {
  std::vector<std::pair<std::string, MemberOutcome>> members;
  std::vector<SystemOutcome> systems;
  std::vector<ComparisonRow> comparison;
  std::optional<std::filesystem::path> submission_dir;
  std::optional<std::filesystem::path> report_html;
};

// Steps 1-7 in order: trains `members` (each in its own run_dir), builds the systems of `spec`
// whose members include at least one of `members` (or those named in `systems`, when given)
// for dev and test, writes the submission of the systems marked submit, the report, and
// OUT/results.{md,json}. A system member not in `members` is used when OUT/runs/<name> holds a
// finished run. Messages are logged as they happen; errors stop the pipeline.
PipelineResult run_pipeline(std::span<const Member> members, const PipelineSpec& spec,
                            const PipelineOptions& options,
                            std::span<const std::string> systems = {});

// Steps 2-7 of run_pipeline for members already trained elsewhere (e.g. by child processes):
// `outcomes` holds one outcome per member, by name, as train_member would have returned it.
PipelineResult build_pipeline(std::span<const Member> members,
                              const std::map<std::string, MemberOutcome>& outcomes,
                              const PipelineSpec& spec, const PipelineOptions& options,
                              std::span<const std::string> systems = {});

}  // namespace emotune::pipeline
