#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "data/person.h"

#include "train/batcher.h"
#include "train/config.h"

namespace emotune::train {

struct TrainingData {
  std::vector<Example> train;                // WASSA train (+ GoEmotions additions when augmenting)
  std::vector<Example> dev;                  // WASSA dev with gold labels
  std::vector<std::filesystem::path> files;  // every data file read (fingerprinted in the run)
  // When the config's inputs have "person": fitted on the WASSA train rows this run trains on
  // (after holdout_every and train_limit), never on dev; every example's `person` is its
  // encoding. GoEmotions additions have no writer: their vector is all zeros (the train mean
  // of every numeric column, no category).
  std::optional<data::PersonEncoder> person_encoder;
};

// WASSA 2021 train/dev from `data_dir`, limited by train_limit/dev_limit, augmented as the
// config asks (deterministic for `seed`). Missing or malformed files: Error naming the file.
// With person inputs, a train or dev row without the person columns (or with a bad value) is
// an Error naming file, line and column.
TrainingData load_training_data(const std::filesystem::path& data_dir, const TrainConfig& config,
                                std::uint64_t seed);

}  // namespace emotune::train
