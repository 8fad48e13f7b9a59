// Person features as a transformer input (docs/person_features.md): a tiny-fixture run
// trained with inputs = ["text", "person"], predicted through RunPredictor (both kernels), the
// serving endpoints, the explainer and the CLI (predict, ensemble, report).

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <thread>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"
#include "common/test_paths.h"
#include "common/wassa_copies.h"
#include "data/person.h"
#include "data/wassa.h"
#include "eval/submission.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "predict/ensemble_predictor.h"
#include "predict/explainer.h"
#include "predict/prediction_run.h"
#include "predict/run_predictor.h"
#include "runtime/threads.h"
#include "serve/server.h"
#include "serve/model_folders.h"
#include "train/config.h"
#include "train/dataset.h"
#include "train/run_dir.h"
#include "train/trainer.h"

namespace emotune {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::shell_quote;

constexpr std::size_t kTrainRows = 32;
constexpr std::size_t kDevRows = 16;

// Two optimizer steps of a tiny ELECTRA (the fixture's weights) on 32 train rows, all three
// tasks, reading text and person features.
train::TrainConfig person_config() {
  train::TrainConfig config;
  config.backbone = (testing::hf_fixtures_dir() / "electra").string();
  config.tasks = {model::Task::empathy, model::Task::distress, model::Task::emotion};
  config.inputs = {"text", "person"};
  config.max_length = 48;
  config.batch_size = 8;
  config.epochs = 1;
  config.max_steps = 2;
  config.learning_rate = 1e-3;
  config.train_limit = static_cast<std::int64_t>(kTrainRows);
  config.dev_limit = static_cast<std::int64_t>(kDevRows);
  config.seeds = {5};
  return config;
}

train::TrainHooks quiet() {
  train::TrainHooks hooks;
  hooks.progress = false;
  return hooks;
}

std::vector<predict::EssayInput> dev_essays(std::size_t count) {
  const auto dev = data::load_wassa(testing::data_dir(), data::Split::dev);
  std::vector<predict::EssayInput> essays;
  for (std::size_t i = 0; i < count && i < dev.rows.size(); ++i)
    essays.push_back({dev.rows[i].text, data::person_values(dev.rows[i])});
  return essays;
}

// The same writers with other person values: personal distress and age moved, gender and
// education codes switched.
std::vector<predict::EssayInput> other_persons(std::vector<predict::EssayInput> essays) {
  for (auto& essay : essays) {
    auto& person = *essay.person;
    person.iri.personal_distress = 6.0 - person.iri.personal_distress;
    person.personality.openness = 8.0 - person.personality.openness;
    person.demographics.age += 25;
    person.demographics.gender = person.demographics.gender == 1 ? 2 : 1;
    person.demographics.education = person.demographics.education == 7 ? 1 : 7;
  }
  return essays;
}

// One trained person run shared by the tests of this file (training is the slow part).
class PersonRunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    runtime::configure_threads(2);
    temp_ = new testing::TempDir();
    train::run_training(person_config(), testing::data_dir(), run(), false, quiet());
  }
  static void TearDownTestSuite() {
    delete temp_;
    temp_ = nullptr;
  }
  static fs::path run() { return *temp_ / "person-run"; }
  static fs::path best() { return run() / "seed-5" / "best"; }
  static fs::path dir(const std::string& name) { return *temp_ / name; }
  static testing::TempDir* temp_;
};
testing::TempDir* PersonRunTest::temp_ = nullptr;

