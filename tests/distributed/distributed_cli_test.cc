// `emotune train --nproc N` and torchrun-style workers, as real processes over Gloo.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "common/json_file.h"
#include "distributed_helpers.h"

namespace emotune::train {
namespace {

namespace fs = std::filesystem;
using emotune::testing::TempDir;

std::vector<nlohmann::json> metrics_of(const fs::path& run, int seed = 7) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(run / fmt::format("seed-{}", seed) / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class DistributedCli : public ::testing::Test {
 protected:
  void SetUp() override { testing::make_deterministic_backbone(temp_ / "backbone"); }

  // 29 rows: with a global batch of 8 the last step has 5 rows, split 2 + 3 over two ranks.
  TrainConfig config(std::int64_t per_rank_batch) const {
    auto c = testing::tiny_config(temp_ / "backbone");
    c.batch_size = per_rank_batch;
    c.train_limit = 29;
    c.epochs = 1;
    c.head_dropout = 0.0;
    return c;
  }

  TempDir temp_;
};

TEST_F(DistributedCli, OneProcessThroughTheProcessGroupIsBitIdenticalToPlainTraining) {
  const auto file = testing::write_config(temp_ / "c.toml", config(8));
  auto plain = testing::train_cli(file, temp_ / "plain");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  auto single = testing::train_cli(file, temp_ / "nproc1", "--nproc 1");
  ASSERT_EQ(single.exit_code, 0) << single.err;
  EXPECT_NE((single.out + single.err).find("effective batch 8"), std::string::npos) << single.out;
  EXPECT_EQ(read_file(temp_ / "plain" / "seed-7" / "metrics.jsonl"),
            read_file(temp_ / "nproc1" / "seed-7" / "metrics.jsonl"));
  testing::expect_same_tensors(temp_ / "plain" / "seed-7" / "last" / "model.safetensors",
                                    temp_ / "nproc1" / "seed-7" / "last" / "model.safetensors");
  testing::expect_same_tensors(temp_ / "plain" / "seed-7" / "last" / "optimizer.safetensors",
                                    temp_ / "nproc1" / "seed-7" / "last" / "optimizer.safetensors");
}

TEST_F(DistributedCli, TwoProcessesMatchOneProcessTrainingTheCombinedBatches) {
  const auto whole = testing::write_config(temp_ / "whole.toml", config(8));
  const auto half = testing::write_config(temp_ / "half.toml", config(4));
  auto one = testing::train_cli(whole, temp_ / "one");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  auto two = testing::train_cli(half, temp_ / "two", "--nproc 2");
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_NE((two.out + two.err).find("2 processes, per-process batch 4, effective batch 8"),
            std::string::npos)
      << two.out;
  EXPECT_NE(two.out.find("mean ± std"), std::string::npos);  // rank 0's summary, printed once
  EXPECT_EQ(two.out.find("mean ± std"), two.out.rfind("mean ± std"));

  // 4 AdamW steps at lr 1e-3: the parameters agree to float rounding. Rounding differs
  // (padding to the longest of 4 vs of 8 rows changes the BLAS sums), and Adam turns the
  // rounding noise of gradients that are exactly 0 in theory (attention key biases: softmax
  // ignores them) into steps of up to ~lr/10, so the largest difference is bounded by a
  // fraction of lr·steps (seen: 7e-5) and the mean by rounding (seen: 2e-9). Averaging the
  // uneven last batch (2 + 3 rows) without weighting changes that step's gradient by ~10%.
  const auto model_one = temp_ / "one" / "seed-7" / "last" / "model.safetensors";
  const auto model_two = temp_ / "two" / "seed-7" / "last" / "model.safetensors";
  EXPECT_LT(testing::max_abs_difference(model_one, model_two), 4e-4);
  EXPECT_LT(testing::mean_abs_difference(model_one, model_two), 1e-7);
  const auto a = metrics_of(temp_ / "one");
  const auto b = metrics_of(temp_ / "two");
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].at("step"), 4);
  EXPECT_EQ(b[0].at("step"), 4);
  EXPECT_NEAR(a[0].at("train_loss").get<double>(), b[0].at("train_loss").get<double>(), 1e-5);
  EXPECT_NEAR(a[0].at("avg_pearson").get<double>(), b[0].at("avg_pearson").get<double>(), 1e-3);

  const auto state = read_json(temp_ / "two" / "seed-7" / "last" / "state.json");
  EXPECT_EQ(state.at("global_batch"), 8);

