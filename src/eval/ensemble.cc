#include "eval/ensemble.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include <fmt/format.h>

#include "common/error.h"
#include "eval/metrics.h"

namespace emotune::eval {

EmotionCombination parse_emotion_combination(std::string_view name) {
  if (name == "prob-sum") return EmotionCombination::prob_sum;
  if (name == "vote") return EmotionCombination::vote;
  throw Error(fmt::format("unknown ensemble method '{}' (expected prob-sum or vote)", name));
}

std::string_view to_string(EmotionCombination combination) {
  return combination == EmotionCombination::vote ? "vote" : "prob-sum";
}

void check_compatible(std::span<const Predictions> members) {
  if (members.empty()) throw Error("ensemble: no members");
  const Predictions& first = members.front();
  validate(first);
  // Members may differ in their tasks: each column combines the members that predict it (a
  // vanilla empathy run and a vanilla distress run pair into a Track I system; a Track I run
  // and a Track II run into one system for both tracks). Emotion members share labels.
  const auto labelled = std::find_if(members.begin(), members.end(),
                                     [](const Predictions& p) { return p.has_emotion; });
  for (std::size_t m = 1; m < members.size(); ++m) {
    const Predictions& member = members[m];
    validate(member);
    auto fail = [m](std::size_t other, const std::string& what) {
      throw Error(
          fmt::format("ensemble: member {} differs from member {}: {}", m + 1, other + 1, what));
    };
    if (member.size() != first.size()) {
      fail(0, fmt::format("{} rows instead of {}", member.size(), first.size()));
    }
    for (std::size_t row = 0; row < first.size(); ++row) {
      if (member.ids[row] != first.ids[row]) {
        fail(0, fmt::format("row {} has id '{}' instead of '{}' (same ids in the same order "
                            "needed)",
                            row + 1, member.ids[row], first.ids[row]));
      }
    }
    if (member.has_emotion && member.labels != labelled->labels) {
      fail(static_cast<std::size_t>(labelled - members.begin()),
           fmt::format("labels ({}) instead of ({})", fmt::join(member.labels, ", "),
                       fmt::join(labelled->labels, ", ")));
    }
  }
}

bool any_regression(std::span<const Predictions> members) {
  return std::any_of(members.begin(), members.end(),
                     [](const Predictions& p) { return p.has_regression; });
}

bool any_emotion(std::span<const Predictions> members) {
  return std::any_of(members.begin(), members.end(),
                     [](const Predictions& p) { return p.has_emotion; });
}

std::vector<double> normalized_weights(std::span<const double> weights, std::size_t members) {
  if (weights.empty()) return std::vector<double>(members, 1.0 / static_cast<double>(members));
  if (weights.size() != members) {
    throw Error(fmt::format("ensemble: {} weights for {} members", weights.size(), members));
  }
  double total = 0;
  for (std::size_t m = 0; m < weights.size(); ++m) {
    if (!std::isfinite(weights[m]) || weights[m] < 0) {
      throw Error(fmt::format("ensemble: weight {} of member {} is not a finite number >= 0",
                              weights[m], m + 1));
    }
    total += weights[m];
  }
  if (total <= 0) throw Error("ensemble: all weights are 0");
  std::vector<double> out;
  for (double w : weights) out.push_back(w / total);
  return out;
}

namespace {

// Sums of normalised weights (and of weighted probabilities) reached through different
// additions may differ in their last bits where the exact values are equal; such values are
// treated as the tie they are, so tie-breaking does not depend on rounding noise.
bool nearly_equal(double a, double b) {
  return std::abs(a - b) <= 1e-12 * std::max({1.0, std::abs(a), std::abs(b)});
}

bool clearly_greater(double a, double b) {
  return a > b && !nearly_equal(a, b);
}

// Index of the largest value; the lowest index among (nearly) equal ones.
std::size_t argmax(std::span<const double> values) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < values.size(); ++i) {
    if (clearly_greater(values[i], values[best])) best = i;
  }
  return best;
}

}  // namespace