// (1) The run folder holds the person input; RunPredictor predicts dev with person fields, and
// other person values give other outputs for every task (the vector reaches every head).
TEST_F(PersonRunTest, TrainsWritesTheRunAndPredictionsFollowThePersonValues) {
  const auto manifest = read_json(best() / "emotune.json");
  EXPECT_EQ(manifest["inputs"], json::array({"text", "person"}));
  EXPECT_EQ(manifest["person"]["dimension"], 27);
  EXPECT_EQ(manifest["person"]["standardization"], std::string(data::kPersonStandardizationFile));
  ASSERT_TRUE(fs::is_regular_file(best() / data::kPersonStandardizationFile));
  const auto tensors = model::load_tensors(best() / "model.safetensors");
  const auto hidden = model::create_encoder(best() / "config.json")->hidden_size();
  EXPECT_EQ(tensors.at("heads.empathy.weight").sizes().vec(),
            (std::vector<std::int64_t>{1, hidden + 27}));
  EXPECT_EQ(tensors.at("heads.emotion.weight").sizes().vec(),
            (std::vector<std::int64_t>{7, hidden + 27}));
  EXPECT_TRUE(fs::exists(run() / "summary.json"));
  EXPECT_EQ(train::load_run_config(run()).inputs, (std::vector<std::string>{"text", "person"}));

  predict::RunPredictor predictor(run());
  EXPECT_TRUE(predictor.info().needs_person());
  const auto essays = dev_essays(kDevRows);
  const auto a = predictor.predict(essays);
  const auto b = predictor.predict(other_persons(essays));
  ASSERT_EQ(a.size(), essays.size());
  ASSERT_EQ(b.size(), essays.size());
  for (std::size_t i = 0; i < essays.size(); ++i) {
    ASSERT_TRUE(a[i].empathy && a[i].distress && a[i].emotion_probabilities);
    EXPECT_GT(std::abs(*a[i].empathy - *b[i].empathy), 1e-6) << i;
    EXPECT_GT(std::abs(*a[i].distress - *b[i].distress), 1e-6) << i;
    double moved = 0;
    for (std::size_t k = 0; k < 7; ++k)
      moved += std::abs((*a[i].emotion_probabilities)[k] - (*b[i].emotion_probabilities)[k]);
    EXPECT_GT(moved, 1e-6) << i;
    EXPECT_EQ(a[i].token_count, b[i].token_count);
  }
  // The text still matters: another essay with the same person gives another answer.
  auto swapped = essays;
  std::swap(swapped[0].text, swapped[1].text);
  EXPECT_NE(*predictor.predict(swapped)[0].empathy, *a[0].empathy);

  // `predict --split dev` reads the person columns from the WASSA files; the same answers.
  const auto dev = data::load_wassa(testing::data_dir(), data::Split::dev);
  auto records = predict::wassa_essays(dev);
  records.resize(kDevRows);
  const auto through_split = predict::predict_essays(predictor, records);
  for (std::size_t i = 0; i < kDevRows; ++i)
    EXPECT_NEAR(through_split.empathy[i], *a[i].empathy, 1e-9) << i;

  // The dev scores the trainer logged were computed with the person vectors too.
  const auto metrics = testing::lines_of(run() / "seed-5" / "metrics.jsonl");
  ASSERT_FALSE(metrics.empty());
  const auto last = json::parse(metrics.front());
  EXPECT_TRUE(last.contains("pearson_empathy"));
}

// (2) The stored mean/std are the train rows' only: changing every dev and test person value
// changes nothing in them.
TEST_F(PersonRunTest, StandardizationUsesTrainStatisticsOnly) {
  const auto root = testing::wassa_data_with_changed_person_values(dir("changed-data"));
  ASSERT_NE(data::split_person_values(data::load_wassa(root, data::Split::dev))[0].iri.fantasy,
            data::split_person_values(data::load_wassa(testing::data_dir(), data::Split::dev))[0]
                .iri.fantasy);
  auto config = person_config();
  config.max_steps = 1;
  train::run_training(config, root, dir("changed-run"), false, quiet());
  const auto stored = [](const fs::path& best) {
    return json::parse(read_file(best / std::string(data::kPersonStandardizationFile)));
  };
  const auto original = stored(best());
  const auto changed = stored(dir("changed-run") / "seed-5" / "best");
  EXPECT_EQ(changed["mean"], original["mean"]);
  EXPECT_EQ(changed["std"], original["std"]);
  EXPECT_EQ(original["fitted_on"], "train");

  // ... and they are the statistics of exactly the train rows the run trained on.
  auto train = data::load_wassa(testing::data_dir(), data::Split::train);
  train.rows.resize(kTrainRows);
  const auto encoder = data::PersonEncoder::fit(data::split_person_values(train));
  EXPECT_EQ(original["mean"], json(encoder.mean()));
  EXPECT_EQ(original["std"], json(encoder.stddev()));

  // load_training_data gives every train and dev example its encoded vector.
  const auto data = train::load_training_data(testing::data_dir(), person_config(), 5);
  ASSERT_TRUE(data.person_encoder);
  ASSERT_EQ(data.train.size(), kTrainRows);
  EXPECT_EQ(data.train[3].person.size(), 27u);
  EXPECT_EQ(data.dev[0].person.size(), 27u);
  // A text-only config carries none.
  auto text_only = person_config();
  text_only.inputs = {"text"};
  const auto plain = train::load_training_data(testing::data_dir(), text_only, 5);
  EXPECT_FALSE(plain.person_encoder);
  EXPECT_TRUE(plain.train[0].person.empty());
}

