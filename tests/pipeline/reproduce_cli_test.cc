// `emotune reproduce` end to end on a fake models root holding the tiny fixture encoders under
// the folder names configs/paper/ expects (no ALBERT: that member must be skipped), with
// overrides that make each member a few steps on a few essays. The whole pipeline runs twice:
// the second run must train nothing and leave the runs untouched.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/test_paths.h"
#include "data/wassa.h"
#include "eval/submission.h"

namespace emotune {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::run_cli;
using testing::shell_quote;
using testing::source_dir;

std::map<std::string, fs::file_time_type> write_times(const fs::path& dir) {
  std::map<std::string, fs::file_time_type> times;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) times[entry.path().string()] = entry.last_write_time();
  }
  return times;
}

const char* const kTrained[] = {
    "emotion-electra-base-ba",        "emotion-electra-base-noaug",   "emotion-electra-base-ra",
    "emotion-electra-large-ba",       "emotion-electra-large-ra",     "emotion-roberta-large-ba",
    "emotion-roberta-large-ra",       "multitask-electra-large",      "multitask-roberta-large",
    "vanilla-electra-large-distress", "vanilla-electra-large-empathy"};

class ReproduceCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    temp_ = std::make_unique<testing::TempDir>();
    const auto models = temp_->path() / "models";
    fs::create_directories(models);
    const auto fixtures = testing::hf_fixtures_dir();
    // The published ELECTRA discriminators are ElectraForPreTraining checkpoints.
    fs::create_directory_symlink(fixtures / "electra_pretraining",
                                 models / "electra-base-discriminator");
    fs::create_directory_symlink(fixtures / "electra", models / "electra-large-discriminator");
    fs::create_directory_symlink(fixtures / "roberta", models / "roberta-large");
    arguments_ = "--threads 1 reproduce --no-progress --models-root " +
                 shell_quote(models.string()) + " --data " +
                 shell_quote(testing::data_dir().string()) + " --out " +
                 shell_quote(out().string()) + " --configs " +
                 shell_quote((source_dir() / "configs" / "paper").string()) + " --systems " +
                 shell_quote((source_dir() / "configs" / "ensembles" / "paper.toml").string()) +
                 " --seeds 1 --set train_limit=16 --set dev_limit=8 --set max_steps=2"
                 " --set max_length=32 --set batch_size=8 --set augment_size=24"
                 " --set learning_rate=1e-3";
    first_ = run_cli(arguments_);
    if (first_.exit_code != 0) return;
    runs_before_ = write_times(out() / "runs");
    submission_before_ = read_file(out() / "submission" / "predictions.zip");
    results_after_first_ = read_file(out() / "results.md");
    second_ = run_cli(arguments_);
  }
  static void TearDownTestSuite() { temp_.reset(); }

  static fs::path out() { return temp_->path() / "out"; }
  static fs::path run(const std::string& name) { return out() / "runs" / name; }

  static std::unique_ptr<testing::TempDir> temp_;
  static std::string arguments_;
  static testing::CommandResult first_, second_;
  static std::map<std::string, fs::file_time_type> runs_before_;
  static std::string submission_before_;
  static std::string results_after_first_;
};
std::unique_ptr<testing::TempDir> ReproduceCliTest::temp_;
std::string ReproduceCliTest::arguments_;
testing::CommandResult ReproduceCliTest::first_, ReproduceCliTest::second_;
std::map<std::string, fs::file_time_type> ReproduceCliTest::runs_before_;
std::string ReproduceCliTest::submission_before_;
std::string ReproduceCliTest::results_after_first_;

TEST_F(ReproduceCliTest, TrainsEveryMemberWhoseBackboneExists) {
  ASSERT_EQ(first_.exit_code, 0) << first_.out << first_.err;
  EXPECT_THAT(first_.out, HasSubstr("emotion-albert-large-ba: skipped: its backbone folder"));
  EXPECT_THAT(first_.out, HasSubstr("'albert-large-v2' under the models root"));
  EXPECT_FALSE(fs::exists(run("emotion-albert-large-ba")));
  for (const char* name : kTrained) {
    EXPECT_TRUE(fs::exists(run(name) / "summary.json")) << name;
    EXPECT_THAT(first_.out, HasSubstr(std::string(name) + ": trained")) << name;
  }
}

