#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <thread>

#include "common/error.h"
#include "distributed_helpers.h"
#include "runtime/threads.h"
#include "train/data_parallel.h"
#include "train/distributed.h"

namespace emotune::train {
namespace {

using Variables = std::map<std::string, std::string>;

std::optional<WorkerEnvironment> environment_of(const Variables& variables) {
  return worker_environment([&](const char* name) -> const char* {
    const auto found = variables.find(name);
    return found == variables.end() ? nullptr : found->second.c_str();
  });
}

TEST(LocalShard, FullGlobalBatchesGiveEveryRankThePerRankBatch) {
  const std::vector<std::size_t> batch{10, 11, 12, 13, 14, 15, 16, 17};
  const auto first = local_shard(batch, 0, 2);
  const auto second = local_shard(batch, 1, 2);
  EXPECT_EQ(first.chosen, (std::vector<std::size_t>{10, 11, 12, 13}));
  EXPECT_EQ(second.chosen, (std::vector<std::size_t>{14, 15, 16, 17}));
  EXPECT_EQ(first.rows, 4);
  EXPECT_EQ(second.rows, 4);
  EXPECT_EQ(local_shard(batch, 0, 1).chosen, batch);
}

TEST(LocalShard, ShortLastBatchIsSplitEvenlyAndAnEmptyShareGetsAStandIn) {
  const std::vector<std::size_t> batch{1, 2, 3, 4, 5};
  EXPECT_EQ(local_shard(batch, 0, 2).chosen, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(local_shard(batch, 1, 2).chosen, (std::vector<std::size_t>{3, 4, 5}));
  const std::vector<std::size_t> one{7};
  const auto empty = local_shard(one, 0, 2);
  EXPECT_EQ(empty.rows, 0);
  EXPECT_EQ(empty.chosen, (std::vector<std::size_t>{7}));  // stand-in, weighted by 0
  EXPECT_EQ(local_shard(one, 1, 2).rows, 1);
  // Every row is trained by exactly one rank.
  std::int64_t total = 0;
  for (int r = 0; r < 3; ++r) total += local_shard(batch, r, 3).rows;
  EXPECT_EQ(total, 5);
}

TEST(WorkerEnvironment, NoneMeansOneProcess) {
  EXPECT_FALSE(environment_of({}).has_value());
  EXPECT_FALSE(environment_of({{"SLURM_STEP_NUM_TASKS", "1"}, {"SLURM_PROCID", "0"}}).has_value());
  // An sbatch script with --ntasks 4 is not rank 0 of 4: only srun's tasks are.
  EXPECT_FALSE(environment_of({{"SLURM_NTASKS", "4"}, {"SLURM_PROCID", "0"}}).has_value());
}

TEST(WorkerEnvironment, TorchrunVariables) {
  const auto environment = environment_of({{"RANK", "3"},
                                           {"WORLD_SIZE", "4"},
                                           {"LOCAL_RANK", "1"},
                                           {"MASTER_ADDR", "node7"},
                                           {"MASTER_PORT", "29400"},
                                           {"TORCHELASTIC_USE_AGENT_STORE", "True"}});
  ASSERT_TRUE(environment.has_value());
  EXPECT_EQ(environment->rank, 3);
  EXPECT_EQ(environment->world_size, 4);
  EXPECT_EQ(environment->local_rank, 1);
  EXPECT_EQ(environment->master_addr, "node7");
  EXPECT_EQ(environment->master_port, 29400);
  EXPECT_TRUE(environment->external_store);
  EXPECT_EQ(device_for_rank("cuda", *environment), "cuda:1");
  EXPECT_EQ(device_for_rank("cuda:0", *environment), "cuda:0");
  EXPECT_EQ(device_for_rank("cpu", *environment), "cpu");
}

TEST(WorkerEnvironment, SlurmFallback) {
  const auto environment = environment_of({{"SLURM_STEP_NUM_TASKS", "8"},
                                           {"SLURM_PROCID", "5"},
                                           {"SLURM_LOCALID", "1"},
                                           {"MASTER_ADDR", "gpu01"}});
  ASSERT_TRUE(environment.has_value());
  EXPECT_EQ(environment->rank, 5);
  EXPECT_EQ(environment->world_size, 8);
  EXPECT_EQ(environment->local_rank, 1);
  EXPECT_EQ(environment->master_port, 29500);
  EXPECT_FALSE(environment->external_store);
}

TEST(WorkerEnvironment, MissingOrMalformedVariablesAreNamed) {
  try {
    environment_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1234"}});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MASTER_ADDR"), std::string::npos) << e.what();
  }
  try {
    environment_of(
        {{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("RANK=2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(environment_of({{"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_PROCID", "0"}}), Error);
}

// Two ranks in one process (one thread each) over a real Gloo group on 127.0.0.1.
class TwoRanks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { runtime::configure_threads(1); }

  template <typename Work>
  void run_both(Work work, DistributedOptions options = {}) {
    const int port = testing::free_port();
    auto launch = [&](int rank) {
      WorkerEnvironment environment;
      environment.rank = rank;
      environment.world_size = 2;
      environment.master_addr = "127.0.0.1";
      environment.master_port = port;
      environment.source = "test";
      auto group = join_process_group(environment, options);
      work(*group);
    };
    auto other = std::async(std::launch::async, launch, 1);
    launch(0);
    other.get();
  }
};

TEST_F(TwoRanks, AverageGradientsIsTheGlobalBatchMeanInEveryBucket) {
  DistributedOptions options;
  options.bucket_bytes = 16;  // 4 floats: several buckets, one parameter split over none
  std::array<std::vector<torch::Tensor>, 2> results;
  std::array<double, 2> losses{};
  run_both(
      [&](DataParallel& group) {
        const int rank = group.rank();
        std::vector<torch::Tensor> parameters;
        for (const auto size : {3, 5, 2}) {
          auto parameter = torch::zeros({size}, torch::requires_grad());
          parameter.mutable_grad() =
              torch::arange(size, torch::kFloat32) + static_cast<float>(10 * (rank + 1));
          parameters.push_back(parameter);
        }
        // Rank 0 trained 2 rows, rank 1 three, of a global batch of 5.
        losses[rank] =
            group.average_gradients(parameters, rank == 0 ? 1.0 : 2.0, rank == 0 ? 2 : 3, 5, 1);
        for (const auto& parameter : parameters) results[rank].push_back(parameter.grad().clone());
      },
      options);
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_DOUBLE_EQ(losses[rank], (2 * 1.0 + 3 * 2.0) / 5);
    std::size_t i = 0;
    for (const auto size : {3, 5, 2}) {
      const auto base = torch::arange(size, torch::kFloat32);
      const auto expected = (2 * (base + 10) + 3 * (base + 20)) / 5;
      EXPECT_TRUE(torch::allclose(results[rank][i], expected)) << results[rank][i];
      ++i;
    }
  }
}

TEST_F(TwoRanks, BroadcastGivesEveryRankRankZerosStateAndDocument) {
  std::array<torch::Tensor, 2> tensors;
  std::array<std::string, 2> documents;
  run_both([&](DataParallel& group) {
    const int rank = group.rank();
    tensors[rank] = torch::full({4}, static_cast<double>(rank + 1), torch::kFloat32);
    auto counter = torch::tensor({static_cast<std::int64_t>(rank * 100)}, torch::kInt64);
    documents[rank] = rank == 0 ? R"({"step": 12, "text": "ünïcode"})" : "";
    group.broadcast_from_coordinator({tensors[rank], counter}, documents[rank]);
    EXPECT_EQ(counter.item<std::int64_t>(), 0);
    group.wait_for_coordinator();
  });
  EXPECT_TRUE(torch::equal(tensors[1], torch::ones({4})));
  EXPECT_EQ(documents[1], documents[0]);
  EXPECT_EQ(nlohmann::json::parse(documents[1]).at("step"), 12);
}

TEST(Rendezvous, AMissingRankIsAnErrorWithinTheTimeout) {
  WorkerEnvironment environment;
  environment.rank = 0;
  environment.world_size = 2;
  environment.master_addr = "127.0.0.1";
  environment.master_port = testing::free_port();
  environment.source = "test";
  DistributedOptions options;
  options.timeout = std::chrono::seconds(2);
  const auto start = std::chrono::steady_clock::now();
  try {
    join_process_group(environment, options);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("rank 0 of 2"), std::string::npos) << message;
    EXPECT_NE(message.find("did not all join"), std::string::npos) << message;
  }
  // Loose bound: the 2 s timeout, not a hang.
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 60);
}

TEST(Backend, NcclWithoutNcclBuildIsAClearError) {
  if (nccl_available()) GTEST_SKIP() << "this build has NCCL";
  WorkerEnvironment environment;
  environment.master_addr = "127.0.0.1";
  environment.master_port = 1;
  DistributedOptions options;
  options.backend = "nccl";
  try {
    join_process_group(environment, options);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("without NCCL"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace emotune::train
