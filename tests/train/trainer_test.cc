#include <gtest/gtest.h>

#include <sys/types.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "runtime/threads.h"
#include "train/dataset.h"
#include "common/json_file.h"
#include "train/trainer.h"
#include "train_helpers.h"

namespace emotune::train {
namespace {

namespace fs = std::filesystem;
using emotune::testing::TempDir;
using testing::expect_same_tensors;

std::vector<nlohmann::json> read_lines(const fs::path& file) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TrainHooks quiet() {
  TrainHooks hooks;
  hooks.progress = false;
  return hooks;
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::configure_threads(1);  // the CLI children below run with --threads 1 too
    testing::make_tiny_backbone(backbone_dir());
  }
  fs::path backbone_dir() const { return temp_ / "backbone"; }
  TempDir temp_;
};

TEST_F(TrainerTest, LossFallsAndRunFolderIsComplete) {
  const auto run = temp_ / "run";
  const auto summary = run_training(testing::tiny_config(backbone_dir()),
                                    emotune::testing::data_dir(), run, false, quiet());
  const auto metrics = read_lines(run / "seed-7" / "metrics.jsonl");
  ASSERT_EQ(metrics.size(), 3u);  // one evaluation per epoch
  EXPECT_LT(metrics.back().at("train_loss").get<double>(),
            metrics.front().at("train_loss").get<double>());
  for (const auto& line : metrics) {
    EXPECT_TRUE(line.contains("pearson_empathy"));
    EXPECT_TRUE(line.contains("pearson_distress"));
    EXPECT_TRUE(line.contains("avg_pearson"));
  }
  EXPECT_TRUE(fs::exists(run / "config.toml"));
  const auto fingerprints = read_json(run / "fingerprints.json");
  EXPECT_EQ(fingerprints.at("backbone").at("files").at("config.json").get<std::string>(),
            sha256_file(backbone_dir() / "config.json"));
  EXPECT_EQ(fingerprints.at("data").at("files").size(), 3u);

  const auto best = run / "seed-7" / "best";
  for (const char* name :
       {"config.json", "model.safetensors", "emotune.json", "vocab.txt", "tokenizer_config.json"}) {
    EXPECT_TRUE(fs::exists(best / name)) << name;
  }
  const auto tensors = model::load_tensors(best / "model.safetensors");
  EXPECT_TRUE(tensors.count("electra.embeddings.word_embeddings.weight"));
  EXPECT_TRUE(tensors.count("heads.empathy.weight"));
  EXPECT_TRUE(tensors.count("heads.distress.bias"));
  EXPECT_EQ(read_json(best / "emotune.json").at("tasks"), nlohmann::json({"empathy", "distress"}));
  // best/ is an HF-style folder: the encoder loads from it (head tensors are ignored).
  const auto reloaded = model::load_encoder(best);
  EXPECT_TRUE(torch::equal(reloaded->named_parameters()["embeddings.word_embeddings.weight"],
                           tensors.at("electra.embeddings.word_embeddings.weight")));
  EXPECT_TRUE(read_json(run / "seed-7" / "last" / "state.json").at("finished").get<bool>());
  EXPECT_EQ(summary.at("best_seed").get<std::int64_t>(), 7);
  EXPECT_TRUE(fs::exists(run / "summary.json"));
  EXPECT_NE(format_summary(summary).find("mean ± std"), std::string::npos);
  // A finished run folder is not overwritten by mistake.
  EXPECT_THROW(run_training(testing::tiny_config(backbone_dir()), emotune::testing::data_dir(), run,
                            false, quiet()),
               Error);
}

TEST_F(TrainerTest, SameSeedGivesIdenticalMetricsAndWeights) {
  auto config = testing::tiny_config(backbone_dir());
  config.epochs = 1;
  config.eval_every_steps = 2;
  run_training(config, emotune::testing::data_dir(), temp_ / "a", false, quiet());
  run_training(config, emotune::testing::data_dir(), temp_ / "b", false, quiet());
  EXPECT_EQ(read_file(temp_ / "a" / "seed-7" / "metrics.jsonl"),
            read_file(temp_ / "b" / "seed-7" / "metrics.jsonl"));
  EXPECT_EQ(read_lines(temp_ / "a" / "seed-7" / "metrics.jsonl").size(), 2u);  // steps 2 and 4
  expect_same_tensors(temp_ / "a" / "seed-7" / "last" / "model.safetensors",
                      temp_ / "b" / "seed-7" / "last" / "model.safetensors");
}

TEST_F(TrainerTest, ResumeAfterCrashEndsLikeAnUninterruptedRun) {
  auto config = testing::tiny_config(backbone_dir());
  config.head_dropout = 0.2;  // dropout masks must also replay identically
  config.seeds = {7, 8};
  run_training(config, emotune::testing::data_dir(), temp_ / "whole", false, quiet());

  // Crash mid-epoch 2 of seed 7 (step 6; snapshots exist after steps 4), then resume.
  auto crashing = quiet();
  crashing.crash_after_step = 6;
  EXPECT_THROW(
      run_training(config, emotune::testing::data_dir(), temp_ / "crashed", false, crashing),
      SimulatedCrash);
  EXPECT_FALSE(fs::exists(temp_ / "crashed" / "seed-8"));
  run_training(load_run_config(temp_ / "crashed"), emotune::testing::data_dir(), temp_ / "crashed",
               true, quiet());
  for (const char* seed : {"seed-7", "seed-8"}) {
    EXPECT_EQ(read_file(temp_ / "whole" / seed / "metrics.jsonl"),
              read_file(temp_ / "crashed" / seed / "metrics.jsonl"));
    expect_same_tensors(temp_ / "whole" / seed / "last" / "model.safetensors",
                        temp_ / "crashed" / seed / "last" / "model.safetensors");
    expect_same_tensors(temp_ / "whole" / seed / "last" / "optimizer.safetensors",
                        temp_ / "crashed" / seed / "last" / "optimizer.safetensors");
    expect_same_tensors(temp_ / "whole" / seed / "best" / "model.safetensors",
                        temp_ / "crashed" / seed / "best" / "model.safetensors");
  }
  EXPECT_EQ(read_json(temp_ / "whole" / "summary.json").at("statistics"),
            read_json(temp_ / "crashed" / "summary.json").at("statistics"));
}

// A real `kill -9` of a child `emotune train` once it has written a snapshot, then
// `emotune train --resume`: the same final weights as an uninterrupted in-process run.
TEST_F(TrainerTest, KillNineDuringTrainingThenResumeViaCli) {
  auto config = testing::tiny_config(backbone_dir());
  config.epochs = 6;
  config.train_limit = 64;
  const auto config_file = temp_ / "tiny.toml";
  write_file_atomic(config_file, to_toml(config));
  run_training(config, emotune::testing::data_dir(), temp_ / "whole", false, quiet());

  const auto run = temp_ / "killed";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::execl(emotune::testing::cli_path().c_str(), "emotune", "--threads", "1", "--log-level",
            "warn", "train", config_file.c_str(), "--data", emotune::testing::data_dir().c_str(),
            "--out", run.c_str(), "--no-progress", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto state = run / "seed-7" / "last" / "state.json";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(state) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(fs::exists(state)) << "the child wrote no snapshot in time";
  const bool killed = WIFSIGNALED(status);
  const auto result =
      emotune::testing::run_cli("--threads 1 --log-level warn train --resume " +
                                emotune::testing::shell_quote(run.string()) + " --no-progress");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("mean ± std"), std::string::npos);
  EXPECT_EQ(read_file(temp_ / "whole" / "seed-7" / "metrics.jsonl"),
            read_file(run / "seed-7" / "metrics.jsonl"));
  expect_same_tensors(temp_ / "whole" / "seed-7" / "last" / "model.safetensors",
                      run / "seed-7" / "last" / "model.safetensors");
  if (!killed) GTEST_LOG_(INFO) << "the child finished before the kill; resume was a no-op";
}

TEST_F(TrainerTest, EmotionTaskScoresMacroF1) {
  auto config = testing::tiny_config(backbone_dir());
  config.tasks = {model::Task::emotion};
  config.epochs = 1;
  const auto summary =
      run_training(config, emotune::testing::data_dir(), temp_ / "run", false, quiet());
  const auto best = summary.at("seeds").at(0).at("best");
  EXPECT_EQ(best.at("selection_metric").get<std::string>(), "macro_f1");
  EXPECT_GE(best.at("macro_f1").get<double>(), 0.0);
  EXPECT_LE(best.at("accuracy").get<double>(), 1.0);
}

TEST_F(TrainerTest, HeadBiasesStartAtWhatTheTrainingTargetsPredict) {
  auto config = testing::tiny_config(backbone_dir());
  config.tasks = {model::Task::empathy, model::Task::distress, model::Task::emotion};
  config.head_bias_init = "train_targets";
  config.learning_rate = 1e-9;  // one step barely moves the biases
  config.max_steps = 1;
  config.epochs = 1;
  run_training(config, emotune::testing::data_dir(), temp_ / "run", false, quiet());
  const auto data = load_training_data(emotune::testing::data_dir(), config, 7);
  ASSERT_EQ(data.train.size(), 32u);
  double empathy = 0, distress = 0;
  std::vector<double> counts(model::emotion_labels().size(), 1.0);  // add-one smoothed
  for (const auto& example : data.train) {
    empathy += *example.empathy / 32.0;
    distress += *example.distress / 32.0;
    counts.at(static_cast<std::size_t>(*example.emotion)) += 1.0;
  }
  const auto tensors = model::load_tensors(temp_ / "run" / "seed-7" / "last" / "model.safetensors");
  EXPECT_NEAR(tensors.at("heads.empathy.bias").item<double>(), empathy, 1e-5);
  EXPECT_NEAR(tensors.at("heads.distress.bias").item<double>(), distress, 1e-5);
  const auto emotion_bias = tensors.at("heads.emotion.bias");
  for (std::size_t label = 0; label < counts.size(); ++label) {
    EXPECT_NEAR(emotion_bias[static_cast<std::int64_t>(label)].item<double>(),
                std::log(counts[label] / (32.0 + 7.0)), 1e-5)
        << model::emotion_labels()[label];
  }
  // The default keeps PyTorch's Linear init (|bias| <= 1/sqrt(hidden)), far from a mean of ~4.
  config.head_bias_init = "default";
  run_training(config, emotune::testing::data_dir(), temp_ / "default", false, quiet());
  const auto plain =
      model::load_tensors(temp_ / "default" / "seed-7" / "last" / "model.safetensors");
  EXPECT_LT(std::abs(plain.at("heads.empathy.bias").item<double>()), 1.0);
}

TEST_F(TrainerTest, BadInputsFailBeforeTraining) {
  auto config = testing::tiny_config(temp_ / "no-such-backbone");
  EXPECT_THROW(run_training(config, emotune::testing::data_dir(), temp_ / "r1", false, quiet()),
               Error);
  EXPECT_FALSE(fs::exists(temp_ / "r1"));
  config = testing::tiny_config(backbone_dir());
  try {
    run_training(config, temp_ / "empty-data", temp_ / "r2", false, quiet());
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("messages_train_ready_for_WS.tsv"), std::string::npos)
        << error.what();
  }
  EXPECT_FALSE(fs::exists(temp_ / "r2"));
}

TEST_F(TrainerTest, CliReportsConfigErrors) {
  const auto config_file = temp_ / "bad.toml";
  write_file_atomic(config_file,
                    "backbone = \"" + backbone_dir().string() + "\"\nlearning_rat = 1e-5\n");
  auto result = emotune::testing::run_cli(
      "train " + emotune::testing::shell_quote(config_file.string()) + " --out " +
      emotune::testing::shell_quote((temp_ / "run").string()));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("did you mean 'learning_rate'"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("bad.toml:2"), std::string::npos) << result.err;

  result = emotune::testing::run_cli("train --help");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("--resume"), std::string::npos);
}

}  // namespace
}  // namespace emotune::train
