#pragma once

// Shared by the distributed tests: a tiny backbone, a config file for CLI runs, free ports.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/test_paths.h"
#include "model/checkpoint.h"
#include "train/config.h"
#include "common/json_file.h"
#include "train/train_helpers.h"

namespace emotune::train::testing {

// A port nobody listens on right now (bound to port 0, then released).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

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

inline void expect_identical_tensors(const std::filesystem::path& a,
                                     const std::filesystem::path& b) {
  const auto left = model::load_tensors(a);
  const auto right = model::load_tensors(b);
  ASSERT_EQ(left.size(), right.size());
  for (const auto& [name, tensor] : left) {
    ASSERT_TRUE(right.count(name)) << name;
    EXPECT_TRUE(torch::equal(tensor, right.at(name))) << name;
  }
}

}  // namespace emotune::train::testing
