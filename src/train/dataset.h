#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "train/batcher.h"
#include "train/config.h"

namespace emotune::train {

struct TrainingData {
  std::vector<Example> train;  // WASSA train (+ GoEmotions additions when augmenting)
  std::vector<Example> dev;    // WASSA dev with gold labels
  std::vector<std::filesystem::path> files;  // every data file read (fingerprinted in the run)
};

// WASSA 2021 train/dev from `data_dir`, limited by train_limit/dev_limit, augmented as the
// config asks (deterministic for `seed`). Missing or malformed files: Error naming the file.
TrainingData load_training_data(const std::filesystem::path& data_dir, const TrainConfig& config,
                                std::uint64_t seed);

}  // namespace emotune::train