Predictions ensemble(std::span<const Predictions> members, const EnsembleOptions& options) {
  check_compatible(members);
  const Predictions& first = members.front();
  const std::size_t rows = first.size();
  Predictions out;
  out.ids = first.ids;
  out.has_regression = any_regression(members);
  out.has_emotion = any_emotion(members);
  if (!out.has_regression && !options.regression_weights.empty()) {
    throw Error("ensemble: regression weights given, but the members predict no empathy/distress");
  }
  if (!out.has_emotion && !options.emotion_weights.empty()) {
    throw Error("ensemble: emotion weights given, but the members predict no emotion");
  }
  if (out.has_regression) {
    const auto w = normalized_weights(options.regression_weights, members.size());
    // Each column is the weighted mean over the members that predict it.
    const auto combine = [&](bool (Predictions::*has)() const, std::vector<double> Predictions::*column,
                             const char* name) {
      double total = 0;
      for (std::size_t m = 0; m < members.size(); ++m)
        if ((members[m].*has)()) total += w[m];
      bool any = false;
      for (const auto& member : members) any = any || (member.*has)();
      if (!any) return false;
      if (total <= 0) {
        throw Error(fmt::format("ensemble: every member that predicts {} has weight 0", name));
      }
      auto& values = out.*column;
      values.assign(rows, 0.0);
      for (std::size_t m = 0; m < members.size(); ++m) {
        if (!(members[m].*has)()) continue;
        const double weight = w[m] / total;
        for (std::size_t row = 0; row < rows; ++row) values[row] += weight * (members[m].*column)[row];
      }
      return true;
    };
    out.empathy_column = combine(&Predictions::has_empathy, &Predictions::empathy, "empathy");
    out.distress_column = combine(&Predictions::has_distress, &Predictions::distress, "distress");
  }
  if (out.has_emotion) {
    // The weights of the members that predict emotions, normalised among them (when every
    // member does, as they are: dividing by their sum, 1 up to rounding, would move last bits).
    auto w = normalized_weights(options.emotion_weights, members.size());
    if (!std::all_of(members.begin(), members.end(),
                     [](const Predictions& p) { return p.has_emotion; })) {
      double total = 0;
      for (std::size_t m = 0; m < members.size(); ++m) {
        if (!members[m].has_emotion) w[m] = 0;
        total += w[m];
      }
      if (total <= 0) throw Error("ensemble: every member that predicts emotion has weight 0");
      for (auto& weight : w) weight /= total;
    }
    const auto& labelled = *std::find_if(members.begin(), members.end(),
                                         [](const Predictions& p) { return p.has_emotion; });
    const std::size_t classes = labelled.labels.size();
    out.labels = labelled.labels;
    out.probabilities.assign(rows, std::vector<double>(classes, 0.0));
    out.emotion.resize(rows);
    std::vector<double> votes(classes);
    for (std::size_t row = 0; row < rows; ++row) {
      auto& probabilities = out.probabilities[row];
      std::fill(votes.begin(), votes.end(), 0.0);
      for (std::size_t m = 0; m < members.size(); ++m) {
        if (!members[m].has_emotion) continue;
        for (std::size_t c = 0; c < classes; ++c) {
          probabilities[c] += w[m] * members[m].probabilities[row][c];
        }
        votes[static_cast<std::size_t>(members[m].emotion[row])] += w[m];
      }
      if (options.combination == EmotionCombination::prob_sum) {
        out.emotion[row] = static_cast<int>(argmax(probabilities));
        continue;
      }
      std::size_t best = 0;
      for (std::size_t c = 1; c < classes; ++c) {
        const bool tied = nearly_equal(votes[c], votes[best]);
        if (clearly_greater(votes[c], votes[best]) ||
            (tied && clearly_greater(probabilities[c], probabilities[best]))) {
          best = c;
        }
      }
      out.emotion[row] = static_cast<int>(best);
    }
  }
  return out;
}

