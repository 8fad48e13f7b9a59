// End-to-end tests of `emotune predict`, `emotune ensemble` and `emotune report` on runs
// trained here from the tiny fixture ELECTRA (a few steps on a few essays).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/test_paths.h"
#include "data/wassa.h"
#include "eval/submission.h"
#include "predict/ensemble_predictor.h"

namespace emotune {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;
using testing::shell_quote;

std::string data_option() {
  return " --data " + shell_quote(testing::data_dir().string());
}

class PredictCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    temp_ = std::make_unique<testing::TempDir>();
    const auto config = temp_->path() / "tiny.toml";
    write_file_atomic(config, testing::tiny_electra_config(64));
    for (const char* seed : {"7", "8"}) {
      const auto run = temp_->path() / (std::string("run-") + seed);
      const auto result = run_cli(
          "--threads 1 --log-level warn train " + shell_quote(config.string()) + data_option() +
          " --no-progress --seeds " + seed + " --out " + shell_quote(run.string()));
      ASSERT_EQ(result.exit_code, 0) << result.err;
    }
    dev_rows_ = data::load_wassa(testing::data_dir(), data::Split::dev).rows.size();
  }
  static void TearDownTestSuite() { temp_.reset(); }

  static fs::path run(const char* seed) { return temp_->path() / (std::string("run-") + seed); }
  static fs::path dir(const std::string& name) { return temp_->path() / name; }

  static std::unique_ptr<testing::TempDir> temp_;
  static std::size_t dev_rows_;
};
std::unique_ptr<testing::TempDir> PredictCliTest::temp_;
std::size_t PredictCliTest::dev_rows_ = 0;

