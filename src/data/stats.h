#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/augment.h"
#include "data/goemotions.h"
#include "data/labels.h"

namespace emotune::data {

// Mean and standard deviation with the n-1 denominator (pandas' .std()).
struct ScoreSummary {
  std::size_t count = 0;
  double mean = 0;
  double stddev = 0;
};
ScoreSummary summarize_scores(const std::vector<double>& values);

// Text lengths; percentiles interpolate linearly between order statistics (numpy's default).
struct LengthSummary {
  std::size_t count = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  std::size_t max = 0;
};
LengthSummary summarize_lengths(std::vector<std::size_t> lengths);
double percentile(const std::vector<double>& sorted_values, double q);

// Words as Python's str.split() counts them: runs of Unicode whitespace separate words.
std::size_t count_words(std::string_view text);

struct SplitStats {
  std::string name;  // "wassa/train", "goemotions/dev", "augmented/train"
  std::size_t rows = 0;
  std::optional<EmotionCounts> emotions;
  std::optional<ScoreSummary> empathy;
  std::optional<ScoreSummary> distress;
  LengthSummary lengths;
  // GoEmotions: rows in the file and rows whose labels span several Ekman classes.
  std::optional<std::size_t> file_rows;
  std::optional<std::size_t> multi_class_rows;
  std::optional<std::size_t> skipped_rows;
  // Augmented train: examples per source.
  std::optional<std::size_t> wassa_examples;
  std::optional<std::size_t> goemotions_examples;
};

struct StatsOptions {
  AugmentOptions augment;
  MultiLabelPolicy multi_label = MultiLabelPolicy::skip;
};

// Length of one text in the unit the caller chose (words, or a tokenizer's pieces).
using LengthFunction = std::function<std::size_t(std::string_view)>;

struct DataStats {
  std::filesystem::path data_dir;
  std::string length_unit;  // "words" or "word pieces"
  StatsOptions options;
  std::vector<SplitStats> splits;
};

// Reads every WASSA and GoEmotions split under data_dir (and builds the augmented train set
// when options ask for it). An empty `length` counts words.
DataStats compute_stats(const std::filesystem::path& data_dir, const StatsOptions& options,
                        const LengthFunction& length = {},
                        const std::string& length_unit = "words");

std::string format_stats_text(const DataStats& stats);
std::string format_stats_json(const DataStats& stats);

}  // namespace emotune::data