TEST_F(ReproduceCliTest, BuildsTheSystemsFromTheMembersThatExist) {
  ASSERT_EQ(first_.exit_code, 0) << first_.out << first_.err;
  const auto dev = data::load_wassa(testing::data_dir(), data::Split::dev);
  const auto test = data::load_wassa(testing::data_dir(), data::Split::test);

  // Ensemble 2 goes on without ALBERT, and says so.
  const auto ensemble2 =
      json::parse(read_file(out() / "systems" / "dev" / "ensemble-2" / "system.json"));
  EXPECT_EQ(ensemble2["columns"]["emotion"]["used"].size(), 6u);
  ASSERT_EQ(ensemble2["columns"]["emotion"]["left_out"].size(), 1u);
  EXPECT_EQ(ensemble2["columns"]["emotion"]["left_out"][0]["member"], "emotion-albert-large-ba");
  EXPECT_THAT(first_.out, HasSubstr("ensemble-2: emotion member emotion-albert-large-ba left out"));
  // With one seed there is no second-best multi-task ELECTRA for the distress column.
  EXPECT_THAT(first_.out, HasSubstr("track1: distress member multitask-electra-large#2 left out"));

  // Ensemble 1 is the sum of its three members' probabilities, then the argmax.
  const auto system =
      eval::read_predictions(out() / "systems" / "dev" / "ensemble-1" / "predictions.tsv");
  ASSERT_EQ(system.size(), dev.rows.size());
  std::vector<eval::Predictions> members;
  for (const char* name :
       {"emotion-electra-base-ra", "emotion-electra-base-ba", "emotion-electra-large-ra"}) {
    members.push_back(
        eval::read_predictions(run(name) / "predictions" / "dev" / "predictions.tsv"));
  }
  for (std::size_t row = 0; row < system.size(); ++row) {
    std::vector<double> sum(system.labels.size(), 0.0);
    for (const auto& member : members)
      for (std::size_t c = 0; c < sum.size(); ++c) sum[c] += member.probabilities[row][c];
    const auto best = std::max_element(sum.begin(), sum.end()) - sum.begin();
    ASSERT_EQ(system.emotion[row], best) << "row " << row;
  }

  // The Track I empathy column is the mean of multi-task RoBERTa and vanilla ELECTRA.
  const auto track1 =
      eval::read_predictions(out() / "systems" / "dev" / "track1" / "predictions.tsv");
  const auto roberta = eval::read_predictions(run("multitask-roberta-large") / "predictions" /
                                              "dev" / "predictions.tsv");
  // A vanilla member's cache is a prediction folder with its one regression column.
  const auto vanilla = eval::read_predictions(run("vanilla-electra-large-empathy") /
                                              "predictions" / "dev" / "predictions.tsv");
  ASSERT_EQ(vanilla.size(), dev.rows.size());
  EXPECT_TRUE(vanilla.has_empathy());
  EXPECT_FALSE(vanilla.has_distress());
  for (std::size_t row = 0; row < dev.rows.size(); row += 29) {
    EXPECT_NEAR(track1.empathy[row], (roberta.empathy[row] + vanilla.empathy[row]) / 2, 1e-6)
        << row;
  }
  EXPECT_FALSE(track1.has_emotion);

  // Test predictions of every system, in the test split's order.
  for (const char* name : {"track1", "ensemble-1", "ensemble-2"}) {
    const auto on_test =
        eval::read_predictions(out() / "systems" / "test" / name / "predictions.tsv");
    ASSERT_EQ(on_test.size(), test.rows.size()) << name;
    EXPECT_EQ(on_test.ids.front(), test.rows.front().id);
    EXPECT_EQ(on_test.ids.back(), test.rows.back().id);
    EXPECT_TRUE(fs::exists(out() / "systems" / "test" / name / "predictions.zip")) << name;
  }
}