namespace {

void check_gold_rows(std::span<const Predictions> members, const GoldStandard& gold) {
  check_compatible(members);
  if (members.front().size() != gold.size()) {
    throw Error(fmt::format("ensemble weights: members have {} rows but the gold standard {}",
                            members.front().size(), gold.size()));
  }
}

// Whether a member with a positive weight predicts the column, or no member predicts it.
template <typename Has>
bool has_weighted_member(std::span<const Predictions> members, const std::vector<double>& weights,
                         Has has) {
  bool any = false;
  for (std::size_t m = 0; m < members.size(); ++m) {
    if (!has(members[m])) continue;
    any = true;
    if (weights[m] > 0) return true;
  }
  return !any;
}

// Coordinate search: from equal weights, try for one weight at a time 0 (dropping the member),
// half, double, and +-step; keep the best candidate if it improves the objective, and halve
// the step once no weight moves. Halving, doubling and dropping cross the plateaus a
// piecewise-constant objective such as macro-F1 has, which small steps alone cannot.
WeightFit coordinate_search(std::size_t members,
                            const std::function<double(const std::vector<double>&)>& objective) {
  std::vector<double> weights(members, 1.0);
  double best = objective(weights);
  for (double step = 0.5; step >= 1.0 / 64; step /= 2) {
    bool improved = true;
    for (int pass = 0; improved && pass < 100; ++pass) {
      improved = false;
      for (std::size_t m = 0; m < members; ++m) {
        const double current = weights[m];
        std::vector<double> best_weights;
        for (double value : {0.0, current / 2, current * 2, current + step, current - step}) {
          if (value < 0 || value == current) continue;
          auto candidate = weights;
          candidate[m] = value;
          double total = 0;
          for (double w : candidate) total += w;
          if (total <= 0) continue;
          const double score = objective(candidate);
          if (score > best + 1e-12) {
            best = score;
            best_weights = std::move(candidate);
          }
        }
        if (!best_weights.empty()) {
          weights = std::move(best_weights);
          improved = true;
        }
      }
    }
  }
  return {normalized_weights(weights, members), best};
}

}  // namespace

WeightFit optimize_regression_weights(std::span<const Predictions> members,
                                      const GoldStandard& gold) {
  check_gold_rows(members, gold);
  if (!any_regression(members)) {
    throw Error("ensemble weights: the members have no empathy/distress predictions");
  }
  return coordinate_search(members.size(), [&](const std::vector<double>& weights) {
    EnsembleOptions options;
    options.regression_weights = weights;
    // A candidate that leaves a column without a weighted member is no candidate.
    if (!has_weighted_member(members, weights, std::mem_fn(&Predictions::has_empathy)) ||
        !has_weighted_member(members, weights, std::mem_fn(&Predictions::has_distress)))
      return -std::numeric_limits<double>::infinity();
    const auto combined = ensemble(members, options);
    double sum = 0;
    int columns = 0;
    if (combined.has_empathy()) {
      sum += pearson_unrounded(gold.empathy, combined.empathy);
      ++columns;
    }
    if (combined.has_distress()) {
      sum += pearson_unrounded(gold.distress, combined.distress);
      ++columns;
    }
    return sum / columns;
  });
}

WeightFit optimize_emotion_weights(std::span<const Predictions> members, const GoldStandard& gold,
                                   EmotionCombination combination) {
  check_gold_rows(members, gold);
  if (!any_emotion(members)) {
    throw Error("ensemble weights: the members have no emotion predictions");
  }
  return coordinate_search(members.size(), [&](const std::vector<double>& weights) {
    if (!has_weighted_member(members, weights, [](const Predictions& p) { return p.has_emotion; }))
      return -std::numeric_limits<double>::infinity();
    EnsembleOptions options;
    options.combination = combination;
    options.emotion_weights = weights;
    const auto combined = ensemble(members, options);
    return classification_scores(gold.emotion, official_emotion_ids(combined)).macro_f1_unrounded();
  });
}

}  // namespace emotune::eval