TEST_F(PredictCliTest, DevSplitWritesSubmissionFilesAndPrintsScores) {
  const auto out = dir("pred-dev");
  const auto result =
      run_cli("--threads 1 predict " + shell_quote(run("7").string()) + data_option() +
              " --split dev --batch-size 5 --out " + shell_quote(out.string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Pearson"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("Macro F1"), std::string::npos) << result.out;

  const auto predictions = eval::read_predictions(out / "predictions.tsv");
  ASSERT_EQ(predictions.size(), dev_rows_);
  EXPECT_TRUE(predictions.has_regression);
  EXPECT_TRUE(predictions.has_emotion);
  const auto dev = data::load_wassa(testing::data_dir(), data::Split::dev);
  EXPECT_EQ(predictions.ids.front(), dev.rows.front().id);
  EXPECT_EQ(predictions.ids.back(), dev.rows.back().id);
  for (const auto& row : predictions.probabilities) {
    double sum = 0;
    for (const double p : row) sum += p;
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }

  const auto emp = eval::read_emp_predictions(out / "predictions_EMP.tsv");
  const auto emo = eval::read_emo_predictions(out / "predictions_EMO.tsv");
  ASSERT_EQ(emp.size(), dev_rows_);
  ASSERT_EQ(emo.size(), dev_rows_);
  EXPECT_NEAR(emp.empathy[3], predictions.empathy[3], 1e-6);
  const auto archive = eval::read_submission_zip(out / "predictions.zip");
  ASSERT_TRUE(archive.empathy && archive.emotions);
  EXPECT_EQ(archive.empathy->size(), dev_rows_);
  EXPECT_EQ(*archive.emotions, emo);
  // Header-less: the first line is numbers, not column names.
  const std::string emp_text = read_file(out / "predictions_EMP.tsv");
  EXPECT_EQ(emp_text.find("empathy"), std::string::npos);

  // `emotune score` agrees with the scores predict printed.
  const auto score = run_cli(
      "score --gold " +
      shell_quote((testing::data_dir() / "wassa2021" / "goldstandard_dev_2022.tsv").string()) +
      " --zip " + shell_quote((out / "predictions.zip").string()));
  ASSERT_EQ(score.exit_code, 0) << score.err;
  EXPECT_NE(result.out.find(score.out), std::string::npos) << result.out << "\nvs\n" << score.out;
}

TEST_F(PredictCliTest, InputFilesInThreeFormatsGiveTheSamePredictions) {
  write_file_atomic(dir("in.tsv"), "id\tessay\na1\tI feel so sad for them.\na2\tWhat a joy!\n");
  write_file_atomic(dir("in.csv"),
                    "essay,id\n\"I feel so sad for them.\",a1\n\"What a joy!\",a2\n");
  write_file_atomic(dir("in.jsonl"),
                    "{\"id\": \"a1\", \"essay\": \"I feel so sad for them.\"}\n"
                    "{\"id\": \"a2\", \"essay\": \"What a joy!\"}\n");
  std::vector<eval::Predictions> outputs;
  for (const char* name : {"in.tsv", "in.csv", "in.jsonl"}) {
    const auto out = dir(std::string("pred-") + name);
    const auto result =
        run_cli("--threads 1 predict " + shell_quote(run("7").string()) + " --input " +
                shell_quote(dir(name).string()) + " --out " + shell_quote(out.string()));
    ASSERT_EQ(result.exit_code, 0) << name << ": " << result.err;
    EXPECT_FALSE(fs::exists(out / "predictions_EMP.tsv")) << "no submission files for inputs";
    outputs.push_back(eval::read_predictions(out / "predictions.tsv"));
  }
  for (const auto& predictions : outputs) {
    ASSERT_EQ(predictions.size(), 2u);
    EXPECT_EQ(predictions.ids, (std::vector<std::string>{"a1", "a2"}));
    EXPECT_NEAR(predictions.empathy[0], outputs.front().empathy[0], 1e-9);
    EXPECT_EQ(predictions.emotion, outputs.front().emotion);
  }
}

TEST_F(PredictCliTest, BadInputsAreClearErrors) {
  write_file_atomic(dir("no-essay.tsv"), "id\ttext\n1\thello\n");
  auto result = run_cli("predict " + shell_quote(run("7").string()) + " --input " +
                        shell_quote(dir("no-essay.tsv").string()) + " --out " +
                        shell_quote(dir("x").string()));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("no-essay.tsv"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("essay"), std::string::npos) << result.err;

  write_file_atomic(dir("bad.jsonl"), "{\"id\": \"a\", \"essay\": \"ok\"}\n{\"id\": 1}\n");
  result =
      run_cli("predict " + shell_quote(run("7").string()) + " --input " +
              shell_quote(dir("bad.jsonl").string()) + " --out " + shell_quote(dir("x").string()));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("bad.jsonl:2"), std::string::npos) << result.err;

  result = run_cli("predict " + shell_quote(run("7").string()) + " --out " +
                   shell_quote(dir("x").string()));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("--split"), std::string::npos) << result.err;

  result = run_cli("predict " + shell_quote(dir("no-such-run").string()) + " --input " +
                   shell_quote(dir("no-essay.tsv").string()) + " --out " +
                   shell_quote(dir("x").string()));
  EXPECT_EQ(result.exit_code, 1);
}