TEST_F(ReproduceCliTest, WritesTheSubmissionReportAndComparison) {
  ASSERT_EQ(first_.exit_code, 0) << first_.out << first_.err;
  const auto test = data::load_wassa(testing::data_dir(), data::Split::test);
  const auto submission = out() / "submission";
  const auto emp = eval::read_emp_predictions(submission / "predictions_EMP.tsv");
  const auto emo = eval::read_emo_predictions(submission / "predictions_EMO.tsv");
  EXPECT_EQ(emp.size(), test.rows.size());
  EXPECT_EQ(emo.size(), test.rows.size());
  const auto archive = eval::read_submission_zip(submission / "predictions.zip");
  ASSERT_TRUE(archive.empathy && archive.emotions);
  EXPECT_EQ(*archive.emotions, emo);
  // The Track II file is the submitted Ensemble 1's, not Ensemble 2's.
  EXPECT_EQ(read_file(submission / "predictions_EMO.tsv"),
            read_file(out() / "systems" / "test" / "ensemble-1" / "predictions_EMO.tsv"));
  EXPECT_EQ(read_file(submission / "predictions_EMP.tsv"),
            read_file(out() / "systems" / "test" / "track1" / "predictions_EMP.tsv"));

  const auto html = read_file(out() / "report" / "report.html");
  for (const char* text : {"<svg", "Figure 2a", "Figure 3", "ensemble-1", "ensemble-2", "track1",
                           "multitask-roberta-large"}) {
    EXPECT_THAT(html, HasSubstr(text));
  }
  EXPECT_THAT(first_.out, HasSubstr("paper (dev)"));
  EXPECT_THAT(first_.out, HasSubstr("0.5528"));
  const auto& results = results_after_first_;
  EXPECT_THAT(results, HasSubstr("| ensemble-2 | built | macro-F1 |"));
  EXPECT_THAT(results, HasSubstr("| emotion-electra-base-ba | trained | macro-F1 |"));
  EXPECT_THAT(results, HasSubstr("| vanilla-electra-large-empathy | trained | empathy r |"));
  EXPECT_THAT(results, HasSubstr("| emotion-albert-large-ba | skipped: its backbone folder"));
}

TEST_F(ReproduceCliTest, ASecondRunTrainsNothingAndChangesNoRun) {
  ASSERT_EQ(first_.exit_code, 0) << first_.out << first_.err;
  ASSERT_EQ(second_.exit_code, 0) << second_.out << second_.err;
  for (const char* name : kTrained) {
    EXPECT_THAT(second_.out, HasSubstr(std::string(name) + ": done (finished run")) << name;
  }
  EXPECT_THAT(second_.out, Not(HasSubstr(": training in")));
  EXPECT_THAT(second_.out, Not(HasSubstr("computing")));  // predictions came from the caches
  EXPECT_EQ(write_times(out() / "runs"), runs_before_);
  EXPECT_EQ(read_file(out() / "submission" / "predictions.zip"), submission_before_);
}

TEST_F(ReproduceCliTest, OptionMistakesAreClearErrors) {
  auto result = run_cli(arguments_ + " --only ensemble-9");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("--only ensemble-9: no such member or ensemble"));
  EXPECT_THAT(result.err, HasSubstr("ensemble-1"));

  // Another config for finished members is refused before anything is overwritten.
  result = run_cli(arguments_ + " --only emotion-electra-base-ba --set learning_rate=2e-3");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("learning_rate"));
  EXPECT_THAT(result.err, HasSubstr("another config"));

  result = run_cli("reproduce --models-root " + shell_quote((temp_->path() / "nowhere").string()) +
                   " --data " + shell_quote(testing::data_dir().string()));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("nowhere: the models root is not a folder"));
}