  // The same job started as torchrun would (one process per rank, env variables) gives
  // exactly the --nproc result.
  const int port = testing::free_port();
  std::vector<std::thread> ranks;
  std::vector<emotune::testing::CommandResult> results(2);
  for (int rank = 0; rank < 2; ++rank) {
    ranks.emplace_back([&, rank] {
      results[static_cast<std::size_t>(rank)] = testing::train_cli(
          half, temp_ / "env", "",
          fmt::format("RANK={} LOCAL_RANK={} WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT={}",
                      rank, rank, port));
    });
  }
  for (auto& rank : ranks) rank.join();
  ASSERT_EQ(results[0].exit_code, 0) << results[0].err;
  ASSERT_EQ(results[1].exit_code, 0) << results[1].err;
  EXPECT_EQ(results[1].out, "");  // only rank 0 speaks
  testing::expect_same_tensors(temp_ / "two" / "seed-7" / "last" / "model.safetensors",
                                    temp_ / "env" / "seed-7" / "last" / "model.safetensors");
}

TEST_F(DistributedCli, AKilledRankStopsTheJobAndResumeFinishesItExactly) {
  auto c = config(4);
  c.train_limit = 32;
  c.epochs = 2;
  c.eval_every_steps = 2;  // snapshots at steps 2, 4 (epoch end), 6, 8
  const auto file = testing::write_config(temp_ / "c.toml", c);
  auto whole = testing::train_cli(file, temp_ / "whole", "--nproc 2");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;

  const auto start = std::chrono::steady_clock::now();
  auto killed = testing::train_cli(file, temp_ / "run", "--nproc 2 --dist-timeout-s 30",
                                   "EMOTUNE_TEST_DIST_FAULT=1:5:kill");
  const double elapsed = seconds_since(start);
  EXPECT_NE(killed.exit_code, 0);
  EXPECT_NE(killed.err.find("distributed training failed: rank 1"), std::string::npos)
      << killed.err;
  EXPECT_NE(killed.err.find("killed by signal 9"), std::string::npos) << killed.err;
  EXPECT_NE(killed.err.find("--resume"), std::string::npos) << killed.err;
  EXPECT_LT(elapsed, 90.0);  // loose: bounded, not a hang
  EXPECT_EQ(read_json(temp_ / "run" / "seed-7" / "last" / "state.json").at("step"), 4);

  auto resumed = emotune::testing::run_cli("--threads 1 train --resume " +
                                           emotune::testing::shell_quote((temp_ / "run").string()) +
                                           " --nproc 2 --no-progress");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE((resumed.out + resumed.err).find("resuming at step 4"), std::string::npos)
      << resumed.out;
  EXPECT_EQ(read_file(temp_ / "whole" / "seed-7" / "metrics.jsonl"),
            read_file(temp_ / "run" / "seed-7" / "metrics.jsonl"));
  testing::expect_same_tensors(temp_ / "whole" / "seed-7" / "last" / "model.safetensors",
                                    temp_ / "run" / "seed-7" / "last" / "model.safetensors");

  // Resuming with another global batch would silently change the batches: refused.
  fs::remove(temp_ / "run" / "summary.json");
  auto state = read_json(temp_ / "run" / "seed-7" / "last" / "state.json");
  state["finished"] = false;
  write_json(temp_ / "run" / "seed-7" / "last" / "state.json", state);
  auto other = emotune::testing::run_cli("--threads 1 train --resume " +
                                         emotune::testing::shell_quote((temp_ / "run").string()) +
                                         " --no-progress");
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.err.find("global batch of 8"), std::string::npos) << other.err;
}

TEST_F(DistributedCli, AHungRankMakesTheOthersFailAfterTheTimeout) {
  const auto file = testing::write_config(temp_ / "c.toml", config(4));
  const auto start = std::chrono::steady_clock::now();
  auto hung = testing::train_cli(file, temp_ / "run", "--nproc 2 --dist-timeout-s 3",
                                 "EMOTUNE_TEST_DIST_FAULT=1:2:hang");
  const double elapsed = seconds_since(start);
  EXPECT_NE(hung.exit_code, 0);
  EXPECT_NE(hung.err.find("rank 0 of 2: the gradient all-reduce of step 2 failed"),
            std::string::npos)
      << hung.err;
  EXPECT_NE(hung.err.find("did not respond within 3 s"), std::string::npos) << hung.err;
  EXPECT_NE(hung.err.find("distributed training failed: rank 0"), std::string::npos) << hung.err;
  EXPECT_LT(elapsed, 90.0);  // loose: bounded by the 3 s timeout, not a hang
}

}  // namespace
}  // namespace emotune::train