TEST_F(PredictCliTest, EnsembleOfTwoRunsWithWeights) {
  const auto out = dir("ens");
  const auto result =
      run_cli("--threads 1 ensemble " + shell_quote(run("7").string()) + " " +
              shell_quote(run("8").string()) + data_option() +
              " --split dev --weights 3,1 --method prob-sum --out " + shell_quote(out.string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Macro F1"), std::string::npos) << result.out;

  const auto ensemble = nlohmann::json::parse(read_file(out / "ensemble.json"));
  ASSERT_EQ(ensemble["members"].size(), 2u);
  EXPECT_NEAR(ensemble["members"][0]["regression_weight"].get<double>(), 0.75, 1e-12);
  EXPECT_NEAR(ensemble["members"][1]["emotion_weight"].get<double>(), 0.25, 1e-12);
  EXPECT_EQ(ensemble["method"], "prob-sum");

  // Members' predictions were computed once and cached in the run folders.
  const auto a = eval::read_predictions(run("7") / "predictions" / "dev" / "predictions.tsv");
  const auto b = eval::read_predictions(run("8") / "predictions" / "dev" / "predictions.tsv");
  const auto combined = eval::read_predictions(out / "predictions.tsv");
  ASSERT_EQ(combined.size(), dev_rows_);
  for (std::size_t i = 0; i < combined.size(); i += 37) {
    EXPECT_NEAR(combined.empathy[i], 0.75 * a.empathy[i] + 0.25 * b.empathy[i], 1e-5);
  }
  EXPECT_EQ(eval::read_emo_predictions(out / "predictions_EMO.tsv").size(), dev_rows_);
  EXPECT_EQ(eval::read_emp_predictions(out / "predictions_EMP.tsv").size(), dev_rows_);

  // The ensemble folder works as a member itself (nested ensemble), with optimized weights.
  const auto nested = run_cli("--threads 1 ensemble " + shell_quote(out.string()) + " " +
                              shell_quote(run("8").string()) + data_option() +
                              " --split dev --optimize-weights --method vote --out " +
                              shell_quote(dir("ens2").string()));
  ASSERT_EQ(nested.exit_code, 0) << nested.err;
  EXPECT_NE((nested.out + nested.err).find("unbiased"), std::string::npos) << nested.out;

  const auto wrong = run_cli(
      "ensemble " + shell_quote(run("7").string()) + " " + shell_quote(run("8").string()) +
      data_option() + " --split dev --weights 1,2,3 --out " + shell_quote(dir("e3").string()));
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("--weights"), std::string::npos) << wrong.err;

  // A member with fewer rows than the split is named in the error.
  const auto short_member = dir("short");
  fs::create_directories(short_member);
  std::string text = read_file(dir("pred-dev") / "predictions.tsv");
  text.resize(text.rfind('\n', text.size() - 2) + 1);  // drop the last row
  write_file_atomic(short_member / "predictions.tsv", text);
  const auto short_result = run_cli("ensemble " + shell_quote(short_member.string()) + " " +
                                    shell_quote(run("8").string()) + data_option() +
                                    " --split dev --out " + shell_quote(dir("e5").string()));
  EXPECT_EQ(short_result.exit_code, 1);
  EXPECT_NE(short_result.err.find("short"), std::string::npos) << short_result.err;
  EXPECT_NE(short_result.err.find("rows"), std::string::npos) << short_result.err;

  // Predictions for another input are not dev predictions.
  const auto mismatched = run_cli("ensemble " + shell_quote(dir("pred-in.tsv").string()) + " " +
                                  shell_quote(run("8").string()) + data_option() +
                                  " --split dev --out " + shell_quote(dir("e4").string()));
  EXPECT_EQ(mismatched.exit_code, 1);
}

// Runs predicting only Track I or only Track II combine too (their weights cover that track).
TEST_F(PredictCliTest, EnsembleOfSingleTrackRuns) {
  for (const char* tasks : {"empathy,distress", "emotion"}) {
    std::string members;
    for (const char* seed : {"7", "8"}) {
      const auto member = dir(std::string("track-") + tasks + "-" + seed);
      const auto trained =
          run_cli("--threads 1 --log-level warn train " +
                  shell_quote((temp_->path() / "tiny.toml").string()) + data_option() +
                  " --no-progress --seeds " + seed + " --set tasks=" + tasks + " --out " +
                  shell_quote(member.string()));
      ASSERT_EQ(trained.exit_code, 0) << trained.err;
      members += " " + shell_quote(member.string());
    }
    const auto out = dir(std::string("ens-") + tasks);
    const auto result = run_cli("--threads 1 ensemble" + members + data_option() +
                                " --split dev --weights 1,3 --out " + shell_quote(out.string()));
    ASSERT_EQ(result.exit_code, 0) << tasks << ": " << result.err;
    const auto ensemble = nlohmann::json::parse(read_file(out / "ensemble.json"));
    ASSERT_EQ(ensemble["members"].size(), 2u);
    // Weights only for the tasks the members have (issue #20).
    const bool regression = std::string(tasks) != "emotion";
    EXPECT_EQ(ensemble["members"][1].contains("regression_weight"), regression) << tasks;
    EXPECT_EQ(ensemble["members"][1].contains("emotion_weight"), !regression) << tasks;
    EXPECT_NEAR(ensemble["members"][1][regression ? "regression_weight" : "emotion_weight"]
                    .get<double>(),
                0.75, 1e-12);
    EXPECT_EQ(eval::read_predictions(out / "predictions.tsv").size(), dev_rows_) << tasks;

    // `emotune predict` through the ensemble folder (it failed on emotion-only ensembles).
    const auto through = dir(std::string("ens-pred-") + tasks);
    const auto predicted =
        run_cli("--threads 1 predict " + shell_quote(out.string()) + " --input " +
                shell_quote(dir("in.tsv").string()) + " --out " + shell_quote(through.string()));
    ASSERT_EQ(predicted.exit_code, 0) << tasks << ": " << predicted.err;
    const auto answers = eval::read_predictions(through / "predictions.tsv");
    EXPECT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers.has_regression, regression);
    EXPECT_EQ(answers.has_emotion, !regression);
    // The serving path loads the same folder.
    const auto served = predict::load_predictor(out)->predict({{"An essay about a flood."}});
    ASSERT_EQ(served.size(), 1u);
    EXPECT_EQ(served[0].empathy.has_value(), regression);
    EXPECT_EQ(served[0].emotion.has_value(), !regression);
    // And `emotune report` over it.
    const auto html = dir(std::string("report-") + tasks) / "report.html";
    const auto reported = run_cli("--threads 1 report " + shell_quote(out.string()) +
                                  data_option() + " --out " + shell_quote(html.string()));
    ASSERT_EQ(reported.exit_code, 0) << tasks << ": " << reported.err;
    EXPECT_NE(read_file(html).find(out.filename().string()), std::string::npos) << tasks;
  }

  // Members with different tasks (a Track I-only and a Track II-only run) make one system for
  // both tracks: each task combines the members that predict it, in predict, serve and report.
  const auto track1 = dir("track-empathy,distress-7");
  const auto track2 = dir("track-emotion-7");
  const auto mixed = dir("ens-mixed");
  const auto mixed_result = run_cli("--threads 1 ensemble " + shell_quote(track1.string()) + " " +
                                    shell_quote(track2.string()) + data_option() +
                                    " --split dev --weights 1,3 --out " +
                                    shell_quote(mixed.string()));
  ASSERT_EQ(mixed_result.exit_code, 0) << mixed_result.err;
  const auto mixed_manifest = nlohmann::json::parse(read_file(mixed / "ensemble.json"));
  EXPECT_TRUE(mixed_manifest["members"][0].contains("regression_weight"));
  EXPECT_FALSE(mixed_manifest["members"][0].contains("emotion_weight"));
  EXPECT_TRUE(mixed_manifest["members"][1].contains("emotion_weight"));
  EXPECT_FALSE(mixed_manifest["members"][1].contains("regression_weight"));
  const auto mixed_dev = eval::read_predictions(mixed / "predictions.tsv");
  EXPECT_TRUE(mixed_dev.has_both_regression());
  EXPECT_TRUE(mixed_dev.has_emotion);
  EXPECT_EQ(mixed_dev.size(), dev_rows_);

  const auto mixed_pred = dir("ens-pred-mixed");
  const auto predicted =
      run_cli("--threads 1 predict " + shell_quote(mixed.string()) + " --input " +
              shell_quote(dir("in.tsv").string()) + " --out " + shell_quote(mixed_pred.string()));
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  const auto answers = eval::read_predictions(mixed_pred / "predictions.tsv");
  EXPECT_TRUE(answers.has_both_regression());
  EXPECT_TRUE(answers.has_emotion);

  // Served: empathy/distress are the Track I member's own, emotions the Track II member's.
  const std::vector<predict::EssayInput> essay = {{"An essay about a flood."}};
  const auto served = predict::load_predictor(mixed)->predict(essay);
  const auto from_track1 = predict::load_predictor(track1)->predict(essay);
  const auto from_track2 = predict::load_predictor(track2)->predict(essay);
  ASSERT_EQ(served.size(), 1u);
  ASSERT_TRUE(served[0].empathy && served[0].distress && served[0].emotion);
  EXPECT_NEAR(*served[0].empathy, *from_track1[0].empathy, 1e-9);
  EXPECT_NEAR(*served[0].distress, *from_track1[0].distress, 1e-9);
  EXPECT_EQ(*served[0].emotion, *from_track2[0].emotion);
  for (std::size_t c = 0; c < predict::kEmotionCount; ++c) {
    EXPECT_NEAR((*served[0].emotion_probabilities)[c], (*from_track2[0].emotion_probabilities)[c],
                1e-9);
  }
  const auto mixed_html = dir("report-mixed") / "report.html";
  const auto reported = run_cli("--threads 1 report " + shell_quote(mixed.string()) +
                                data_option() + " --out " + shell_quote(mixed_html.string()));
  ASSERT_EQ(reported.exit_code, 0) << reported.err;
  EXPECT_NE(read_file(mixed_html).find("ens-mixed"), std::string::npos);

  // An ensemble.json written before the fix (both weights on an emotion-only ensemble) still
  // loads in predict and serve: weights for absent tasks are ignored.
  const auto old_style = dir("ens-emotion");
  auto manifest = nlohmann::json::parse(read_file(old_style / "ensemble.json"));
  for (auto& member : manifest["members"]) member["regression_weight"] = 0.5;
  write_file_atomic(old_style / "ensemble.json", manifest.dump(2));
  const auto old_result = run_cli("--threads 1 predict " + shell_quote(old_style.string()) +
                                  " --input " + shell_quote(dir("in.tsv").string()) + " --out " +
                                  shell_quote(dir("ens-pred-old").string()));
  EXPECT_EQ(old_result.exit_code, 0) << old_result.err;
}