// The issue's bad inputs, on the runs trained above: members of different label orders,
// predictions of different lengths or ids, and a missing split (members of different tasks
// combine per task).
TEST_F(ReproduceCliTest, EnsemblesOfMismatchedMembersAreClearErrors) {
  ASSERT_EQ(first_.exit_code, 0) << first_.out << first_.err;
  const std::string data = " --data " + shell_quote(testing::data_dir().string());
  const auto ensemble = [&](const fs::path& a, const fs::path& b, const std::string& split) {
    return run_cli("ensemble " + shell_quote(a.string()) + " " + shell_quote(b.string()) + data +
                   split + " --out " + shell_quote((temp_->path() / "bad-ensemble").string()));
  };
  const auto emotion_run = run("emotion-electra-base-ba");
  const auto multitask_run = run("multitask-electra-large");

  // Runs trained for different tasks are no mismatch: they make one system for both tracks,
  // each task from the members that predict it (issue #20).
  auto result = ensemble(emotion_run, multitask_run, " --split dev");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto both = eval::read_predictions(temp_->path() / "bad-ensemble" / "predictions.tsv");
  EXPECT_TRUE(both.has_both_regression());
  EXPECT_TRUE(both.has_emotion);
  fs::remove_all(temp_->path() / "bad-ensemble");

  // The same labels in another order (a run whose probability columns are permuted).
  const auto permuted = temp_->path() / "permuted";
  fs::create_directories(permuted);
  auto text = read_file(emotion_run / "predictions" / "dev" / "predictions.tsv");
  const auto header_end = text.find('\n');
  auto header = text.substr(0, header_end);
  const auto swap = [&](const std::string& a, const std::string& b) {
    header.replace(header.find(a), a.size(), "@");
    header.replace(header.find(b), b.size(), a);
    header.replace(header.find("@"), 1, b);
  };
  swap("p_anger", "p_fear");
  write_file_atomic(permuted / "predictions.tsv", header + text.substr(header_end));
  result = ensemble(emotion_run, permuted, " --split dev");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("labels (fear, disgust, anger"));

  // Predictions of a different length, and with other ids.
  const auto shorter = temp_->path() / "shorter";
  fs::create_directories(shorter);
  write_file_atomic(shorter / "predictions.tsv",
                    text.substr(0, text.rfind('\n', text.size() - 2) + 1));
  result = ensemble(emotion_run, shorter, " --split dev");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("shorter"));
  EXPECT_THAT(result.err, HasSubstr("the dev split has"));
  const auto other_ids = temp_->path() / "other-ids";
  fs::create_directories(other_ids);
  const auto first_row = header_end + 1;
  const auto first_tab = text.find('\t', first_row);
  write_file_atomic(other_ids / "predictions.tsv",
                    text.substr(0, first_row) + "not-an-id" + text.substr(first_tab));
  result = ensemble(emotion_run, other_ids, " --split dev");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("row 1 has id not-an-id"));

  // Test predictions where dev ones are needed, and no split at all.
  result = ensemble(out() / "systems" / "test" / "ensemble-1", emotion_run, " --split dev");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("holds predictions for test, not the dev split"));
  result = ensemble(emotion_run, emotion_run, "");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("--split"));

  // A data folder without the test split.
  const auto partial = temp_->path() / "partial-data";
  fs::create_directories(partial / "wassa2021");
  for (const auto name :
       {data::kWassaTrainFile, data::kWassaDevFeaturesFile, data::kWassaDevGoldFile}) {
    fs::create_symlink(testing::data_dir() / "wassa2021" / name, partial / "wassa2021" / name);
  }
  result = run_cli("ensemble " + shell_quote(emotion_run.string()) + " " +
                   shell_quote(run("emotion-electra-base-ra").string()) + " --data " +
                   shell_quote(partial.string()) + " --split test --out " +
                   shell_quote((temp_->path() / "bad-ensemble").string()));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("messages_test_features_ready_for_WS_2022.tsv"));
}

}  // namespace
}  // namespace emotune
