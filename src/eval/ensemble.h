#pragma once

// Combining several models' predictions for the same essays into one.
//
// Members must cover the same rows (same ids in the same order) and, for emotions, the same
// labels in the same order; anything else is an Error naming the member and the first
// difference. Members may differ in their tasks: each column combines the members that
// predict it (a vanilla empathy run and a vanilla distress run pair into a Track I system; a
// Track I run and a Track II run into one system for both tracks), the weights renormalised
// among them.
//  - empathy/distress: per column, the (weighted) mean over the members that predict it;
//  - emotion, prob-sum: the (weighted) sum of the members' class probabilities, then the
//    argmax; a tie goes to the lower class index;
//  - emotion, vote: each member votes (with its weight) for its predicted label; the most
//    votes win; a tie is broken by the summed (weighted) probabilities, then by the lower class
//    index. A member's vote is its `emotion` column, which for a single model is the argmax of
//    its probabilities and for a nested ensemble is that ensemble's decision.
// The ensemble's probabilities are the weighted mean of the members' in both methods. Values
// within a relative 1e-12 of each other count as tied, so rounding noise in sums of
// normalised weights never decides a tie.
// Weights are non-negative and need not sum to 1 (they are normalised); empty = all equal.

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "eval/submission.h"

namespace emotune::eval {

enum class EmotionCombination { prob_sum, vote };

// "prob-sum" or "vote"; Error listing both otherwise.
EmotionCombination parse_emotion_combination(std::string_view name);
std::string_view to_string(EmotionCombination combination);

struct EnsembleOptions {
  EmotionCombination combination = EmotionCombination::prob_sum;
  std::vector<double> regression_weights;  // one per member, or empty for equal weights
  std::vector<double> emotion_weights;     // one per member, or empty for equal weights
};

Predictions ensemble(std::span<const Predictions> members, const EnsembleOptions& options = {});

// Throws unless the members can be combined (see above).
void check_compatible(std::span<const Predictions> members);

// Whether any member predicts empathy/distress, or emotions (the ensemble then does).
bool any_regression(std::span<const Predictions> members);
bool any_emotion(std::span<const Predictions> members);

// Weights divided by their sum; Error when a weight is negative or not finite, when all are
// 0, or when their count differs from `members`. Empty gives equal weights.
std::vector<double> normalized_weights(std::span<const double> weights, std::size_t members);

struct WeightFit {
  std::vector<double> weights;  // normalised, one per member
  double score = 0;             // the objective reached on the gold rows (unrounded)
};

// Non-negative weights maximising the average (unrounded) Pearson r of empathy and distress on
// `gold`, by a deterministic coordinate search from equal weights (per weight: drop, halve,
// double, +-step, with shrinking steps). A local optimum, not necessarily the global one.
WeightFit optimize_regression_weights(std::span<const Predictions> members,
                                      const GoldStandard& gold);

// The same for the (unrounded) macro-F1 of the emotion ensemble built with `combination`.
WeightFit optimize_emotion_weights(std::span<const Predictions> members, const GoldStandard& gold,
                                   EmotionCombination combination);

}  // namespace emotune::eval
