#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/test_paths.h"

namespace emotune::eval {
namespace {

using emotune::testing::run_cli;
using emotune::testing::shell_quote;
using emotune::testing::TempDir;
using ::testing::HasSubstr;

// Six rows; the emotion part is the hand-computed case of metrics_test.cc. The expected text
// was also produced by the organizers' script on the same files.
class ScoreCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write("gold.tsv",
          "1\t1\tanger\n2\t2\tanger\n3\t3\tfear\n4\t4\tjoy\n5\t5\tjoy\n6\t6\tdisgust\n");
    write("emp.tsv", "1\t3\n3\t1\n2\t2\n5\t5\n4\t7\n6\t6\n");
    write("emo.tsv", "anger\nfear\nfear\nsadness\njoy\nanger\n");
  }
  std::string write(const std::string& name, const std::string& text) {
    write_file_atomic(dir_ / name, text);
    return shell_quote((dir_ / name).string());
  }
  std::string file(const std::string& name) { return shell_quote((dir_ / name).string()); }

  TempDir dir_;
};

constexpr const char* kTrack1 =
    "Empathy Pearson Correlation: 0.8857\n"
    "Distress Pearson Correlation: 0.8132\n"
    "Averaged Pearson Correlations: 0.84945\n";
constexpr const char* kTrack2 =
    "Micro Recall: 0.5\n"
    "Micro Precision: 0.5\n"
    "Micro F1-Score: 0.5\n"
    "Macro Recall: 0.4\n"
    "Macro Precision: 0.6\n"
    "Macro F1-Score: 0.3667\n"
    "Accuracy: 0.5\n";

TEST_F(ScoreCli, PrintsBothTracksInTheOfficialOrder) {
  const auto result = run_cli("score --gold " + file("gold.tsv") + " --emp " + file("emp.tsv") +
                              " --emo " + file("emo.tsv"));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, std::string(kTrack1) + kTrack2);
}

TEST_F(ScoreCli, PrintsOnlyTheTrackGiven) {
  const auto emp = run_cli("score --gold " + file("gold.tsv") + " --emp " + file("emp.tsv"));
  EXPECT_EQ(emp.exit_code, 0) << emp.err;
  EXPECT_EQ(emp.out, kTrack1);
  const auto emo = run_cli("score --emo " + file("emo.tsv") + " --gold " + file("gold.tsv"));
  EXPECT_EQ(emo.exit_code, 0) << emo.err;
  EXPECT_EQ(emo.out, kTrack2);
}

TEST_F(ScoreCli, ConstantPredictionsScoreZeroPrintedAsTheScriptDoes) {
  write("constant.tsv", "1\t4\n3\t4\n2\t4\n5\t4\n4\t4\n6\t4\n");
  const auto result =
      run_cli("score --gold " + file("gold.tsv") + " --emp " + file("constant.tsv"));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "Empathy Pearson Correlation: 0.8857\n"
            "Distress Pearson Correlation: 0\n"
            "Averaged Pearson Correlations: 0.44285\n");
}

TEST_F(ScoreCli, JsonHasTheSameNumbersPerClassAndConfusion) {
  const auto result = run_cli("score --json --gold " + file("gold.tsv") + " --emp " +
                              file("emp.tsv") + " --emo " + file("emo.tsv"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["empathy_pearson"].get<double>(), 0.8857);
  EXPECT_EQ(json["averaged_pearson"].get<double>(), 0.84945);
  EXPECT_EQ(json["macro_f1"].get<double>(), 0.3667);
  EXPECT_EQ(json["accuracy"].get<double>(), 0.5);
  EXPECT_EQ(json["per_class"]["disgust"]["precision"].get<double>(), 1.0);
  EXPECT_EQ(json["confusion"]["matrix"][0][2].get<int>(), 1);  // anger read as fear
}

TEST_F(ScoreCli, ScoresTheDevGoldAgainstItself) {
  const auto gold = emotune::testing::data_dir() / "wassa2021" / "goldstandard_dev_2022.tsv";
  // Its first three columns as predictions: every score is perfect.
  std::string emp, emo;
  const std::string text = read_file(gold);
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    const auto t1 = line.find('\t'), t2 = line.find('\t', t1 + 1), t3 = line.find('\t', t2 + 1);
    emp += line.substr(0, t2) + "\n";
    emo += line.substr(t2 + 1, t3 - t2 - 1) + "\n";
    start = end + 1;
  }
  write("dev_emp.tsv", emp);
  write("dev_emo.tsv", emo);
  const auto result = run_cli("score --gold " + shell_quote(gold.string()) + " --emp " +
                              file("dev_emp.tsv") + " --emo " + file("dev_emo.tsv"));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "Empathy Pearson Correlation: 1.0\nDistress Pearson Correlation: 1.0\n"
            "Averaged Pearson Correlations: 1.0\nMicro Recall: 1.0\nMicro Precision: 1.0\n"
            "Micro F1-Score: 1.0\nMacro Recall: 1.0\nMacro Precision: 1.0\n"
            "Macro F1-Score: 1.0\nAccuracy: 1.0\n");
}

TEST_F(ScoreCli, BadInputFailsWithAClearMessage) {
  struct Case {
    std::string arguments;
    std::string message;
  };
  write("short.tsv", "anger\nfear\n");
  write("bad_number.tsv", "1\t3\n3\t1\n2\tabc\n5\t5\n4\t7\n6\t6\n");
  write("bad_label.tsv", "anger\nfear\nfear\nhappy\njoy\nanger\n");
  write("empty.tsv", "");
  const std::string gold = " --gold " + file("gold.tsv");
  const std::vector<Case> cases = {
      {gold, "give --emp and/or --emo"},
      {gold + " --emo " + file("short.tsv"), "short.tsv: 2 rows, but the gold standard"},
      {gold + " --emp " + file("bad_number.tsv"),
       "bad_number.tsv:3: distress: expected a finite number, got 'abc'"},
      {gold + " --emo " + file("bad_label.tsv"), "bad_label.tsv:4: unknown emotion label 'happy'"},
      {gold + " --emo " + file("empty.tsv"), "empty.tsv: empty file"},
      {" --gold " + file("empty.tsv") + " --emo " + file("emo.tsv"), "empty.tsv: empty file"},
      {gold + " --emo " + file("absent.tsv"), "absent.tsv"},
  };
  for (const auto& c : cases) {
    const auto result = run_cli("score" + c.arguments);
    EXPECT_NE(result.exit_code, 0) << c.arguments;
    EXPECT_THAT(result.err, HasSubstr(c.message)) << c.arguments;
    EXPECT_EQ(result.out, "") << c.arguments;
  }
  const auto no_gold = run_cli("score --emo " + file("emo.tsv"));
  EXPECT_NE(no_gold.exit_code, 0);
  EXPECT_THAT(no_gold.err, HasSubstr("--gold"));
}

TEST(ScoreCliHelp, ExplainsEveryOption) {
  const auto result = run_cli("score --help");
  EXPECT_EQ(result.exit_code, 0);
  for (const char* option : {"--gold", "--emp", "--emo", "--json"}) {
    EXPECT_THAT(result.out, HasSubstr(option));
  }
  EXPECT_THAT(result.out, HasSubstr("predictions_EMO.tsv"));
}

}  // namespace
}  // namespace emotune::eval
