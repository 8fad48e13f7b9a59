// Linear members (TF-IDF and/or person features), their run folders in predict / ensemble /
// serve, person inputs, and stacking on out-of-fold train predictions.

#include "baseline/linear_member.h"

#include <map>
#include <gmock/gmock.h>
#include <httplib.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/error_of.h"
#include "common/files.h"
#include "common/test_paths.h"
#include "common/wassa_copies.h"
#include "data/person.h"
#include "data/wassa.h"
#include "eval/stacking.h"
#include "predict/ensemble_predictor.h"
#include "predict/linear_predictor.h"
#include "predict/prediction_run.h"
#include "serve/server.h"

namespace emotune {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::run_cli;
using testing::shell_quote;

using emotune::testing::error_of;

class LinearMemberTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    at::set_num_threads(1);
    temp_ = std::make_unique<testing::TempDir>();
    baseline::LinearMemberOptions words;
    words.folds = 3;
    words_report_ = baseline::train_linear_run(testing::data_dir(), words, dir("words"));
    baseline::LinearMemberOptions person;
    person.words = false;
    person.person = true;
    person.folds = 3;
    person_report_ = baseline::train_linear_run(testing::data_dir(), person, dir("person"));
  }
  static void TearDownTestSuite() { temp_.reset(); }
  static fs::path dir(const std::string& name) { return temp_->path() / name; }

  static std::unique_ptr<testing::TempDir> temp_;
  static baseline::LinearRunReport words_report_;
  static baseline::LinearRunReport person_report_;
};
std::unique_ptr<testing::TempDir> LinearMemberTest::temp_;
baseline::LinearRunReport LinearMemberTest::words_report_;
baseline::LinearRunReport LinearMemberTest::person_report_;

TEST_F(LinearMemberTest, RunFolderHoldsModelAndOutOfFoldPredictions) {
  const auto manifest = json::parse(read_file(dir("words") / "emotune.json"));
  EXPECT_EQ(manifest["kind"], "linear");
  EXPECT_EQ(manifest["tasks"], json({"empathy", "distress", "emotion"}));
  EXPECT_EQ(manifest["inputs"], json({"text"}));
  EXPECT_EQ(json::parse(read_file(dir("person") / "emotune.json"))["inputs"], json({"person"}));
  // Dev scores of the text member: the TF-IDF baseline's band.
  ASSERT_TRUE(words_report_.track1 && words_report_.track2);
  EXPECT_GT(words_report_.track1->average, 0.30);
  EXPECT_GT(words_report_.track2->macro_f1, 0.30);
  // The person member predicts distress from the writer alone (SOURCES: IRI personal distress).
  ASSERT_TRUE(person_report_.track1);
  EXPECT_GT(person_report_.track1->distress, 0.2);

  // Loading the folder predicts exactly what training computed.
  const auto train = data::load_wassa(testing::data_dir(), data::Split::train);
  const auto dev = data::load_wassa(testing::data_dir(), data::Split::dev);
  const auto loaded = predict::member_predictions(dir("words"), dev);
  EXPECT_EQ(loaded.empathy, words_report_.dev.empathy);
  EXPECT_EQ(loaded.probabilities, words_report_.dev.probabilities);

  // Out-of-fold predictions: every train row, in train order, none from a model that saw it
  // (they differ from the full model's predictions on train).
  const auto oof = predict::member_out_of_fold(dir("words"), train);
  ASSERT_EQ(oof.predictions.size(), train.rows.size());
  EXPECT_EQ(oof.predictions.ids.front(), train.rows.front().id);
  EXPECT_EQ(oof.scheme["scheme"], "k-fold");
  EXPECT_EQ(oof.scheme["folds"], 3);
  const auto full_on_train = predict::predict_essays(*predict::load_predictor(dir("words")),
                                                   predict::wassa_essays(train));
  EXPECT_NE(oof.predictions.empathy[0], full_on_train.empathy[0]);
  // Fitted on train, the full model is closer to the train scores than the out-of-fold one.
  std::vector<double> gold;
  for (const auto& row : train.rows) gold.push_back(*row.empathy);
  EXPECT_GT(eval::pearson_unrounded(gold, full_on_train.empathy),
            eval::pearson_unrounded(gold, oof.predictions.empathy) + 0.1);
}

