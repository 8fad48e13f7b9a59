#include "train/dataset.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.h"
#include "data/augment.h"
#include "data/goemotions.h"
#include "data/wassa.h"

namespace emotune::train {
namespace {

Example from_record(const data::WassaRecord& record) {
  return Example{record.id, record.text, record.empathy, record.distress, record.emotion, {}};
}

}  // namespace

TrainingData load_training_data(const std::filesystem::path& data_dir, const TrainConfig& config,
                                std::uint64_t seed) {
  const auto wassa = data_dir / "wassa2021";
  for (const auto name :
       {data::kWassaTrainFile, data::kWassaDevFeaturesFile, data::kWassaDevGoldFile}) {
    if (!std::filesystem::is_regular_file(wassa / name)) {
      throw error_in(wassa / name,
                     "data file is missing (is --data / $EMOTUNE_DATA the data folder?)");
    }
  }
  TrainingData data;
  const auto train = data::load_wassa(data_dir, data::Split::train);
  const auto dev = data::load_wassa(data_dir, data::Split::dev);
  data.files = {train.file, dev.file, dev.gold_file};

  // train_limit cuts the WASSA rows first, so a small run still sees real essays.
  auto train_rows = train.rows;
  if (config.holdout_every > 0) {
    const auto fold_of =
        data::writer_folds(train_rows, static_cast<std::size_t>(config.holdout_every));
    std::vector<data::WassaRecord> kept;
    for (std::size_t i = 0; i < train_rows.size(); ++i)
      if (fold_of[i] != 0) kept.push_back(train_rows[i]);
    train_rows = std::move(kept);
  }
  if (config.train_limit > 0 && train_rows.size() > static_cast<std::size_t>(config.train_limit)) {
    train_rows.resize(static_cast<std::size_t>(config.train_limit));
  }
  for (const auto& record : train_rows) data.train.push_back(from_record(record));

  // Person features: checked on every train and dev row (file, line and column of a missing or
  // bad value), standardized with the statistics of the train rows kept above only.
  std::vector<data::PersonValues> dev_person;
  if (config.reads_person()) {
    data::WassaSplit kept = train;
    kept.rows = train_rows;
    const auto train_person = data::split_person_values(kept);
    dev_person = data::split_person_values(dev);
    data.person_encoder = data::PersonEncoder::fit(train_person);
    for (std::size_t i = 0; i < train_person.size(); ++i) {
      const auto vector = data.person_encoder->encode(
          train_person[i], fmt::format("{}:{}", train.file.string(), train_rows[i].line));
      data.train[i].person.assign(vector.begin(), vector.end());
    }
  }

  if (config.augment != "none") {
    const auto goemotions = data::load_goemotions(data_dir, data::Split::train);
    data.files.push_back(goemotions.file);
    data::WassaSplit limited = train;
    limited.rows = train_rows;
    data::AugmentOptions options;
    options.mode = data::parse_augment_mode(config.augment);
    options.size = static_cast<std::size_t>(config.augment_size);
    options.seed = seed;
    const auto augmented = data::build_train_set(limited, goemotions, options);
    for (const auto& example : augmented.examples) {
      if (example.source != data::ExampleSource::goemotions) continue;
      Example added{"goemotions:" + example.source_id, example.text, std::nullopt,
                    std::nullopt, example.emotion, {}};
      if (data.person_encoder) added.person.assign(data.person_encoder->dimension(), 0.0f);
      data.train.push_back(std::move(added));
    }
  }

  for (std::size_t i = 0; i < dev.rows.size(); ++i) {
    data.dev.push_back(from_record(dev.rows[i]));
    if (data.person_encoder) {
      const auto vector = data.person_encoder->encode(
          dev_person[i], fmt::format("{}:{}", dev.file.string(), dev.rows[i].line));
      data.dev.back().person.assign(vector.begin(), vector.end());
    }
  }
  if (config.dev_limit > 0 && data.dev.size() > static_cast<std::size_t>(config.dev_limit)) {
    data.dev.resize(static_cast<std::size_t>(config.dev_limit));
  }
  return data;
}

}  // namespace emotune::train
