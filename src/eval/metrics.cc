#include "eval/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"

// Semantics follow the organizers' evaluation script for the WASSA 2021 shared task
// (evaluation.py by R. Klinger, adapted for CodaLab by O. De Clercq and V. Barriere):
//  - pearsonr: means and sums in plain left-to-right float arithmetic, r = 0 when the product
//    of the two sums of squares is 0, clamped to [-1, 1], round(r, 4);
//  - the average is (round(r_emp) + round(r_dis)) / 2, printed without rounding again;
//  - calculatePRF: the label set is the union of gold and predicted labels; a label never
//    predicted has precision 1.0, a label never in gold recall 0.0, F = 0 when P + R = 0;
//    macro-F1 is the mean of per-class F1 (not F of macro-P and macro-R); micro P/R/F from
//    the summed TP/FP/FN; accuracy = sum TP / rows; every figure round(x, 4).
// One deliberate difference: the 2021 copy of the script reads the gold and predicted
// *distress* column (index 1) for its "Empathy" correlation too, a bug fixed in the 2022+
// versions (index 0). emotune scores empathy on the empathy column, as the task defines it.

namespace emotune::eval {

std::optional<int> emotion_index(std::string_view label) {
  for (std::size_t i = 0; i < kEmotionLabels.size(); ++i) {
    if (kEmotionLabels[i] == label) return static_cast<int>(i);
  }
  return std::nullopt;
}

double round_official(double x) {
  if (!std::isfinite(x)) return x;
  // to_chars with a precision is exact (as printf in the C locale): it rounds the exact binary
  // value and resolves exact ties to even, which is what Python's round(x, 4) does.
  char buffer[400];
  const auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer - 1, x, std::chars_format::fixed, 4);
  if (ec != std::errc()) return x;
  *end = '\0';
  return std::strtod(buffer, nullptr);
}

std::string python_float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buffer[64];
  const auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, x, std::chars_format::scientific);
  const std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  const auto e_at = text.find('e');
  std::string_view mantissa = text.substr(0, e_at);
  const int exponent = std::atoi(std::string(text.substr(e_at + 1)).c_str());
  std::string sign;
  if (!mantissa.empty() && mantissa.front() == '-') {
    sign = "-";
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  // Python's repr switches to exponent form when the decimal point would sit 4+ places before
  // the first digit or more than 16 places after it.
  if (exponent < -4 || exponent >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    return out + fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  }
  const int point = exponent + 1;  // digits before the decimal point
  std::string integer_part, fraction_part;
  if (point <= 0) {
    integer_part = "0";
    fraction_part = std::string(static_cast<std::size_t>(-point), '0') + digits;
  } else if (static_cast<std::size_t>(point) >= digits.size()) {
    integer_part = digits + std::string(static_cast<std::size_t>(point) - digits.size(), '0');
    fraction_part = "0";
  } else {
    integer_part = digits.substr(0, static_cast<std::size_t>(point));
    fraction_part = digits.substr(static_cast<std::size_t>(point));
  }
  return sign + integer_part + "." + fraction_part;
}

namespace {

void check_same_nonzero_length(std::size_t gold, std::size_t predicted, const char* what) {
  if (gold != predicted) {
    throw Error(fmt::format("{}: {} gold values but {} predictions", what, gold, predicted));
  }
  if (gold == 0) throw Error(fmt::format("{}: nothing to score (0 rows)", what));
}

struct PearsonParts {
  double covariance_sum = 0;
  double denominator = 0;
};

PearsonParts pearson_parts(std::span<const double> x, std::span<const double> y) {
  check_same_nonzero_length(x.size(), y.size(), "pearson");
  double x_sum = 0, y_sum = 0;
  for (double v : x) x_sum += v;
  for (double v : y) y_sum += v;
  const double x_mean = x_sum / static_cast<double>(x.size());
  const double y_mean = y_sum / static_cast<double>(y.size());
  double xy = 0, xx = 0, yy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double dx = x[i] - x_mean;
    const double dy = y[i] - y_mean;
    xy += dx * dy;
    xx += dx * dx;
    yy += dy * dy;
  }
  return {xy, std::sqrt(xx * yy)};
}

}  // namespace

