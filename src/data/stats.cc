#include "data/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <utf8proc.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/wassa.h"
#include "text/added_tokens.h"

namespace emotune::data {
namespace {

SplitStats describe_wassa(const WassaSplit& split, const LengthFunction& length) {
  SplitStats s;
  s.name = fmt::format("wassa/{}", split_name(split.split));
  s.rows = split.rows.size();
  std::vector<double> empathy, distress;
  std::vector<std::size_t> lengths;
  EmotionCounts emotions{};
  bool has_emotion = false;
  for (const auto& row : split.rows) {
    if (row.empathy) empathy.push_back(*row.empathy);
    if (row.distress) distress.push_back(*row.distress);
    if (row.emotion) {
      has_emotion = true;
      ++emotions[static_cast<std::size_t>(*row.emotion)];
    }
    lengths.push_back(length(row.text));
  }
  if (!empathy.empty()) s.empathy = summarize_scores(empathy);
  if (!distress.empty()) s.distress = summarize_scores(distress);
  if (has_emotion) s.emotions = emotions;
  s.lengths = summarize_lengths(std::move(lengths));
  return s;
}

SplitStats describe_goemotions(const GoEmotionsSplit& split, MultiLabelPolicy policy,
                               const LengthFunction& length) {
  SplitStats s;
  s.name = fmt::format("goemotions/{}", split_name(split.split));
  s.rows = split.rows.size();
  s.emotions = split.class_counts;
  s.file_rows = split.total_rows;
  s.multi_class_rows = split.multi_class_rows;
  s.skipped_rows = split.skipped_lines.size();
  std::vector<std::size_t> lengths;
  lengths.reserve(split.rows.size());
  for (const auto& row : split.rows) lengths.push_back(length(row.text));
  s.lengths = summarize_lengths(std::move(lengths));
  return s;
}

SplitStats describe_augmented(const AugmentedTrainSet& set, AugmentMode mode,
                              const LengthFunction& length) {
  SplitStats s;
  s.name = fmt::format("augmented-{}/train", augment_mode_name(mode));
  s.rows = set.examples.size();
  s.emotions = set.class_counts;
  s.wassa_examples = set.wassa_count;
  s.goemotions_examples = set.goemotions_count;
  std::vector<std::size_t> lengths;
  lengths.reserve(set.examples.size());
  for (const auto& example : set.examples) lengths.push_back(length(example.text));
  s.lengths = summarize_lengths(std::move(lengths));
  return s;
}

nlohmann::json emotions_json(const EmotionCounts& counts) {
  nlohmann::json out = nlohmann::json::object();
  for (std::size_t c = 0; c < kNumEmotions; ++c) out[std::string(kEmotionLabels[c])] = counts[c];
  return out;
}

}  // namespace

ScoreSummary summarize_scores(const std::vector<double>& values) {
  ScoreSummary s;
  s.count = values.size();
  if (values.empty()) return s;
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  if (values.size() > 1) {
    double squares = 0;
    for (double v : values) squares += (v - s.mean) * (v - s.mean);
    s.stddev = std::sqrt(squares / static_cast<double>(values.size() - 1));
  }
  return s;
}

double percentile(const std::vector<double>& sorted_values, double q) {
  if (sorted_values.empty()) return 0;
  const double position = q / 100.0 * static_cast<double>(sorted_values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted_values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return sorted_values[below] + (sorted_values[above] - sorted_values[below]) * fraction;
}

LengthSummary summarize_lengths(std::vector<std::size_t> lengths) {
  LengthSummary s;
  s.count = lengths.size();
  if (lengths.empty()) return s;
  std::sort(lengths.begin(), lengths.end());
  const std::vector<double> sorted(lengths.begin(), lengths.end());
  s.p50 = percentile(sorted, 50);
  s.p90 = percentile(sorted, 90);
  s.p99 = percentile(sorted, 99);
  s.max = lengths.back();
  return s;
}

std::size_t count_words(std::string_view text) {
  const auto* data = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  std::size_t words = 0;
  bool in_word = false;
  std::size_t offset = 0;
  while (offset < text.size()) {
    utf8proc_int32_t c = 0;
    const auto consumed =
        utf8proc_iterate(data + offset, static_cast<utf8proc_ssize_t>(text.size() - offset), &c);
    if (consumed <= 0) throw Error("count_words: invalid UTF-8");
    offset += static_cast<std::size_t>(consumed);
    if (text::is_python_whitespace(static_cast<char32_t>(c))) {
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      ++words;
    }
  }
  return words;
}

DataStats compute_stats(const std::filesystem::path& data_dir, const StatsOptions& options,
                        const LengthFunction& length, const std::string& length_unit) {
  const LengthFunction measure = length ? length : LengthFunction(count_words);
  DataStats stats;
  stats.data_dir = data_dir;
  stats.length_unit = length_unit;
  stats.options = options;
  const auto wassa_train = load_wassa(data_dir, Split::train);
  stats.splits.push_back(describe_wassa(wassa_train, measure));
  stats.splits.push_back(describe_wassa(load_wassa(data_dir, Split::dev), measure));
  stats.splits.push_back(describe_wassa(load_wassa(data_dir, Split::test), measure));

  const auto taxonomy = load_goemotions_taxonomy(data_dir / "goemotions");
  std::optional<GoEmotionsSplit> goemotions_train;
  for (Split split : {Split::train, Split::dev, Split::test}) {
    auto loaded =
        read_goemotions(data_dir / "goemotions" / fmt::format("{}.tsv", split_name(split)), split,
                        taxonomy, options.multi_label);
    stats.splits.push_back(describe_goemotions(loaded, options.multi_label, measure));
    if (split == Split::train) goemotions_train = std::move(loaded);
  }
  if (options.augment.mode != AugmentMode::none) {
    const auto set = build_train_set(wassa_train, *goemotions_train, options.augment);
    stats.splits.push_back(describe_augmented(set, options.augment.mode, measure));
  }
  return stats;
}

std::string format_stats_text(const DataStats& stats) {
  std::string out;
  auto line = [&out](const std::string& text) { out += text + "\n"; };
  line(fmt::format("data: {}", stats.data_dir.string()));
  line(fmt::format("multi-label GoEmotions rows: {}; augmentation: {}",
                   multi_label_policy_name(stats.options.multi_label),
                   augment_mode_name(stats.options.augment.mode)));
  for (const auto& s : stats.splits) {
    line("");
    line(fmt::format("{}: {} rows", s.name, s.rows));
    if (s.file_rows) {
      line(fmt::format("  file rows {}, spanning several Ekman classes {}, skipped {}",
                       *s.file_rows, *s.multi_class_rows, *s.skipped_rows));
    }
    if (s.wassa_examples) {
      line(fmt::format("  from wassa {}, from goemotions {}", *s.wassa_examples,
                       *s.goemotions_examples));
    }
    if (s.emotions) {
      std::string counts;
      for (std::size_t c = 0; c < kNumEmotions; ++c) {
        const double share =
            s.rows == 0 ? 0.0 : 100.0 * static_cast<double>((*s.emotions)[c]) / s.rows;
        counts += fmt::format("{}{} {} ({:.1f}%)", c == 0 ? "" : ", ", kEmotionLabels[c],
                              (*s.emotions)[c], share);
      }
      line(fmt::format("  emotion: {}", counts));
    }
    if (s.empathy) {
      line(fmt::format("  empathy: mean {:.3f}, std {:.3f}", s.empathy->mean, s.empathy->stddev));
    }
    if (s.distress) {
      line(
          fmt::format("  distress: mean {:.3f}, std {:.3f}", s.distress->mean, s.distress->stddev));
    }
    line(fmt::format("  length ({}): p50 {:g}, p90 {:g}, p99 {:g}, max {}", stats.length_unit,
                     s.lengths.p50, s.lengths.p90, s.lengths.p99, s.lengths.max));
  }
  return out;
}

std::string format_stats_json(const DataStats& stats) {
  nlohmann::json root;
  root["data_dir"] = stats.data_dir.string();
  root["length_unit"] = stats.length_unit;
  root["multi_label"] = std::string(multi_label_policy_name(stats.options.multi_label));
  root["augment"] = {{"mode", std::string(augment_mode_name(stats.options.augment.mode))},
                     {"size", stats.options.augment.size},
                     {"seed", stats.options.augment.seed}};
  nlohmann::json splits = nlohmann::json::object();
  for (const auto& s : stats.splits) {
    nlohmann::json j;
    j["rows"] = s.rows;
    if (s.emotions) j["emotion"] = emotions_json(*s.emotions);
    if (s.empathy) j["empathy"] = {{"mean", s.empathy->mean}, {"std", s.empathy->stddev}};
    if (s.distress) j["distress"] = {{"mean", s.distress->mean}, {"std", s.distress->stddev}};
    j["length"] = {{"p50", s.lengths.p50},
                   {"p90", s.lengths.p90},
                   {"p99", s.lengths.p99},
                   {"max", s.lengths.max}};
    if (s.file_rows) {
      j["file_rows"] = *s.file_rows;
      j["multi_class_rows"] = *s.multi_class_rows;
      j["skipped_rows"] = *s.skipped_rows;
    }
    if (s.wassa_examples) {
      j["wassa_examples"] = *s.wassa_examples;
      j["goemotions_examples"] = *s.goemotions_examples;
    }
    splits[s.name] = std::move(j);
  }
  root["splits"] = std::move(splits);
  return root.dump(2) + "\n";
}

}  // namespace emotune::data