// The paper's "vanilla" systems: an empathy-only and a distress-only run predict alone (one
// regression column), pair into a Track I system, and serve.
TEST_F(PredictCliTest, VanillaRunsPredictEnsembleAndServe) {
  std::map<std::string, fs::path> runs;
  for (const char* task : {"empathy", "distress"}) {
    const auto member = dir(std::string("vanilla-") + task);
    const auto trained = run_cli("--threads 1 --log-level warn train " +
                                 shell_quote((temp_->path() / "tiny.toml").string()) +
                                 data_option() + " --no-progress --seeds 7 --set tasks=" + task +
                                 " --out " + shell_quote(member.string()));
    ASSERT_EQ(trained.exit_code, 0) << trained.err;
    runs[task] = member;
    const auto out = dir(std::string("vanilla-pred-") + task);
    const auto predicted = run_cli("--threads 1 predict " + shell_quote(member.string()) +
                                   data_option() + " --split dev --out " +
                                   shell_quote(out.string()));
    ASSERT_EQ(predicted.exit_code, 0) << task << ": " << predicted.err;
    const auto predictions = eval::read_predictions(out / "predictions.tsv");
    EXPECT_EQ(predictions.size(), dev_rows_);
    EXPECT_EQ(predictions.has_empathy(), std::string(task) == "empathy");
    EXPECT_EQ(predictions.has_distress(), std::string(task) == "distress");
    // One column cannot make the official two-column file; the scores name the column.
    EXPECT_FALSE(fs::exists(out / "predictions_EMP.tsv"));
    EXPECT_NE(predicted.out.find(std::string(task == std::string("empathy") ? "Empathy"
                                                                           : "Distress") +
                                 " Pearson Correlation"),
              std::string::npos)
        << predicted.out;
  }
  const auto track1 = dir("vanilla-track1");
  const auto result = run_cli("--threads 1 ensemble " + shell_quote(runs["empathy"].string()) +
                              " " + shell_quote(runs["distress"].string()) + data_option() +
                              " --split dev --out " + shell_quote(track1.string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Averaged Pearson Correlations"), std::string::npos) << result.out;
  const auto combined = eval::read_predictions(track1 / "predictions.tsv");
  ASSERT_TRUE(combined.has_both_regression());
  const auto empathy_alone = eval::read_predictions(dir("vanilla-pred-empathy") / "predictions.tsv");
  const auto distress_alone =
      eval::read_predictions(dir("vanilla-pred-distress") / "predictions.tsv");
  EXPECT_EQ(combined.empathy, empathy_alone.empathy);
  EXPECT_EQ(combined.distress, distress_alone.distress);
  EXPECT_TRUE(fs::exists(track1 / "predictions_EMP.tsv"));

  // Served: the Track I system answers both columns; each vanilla run answers its own.
  const auto system = predict::load_predictor(track1);
  EXPECT_EQ(system->info().tasks, (std::vector<std::string>{"empathy", "distress"}));
  const auto answer = system->predict({{"I felt sad reading about the fire."}});
  ASSERT_TRUE(answer[0].empathy && answer[0].distress);
  const auto alone = predict::load_predictor(runs["empathy"])->predict({{"I felt sad."}});
  EXPECT_TRUE(alone[0].empathy && !alone[0].distress);

  // Predict through the Track I folder, and the report takes the vanilla runs and the pair.
  const auto through = run_cli("--threads 1 predict " + shell_quote(track1.string()) +
                               " --input " + shell_quote(dir("in.tsv").string()) + " --out " +
                               shell_quote(dir("vanilla-track1-pred").string()));
  EXPECT_EQ(through.exit_code, 0) << through.err;
  const auto report = run_cli("--threads 1 report " + shell_quote(runs["empathy"].string()) + " " +
                              shell_quote(runs["distress"].string()) + " " +
                              shell_quote(track1.string()) + data_option() + " --out " +
                              shell_quote(dir("vanilla-report.html").string()));
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const auto html = read_file(dir("vanilla-report.html"));
  EXPECT_NE(html.find("vanilla-empathy"), std::string::npos);
  EXPECT_NE(html.find("vanilla-track1"), std::string::npos);
}

TEST_F(PredictCliTest, EnsembleFolderPredictsNewEssaysLikeARun) {
  // Runs after the ensemble test (gtest keeps declaration order), so ens/ exists.
  const auto ensemble = dir("ens");
  if (!fs::exists(ensemble / "ensemble.json")) GTEST_SKIP() << "ensemble test did not run";
  const auto out = dir("ens-pred");
  const auto result =
      run_cli("--threads 1 predict " + shell_quote(ensemble.string()) + " --input " +
              shell_quote(dir("in.tsv").string()) + " --out " + shell_quote(out.string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto predictions = eval::read_predictions(out / "predictions.tsv");
  ASSERT_EQ(predictions.size(), 2u);
  EXPECT_EQ(predictions.ids, (std::vector<std::string>{"a1", "a2"}));
  // The members' weighted mean (0.75 / 0.25, as ensemble.json records).
  const auto member7 = eval::read_predictions(dir("pred-in.tsv") / "predictions.tsv");
  EXPECT_NE(predictions.empathy[0], member7.empathy[0]) << "not just the first member";
}

TEST_F(PredictCliTest, ReportHoldsTheFigures) {
  // Runs after the ensemble test (gtest keeps declaration order), so ens/ exists.
  const auto ensemble = dir("ens");
  if (!fs::exists(ensemble / "ensemble.json")) GTEST_SKIP() << "ensemble test did not run";
  const auto html = dir("report") / "report.html";
  const auto result = run_cli("--threads 1 report " + shell_quote(run("7").string()) + " " +
                              shell_quote(ensemble.string()) + data_option() + " --out " +
                              shell_quote(html.string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string page = read_file(html);
  EXPECT_NE(page.find("<svg"), std::string::npos);
  for (const char* title : {"Figure 1", "Figure 2a", "Figure 2b", "Figure 3", "Table 2",
                            "Seed spread", "ELECTRA base RA", "0.604", "run-7", "ens"}) {
    EXPECT_NE(page.find(title), std::string::npos) << title;
  }
  EXPECT_TRUE(fs::exists(dir("report") / "report-figure1-train-emotions.svg"));
  EXPECT_TRUE(fs::exists(dir("report") / "report-figure2-pearson-empathy.svg"));
  EXPECT_TRUE(fs::exists(dir("report") / "report-figure3-confusion-ens.svg"));
}

}  // namespace
}  // namespace emotune
