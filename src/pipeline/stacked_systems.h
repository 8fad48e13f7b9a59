#pragma once

// Beyond the paper's inputs, as the quick start builds them: linear members (TF-IDF text,
// TF-IDF text + person features, person features alone; for Track I also kernel ridge
// members with an RBF kernel on the person vector) and, per track, stacked systems that
// combine them with the pipeline's fine-tuned system by weights learned on out-of-fold train
// predictions (eval/stacking.h; no dev labels read):
//   OUT/linear/<member>/                 linear run folders (baseline/linear_member.h)
//   OUT/runs/<member>-holdout-writers/   a fine-tuned member's twin trained without the essays
//                                        of every K-th writer (holdout_every = K)
//   OUT/stack-members/<system>/          the fine-tuned system's dev/test predictions plus the
//                                        twin's predictions on the held-out rows (oof/)
//   OUT/systems/{dev,test}/<track>-stack-text, <track>-stack-person, track1-stack-kernel (the
//                                        kernel ridge members: RBF on the person vector)
// A stacked system replaces the submitted one of its track when it scores better on dev.

#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/pipeline.h"

namespace emotune::pipeline {

struct StackedSystemsOptions {
  std::filesystem::path data_dir;
  std::filesystem::path out_dir;
  predict::RunPredictorOptions predictor;
  train::TrainHooks hooks;
  // The fine-tuned members whose held-out twins give the out-of-fold predictions of the
  // submitted transformer system of each track (empty: linear members only).
  std::vector<Member> members;
  std::int64_t holdout_every = 5;
};

struct StackedSystemsResult {
  std::vector<ComparisonRow> rows;     // linear members, then the stacked systems
  std::vector<std::string> submitted;  // stacked systems now in OUT/submission
};

// Trains (or finds, when already trained) the linear members and the twins, builds the stacked
// systems for dev and test, and rewrites OUT/submission for a track whose stack beats the
// pipeline's submitted system on dev (updating `pipeline.systems[..].submitted`).
StackedSystemsResult build_stacked_systems(const StackedSystemsOptions& options,
                                           PipelineResult& pipeline);

}  // namespace emotune::pipeline