double pearson_unrounded(std::span<const double> gold, std::span<const double> predicted) {
  const auto parts = pearson_parts(gold, predicted);
  if (parts.denominator == 0) return 0.0;
  return std::clamp(parts.covariance_sum / parts.denominator, -1.0, 1.0);
}

double pearson(std::span<const double> gold, std::span<const double> predicted) {
  return round_official(pearson_unrounded(gold, predicted));
}

double ClassificationScores::macro_f1_unrounded() const {
  if (per_class.empty()) return 0.0;
  double sum = 0;
  for (const auto& c : per_class) sum += c.f1;
  return sum / static_cast<double>(per_class.size());
}

bool pearson_is_degenerate(std::span<const double> gold, std::span<const double> predicted) {
  return pearson_parts(gold, predicted).denominator == 0;
}

Track1Scores track1_scores(std::span<const double> gold_empathy,
                           std::span<const double> gold_distress,
                           std::span<const double> predicted_empathy,
                           std::span<const double> predicted_distress) {
  Track1Scores scores;
  scores.empathy = pearson(gold_empathy, predicted_empathy);
  scores.distress = pearson(gold_distress, predicted_distress);
  scores.empathy_degenerate = pearson_is_degenerate(gold_empathy, predicted_empathy);
  scores.distress_degenerate = pearson_is_degenerate(gold_distress, predicted_distress);
  scores.average = (scores.empathy + scores.distress) / 2;
  return scores;
}

ClassificationScores classification_scores(std::span<const int> gold,
                                           std::span<const int> predicted) {
  check_same_nonzero_length(gold.size(), predicted.size(), "classification scores");
  ClassificationScores scores;
  scores.rows = static_cast<std::int64_t>(gold.size());
  std::array<double, kNumEmotions> tp{}, fp{}, fn{};
  std::array<bool, kNumEmotions> present{};
  for (std::size_t i = 0; i < gold.size(); ++i) {
    const int g = gold[i], p = predicted[i];
    if (g < 0 || g >= static_cast<int>(kNumEmotions) || p < 0 ||
        p >= static_cast<int>(kNumEmotions)) {
      throw Error(fmt::format("classification scores: row {}: class id {} or {} is not in 0..{}",
                              i + 1, g, p, kNumEmotions - 1));
    }
    present[g] = present[p] = true;
    ++scores.confusion[g][p];
    if (g == p) {
      tp[g] += 1;
    } else {
      fp[p] += 1;
      fn[g] += 1;
    }
  }
  double tp_total = 0, fp_total = 0, fn_total = 0;
  double precision_sum = 0, recall_sum = 0, f1_sum = 0;
  for (std::size_t label = 0; label < kNumEmotions; ++label) {
    if (!present[label]) continue;
    ClassScores c;
    c.label = static_cast<int>(label);
    c.recall = tp[label] + fn[label] == 0 ? 0.0 : tp[label] / (tp[label] + fn[label]);
    c.precision = tp[label] + fp[label] == 0 ? 1.0 : tp[label] / (tp[label] + fp[label]);
    c.f1 =
        c.precision + c.recall == 0 ? 0.0 : 2 * c.precision * c.recall / (c.precision + c.recall);
    c.gold_count = static_cast<std::int64_t>(tp[label] + fn[label]);
    c.predicted_count = static_cast<std::int64_t>(tp[label] + fp[label]);
    scores.per_class.push_back(c);
    tp_total += tp[label];
    fp_total += fp[label];
    fn_total += fn[label];
    precision_sum += c.precision;
    recall_sum += c.recall;
    f1_sum += c.f1;
  }
  const double micro_recall = tp_total / (tp_total + fn_total);
  const double micro_precision = tp_total / (tp_total + fp_total);
  const double micro_f1 =
      micro_precision + micro_recall == 0
          ? 0.0
          : 2 * micro_precision * micro_recall / (micro_precision + micro_recall);
  const double classes = static_cast<double>(scores.per_class.size());
  scores.micro_recall = round_official(micro_recall);
  scores.micro_precision = round_official(micro_precision);
  scores.micro_f1 = round_official(micro_f1);
  scores.macro_recall = round_official(recall_sum / classes);
  scores.macro_precision = round_official(precision_sum / classes);
  scores.macro_f1 = round_official(f1_sum / classes);
  scores.accuracy = round_official(tp_total / static_cast<double>(gold.size()));
  return scores;
}