TEST_F(LinearMemberTest, OutOfFoldPredictionsHoldEachWriterOutWhole) {
  // The person member sees only the writer, so a writer's five essays get one prediction
  // exactly when one fold model predicts them all; folds by row position would have fitted
  // each of them on the writer's other essays (a leak dev and test writers never offer).
  const auto train = data::load_wassa(testing::data_dir(), data::Split::train);
  const auto oof = predict::member_out_of_fold(dir("person"), train);
  ASSERT_EQ(oof.predictions.size(), train.rows.size());
  EXPECT_THAT(oof.scheme["assignment"].get<std::string>(), HasSubstr("writer"));
  std::map<std::string, double> first_of_writer;
  std::size_t shared = 0;
  for (std::size_t i = 0; i < train.rows.size(); ++i) {
    const auto [it, inserted] =
        first_of_writer.try_emplace(train.rows[i].response_id, oof.predictions.empathy[i]);
    if (inserted) continue;
    EXPECT_EQ(oof.predictions.empathy[i], it->second) << train.rows[i].id;
    ++shared;
  }
  EXPECT_EQ(shared, train.rows.size() - first_of_writer.size());
  EXPECT_GT(shared, 1000u);
}

TEST_F(LinearMemberTest, StandardizationUsesTrainStatisticsOnly) {
  // Another data folder whose dev gold, dev features and 2021 test person values all differ.
  const auto root = testing::wassa_data_with_changed_person_values(dir("changed-data"));
  ASSERT_NE(data::split_person_values(data::load_wassa(root, data::Split::dev))[0].iri.fantasy,
            data::split_person_values(data::load_wassa(testing::data_dir(), data::Split::dev))[0]
                .iri.fantasy);

  baseline::LinearMemberOptions person;
  person.words = false;
  person.person = true;
  person.tasks = {"empathy"};
  person.folds = 0;
  baseline::train_linear_run(root, person, dir("person-changed"));
  const auto stored = [&](const fs::path& run) {
    return json::parse(read_file(run / std::string(data::kPersonStandardizationFile)));
  };
  EXPECT_EQ(stored(dir("person-changed"))["mean"], stored(dir("person"))["mean"]);
  EXPECT_EQ(stored(dir("person-changed"))["std"], stored(dir("person"))["std"]);
  const auto encoder = data::PersonEncoder::fit(
      data::split_person_values(data::load_wassa(testing::data_dir(), data::Split::train)));
  EXPECT_EQ(stored(dir("person"))["mean"], json(encoder.mean()));
}

