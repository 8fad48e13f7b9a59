#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/error_of.h"
#include "eval/ensemble.h"
#include "eval/metrics.h"

namespace emotune::eval {
namespace {

using ::testing::HasSubstr;

using emotune::testing::error_of;

// A member over labels anger, fear, joy whose emotion is the argmax of its probabilities
// (first among equals), as a single model's output is.
Predictions member(std::vector<double> empathy, std::vector<double> distress,
                   std::vector<std::vector<double>> probabilities) {
  Predictions p;
  for (std::size_t i = 0; i < probabilities.size(); ++i) p.ids.push_back("R_" + std::to_string(i));
  p.has_regression = true;
  p.empathy = std::move(empathy);
  p.distress = std::move(distress);
  p.has_emotion = true;
  p.labels = {"anger", "fear", "joy"};
  for (const auto& row : probabilities) {
    int best = 0;
    for (int c = 1; c < 3; ++c) {
      if (row[c] > row[best]) best = c;
    }
    p.emotion.push_back(best);
  }
  p.probabilities = std::move(probabilities);
  return p;
}

constexpr int kAnger = 0, kFear = 1, kJoy = 2;

TEST(Ensemble, RegressionIsTheMeanOrTheWeightedMean) {
  const std::vector<Predictions> members = {
      member({4, 1}, {2, 6}, {{1, 0, 0}, {1, 0, 0}}),
      member({2, 3}, {4, 1}, {{1, 0, 0}, {1, 0, 0}}),
  };
  const auto mean = ensemble(members);
  EXPECT_DOUBLE_EQ(mean.empathy[0], 3.0);
  EXPECT_DOUBLE_EQ(mean.empathy[1], 2.0);
  EXPECT_DOUBLE_EQ(mean.distress[0], 3.0);
  EXPECT_DOUBLE_EQ(mean.distress[1], 3.5);
  EnsembleOptions options;
  options.regression_weights = {3, 1};  // normalised to 0.75, 0.25
  const auto weighted = ensemble(members, options);
  EXPECT_DOUBLE_EQ(weighted.empathy[0], 3.5);
  EXPECT_DOUBLE_EQ(weighted.distress[1], 4.75);
  EXPECT_EQ(weighted.ids, members[0].ids);
}

// Row 0: probabilities sum to anger 1.3, fear 1.7 (prob-sum: fear) while two members of three
// pick anger (vote: anger; member C's 0.5/0.5 tie counts as anger, the lower index).
const std::vector<Predictions>& three_members() {
  static const std::vector<Predictions> members = {
      member({1}, {1}, {{0.6, 0.4, 0.0}}),
      member({1}, {1}, {{0.2, 0.8, 0.0}}),
      member({1}, {1}, {{0.5, 0.5, 0.0}}),
  };
  return members;
}

TEST(Ensemble, ProbSumAndVoteDecideDifferently) {
  EnsembleOptions prob_sum;
  const auto summed = ensemble(three_members(), prob_sum);
  EXPECT_EQ(summed.emotion[0], kFear);
  EXPECT_NEAR(summed.probabilities[0][kAnger], 1.3 / 3, 1e-15);
  EXPECT_NEAR(summed.probabilities[0][kFear], 1.7 / 3, 1e-15);
  EnsembleOptions vote;
  vote.combination = EmotionCombination::vote;
  const auto voted = ensemble(three_members(), vote);
  EXPECT_EQ(voted.emotion[0], kAnger);
  EXPECT_EQ(voted.probabilities, summed.probabilities);
}

TEST(Ensemble, WeightsShiftTheDecision) {
  EnsembleOptions options;
  options.emotion_weights = {3, 0, 1};  // anger 0.6*.75 + 0.5*.25 = 0.575 > fear 0.425
  EXPECT_EQ(ensemble(three_members(), options).emotion[0], kAnger);
  options.emotion_weights = {0, 1, 0};
  EXPECT_EQ(ensemble(three_members(), options).emotion[0], kFear);
  // Vote with weights 1, 2, 0.5: fear 2 against anger 1.5.
  options.combination = EmotionCombination::vote;
  options.emotion_weights = {1, 2, 0.5};
  EXPECT_EQ(ensemble(three_members(), options).emotion[0], kFear);
}

TEST(Ensemble, ProbSumTieGoesToTheLowerClassIndex) {
  const std::vector<Predictions> members = {
      member({1}, {1}, {{0.0, 0.5, 0.5}}),
      member({1}, {1}, {{0.0, 0.5, 0.5}}),
  };
  EXPECT_EQ(ensemble(members).emotion[0], kFear);
}

TEST(Ensemble, VoteTieIsBrokenBySummedProbabilitiesThenLowerIndex) {
  // One vote each for joy and fear; summed probabilities joy 1.0 > fear 0.8.
  const std::vector<Predictions> by_probability = {
      member({1}, {1}, {{0.1, 0.2, 0.7}}),
      member({1}, {1}, {{0.1, 0.6, 0.3}}),
  };
  EnsembleOptions vote;
  vote.combination = EmotionCombination::vote;
  EXPECT_EQ(ensemble(by_probability, vote).emotion[0], kJoy);
  // One vote each for anger and joy, equal summed probabilities: anger (lower index).
  const std::vector<Predictions> by_index = {
      member({1}, {1}, {{0.6, 0.0, 0.4}}),
      member({1}, {1}, {{0.4, 0.0, 0.6}}),
  };
  EXPECT_EQ(ensemble(by_index, vote).emotion[0], kAnger);
  // Normalised weights 0.1 + 0.2 against 0.3 are a tie despite floating point.
  const std::vector<Predictions> weighted = {
      member({1}, {1}, {{0.0, 0.0, 1.0}}),
      member({1}, {1}, {{0.0, 0.0, 1.0}}),
      member({1}, {1}, {{0.0, 1.0, 0.0}}),
  };
  vote.emotion_weights = {0.1, 0.2, 0.3};
  // Tallies joy 0.5, fear 0.5: probability sums joy 0.5 = fear 0.5 as well -> fear (index 1).
  EXPECT_EQ(ensemble(weighted, vote).emotion[0], kFear);
}

TEST(Ensemble, RejectsMembersThatDoNotMatch) {
  const auto a = member({1, 2}, {1, 2}, {{1, 0, 0}, {0, 1, 0}});
  auto other_ids = a;
  other_ids.ids[1] = "R_9";
  EXPECT_THAT(error_of([&] {
                ensemble(std::vector{a, other_ids});
              }),
              HasSubstr("member 2 differs from member 1: row 2 has id 'R_9' instead of 'R_1'"));
  auto fewer = member({1}, {1}, {{1, 0, 0}});
  EXPECT_THAT(error_of([&] { ensemble(std::vector{a, fewer}); }), HasSubstr("1 rows instead of 2"));
  auto no_emotion = a;
  no_emotion.has_emotion = false;
  no_emotion.labels.clear();
  no_emotion.emotion.clear();
  no_emotion.probabilities.clear();
  EnsembleOptions emotion_weights;
  emotion_weights.emotion_weights = {1, 2};
  EXPECT_THAT(error_of([&] {
                ensemble(std::vector{no_emotion, no_emotion}, emotion_weights);
              }),
              HasSubstr("members predict no emotion"));
  auto reordered = a;
  reordered.labels = {"fear", "anger", "joy"};
  EXPECT_THAT(error_of([&] {
                ensemble(std::vector{a, reordered});
              }),
              HasSubstr("labels (fear, anger, joy) instead of (anger, fear, joy)"));
  EXPECT_THAT(error_of([&] { ensemble(std::vector<Predictions>{}); }), HasSubstr("no members"));

  EnsembleOptions options;
  options.regression_weights = {1, -1};
  EXPECT_THAT(error_of([&] { ensemble(std::vector{a, a}, options); }), HasSubstr(">= 0"));
  options.regression_weights = {1};
  EXPECT_THAT(error_of([&] {
                ensemble(std::vector{a, a}, options);
              }),
              HasSubstr("1 weights for 2 members"));
  options.regression_weights = {0, 0};
  EXPECT_THAT(error_of([&] { ensemble(std::vector{a, a}, options); }), HasSubstr("all weights"));
}

// A Track I member and a Track II member make one system for both tracks; with a member that
// predicts everything, each task is combined over the members that predict it, weights
// renormalised among them.
TEST(Ensemble, MembersWithDifferentTasksCombinePerTask) {
  const auto both = member({4, 1}, {2, 6}, {{0.6, 0.4, 0}, {0.2, 0.8, 0}});
  auto track1 = member({2, 3}, {4, 2}, {{1, 0, 0}, {1, 0, 0}});
  track1.has_emotion = false;
  track1.labels.clear();
  track1.emotion.clear();
  track1.probabilities.clear();
  auto track2 = member({}, {}, {{0, 0, 1}, {0, 1, 0}});
  track2.has_regression = false;

  const auto separate = ensemble(std::vector{track1, track2});
  EXPECT_TRUE(separate.has_both_regression());
  EXPECT_TRUE(separate.has_emotion);
  EXPECT_EQ(separate.empathy, track1.empathy);
  EXPECT_EQ(separate.distress, track1.distress);
  EXPECT_EQ(separate.probabilities, track2.probabilities);
  EXPECT_EQ(separate.emotion, track2.emotion);
  EXPECT_EQ(separate.labels, track2.labels);

  EnsembleOptions options;
  options.regression_weights = {1, 3, 4};  // track2's 4 has nothing to weigh
  options.emotion_weights = {1, 4, 3};     // track1's 4 has nothing to weigh
  const auto three = ensemble(std::vector{both, track1, track2}, options);
  EXPECT_DOUBLE_EQ(three.empathy[0], 0.25 * 4 + 0.75 * 2);
  EXPECT_DOUBLE_EQ(three.distress[1], 0.25 * 6 + 0.75 * 2);
  EXPECT_DOUBLE_EQ(three.probabilities[0][kJoy], 0.75);
  EXPECT_DOUBLE_EQ(three.probabilities[0][kAnger], 0.25 * 0.6);
  EXPECT_EQ(three.emotion[0], kJoy);

  // Weights fitted on gold keep every task with a weighted member.
  GoldStandard gold;
  gold.empathy = {3, 2};
  gold.distress = {3, 4};
  gold.emotion = {kJoy, kFear};
  const auto regression = optimize_regression_weights(std::vector{track1, track2}, gold);
  EXPECT_GT(regression.weights[0], 0);
  const auto emotion =
      optimize_emotion_weights(std::vector{track1, track2}, gold, EmotionCombination::prob_sum);
  EXPECT_GT(emotion.weights[1], 0);
}

TEST(Ensemble, ParsesMethodNames) {
  EXPECT_EQ(parse_emotion_combination("prob-sum"), EmotionCombination::prob_sum);
  EXPECT_EQ(parse_emotion_combination("vote"), EmotionCombination::vote);
  EXPECT_EQ(to_string(EmotionCombination::vote), "vote");
  EXPECT_THAT(error_of([] { parse_emotion_combination("mean"); }), HasSubstr("prob-sum or vote"));
}

GoldStandard gold_for(const std::vector<double>& empathy, const std::vector<int>& emotion) {
  GoldStandard gold;
  gold.empathy = empathy;
  gold.distress = empathy;
  gold.emotion = emotion;
  return gold;
}

TEST(OptimizeWeights, RegressionDropsAnUselessMember) {
  const std::vector<double> truth{1, 2, 3, 4, 5, 6};
  const std::vector<double> noise{6, 1, 5, 2, 4, 3};
  const std::vector<std::vector<double>> p(6, {1, 0, 0});
  const std::vector<Predictions> members = {member(truth, truth, p), member(noise, noise, p)};
  const auto gold = gold_for(truth, std::vector<int>(6, 0));
  const auto fit = optimize_regression_weights(members, gold);
  ASSERT_EQ(fit.weights.size(), 2u);
  EXPECT_EQ(fit.weights[0], 1.0);
  EXPECT_EQ(fit.weights[1], 0.0);
  EXPECT_NEAR(fit.score, 1.0, 1e-12);
  const auto again = optimize_regression_weights(members, gold);
  EXPECT_EQ(again.weights, fit.weights);
}

TEST(OptimizeWeights, EmotionTrustsTheMemberThatIsRight) {
  // Member A is right with little confidence, B wrong with much: equal weights follow B.
  const std::vector<int> truth{kAnger, kFear, kJoy, kAnger};  // indices into member labels
  const std::vector<int> official{*emotion_index("anger"), *emotion_index("fear"),
                                  *emotion_index("joy"), *emotion_index("anger")};
  const std::vector<std::vector<double>> a = {
      {0.4, 0.3, 0.3}, {0.3, 0.4, 0.3}, {0.3, 0.3, 0.4}, {0.4, 0.3, 0.3}};
  const std::vector<std::vector<double>> b = {
      {0.0, 0.9, 0.1}, {0.0, 0.1, 0.9}, {0.9, 0.1, 0.0}, {0.1, 0.0, 0.9}};
  const std::vector<double> x{1, 2, 3, 4};
  const std::vector<Predictions> members = {member(x, x, a), member(x, x, b)};
  const auto gold = gold_for(x, official);
  const auto equal = ensemble(members);
  EXPECT_LT(classification_scores(gold.emotion, official_emotion_ids(equal)).macro_f1, 0.5);
  const auto fit = optimize_emotion_weights(members, gold, EmotionCombination::prob_sum);
  EXPECT_DOUBLE_EQ(fit.score, 1.0);
  EXPECT_GT(fit.weights[0], fit.weights[1]);
  EnsembleOptions options;
  options.emotion_weights = fit.weights;
  const auto tuned = ensemble(members, options);
  EXPECT_EQ(tuned.emotion, truth);
  EXPECT_EQ(official_emotion_ids(tuned), official);
  EXPECT_THAT(
      error_of([&] {
        optimize_emotion_weights(members, gold_for({1, 2}, {0, 1}), EmotionCombination::vote);
      }),
      HasSubstr("members have 4 rows but the gold standard 2"));
}

}  // namespace
}  // namespace emotune::eval
