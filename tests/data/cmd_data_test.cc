// The `emotune data stats` subcommand, run as a user would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/test_paths.h"

namespace emotune::data {
namespace {

using emotune::testing::data_dir;
using emotune::testing::run_cli;
using emotune::testing::shell_quote;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string data_arg() {
  return "--data " + shell_quote(data_dir().string());
}

TEST(CmdDataStats, PrintsCountsDistributionsAndLengths) {
  const auto result = run_cli("data stats " + data_arg());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out,
              AllOf(HasSubstr("wassa/train: 1860 rows"), HasSubstr("wassa/dev: 270 rows"),
                    HasSubstr("wassa/test: 525 rows"), HasSubstr("goemotions/train: 39555 rows"),
                    HasSubstr("file rows 43410, spanning several Ekman classes 3855, skipped 3855"),
                    HasSubstr("goemotions/dev: 4946 rows"), HasSubstr("goemotions/test: 4968 rows"),
                    HasSubstr("sadness 647 (34.8%)"),
                    // pandas: mean 3.6999, std 1.8254 (n-1) over the train empathy column
                    HasSubstr("empathy: mean 3.700, std 1.825"),
                    HasSubstr("distress: mean 3.731, std 1.892"),
                    // Python len(essay.split()) percentiles, numpy linear interpolation
                    HasSubstr("length (words): p50 74, p90 124, p99 153, max 163")));
}

TEST(CmdDataStats, JsonWithBalancedAugmentation) {
  const auto result = run_cli("data stats --json --augment ba --seed 3 " + data_arg());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  const auto& augmented = json.at("splits").at("augmented-ba/train");
  EXPECT_EQ(augmented.at("rows"), 2800);
  EXPECT_EQ(augmented.at("wassa_examples"), 1860);
  EXPECT_EQ(augmented.at("goemotions_examples"), 940);
  EXPECT_EQ(augmented.at("emotion").at("joy"), 359);
  EXPECT_EQ(json.at("splits").at("wassa/dev").at("emotion").at("sadness"), 98);
  EXPECT_NEAR(json.at("splits").at("wassa/dev").at("empathy").at("mean").get<double>(),
              3.558040740740741, 1e-12);
  EXPECT_EQ(json.at("augment").at("seed"), 3);
}

TEST(CmdDataStats, RandomAugmentationAndFirstPolicy) {
  const auto result =
      run_cli("data stats --augment ra --augment-size 250 --multi-label first " + data_arg());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, AllOf(HasSubstr("augmented-ra/train: 2110 rows"),
                                HasSubstr("from wassa 1860, from goemotions 250"),
                                HasSubstr("goemotions/train: 43410 rows")));
}

TEST(CmdDataStats, BadDataDirIsAClearError) {
  const auto result = run_cli("data stats --data /nonexistent/emotune-data");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err,
              AllOf(HasSubstr("emotune: error:"), HasSubstr("/nonexistent/emotune-data"),
                    HasSubstr("does not exist")));
  emotune::testing::TempDir empty;
  const auto missing = run_cli("data stats --data " + shell_quote(empty.path().string()));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err,
              AllOf(HasSubstr("messages_train_ready_for_WS.tsv"), HasSubstr("no such file")));
}

TEST(CmdDataStats, BadOptionsAreRejected) {
  EXPECT_NE(run_cli("data stats --augment xx " + data_arg()).exit_code, 0);
  EXPECT_NE(run_cli("data stats --multi-label all " + data_arg()).exit_code, 0);
  const auto no_model = run_cli("data stats --model /nonexistent/model " + data_arg());
  EXPECT_NE(no_model.exit_code, 0);
  EXPECT_THAT(no_model.err, HasSubstr("/nonexistent/model"));
  const auto help = run_cli("data stats --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, AllOf(HasSubstr("--augment-size"), HasSubstr("--multi-label"),
                              HasSubstr("--model"), HasSubstr("--json"), HasSubstr("--seed")));
}

}  // namespace
}  // namespace emotune::data
