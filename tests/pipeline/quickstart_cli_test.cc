// `emotune quickstart` end to end with the shipped configs/quick/ made tiny by overrides: a
// vocabulary, the TF-IDF baseline, a few seconds of ELECTRA pre-training at the fixture's shape,
// fine-tuning from it and (--ablation) from random init, seed ensembles, submission and table.
// A second run must train nothing and print the same table.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/test_paths.h"

namespace emotune {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::run_cli;
using testing::shell_quote;
using testing::source_dir;

class QuickstartCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    temp_ = std::make_unique<testing::TempDir>();
    arguments_ =
        "--threads 1 quickstart --no-progress --no-report --ablation --seeds 1,2 --data " +
        shell_quote(testing::data_dir().string()) + " --out " +
        shell_quote((temp_->path() / "out").string()) +
        " --budget-minutes 0.2 --pretrain-share 0.5 --pretrain-config " +
        shell_quote((testing::hf_fixtures_dir() / "electra_pretraining" / "config.json").string()) +
        " --configs " + shell_quote((source_dir() / "configs" / "quick").string()) + " --systems " +
        shell_quote((source_dir() / "configs" / "ensembles" / "paper.toml").string()) +
        " --set train_limit=16 --set dev_limit=8 --set epochs=1 --set max_length=32"
        " --set eval_every_steps=0 --set augment_size=40 --set batch_size=8";
    first_ = run_cli(arguments_);
  }
  static void TearDownTestSuite() { temp_.reset(); }
  static fs::path out() { return temp_->path() / "out"; }

  static std::unique_ptr<testing::TempDir> temp_;
  static std::string arguments_;
  static testing::CommandResult first_;
};
std::unique_ptr<testing::TempDir> QuickstartCliTest::temp_;
std::string QuickstartCliTest::arguments_;
testing::CommandResult QuickstartCliTest::first_;

TEST_F(QuickstartCliTest, RunsEveryStepAndPrintsTheTable) {
  ASSERT_EQ(first_.exit_code, 0) << first_.err;
  EXPECT_TRUE(fs::is_regular_file(out() / "vocab" / "vocab.txt"));
  const auto pretraining =
      nlohmann::json::parse(read_file(out() / "pretrained" / "pretraining.json"));
  EXPECT_GT(pretraining.at("steps_done").get<int>(), 0);
  EXPECT_TRUE(fs::is_regular_file(out() / "pretrained" / "model.safetensors"));
  for (const char* member :
       {"multitask", "emotion", "multitask-random-init", "emotion-random-init"})
    EXPECT_TRUE(fs::is_regular_file(out() / "runs" / member / "summary.json")) << member;
  EXPECT_TRUE(fs::is_regular_file(out() / "submission" / "predictions.zip"));
  const auto table = read_file(out() / "quickstart.md");
  for (const char* row : {"| track1 |", "| track2 |", "| track1-random-init |",
                          "| track2-random-init |", "| tfidf-baseline |"})
    EXPECT_THAT(table, HasSubstr(row));
  EXPECT_THAT(first_.out, HasSubstr("tfidf-baseline"));
  const auto baseline = nlohmann::json::parse(read_file(out() / "baseline.json"));
  EXPECT_GT(baseline.at("macro_f1").get<double>(), 0.2) << "the baseline is fitted on all of train";
}

TEST_F(QuickstartCliTest, ASecondRunTrainsNothingAndPrintsTheSameScores) {
  ASSERT_EQ(first_.exit_code, 0) << first_.err;
  const auto before = read_file(out() / "results.md");
  const auto second = run_cli(arguments_);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const auto log = second.err + second.out;
  EXPECT_THAT(log, HasSubstr("pre-trained checkpoint"));
  EXPECT_THAT(log, HasSubstr("not retrained"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr(": training in"))) << log;
  // The members now say "done" where they said "trained"; every score is the same.
  auto after = read_file(out() / "results.md");
  for (std::size_t at; (at = after.find("| done |")) != std::string::npos;)
    after.replace(at, 8, "| trained |");
  EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace emotune