// A train file without the personality/IRI columns: text-only training reads it, training
// with person inputs stops before the first step with an error naming file and line.
TEST_F(PersonRunTest, TrainSplitWithoutPersonColumnsIsAnErrorNamingFileAndLine) {
  const auto root = dir("no-person-data");
  const auto w = root / "wassa2021";
  fs::create_directories(w);
  for (const auto name : {data::kWassaDevFeaturesFile, data::kWassaDevGoldFile})
    fs::create_symlink(testing::data_dir() / "wassa2021" / name, w / name);
  auto train = testing::lines_of(testing::data_dir() / "wassa2021" / data::kWassaTrainFile);
  for (auto& line : train) {
    std::string kept;
    std::size_t column = 0;
    for (std::size_t from = 0;; ++column) {
      const auto tab = line.find('\t', from);
      const auto field =
          line.substr(from, tab == std::string::npos ? std::string::npos : tab - from);
      if (column < 14) kept += (column ? "\t" : "") + field;  // up to income
      if (tab == std::string::npos) break;
      from = tab + 1;
    }
    line = kept;
  }
  ASSERT_EQ(train.front().find("personality"), std::string::npos);
  testing::write_lines(w / data::kWassaTrainFile, train);
  auto text_only = person_config();
  text_only.inputs = {"text"};
  EXPECT_EQ(train::load_training_data(root, text_only, 5).train.size(), kTrainRows);
  try {
    train::load_training_data(root, person_config(), 5);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(std::string(data::kWassaTrainFile) + ":2"), std::string::npos)
        << message;
    EXPECT_NE(message.find("personality_*"), std::string::npos) << message;
  }
}

// (3) Predicting without person fields is a clear error naming what is missing, on every path.
TEST_F(PersonRunTest, MissingPersonValuesAreClearErrors) {
  predict::RunPredictor predictor(run());
  auto essays = dev_essays(3);
  essays[1].person.reset();
  try {
    predictor.predict(essays);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("essay 2"), std::string::npos) << message;
    EXPECT_NE(message.find(R"(key "person" is missing)"), std::string::npos) << message;
    EXPECT_NE(message.find("iri_personal_distress"), std::string::npos) << message;
  }
  // `predict --input` without person columns.
  std::vector<predict::EssayRecord> records = {{"x1", "I am sad.", std::nullopt}};
  try {
    predict::predict_essays(predictor, records);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("essay x1"), std::string::npos) << message;
    EXPECT_NE(message.find("person columns"), std::string::npos) << message;
  }

  // serve: 400 naming the missing key, or the missing field of a partial "person" object.
  auto shared = std::make_shared<predict::RunPredictor>(run());
  serve::ServerOptions options;
  options.batching.max_wait = std::chrono::milliseconds(1);
  serve::Server server(shared, options, std::make_shared<predict::RunExplainer>(run()));
  const int port = server.bind("127.0.0.1", 0);
  std::thread running([&] { server.run(); });
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  json person = {{"gender", 2},
                 {"education", 6},
                 {"race", 1},
                 {"age", 30},
                 {"income", 40000},
                 {"personality_conscientiousness", 5},
                 {"personality_openess", 5},
                 {"personality_extraversion", 3},
                 {"personality_agreeableness", 6},
                 {"personality_stability", 4},
                 {"iri_perspective_taking", 3.5},
                 {"iri_personal_distress", 4.5},
                 {"iri_fantasy", 3},
                 {"iri_empathatic_concern", 4}};
  auto no_age = person;
  no_age.erase("age");
  const auto without = client.Post("/v1/predict", R"({"essays": [{"text": "So sad."}]})",
                                   "application/json");
  const auto partial = client.Post(
      "/v1/predict", json{{"essays", {{{"text", "So sad."}, {"person", no_age}}}}}.dump(),
      "application/json");
  const auto complete = client.Post(
      "/v1/predict", json{{"essays", {{{"text", "So sad."}, {"person", person}}}}}.dump(),
      "application/json");
  const auto info = client.Get("/v1/model");
  const auto explain_without =
      client.Post("/v1/explain", R"({"essay": {"text": "So sad."}, "steps": 4})",
                  "application/json");
  const auto explain_with = client.Post(
      "/v1/explain",
      json{{"essay", {{"text", "So sad."}, {"person", person}}}, {"steps", 4}}.dump(),
      "application/json");
  server.stop();
  running.join();
  ASSERT_TRUE(without && partial && complete && info);
  EXPECT_EQ(without->status, 400);
  EXPECT_NE(without->body.find(R"(key \"person\" is missing)"), std::string::npos)
      << without->body;
  EXPECT_EQ(partial->status, 400);
  EXPECT_NE(partial->body.find("person column 'age' is missing"), std::string::npos)
      << partial->body;
  EXPECT_EQ(complete->status, 200) << complete->body;
  EXPECT_EQ(json::parse(info->body)["inputs"], json::array({"text", "person"}));
  ASSERT_TRUE(explain_without && explain_with);
  EXPECT_EQ(explain_without->status, 400) << explain_without->body;
  EXPECT_NE(explain_without->body.find(R"(key \"person\" is missing)"), std::string::npos)
      << explain_without->body;
  EXPECT_EQ(explain_with->status, 200) << explain_with->body;
}

