#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "train/config.h"
#include "train/data_parallel.h"
#include "train/dataset.h"

namespace emotune::train {

// Test hooks standing in for a crash: training stops by throwing SimulatedCrash right after
// optimizer step `crash_after_step` (0 = never), before any snapshot of that step is written.
struct TrainHooks {
  std::int64_t crash_after_step = 0;
  // Progress output: a bar with rate and ETA on a terminal, log lines otherwise; false = none.
  bool progress = true;
  // Data-parallel training (train/distributed.h): this process's rank and the gradient
  // exchange. nullptr = one process.
  DataParallel* parallel = nullptr;
};

struct SimulatedCrash : std::runtime_error {
  SimulatedCrash() : std::runtime_error("simulated crash") {}
};

// Trains one seed in `seed_dir` (metrics.jsonl, best/, last/), continuing from last/ when it
// exists. Returns the seed's record for summary.json: {"seed", "best": <metrics line>,
// "last": <metrics line>}. With hooks.parallel, config.batch_size is the per-rank batch: every
// rank cuts the same global batches of batch_size × world_size rows and trains its slice;
// only rank 0 evaluates and writes (its record is the only complete one).
nlohmann::json train_seed(const TrainConfig& config, const TrainingData& data, std::int64_t seed,
                          const std::filesystem::path& seed_dir, const TrainHooks& hooks = {});

// A whole run in `run_dir`: checks the config, backbone and data before any training, writes
// config.toml (resolved), fingerprints.json, one seed-<n>/ per seed and summary.json.
// With `resume`, finished seeds are kept and an interrupted one continues from its snapshot.
// Under data parallelism only rank 0 writes the run folder; other ranks return null.
nlohmann::json run_training(TrainConfig config, const std::filesystem::path& data_dir,
                            const std::filesystem::path& run_dir, bool resume,
                            const TrainHooks& hooks = {});

// The config as run_training stores it in config.toml for a run on `data_dir`: backbone and
// data as absolute folders, no models root. The pipeline compares a member's config with a
// finished run's through it.
TrainConfig resolve_config(TrainConfig config, const std::filesystem::path& data_dir);

// The config stored in a run folder (for --resume).
TrainConfig load_run_config(const std::filesystem::path& run_dir);

// summary.json as a table: one row per seed (best marked), then mean ± std, min, max.
std::string format_summary(const nlohmann::json& summary);

}  // namespace emotune::train