TEST_F(LinearMemberTest, PersonInputsFromFilesAndTheirErrors) {
  const auto columns = std::string(
      "id\tessay\tgender\teducation\trace\tage\tincome\tpersonality_conscientiousness\t"
      "personality_openess\tpersonality_extraversion\tpersonality_agreeableness\t"
      "personality_stability\tiri_perspective_taking\tiri_personal_distress\tiri_fantasy\t"
      "iri_empathatic_concern\n");
  write_file_atomic(dir("person.tsv"),
                    columns + "p1\tSo sad.\t2\t6\t1\t30\t40000\t5\t5\t3\t6\t4\t3.5\t4.5\t3\t4\n" +
                        "p2\tOkay.\t1\t4\t3\t50\t90000\t6\t4\t4\t5\t6\t3\t1.5\t2\t3\n");
  const auto out = dir("person-pred");
  auto result = run_cli("predict " + shell_quote(dir("person").string()) + " --input " +
                        shell_quote(dir("person.tsv").string()) + " --out " +
                        shell_quote(out.string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto predictions = eval::read_predictions(out / "predictions.tsv");
  ASSERT_EQ(predictions.size(), 2u);
  // Personal distress 4.5 vs 1.5: the person member predicts more distress for p1.
  EXPECT_GT(predictions.distress[0], predictions.distress[1]);

  // The same as JSON Lines with a "person" object.
  write_file_atomic(
      dir("person.jsonl"),
      R"({"id": "p1", "essay": "So sad.", "person": {"gender": 2, "education": 6, "race": 1, "age": 30, "income": 40000, "personality_conscientiousness": 5, "personality_openess": 5, "personality_extraversion": 3, "personality_agreeableness": 6, "personality_stability": 4, "iri_perspective_taking": 3.5, "iri_personal_distress": 4.5, "iri_fantasy": 3, "iri_empathatic_concern": 4}})"
      "\n");
  result = run_cli("predict " + shell_quote(dir("person").string()) + " --input " +
                   shell_quote(dir("person.jsonl").string()) + " --out " +
                   shell_quote(dir("person-pred-jsonl").string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_DOUBLE_EQ(eval::read_predictions(dir("person-pred-jsonl") / "predictions.tsv").distress[0],
                   predictions.distress[0]);

  // Errors: no person columns for a model that reads them; a missing column; a bad code.
  write_file_atomic(dir("plain.tsv"), "id\tessay\na\tSo sad.\n");
  result = run_cli("predict " + shell_quote(dir("person").string()) + " --input " +
                   shell_quote(dir("plain.tsv").string()) + " --out " +
                   shell_quote(dir("e1").string()));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, AllOf(HasSubstr("essay a"), HasSubstr("person")));
  auto without_age = columns;
  without_age.replace(without_age.find("\tage"), 4, "\tyears");
  write_file_atomic(dir("no-age.tsv"),
                    without_age + "p1\tSo sad.\t2\t6\t1\t30\t40000\t5\t5\t3\t6\t4\t3.5\t4.5\t3\t4\n");
  result = run_cli("predict " + shell_quote(dir("person").string()) + " --input " +
                   shell_quote(dir("no-age.tsv").string()) + " --out " +
                   shell_quote(dir("e2").string()));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, AllOf(HasSubstr("no-age.tsv:1"), HasSubstr("'age' is missing")));
  write_file_atomic(dir("bad-code.tsv"),
                    columns + "p1\tSo sad.\t4\t6\t1\t30\t40000\t5\t5\t3\t6\t4\t3.5\t4.5\t3\t4\n");
  result = run_cli("predict " + shell_quote(dir("person").string()) + " --input " +
                   shell_quote(dir("bad-code.tsv").string()) + " --out " +
                   shell_quote(dir("e3").string()));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, AllOf(HasSubstr("bad-code.tsv:2"), HasSubstr("gender: unknown code 4")));
}

TEST_F(LinearMemberTest, ServeAnswers400WhenPersonFieldsAreMissing) {
  auto server = std::make_unique<serve::Server>(predict::load_predictor(dir("person")),
                                                serve::ServerOptions{});
  const int port = server->bind("127.0.0.1", 0);
  std::thread thread([&] { server->run(); });
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(20, 0);
  client.set_connection_timeout(20, 0);
  const std::string person =
      R"("gender": 2, "education": 6, "race": 1, "age": 30, "income": 40000, "personality_conscientiousness": 5, "personality_openess": 5, "personality_extraversion": 3, "personality_agreeableness": 6, "personality_stability": 4, "iri_perspective_taking": 3.5, "iri_personal_distress": 4.5, "iri_fantasy": 3)";
  auto result = client.Post("/v1/predict", R"({"essays": ["So sad."]})", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(result->body, HasSubstr(R"(essays[0]: key \"person\" is missing)"));
  result = client.Post("/v1/predict",
                       R"({"essays": [{"text": "So sad.", "person": {)" + person + "}}]}",
                       "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(result->body, HasSubstr("'iri_empathatic_concern' is missing"));
  result = client.Post("/v1/predict",
                       R"({"essays": [{"text": "So sad.", "person": {)" + person +
                           R"(, "iri_empathatic_concern": 4}}]})",
                       "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200) << result->body;
  EXPECT_TRUE(json::parse(result->body)["predictions"][0].contains("distress"));
  result = client.Get("/v1/model");
  ASSERT_TRUE(result);
  EXPECT_EQ(json::parse(result->body)["inputs"], json({"person"}));
  server->stop();
  thread.join();
}

TEST_F(LinearMemberTest, StackingNeverReadsDevGold) {
  const auto train = data::load_wassa(testing::data_dir(), data::Split::train);
  const auto dev = data::load_wassa(testing::data_dir(), data::Split::dev);
  // The same dev essays with the gold rows shuffled.
  const auto root = testing::linked_wassa_data(dir("shuffled-data"));
  auto gold = testing::lines_of(root / "wassa2021" / data::kWassaDevGoldFile);
  std::mt19937 random(5);
  std::shuffle(gold.begin(), gold.end(), random);
  testing::write_lines(root / "wassa2021" / data::kWassaDevGoldFile, gold);
  const auto shuffled = data::load_wassa(root, data::Split::dev);
  ASSERT_NE(shuffled.rows[0].empathy, dev.rows[0].empathy);

  predict::EnsembleRequest request;
  request.members = {dir("words"), dir("person")};
  request.method = predict::EnsembleMethod::stack;
  request.train = &train;
  const auto real = predict::build_ensemble(request, dev, &dev);
  const auto other = predict::build_ensemble(request, shuffled, &shuffled);
  EXPECT_EQ(real.description["stack"], other.description["stack"]);
  EXPECT_EQ(real.predictions.empathy, other.predictions.empathy);
  EXPECT_EQ(real.description["weights_optimized_on_dev"], false);
  // Both members carry weight, and the stack beats the text member on distress, where the
  // person columns say most (measured: docs/person_features.md).
  const auto& distress = real.description["stack"]["distress"]["weights"];
  EXPECT_GT(distress[0].get<double>(), 0.0);
  EXPECT_GT(distress[1].get<double>(), 0.0);
  const auto scores = predict::score_predictions(real.predictions, predict::gold_standard(dev));
  ASSERT_TRUE(scores.track1);
  EXPECT_GT(scores.track1->distress, words_report_.track1->distress);

  // Written and served: the folder answers like its dev predictions.
  predict::write_ensemble_folder(dir("stack"), real, data::Split::dev);
  const auto predictor = predict::load_predictor(dir("stack"));
  EXPECT_TRUE(predictor->info().needs_person());
  auto essays = predict::wassa_essays(dev);
  essays.resize(3);
  const auto served = predict::predict_essays(*predictor, essays);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(served.empathy[i], real.predictions.empathy[i], 1e-9);
    EXPECT_EQ(served.emotion[i], real.predictions.emotion[i]);
  }
  // A member without out-of-fold predictions cannot be stacked.
  fs::create_directories(dir("no-oof"));
  fs::copy(dir("person"), dir("no-oof"), fs::copy_options::recursive |
                                             fs::copy_options::overwrite_existing);
  fs::remove_all(dir("no-oof") / "oof");
  request.members = {dir("words"), dir("no-oof")};
  EXPECT_THAT(error_of([&] { predict::build_ensemble(request, dev, &dev); }),
              AllOf(HasSubstr("no-oof"), HasSubstr("out-of-fold")));
}

TEST_F(LinearMemberTest, KernelPersonMemberChoosesOnTrainSavesLoadsAndHoldsWritersOut) {
  baseline::LinearMemberOptions options;
  options.words = false;
  options.person = true;
  options.person_kernel = baseline::PersonKernel::rbf;
  options.tasks = {"empathy", "distress"};
  options.folds = 3;
  const auto report = baseline::train_linear_run(testing::data_dir(), options, dir("kernel"));
  const auto manifest = json::parse(read_file(dir("kernel") / "emotune.json"));
  EXPECT_EQ(manifest["tasks"], json({"empathy", "distress"}));
  EXPECT_EQ(manifest["inputs"], json({"person"}));
  // One setting per target, chosen by out-of-fold r on train, recorded in the run.
  ASSERT_EQ(report.kernel_settings.size(), 2u);
  const auto summary = json::parse(read_file(dir("kernel") / "summary.json"));
  for (const auto& [task, choice] : report.kernel_settings) {
    EXPECT_GT(choice.out_of_fold_r, 0.2) << task;
    EXPECT_EQ(summary["rbf"][task]["gamma"], choice.setting.gamma) << summary.dump();
  }
  // The writer alone predicts distress better than the linear person member does here.
  ASSERT_TRUE(report.track1 && person_report_.track1);
  EXPECT_GT(report.track1->distress, person_report_.track1->distress);
  // Loading the folder predicts exactly what training computed.
  const auto train = data::load_wassa(testing::data_dir(), data::Split::train);
  const auto dev = data::load_wassa(testing::data_dir(), data::Split::dev);
  const auto loaded = predict::member_predictions(dir("kernel"), dev);
  EXPECT_EQ(loaded.empathy, report.dev.empathy);
  EXPECT_EQ(loaded.distress, report.dev.distress);
  EXPECT_FALSE(loaded.has_emotion);
  // Out-of-fold: a writer's essays are held out together, so they share one prediction.
  const auto oof = predict::member_out_of_fold(dir("kernel"), train);
  std::map<std::string, double> first_of_writer;
  for (std::size_t i = 0; i < train.rows.size(); ++i) {
    const auto [it, inserted] =
        first_of_writer.try_emplace(train.rows[i].response_id, oof.predictions.distress[i]);
    if (!inserted) EXPECT_EQ(oof.predictions.distress[i], it->second) << train.rows[i].id;
  }
  // A model file whose kernel settings name other tasks than its regression columns.
  fs::copy(dir("kernel"), dir("kernel-swapped"), fs::copy_options::recursive);
  auto model_json = json::parse(read_file(dir("kernel-swapped") / "linear_model.json"));
  model_json["kernel"]["settings"][0]["task"] = "distress";
  write_file_atomic(dir("kernel-swapped") / "linear_model.json", model_json.dump());
  EXPECT_THAT(error_of([&] { baseline::LinearModel::load(dir("kernel-swapped")); }),
              AllOf(HasSubstr("linear_model.json"), HasSubstr("is for 'distress', expected 'empathy'")));
  // The kernel serves regression only and needs the person input.
  auto with_emotion = options;
  with_emotion.tasks.push_back("emotion");
  EXPECT_THAT(error_of([&] { baseline::train_linear_run(testing::data_dir(), with_emotion, dir("x")); }),
              HasSubstr("empathy and distress only"));
  auto without_person = options;
  without_person.person = false;
  without_person.words = true;
  EXPECT_THAT(error_of([&] { baseline::train_linear_run(testing::data_dir(), without_person, dir("x")); }),
              HasSubstr("needs the person input"));
}

TEST(Stacking, RecoversTheInformativeMember) {
  // Member 1 tracks the target, member 2 is noise; the emotion member 1 is right more often.
  std::mt19937 random(3);
  std::normal_distribution<double> noise(0.0, 1.0);
  eval::Predictions a, b;
  eval::StackTargets targets;
  for (auto* p : {&a, &b}) {
    p->has_regression = p->has_emotion = true;
    p->labels = {"x", "y", "z"};
  }
  for (int i = 0; i < 300; ++i) {
    const double y = noise(random);
    const int label = i % 3;
    targets.empathy.push_back(y);
    targets.distress.push_back(-y);
    targets.emotion.push_back(label);
    for (auto* p : {&a, &b}) p->ids.push_back(std::to_string(i));
    a.empathy.push_back(y + 0.3 * noise(random));
    a.distress.push_back(-y + 0.3 * noise(random));
    b.empathy.push_back(noise(random));
    b.distress.push_back(noise(random));
    std::vector<double> good(3, 0.1), bad(3, 1.0 / 3);
    good[static_cast<std::size_t>(label)] = 0.8;
    a.probabilities.push_back(good);
    a.emotion.push_back(label);
    b.probabilities.push_back(bad);
    b.emotion.push_back(0);
  }
  const std::vector<eval::Predictions> members = {a, b};
  const auto model = eval::fit_stack(members, targets);
  ASSERT_TRUE(model.empathy && model.distress);
  EXPECT_GT(model.empathy->weights[0], 0.8);
  EXPECT_LT(std::abs(model.empathy->weights[1]), 0.1);
  EXPECT_GT(model.emotion_weights[0], model.emotion_weights[1]);
  const auto combined = eval::apply_stack(members, model);
  EXPECT_GT(eval::pearson_unrounded(targets.empathy, combined.empathy), 0.9);
  // The stored form gives the same predictions.
  const auto restored = eval::stack_from_json(eval::stack_to_json(model), "test");
  EXPECT_EQ(eval::apply_stack(members, restored).empathy, combined.empathy);
}

}  // namespace
}  // namespace emotune
