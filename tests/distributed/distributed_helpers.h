#pragma once

// Shared by the distributed tests: a tiny backbone, a config file for CLI runs.

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/json_file.h"
#include "common/test_paths.h"
#include "model/checkpoint.h"
#include "train/config.h"
#include "train/train_helpers.h"

namespace emotune::train::testing {

using emotune::testing::free_port;

// The tiny backbone without dropout, so runs with different batch splits compute the same
// function and can be compared.
inline void make_deterministic_backbone(const std::filesystem::path& dir) {
  make_tiny_backbone(dir);
  auto config = read_json(dir / "config.json");
  config["hidden_dropout_prob"] = 0.0;
  config["attention_probs_dropout_prob"] = 0.0;
  write_json(dir / "config.json", config);
}

inline std::filesystem::path write_config(const std::filesystem::path& file,
                                          const TrainConfig& config) {
  write_file_atomic(file, to_toml(config));
  return file;
}

// `emotune --threads 1 train CONFIG --data DATA --out RUN --no-progress EXTRA`.
inline emotune::testing::CommandResult train_cli(const std::filesystem::path& config,
                                                 const std::filesystem::path& run,
                                                 const std::string& extra = "",
                                                 const std::string& environment = "") {
  using emotune::testing::shell_quote;
  return emotune::testing::run_command(
      environment + (environment.empty() ? "" : " ") +
      shell_quote(emotune::testing::cli_path().string()) + " --threads 1 train " +
      shell_quote(config.string()) + " --data " +
      shell_quote(emotune::testing::data_dir().string()) + " --out " + shell_quote(run.string()) +
      " --no-progress " + extra);
}

inline double max_abs_difference(const std::filesystem::path& a, const std::filesystem::path& b) {
  const auto left = model::load_tensors(a);
  const auto right = model::load_tensors(b);
  EXPECT_EQ(left.size(), right.size());
  double worst = 0.0;
  for (const auto& [name, tensor] : left) {
    EXPECT_TRUE(right.count(name)) << name;
    if (!right.count(name)) continue;
    worst = std::max(worst, (tensor - right.at(name)).abs().max().item<double>());
  }
  return worst;
}

// Mean |a - b| over every element of every tensor.
inline double mean_abs_difference(const std::filesystem::path& a, const std::filesystem::path& b) {
  const auto left = model::load_tensors(a);
  const auto right = model::load_tensors(b);
  double total = 0.0;
  double count = 0.0;
  for (const auto& [name, tensor] : left) {
    if (!right.count(name)) continue;
    total += (tensor - right.at(name)).abs().sum().item<double>();
    count += static_cast<double>(tensor.numel());
  }
  return count > 0 ? total / count : 0.0;
}

}  // namespace emotune::train::testing
