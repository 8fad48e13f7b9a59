#include "train/dataset.h"

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"

namespace emotune::train {
namespace {

// Stop-gap reader of the WASSA TSV files (split on TAB, RFC-4180 unquoting) until the data
// module's load_wassa lands on main; it checks field counts and numbers and names file:line.
struct TsvFile {
  std::filesystem::path path;
  std::vector<std::vector<std::string>> rows;  // rows[i] is on line i + 1
};

std::string unquote(const std::string& field) {
  if (field.size() < 2 || field.front() != '"' || field.back() != '"') return field;
  std::string out;
  for (std::size_t i = 1; i + 1 < field.size(); ++i) {
    out += field[i];
    if (field[i] == '"' && field[i + 1] == '"') ++i;
  }
  return out;
}

TsvFile read_tsv(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw error_in(path, "data file is missing");
  const auto text = read_file(path);
  TsvFile file{path, {}};
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::vector<std::string> fields;
    std::size_t field_start = start;
    while (true) {
      const auto tab = text.find('\t', field_start);
      if (tab == std::string::npos || tab > end) {
        fields.push_back(unquote(text.substr(field_start, end - field_start)));
        break;
      }
      fields.push_back(unquote(text.substr(field_start, tab - field_start)));
      field_start = tab + 1;
    }
    file.rows.push_back(std::move(fields));
    start = end + 1;
  }
  return file;
}

double parse_score(const TsvFile& file, std::size_t row, std::size_t column) {
  const auto& text = file.rows[row].at(column);
  try {
    std::size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size() && value >= 1.0 && value <= 7.0) return value;
  } catch (const std::exception&) {
  }
  throw error_at(file.path, row + 1, fmt::format("expected a score in 1..7, found '{}'", text));
}

int parse_emotion(const TsvFile& file, std::size_t row, std::size_t column) {
  const auto& text = file.rows[row].at(column);
  const auto& labels = model::emotion_labels();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == text) return static_cast<int>(i);
  }
  throw error_at(file.path, row + 1, fmt::format("unknown emotion label '{}'", text));
}

std::size_t column(const TsvFile& file, const std::string& name) {
  if (file.rows.empty()) throw error_in(file.path, "empty file");
  const auto& header = file.rows[0];
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  throw error_at(file.path, 1, fmt::format("no column named {}", name));
}

void check_width(const TsvFile& file, std::size_t row, std::size_t width) {
  if (file.rows[row].size() != width) {
    throw error_at(file.path, row + 1,
                   fmt::format("expected {} fields, found {}", width, file.rows[row].size()));
  }
}

}  // namespace

TrainingData load_training_data(const std::filesystem::path& data_dir, const TrainConfig& config,
                                std::uint64_t seed) {
  if (config.augment != "none") {
    throw Error("config key augment: GoEmotions augmentation needs the data module, which this "
                "build does not have yet");
  }
  TrainingData data;
  const auto wassa = data_dir / "wassa2021";
  const auto train_path = wassa / "messages_train_ready_for_WS.tsv";
  const auto dev_features_path = wassa / "messages_dev_features_ready_for_WS_2022.tsv";
  const auto dev_gold_path = wassa / "goldstandard_dev_2022.tsv";
  for (const auto& path : {train_path, dev_features_path, dev_gold_path}) {
    if (!std::filesystem::is_regular_file(path)) {
      throw error_in(path, "data file is missing (is --data / $EMOTUNE_DATA the data folder?)");
    }
    data.files.push_back(path);
  }

  const auto train = read_tsv(train_path);
  const auto id_col = column(train, "message_id");
  const auto essay_col = column(train, "essay");
  const auto empathy_col = column(train, "empathy");
  const auto distress_col = column(train, "distress");
  const auto emotion_col = column(train, "emotion");
  for (std::size_t row = 1; row < train.rows.size(); ++row) {
    check_width(train, row, train.rows[0].size());
    Example example;
    example.id = train.rows[row][id_col];
    example.text = train.rows[row][essay_col];
    example.empathy = parse_score(train, row, empathy_col);
    example.distress = parse_score(train, row, distress_col);
    example.emotion = parse_emotion(train, row, emotion_col);
    data.train.push_back(std::move(example));
  }

  const auto features = read_tsv(dev_features_path);
  const auto gold = read_tsv(dev_gold_path);
  if (gold.rows.size() + 1 != features.rows.size()) {
    throw error_in(dev_gold_path, fmt::format("{} gold rows for {} dev essays in {}", gold.rows.size(),
                                              features.rows.size() - 1, dev_features_path.string()));
  }
  const auto dev_id_col = column(features, "message_id");
  const auto dev_essay_col = column(features, "essay");
  for (std::size_t row = 0; row < gold.rows.size(); ++row) {
    check_width(features, row + 1, features.rows[0].size());
    if (gold.rows[row].size() < 3) {
      throw error_at(dev_gold_path, row + 1, "expected empathy, distress and emotion columns");
    }
    Example example;
    example.id = features.rows[row + 1][dev_id_col];
    example.text = features.rows[row + 1][dev_essay_col];
    example.empathy = parse_score(gold, row, 0);
    example.distress = parse_score(gold, row, 1);
    example.emotion = parse_emotion(gold, row, 2);
    data.dev.push_back(std::move(example));
  }
  (void)seed;
  if (config.train_limit > 0 && data.train.size() > static_cast<std::size_t>(config.train_limit)) {
    data.train.resize(static_cast<std::size_t>(config.train_limit));
  }
  if (config.dev_limit > 0 && data.dev.size() > static_cast<std::size_t>(config.dev_limit)) {
    data.dev.resize(static_cast<std::size_t>(config.dev_limit));
  }
  return data;
}

}  // namespace emotune::train
