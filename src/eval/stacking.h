#pragma once

// Stacking: combining members with weights learned on out-of-fold (OOF) predictions on the
// TRAIN split, so the dev split stays an honest report (no dev label is read).
//  - empathy / distress, per column: a ridge-regularised linear blend (intercept + one weight
//    per member) of the members' outputs z-scored with each member's OOF mean and std, fitted by
//    least squares on the OOF rows against the train scores;
//  - emotion: softmax(sum_m w_m log p_m + b), weights w_m >= 0 and per-class biases b fitted
//    by minimising the class-balanced cross-entropy on the OOF rows (balanced like the linear
//    members' logistic regression, so rare emotions count as much as frequent ones).
// Members may differ in which regression columns they predict (each column blends those that
// have it); their rows must match (same ids, same order).

#include <optional>
#include <span>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "eval/submission.h"

namespace emotune::eval {

struct StackColumn {
  std::vector<int> members;  // indices of the members that predict this column
  std::vector<double> mean;  // per such member, its OOF mean
  std::vector<double> std;   // and std (1 where constant)
  std::vector<double> weights;
  double intercept = 0;
};

struct StackModel {
  std::size_t member_count = 0;
  std::optional<StackColumn> empathy;
  std::optional<StackColumn> distress;
  std::vector<double> emotion_weights;  // one per member, empty without emotion
  std::vector<double> emotion_bias;     // one per class
  std::vector<std::string> labels;      // emotion label order
  std::size_t fit_rows = 0;
};

struct StackTargets {
  std::vector<double> empathy;
  std::vector<double> distress;
  std::vector<int> emotion;  // indices into the members' labels
};

struct StackOptions {
  double ridge_alpha = 1.0;  // on z-scored inputs, against a few thousand rows: mild
  int emotion_iterations = 2000;
};

// `p` with only the regression columns (when `regression`) and/or the emotion columns (when
// `emotion`); at least one must remain.
Predictions keep_tasks(const Predictions& p, bool regression, bool emotion);

// Fits on the members' OOF predictions (same rows, in the order of `targets`).
StackModel fit_stack(std::span<const Predictions> oof, const StackTargets& targets,
                     const StackOptions& options = {});

// The stacked predictions of members on any split (same member order as the fit). Tasks the
// stack was not fitted for are dropped from the members first (a stack of a Track I transformer
// and an all-task linear member predicts Track I).
Predictions apply_stack(std::span<const Predictions> members, const StackModel& model);

nlohmann::json stack_to_json(const StackModel& model);
StackModel stack_from_json(const nlohmann::json& json, const std::string& source);

}  // namespace emotune::eval
