#pragma once

// The official WASSA 2021 scores (Track I: Pearson r for empathy and distress; Track II:
// precision/recall/F1 and accuracy over the emotion labels), with the organizers' evaluation
// script's semantics, rounding and printed text. See metrics.cc for the rules and their source.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace emotune::eval {

// Track II labels in the organizers' (alphabetical) order; a label's index is its class id
// everywhere in emotune (confusion matrices, probability columns, model outputs).
inline constexpr std::size_t kNumEmotions = 7;
inline constexpr std::array<std::string_view, kNumEmotions> kEmotionLabels = {
    "anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"};

// Class id of a label spelled exactly as the organizers do (lowercase), or nullopt.
std::optional<int> emotion_index(std::string_view label);

// Python's round(x, 4): the decimal nearest to the exact binary value, halves to even,
// read back as a double.
double round_official(double x);

// How Python's str() prints a float: shortest round-trip digits, "1.0" for integral values,
// exponent form ("5e-05") below 1e-4 or from 1e16.
std::string python_float_repr(double x);

// Pearson r as the official script computes it: 0 when either variance is 0, clamped to
// [-1, 1], rounded to 4 decimals. Both spans must have the same non-zero length.
double pearson(std::span<const double> gold, std::span<const double> predicted);

// The same r before rounding, for searches that need a finer signal than 4 decimals.
double pearson_unrounded(std::span<const double> gold, std::span<const double> predicted);

// True when `pearson` returns 0 because a variance is 0 (the script then prints "0", an int).
bool pearson_is_degenerate(std::span<const double> gold, std::span<const double> predicted);

struct Track1Scores {
  double empathy = 0;   // rounded
  double distress = 0;  // rounded
  double average = 0;   // mean of the two rounded values, not rounded again
  bool empathy_degenerate = false;
  bool distress_degenerate = false;
};

Track1Scores track1_scores(std::span<const double> gold_empathy,
                           std::span<const double> gold_distress,
                           std::span<const double> predicted_empathy,
                           std::span<const double> predicted_distress);

struct ClassScores {
  int label = 0;  // index into kEmotionLabels
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  std::int64_t gold_count = 0;  // support
  std::int64_t predicted_count = 0;
};

using ConfusionMatrix = std::array<std::array<std::int64_t, kNumEmotions>, kNumEmotions>;

struct ClassificationScores {
  // One entry per label in the union of gold and predicted labels, in kEmotionLabels order;
  // the macro averages run over exactly these. Per-class values are unrounded.
  std::vector<ClassScores> per_class;
  // All rounded to 4 decimals as the official script does.
  double micro_precision = 0;
  double micro_recall = 0;
  double micro_f1 = 0;
  double macro_precision = 0;
  double macro_recall = 0;
  double macro_f1 = 0;
  double accuracy = 0;
  // Rows = gold class, columns = predicted class, over all kNumEmotions labels.
  ConfusionMatrix confusion{};
  std::int64_t rows = 0;

  // Mean of the per-class F1 before rounding, for searches that need a finer signal.
  double macro_f1_unrounded() const;
};

// Gold and predicted class ids (indices into kEmotionLabels) of the same non-zero length.
ClassificationScores classification_scores(std::span<const int> gold,
                                           std::span<const int> predicted);

// The official scores.txt text: the Track I lines when `track1` is given, then the Track II
// lines when `track2` is given, each "Name: value\n" with values printed as Python does.
std::string format_official_scores(const Track1Scores* track1, const ClassificationScores* track2);

// The same numbers as JSON, plus per-class scores and the confusion matrix.
std::string format_scores_json(const Track1Scores* track1, const ClassificationScores* track2);

}  // namespace emotune::eval