namespace {

// The script keeps a degenerate r as the int 0, which Python prints without ".0".
std::string format_correlation(double value, bool degenerate) {
  return degenerate ? "0" : python_float_repr(value);
}

}  // namespace

std::string format_official_scores(const Track1Scores* track1, const ClassificationScores* track2) {
  std::string out;
  if (track1 != nullptr) {
    out += fmt::format("Empathy Pearson Correlation: {}\n",
                       format_correlation(track1->empathy, track1->empathy_degenerate));
    out += fmt::format("Distress Pearson Correlation: {}\n",
                       format_correlation(track1->distress, track1->distress_degenerate));
    out += fmt::format("Averaged Pearson Correlations: {}\n", python_float_repr(track1->average));
  }
  if (track2 != nullptr) {
    out += fmt::format("Micro Recall: {}\n", python_float_repr(track2->micro_recall));
    out += fmt::format("Micro Precision: {}\n", python_float_repr(track2->micro_precision));
    out += fmt::format("Micro F1-Score: {}\n", python_float_repr(track2->micro_f1));
    out += fmt::format("Macro Recall: {}\n", python_float_repr(track2->macro_recall));
    out += fmt::format("Macro Precision: {}\n", python_float_repr(track2->macro_precision));
    out += fmt::format("Macro F1-Score: {}\n", python_float_repr(track2->macro_f1));
    out += fmt::format("Accuracy: {}\n", python_float_repr(track2->accuracy));
  }
  return out;
}

std::string format_scores_json(const Track1Scores* track1, const ClassificationScores* track2) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (track1 != nullptr) {
    out["empathy_pearson"] = track1->empathy;
    out["distress_pearson"] = track1->distress;
    out["averaged_pearson"] = track1->average;
  }
  if (track2 != nullptr) {
    out["micro_recall"] = track2->micro_recall;
    out["micro_precision"] = track2->micro_precision;
    out["micro_f1"] = track2->micro_f1;
    out["macro_recall"] = track2->macro_recall;
    out["macro_precision"] = track2->macro_precision;
    out["macro_f1"] = track2->macro_f1;
    out["accuracy"] = track2->accuracy;
    out["rows"] = track2->rows;
    auto per_class = nlohmann::ordered_json::object();
    for (const auto& c : track2->per_class) {
      per_class[std::string(kEmotionLabels[static_cast<std::size_t>(c.label)])] = {
          {"precision", round_official(c.precision)},
          {"recall", round_official(c.recall)},
          {"f1", round_official(c.f1)},
          {"gold", c.gold_count},
          {"predicted", c.predicted_count}};
    }
    out["per_class"] = per_class;
    auto labels = nlohmann::ordered_json::array();
    for (auto label : kEmotionLabels) labels.push_back(std::string(label));
    auto matrix = nlohmann::ordered_json::array();
    for (const auto& row : track2->confusion) matrix.push_back(row);
    out["confusion"] = {
        {"labels", labels}, {"rows", "gold"}, {"columns", "predicted"}, {"matrix", matrix}};
  }
  return out.dump(2) + "\n";
}

}  // namespace emotune::eval
