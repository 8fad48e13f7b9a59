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
//   6. report::write_report  the HTML report over the members' runs and the systems' dev folders
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
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pipeline/comparison.h"
#include "pipeline/member_columns.h"
#include "pipeline/members.h"
#include "pipeline/systems.h"
#include "pipeline/systems_file.h"
#include "predict/run_predictor.h"
#include "train/trainer.h"

namespace emotune::pipeline {

// ---- the whole pipeline --------------------------------------------------------------------

struct PipelineOptions {
  std::filesystem::path data_dir;
  std::filesystem::path out_dir;
  predict::RunPredictorOptions predictor;  // prediction runs on the CPU
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