// (4) The fast kernels (person vector beside their first-token output) agree with the
// reference forward, within the tolerance of text-only runs (RunPredictorTest: 1e-5).
TEST_F(PersonRunTest, FastAndReferenceKernelsAgree) {
  const auto essays = dev_essays(kDevRows);
  predict::RunPredictorOptions options;
  options.forward_batch = 4;
  options.kernels = predict::Kernels::reference;
  const auto want = predict::RunPredictor(run(), options).predict(essays);
  options.kernels = predict::Kernels::fast;
  predict::RunPredictor fast(run(), options);
  EXPECT_NE(fast.info().version.find("fast kernels"), std::string::npos) << fast.info().version;
  const auto got = fast.predict(essays);
  for (std::size_t i = 0; i < essays.size(); ++i) {
    EXPECT_NEAR(*got[i].empathy, *want[i].empathy, 1e-5) << i;
    EXPECT_NEAR(*got[i].distress, *want[i].distress, 1e-5) << i;
    for (std::size_t k = 0; k < 7; ++k)
      EXPECT_NEAR((*got[i].emotion_probabilities)[k], (*want[i].emotion_probabilities)[k], 1e-5);
  }
}

// explain: the person vector is held fixed (not attributed); the words still add up to the
// output's change from the baseline, and an essay without person values is an error.
TEST_F(PersonRunTest, ExplainHoldsThePersonVectorFixed) {
  predict::RunExplainer explainer(run());
  EXPECT_TRUE(explainer.info().needs_person());
  const auto essays = dev_essays(1);
  predict::ExplainOptions options;
  options.outputs = {"empathy"};
  const auto explanation = explainer.explain(essays[0], options);
  predict::RunPredictorOptions reference;
  reference.kernels = predict::Kernels::reference;
  const auto predicted = predict::RunPredictor(run(), reference).predict(essays);
  EXPECT_NEAR(*explanation.prediction.empathy, *predicted[0].empathy, 1e-5);
  ASSERT_EQ(explanation.outputs.size(), 1u);
  EXPECT_NEAR(explanation.outputs[0].value, *predicted[0].empathy, 1e-5);
  EXPECT_LT(std::abs(explanation.outputs[0].completeness_gap), 2e-3);
  const auto other = explainer.explain(other_persons(essays)[0], options);
  EXPECT_NE(other.outputs[0].value, explanation.outputs[0].value);
  predict::EssayInput bare{essays[0].text, std::nullopt};
  EXPECT_THROW(explainer.explain(bare, options), Error);
}

