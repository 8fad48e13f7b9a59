#include <cmath>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "eval/metrics.h"

namespace emotune::eval {
namespace {

TEST(RoundOfficial, RoundsTheExactBinaryValueHalvesToEvenAsPythonDoes) {
  // Exact binary ties (k/32) go to the even digit, as Python's round(x, 4) does.
  EXPECT_EQ(round_official(0.03125), 0.0312);
  EXPECT_EQ(round_official(0.09375), 0.0938);
  EXPECT_EQ(round_official(-0.03125), -0.0312);
  // 0.12345 is stored as 0.12345000000000000417..., so it rounds up; 0.00015 is stored just
  // below its decimal and rounds down (Python: 0.1235 and 0.0001).
  EXPECT_EQ(round_official(0.12345), 0.1235);
  EXPECT_EQ(round_official(0.00015), 0.0001);
  EXPECT_EQ(round_official(0.98198050606), 0.982);
  EXPECT_EQ(round_official(1.0), 1.0);
}

TEST(PythonFloatRepr, PrintsAsPythonStrDoes) {
  EXPECT_EQ(python_float_repr(1.0), "1.0");
  EXPECT_EQ(python_float_repr(0.5), "0.5");
  EXPECT_EQ(python_float_repr(0.3667), "0.3667");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(5e-05), "5e-05");
  EXPECT_EQ(python_float_repr(1.5e-07), "1.5e-07");
  EXPECT_EQ(python_float_repr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(python_float_repr(123456.0), "123456.0");
  EXPECT_EQ(python_float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(2.5e20), "2.5e+20");
  EXPECT_EQ(python_float_repr(0.0), "0.0");
  EXPECT_EQ(python_float_repr(-0.0), "-0.0");
  EXPECT_EQ(python_float_repr(-0.25), "-0.25");
}

TEST(Pearson, RoundsToFourDecimals) {
  // r = sqrt(27/28) = 0.98198...: rounded, not truncated (0.9819).
  const std::vector<double> x{1, 2, 3}, y{1, 2, 4};
  EXPECT_EQ(pearson(x, y), 0.982);
  EXPECT_NEAR(pearson_unrounded(x, y), std::sqrt(27.0 / 28.0), 1e-15);
  const std::vector<double> z{1, 3, 2};
  EXPECT_EQ(pearson(x, z), 0.5);
  const std::vector<double> w{3, 2, 1};
  EXPECT_EQ(pearson(x, w), -1.0);
}

TEST(Pearson, ZeroVarianceGivesZero) {
  const std::vector<double> constant{4, 4, 4}, varying{1, 2, 3};
  EXPECT_EQ(pearson(constant, varying), 0.0);
  EXPECT_EQ(pearson(varying, constant), 0.0);
  EXPECT_TRUE(pearson_is_degenerate(varying, constant));
  EXPECT_FALSE(pearson_is_degenerate(varying, varying));
  const std::vector<double> one{2.5};
  EXPECT_EQ(pearson(one, one), 0.0);
}

TEST(Pearson, ClampsFloatingPointExcessToOne) {
  // y = 0.1 x + 0.3 exactly in decimals; in doubles the quotient comes out 1.0000000000000002.
  const std::vector<double> x{4, 5, 7}, y{0.7, 0.8, 1.0};
  double xm = (4.0 + 5.0 + 7.0) / 3, ym = (0.7 + 0.8 + 1.0) / 3, xy = 0, xx = 0, yy = 0;
  for (int i = 0; i < 3; ++i) {
    xy += (x[i] - xm) * (y[i] - ym);
    xx += (x[i] - xm) * (x[i] - xm);
    yy += (y[i] - ym) * (y[i] - ym);
  }
  ASSERT_GT(xy / std::sqrt(xx * yy), 1.0) << "the case no longer exercises the clamp";
  EXPECT_EQ(pearson_unrounded(x, y), 1.0);
  EXPECT_EQ(pearson(x, y), 1.0);
}

TEST(Pearson, RejectsMismatchedOrEmptyInput) {
  const std::vector<double> two{1, 2}, three{1, 2, 3}, none;
  EXPECT_THROW(pearson(two, three), Error);
  EXPECT_THROW(pearson(none, none), Error);
}

TEST(Track1, AverageIsTheMeanOfTheRoundedValuesLeftUnrounded) {
  const std::vector<double> gold{1, 2, 3, 4};
  const std::vector<double> empathy{1, 3, 2, 5};   // r = 0.83152... -> 0.8315
  const std::vector<double> distress{3, 1, 2, 5};  // r = 0.52915... -> 0.5292
  const auto scores = track1_scores(gold, gold, empathy, distress);
  EXPECT_EQ(scores.empathy, 0.8315);
  EXPECT_EQ(scores.distress, 0.5292);
  EXPECT_EQ(scores.average, (0.8315 + 0.5292) / 2);
  EXPECT_EQ(format_official_scores(&scores, nullptr),
            "Empathy Pearson Correlation: 0.8315\n"
            "Distress Pearson Correlation: 0.5292\n"
            "Averaged Pearson Correlations: 0.68035\n");
}

TEST(Track1, DegenerateCorrelationPrintsAsTheScriptsIntegerZero) {
  const std::vector<double> gold{1, 2, 3, 4};
  const std::vector<double> empathy{1, 3, 2, 5}, constant{4, 4, 4, 4};
  const auto scores = track1_scores(gold, gold, empathy, constant);
  EXPECT_TRUE(scores.distress_degenerate);
  EXPECT_EQ(format_official_scores(&scores, nullptr),
            "Empathy Pearson Correlation: 0.8315\n"
            "Distress Pearson Correlation: 0\n"
            "Averaged Pearson Correlations: 0.41575\n");
  const auto both = track1_scores(gold, gold, constant, constant);
  EXPECT_EQ(format_official_scores(&both, nullptr),
            "Empathy Pearson Correlation: 0\n"
            "Distress Pearson Correlation: 0\n"
            "Averaged Pearson Correlations: 0.0\n");
}

int id(const char* label) {
  return *emotion_index(label);
}

// gold:      anger anger fear joy     joy disgust
// predicted: anger fear  fear sadness joy anger
// anger   TP1 FP1 FN1  P .5  R .5  F .5
// fear    TP1 FP1 FN0  P .5  R 1   F 2/3
// joy     TP1 FP0 FN1  P 1   R .5  F 2/3
// sadness TP0 FP1 FN0  P 0   R 0 (never in gold)   F 0 (P+R = 0)
// disgust TP0 FP0 FN1  P 1 (never predicted)  R 0  F 0
// macro over these 5: P 3/5, R 2/5, F (1/2 + 4/3)/5 = 11/30 = 0.3667 (F of macro P/R would be
// 0.48); micro TP 3, FP 3, FN 3: P = R = F = accuracy = 0.5.
struct HandCase {
  std::vector<int> gold{id("anger"), id("anger"), id("fear"), id("joy"), id("joy"), id("disgust")};
  std::vector<int> predicted{id("anger"),   id("fear"), id("fear"),
                             id("sadness"), id("joy"),  id("anger")};
};

TEST(Classification, FollowsEveryOfficialRule) {
  const HandCase c;
  const auto s = classification_scores(c.gold, c.predicted);
  ASSERT_EQ(s.per_class.size(), 5u);  // neutral and surprise appear nowhere: not counted
  std::vector<std::string> labels;
  for (const auto& k : s.per_class) labels.emplace_back(kEmotionLabels[k.label]);
  EXPECT_EQ(labels, (std::vector<std::string>{"anger", "disgust", "fear", "joy", "sadness"}));
  const auto& disgust = s.per_class[1];
  EXPECT_EQ(disgust.precision, 1.0);
  EXPECT_EQ(disgust.recall, 0.0);
  EXPECT_EQ(disgust.f1, 0.0);
  const auto& sadness = s.per_class[4];
  EXPECT_EQ(sadness.precision, 0.0);
  EXPECT_EQ(sadness.recall, 0.0);
  EXPECT_EQ(sadness.f1, 0.0);
  EXPECT_EQ(sadness.gold_count, 0);
  EXPECT_EQ(sadness.predicted_count, 1);
  EXPECT_DOUBLE_EQ(s.per_class[2].f1, 2.0 / 3);
  EXPECT_EQ(s.macro_precision, 0.6);
  EXPECT_EQ(s.macro_recall, 0.4);
  EXPECT_EQ(s.macro_f1, 0.3667);
  EXPECT_DOUBLE_EQ(s.macro_f1_unrounded(), 11.0 / 30);
  EXPECT_EQ(s.micro_precision, 0.5);
  EXPECT_EQ(s.micro_recall, 0.5);
  EXPECT_EQ(s.micro_f1, 0.5);
  EXPECT_EQ(s.accuracy, 0.5);
  EXPECT_EQ(s.rows, 6);
  EXPECT_EQ(format_official_scores(nullptr, &s),
            "Micro Recall: 0.5\n"
            "Micro Precision: 0.5\n"
            "Micro F1-Score: 0.5\n"
            "Macro Recall: 0.4\n"
            "Macro Precision: 0.6\n"
            "Macro F1-Score: 0.3667\n"
            "Accuracy: 0.5\n");
}

TEST(Classification, ConfusionMatrixHasGoldRowsAndPredictedColumns) {
  const HandCase c;
  const auto s = classification_scores(c.gold, c.predicted);
  EXPECT_EQ(s.confusion[id("anger")][id("anger")], 1);
  EXPECT_EQ(s.confusion[id("anger")][id("fear")], 1);
  EXPECT_EQ(s.confusion[id("fear")][id("anger")], 0);
  EXPECT_EQ(s.confusion[id("joy")][id("sadness")], 1);
  EXPECT_EQ(s.confusion[id("disgust")][id("anger")], 1);
  std::int64_t total = 0;
  for (const auto& row : s.confusion) {
    for (auto cell : row) total += cell;
  }
  EXPECT_EQ(total, 6);
}

TEST(Classification, AllCorrectAndAllWrong) {
  const std::vector<int> gold{0, 1, 2}, wrong{1, 2, 0};
  const auto perfect = classification_scores(gold, gold);
  EXPECT_EQ(perfect.macro_f1, 1.0);
  EXPECT_EQ(perfect.accuracy, 1.0);
  const auto bad = classification_scores(gold, wrong);
  EXPECT_EQ(bad.micro_f1, 0.0);  // micro P + R = 0
  EXPECT_EQ(bad.macro_f1, 0.0);
  EXPECT_EQ(bad.macro_precision, 0.0);
  EXPECT_EQ(bad.accuracy, 0.0);
}

TEST(Classification, RoundsToFourDecimals) {
  // 2 of 3 right: accuracy 0.666... -> 0.6667.
  const std::vector<int> gold{0, 0, 0}, predicted{0, 0, 1};
  const auto s = classification_scores(gold, predicted);
  EXPECT_EQ(s.accuracy, 0.6667);
  EXPECT_EQ(s.micro_f1, 0.6667);
  // anger P 1, R 2/3, F 0.8; disgust P 0, R 0, F 0: macro F 0.4, macro R 1/3 -> 0.3333.
  EXPECT_EQ(s.macro_recall, 0.3333);
  EXPECT_EQ(s.macro_f1, 0.4);
}

TEST(Classification, RejectsBadInput) {
  const std::vector<int> two{0, 1}, three{0, 1, 2}, none, out_of_range{0, 7};
  EXPECT_THROW(classification_scores(two, three), Error);
  EXPECT_THROW(classification_scores(none, none), Error);
  EXPECT_THROW(classification_scores(two, out_of_range), Error);
}

TEST(ScoresJson, HoldsTheSameNumbersPerClassAndConfusion) {
  const HandCase c;
  const auto s = classification_scores(c.gold, c.predicted);
  const std::vector<double> gold{1, 2, 3, 4}, predicted{1, 3, 2, 5};
  const auto t = track1_scores(gold, gold, predicted, predicted);
  const auto json = nlohmann::json::parse(format_scores_json(&t, &s));
  EXPECT_EQ(json["empathy_pearson"].get<double>(), 0.8315);
  EXPECT_EQ(json["averaged_pearson"].get<double>(), 0.8315);
  EXPECT_EQ(json["macro_f1"].get<double>(), 0.3667);
  EXPECT_EQ(json["per_class"]["disgust"]["precision"].get<double>(), 1.0);
  EXPECT_EQ(json["per_class"]["fear"]["f1"].get<double>(), 0.6667);
  EXPECT_FALSE(json["per_class"].contains("neutral"));
  EXPECT_EQ(json["confusion"]["labels"].size(), 7u);
  EXPECT_EQ(json["confusion"]["matrix"][id("joy")][id("sadness")].get<int>(), 1);
}

}  // namespace
}  // namespace emotune::eval
