#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/labels.h"
#include "data/wassa.h"

namespace emotune::data {

// The 28 GoEmotions labels (emotions.txt order = label id) and the Ekman class of each, from
// ekman_mapping.json; "neutral" is not listed there and maps to neutral.
struct GoEmotionsTaxonomy {
  std::vector<std::string> labels;
  std::vector<int> ekman_of_label;  // class id into kEmotionLabels, per label id
};

GoEmotionsTaxonomy load_goemotions_taxonomy(const std::filesystem::path& goemotions_dir);

// What to do with a comment whose labels map to more than one Ekman class (e.g. joy + anger).
enum class MultiLabelPolicy {
  skip,   // leave it out, count it (the default)
  first,  // take the class of the first listed label
  error,  // an Error naming file and line
};

std::string_view multi_label_policy_name(MultiLabelPolicy policy);
// "skip", "first" or "error"; an Error otherwise.
MultiLabelPolicy parse_multi_label_policy(std::string_view name);

struct GoEmotionsComment {
  std::string id;  // Reddit comment id
  std::string text;
  std::vector<int> labels;  // GoEmotions label ids as listed
  int emotion = 0;          // Ekman class id into kEmotionLabels
  std::size_t line = 0;
};

struct GoEmotionsSplit {
  Split split = Split::train;
  std::filesystem::path file;
  std::size_t total_rows = 0;  // rows in the file, kept or not
  std::vector<GoEmotionsComment> rows;
  // Rows whose labels span several Ekman classes (policy skip: left out; first: kept).
  std::size_t multi_class_rows = 0;
  std::vector<std::size_t> skipped_lines;  // lines left out under policy skip
  EmotionCounts class_counts{};            // over the kept rows
};

// Reads <data_dir>/goemotions/{train,dev,test}.tsv: no header; text (CSV-quoted when it
// holds a quote), comma-separated label ids, comment id.
GoEmotionsSplit load_goemotions(const std::filesystem::path& data_dir, Split split,
                                MultiLabelPolicy policy = MultiLabelPolicy::skip);

GoEmotionsSplit read_goemotions(const std::filesystem::path& file, Split split,
                                const GoEmotionsTaxonomy& taxonomy,
                                MultiLabelPolicy policy = MultiLabelPolicy::skip);

}  // namespace emotune::data