// predict --split test, ensemble (dev), report and explain take the person run like any other
// (the test split's person columns come from the 2021 file merged into the 2022 rows).
TEST_F(PersonRunTest, PredictEnsembleReportAndExplainCommands) {
  const auto data = " --data " + shell_quote(testing::data_dir().string());
  auto result = testing::run_cli("--threads 2 predict " + shell_quote(run().string()) + data +
                                 " --split test --out " + shell_quote(dir("pred-test").string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(eval::read_predictions(dir("pred-test") / "predictions.tsv").size(),
            data::load_wassa(testing::data_dir(), data::Split::test).rows.size());

  // The report explains dev essays of the run (person vectors from the dev files).
  result = testing::run_cli("--threads 2 report " + shell_quote(run().string()) + data +
                            " --out " + shell_quote(dir("report/report.html").string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto page = read_file(dir("report/report.html"));
  EXPECT_NE(page.find("person-run"), std::string::npos);
  EXPECT_NE(page.find("dev essay"), std::string::npos);

  // A second member: the same run (with the dev predictions the report cached) under another
  // name.
  fs::copy(run(), dir("person-run-2"), fs::copy_options::recursive);
  const auto ensemble = dir("ens");
  result = testing::run_cli("--threads 2 ensemble " + shell_quote(run().string()) + " " +
                            shell_quote(dir("person-run-2").string()) + data +
                            " --split dev --out " + shell_quote(ensemble.string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // The ensemble folder serves essays through its members: it needs person values too.
  const auto predictor = predict::load_predictor(ensemble, predict::RunPredictorOptions{});
  EXPECT_TRUE(predictor->info().needs_person());
  EXPECT_EQ(predictor->predict(dev_essays(2)).size(), 2u);

  // explain --input with a "person" object per essay; without one, a clear error.
  const std::string person =
      R"("person": {"gender": 2, "education": 6, "race": 1, "age": 30, "income": 40000, )"
      R"("personality_conscientiousness": 5, "personality_openess": 5, )"
      R"("personality_extraversion": 3, "personality_agreeableness": 6, )"
      R"("personality_stability": 4, "iri_perspective_taking": 3.5, )"
      R"("iri_personal_distress": 4.5, "iri_fantasy": 3, "iri_empathatic_concern": 4})";
  write_file_atomic(dir("essays.jsonl"),
                    R"({"id": "p1", "essay": "So sad to read this.", )" + person + "}\n");
  result = testing::run_cli("--threads 2 explain " + shell_quote(run().string()) + " --input " +
                            shell_quote(dir("essays.jsonl").string()) +
                            " --outputs distress --steps 8");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json::parse(result.out)["id"], "p1");
  write_file_atomic(dir("bare.jsonl"), R"({"id": "p2", "essay": "So sad."})" "\n");
  result = testing::run_cli("--threads 2 explain " + shell_quote(run().string()) + " --input " +
                            shell_quote(dir("bare.jsonl").string()) + " --steps 8");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find(R"(key "person" is missing)"), std::string::npos) << result.err;
}

// Every encoder family takes the person input: a best/ folder written by hand (fixture encoder,
// random heads over [first token | person]) predicts with both kernels alike (ALBERT: the
// reference forward only), and the person values move the outputs.
class PersonFamilyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PersonFamilyTest, KernelsAgreeAndPersonValuesMatter) {
  testing::TempDir dir;
  const auto folder = dir / "best";
  const auto backbone = testing::hf_fixtures_dir() / GetParam();
  fs::create_directories(folder);
  fs::copy_file(backbone / "config.json", folder / "config.json");
  train::copy_tokenizer_files(backbone, folder);
  auto train_split = data::load_wassa(testing::data_dir(), data::Split::train);
  const auto encoder = data::PersonEncoder::fit(data::split_person_values(train_split));
  encoder.save(folder / data::kPersonStandardizationFile);
  torch::manual_seed(3);
  model::EncoderOptions encoder_options;
  encoder_options.hidden_dropout = 0.0;
  encoder_options.attention_dropout = 0.0;
  const std::vector<model::Task> tasks = {model::Task::empathy, model::Task::distress,
                                          model::Task::emotion};
  model::TaskModel task_model(model::load_encoder(backbone, encoder_options), tasks, 0.0,
                              static_cast<std::int64_t>(encoder.dimension()));
  testing::save_model_folder(folder, task_model, 40);

  const auto essays = dev_essays(6);
  predict::RunPredictorOptions options;
  options.forward_batch = 4;
  options.kernels = predict::Kernels::reference;
  const auto want = predict::RunPredictor(folder, options).predict(essays);
  options.kernels = predict::Kernels::fast;
  predict::RunPredictor fast(folder, options);
  const auto got = fast.predict(essays);
  const auto moved = fast.predict(other_persons(essays));
  for (std::size_t i = 0; i < essays.size(); ++i) {
    EXPECT_NEAR(*got[i].empathy, *want[i].empathy, 1e-5) << i;
    EXPECT_NEAR(*got[i].distress, *want[i].distress, 1e-5) << i;
    for (std::size_t k = 0; k < 7; ++k)
      EXPECT_NEAR((*got[i].emotion_probabilities)[k], (*want[i].emotion_probabilities)[k], 1e-5);
    EXPECT_GT(std::abs(*moved[i].distress - *got[i].distress), 1e-6) << i;
  }
  // A standardization file of another width is refused with the file named.
  auto manifest = read_json(folder / "emotune.json");
  manifest["person"]["dimension"] = 5;
  write_json(folder / "emotune.json", manifest);
  try {
    predict::RunPredictor broken(folder, options);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("person.dimension"), std::string::npos) << e.what();
  }
  fs::remove(folder / data::kPersonStandardizationFile);
  try {
    predict::RunPredictor broken(folder, options);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(std::string(data::kPersonStandardizationFile)),
              std::string::npos)
        << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Families, PersonFamilyTest,
                         ::testing::Values("electra", "bert", "roberta", "albert"));

}  // namespace
}  // namespace emotune
