#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/test_paths.h"
#include "data/wassa.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "serve/ensemble_predictor.h"
#include "serve/run_predictor.h"
#include "serve/server.h"
#include "text/tokenizer.h"
#include "train/run_dir.h"

namespace emotune {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<model::Task> all_tasks() {
  return {model::Task::empathy, model::Task::distress, model::Task::emotion};
}

// A best/ folder as `emotune train` writes it (see train/trainer.cc write_best): a fixture
// encoder plus randomly initialised heads for every task.
fs::path make_model_folder(const fs::path& folder, const std::string& family,
                           std::size_t max_length, std::uint64_t seed = 7) {
  const auto backbone = testing::hf_fixtures_dir() / family;
  fs::create_directories(folder);
  fs::copy_file(backbone / "config.json", folder / "config.json");
  train::copy_tokenizer_files(backbone, folder);
  torch::manual_seed(seed);
  model::EncoderOptions options;
  options.hidden_dropout = 0.0;
  options.attention_dropout = 0.0;
  const std::vector<model::Task> tasks = all_tasks();
  model::TaskModel task_model(model::load_encoder(backbone, options), tasks, 0.0);
  if (seed != 7) {
    // Another member: perturb the encoder too, so members differ beyond their heads.
    torch::NoGradGuard no_grad;
    for (auto& parameter : task_model->parameters())
      parameter.add_(torch::randn_like(parameter) * 0.02);
  }
  std::map<std::string, torch::Tensor> tensors;
  for (auto& [name, tensor] : task_model->export_tensors()) tensors.emplace(name, tensor.detach());
  model::save_tensors(folder / "model.safetensors", tensors);
  train::write_json(folder / "emotune.json",
                    json{{"model_type", task_model->encoder().model_type()},
                         {"weight_prefix", task_model->encoder().weight_prefix()},
                         {"tasks", {"empathy", "distress", "emotion"}},
                         {"emotion_labels", model::emotion_labels()},
                         {"max_length", max_length}});
  return folder;
}

std::vector<serve::EssayInput> wassa_essays(std::size_t count) {
  const auto dev = data::load_wassa(testing::data_dir(), data::Split::dev);
  std::vector<serve::EssayInput> essays;
  for (std::size_t i = 0; i < count && i < dev.rows.size(); ++i) {
    essays.push_back({dev.rows[i].text});
  }
  essays.push_back({"Short."});
  essays.push_back({""});
  return essays;
}

// The model run on one essay at a time, without padding: what every batched answer must match.
struct Reference {
  double empathy, distress;
  std::vector<double> probabilities;
  std::size_t tokens;
  bool truncated;
};
class ReferenceModel {
 public:
  ReferenceModel(const fs::path& folder, std::size_t max_length)
      : tokenizer_(text::load_tokenizer(folder)), max_length_(max_length) {
    model::EncoderOptions options;
    options.hidden_dropout = 0.0;
    options.attention_dropout = 0.0;
    task_model_ =
        model::TaskModel(model::create_encoder(folder / "config.json", options), all_tasks(), 0.0);
    task_model_->import_tensors(model::load_tensors(folder / "model.safetensors"), "test");
    task_model_->eval();
  }

  Reference operator()(const std::string& text) {
    torch::NoGradGuard no_grad;
    const auto encoding = tokenizer_->encode(text, max_length_);
    const auto n = static_cast<std::int64_t>(encoding.input_ids.size());
    auto ids = torch::tensor(encoding.input_ids, torch::kInt64).view({1, n});
    auto mask = torch::ones({1, n}, torch::kInt64);
    auto outputs = task_model_->forward(ids, mask, torch::zeros({1, n}, torch::kInt64));
    Reference r;
    r.empathy = outputs.at(model::Task::empathy).item<double>();
    r.distress = outputs.at(model::Task::distress).item<double>();
    const auto p = torch::softmax(outputs.at(model::Task::emotion).to(torch::kFloat64), 1);
    for (std::int64_t k = 0; k < 7; ++k) r.probabilities.push_back(p[0][k].item<double>());
    r.tokens = encoding.input_ids.size();
    r.truncated = tokenizer_->encode_without_specials(text).size() + 2 > max_length_;
    return r;
  }

 private:
  std::unique_ptr<text::Tokenizer> tokenizer_;
  model::TaskModel task_model_{nullptr};
  std::size_t max_length_;
};

class RunPredictorTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RunPredictorTest, BatchedSortedAnswersEqualOneAtATimeForwardPasses) {
  testing::TempDir dir;
  constexpr std::size_t kMaxLength = 40;
  const auto folder = make_model_folder(dir / "run" / "seed-3" / "best", GetParam(), kMaxLength);
  serve::RunPredictorOptions options;
  options.threads = 2;
  options.forward_batch = 4;
  serve::RunPredictor predictor(dir / "run", options);  // a run folder: its only seed's best/
  EXPECT_EQ(predictor.info().tasks, (std::vector<std::string>{"empathy", "distress", "emotion"}));
  EXPECT_EQ(predictor.info().max_length, kMaxLength);
  EXPECT_EQ(predictor.info().backbone, GetParam() == "roberta" ? "roberta" : GetParam());

  const auto essays = wassa_essays(10);
  const auto predictions = predictor.predict(essays);
  ASSERT_EQ(predictions.size(), essays.size());
  int truncated = 0;
  ReferenceModel reference(folder, kMaxLength);
  for (std::size_t i = 0; i < essays.size(); ++i) {
    const auto want = reference(essays[i].text);
    const auto& got = predictions[i];
    ASSERT_TRUE(got.empathy && got.distress && got.emotion && got.emotion_probabilities);
    EXPECT_NEAR(*got.empathy, want.empathy, 1e-5) << i;
    EXPECT_NEAR(*got.distress, want.distress, 1e-5) << i;
    for (std::size_t k = 0; k < 7; ++k) {
      EXPECT_NEAR((*got.emotion_probabilities)[k], want.probabilities[k], 1e-5) << i;
    }
    EXPECT_EQ(got.token_count, want.tokens) << i;
    EXPECT_EQ(got.truncated, want.truncated) << i;
    truncated += got.truncated;
  }
  EXPECT_GT(truncated, 0);  // WASSA essays are longer than 40 tokens
  EXPECT_FALSE(predictions[essays.size() - 1].truncated);
  EXPECT_EQ(predictions[essays.size() - 1].token_count, 2u);  // "" is [CLS] [SEP]
}

INSTANTIATE_TEST_SUITE_P(Families, RunPredictorTest,
                         ::testing::Values("electra", "bert", "roberta", "albert"));

TEST(RunPredictor, ServerAnswersEqualTheDirectPredictions) {
  testing::TempDir dir;
  const auto folder = make_model_folder(dir / "best", "electra", 64);
  auto predictor = std::make_shared<serve::RunPredictor>(folder);
  const auto essays = wassa_essays(6);
  const auto direct = predictor->predict(essays);

  serve::ServerOptions options;
  options.batching.max_wait = std::chrono::milliseconds(1);
  serve::Server server(predictor, options);
  const int port = server.bind("127.0.0.1", 0);
  std::thread running([&] { server.run(); });
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  json body = {{"essays", json::array()}};
  for (std::size_t i = 0; i < essays.size(); ++i) {
    body["essays"].push_back({{"id", "e" + std::to_string(i)}, {"text", essays[i].text}});
  }
  auto result = client.Post("/v1/predict", body.dump(), "application/json");
  auto info = client.Get("/v1/model");
  server.stop();
  running.join();
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const auto answers = json::parse(result->body)["predictions"];
  ASSERT_EQ(answers.size(), essays.size());
  for (std::size_t i = 0; i < essays.size(); ++i) {
    EXPECT_EQ(answers[i]["id"], "e" + std::to_string(i));
    EXPECT_NEAR(answers[i]["empathy"].get<double>(), *direct[i].empathy, 1e-6);
    EXPECT_NEAR(answers[i]["distress"].get<double>(), *direct[i].distress, 1e-6);
    EXPECT_EQ(answers[i]["emotion"]["label"], *direct[i].emotion);
    EXPECT_EQ(answers[i]["tokens"], direct[i].token_count);
    EXPECT_EQ(answers[i]["truncated"], direct[i].truncated);
  }
  ASSERT_TRUE(info);
  EXPECT_EQ(json::parse(info->body)["backbone"], "electra");
}

TEST(RunPredictor, Bf16StaysCloseToFp32) {
  testing::TempDir dir;
  const auto folder = make_model_folder(dir / "best", "electra", 64);
  const auto essays = wassa_essays(20);
  serve::RunPredictor fp32(folder);
  serve::RunPredictorOptions options;
  options.precision = serve::Precision::bf16;
  serve::RunPredictor bf16(folder, options);
  const auto a = fp32.predict(essays);
  const auto b = bf16.predict(essays);
  double worst = 0;
  for (std::size_t i = 0; i < essays.size(); ++i) {
    worst = std::max(worst, std::abs(*a[i].empathy - *b[i].empathy));
    for (std::size_t k = 0; k < 7; ++k) {
      worst = std::max(
          worst, std::abs((*a[i].emotion_probabilities)[k] - (*b[i].emotion_probabilities)[k]));
    }
  }
  EXPECT_LT(worst, 0.05);
  EXPECT_GT(worst, 0.0);  // it really ran in another precision
}

TEST(EnsemblePredictor, CombinesMembersAsTheEvalEnsembleDoes) {
  testing::TempDir dir;
  make_model_folder(dir / "a" / "best", "electra", 48, 7);
  make_model_folder(dir / "b" / "best", "bert", 32, 11);
  fs::create_directories(dir / "ens");
  write_file_atomic(dir / "ens" / "ensemble.json",
                    R"({"members": ["../a", "../b"], "regression_weights": [3, 1]})");
  const auto essays = wassa_essays(8);
  auto ensemble = serve::load_predictor(dir / "ens");
  EXPECT_EQ(ensemble->info().backbone, "electra+bert");
  EXPECT_EQ(ensemble->info().max_length, 48u);
  serve::RunPredictor a(dir / "a"), b(dir / "b");
  const auto pa = a.predict(essays), pb = b.predict(essays), pe = ensemble->predict(essays);
  ASSERT_EQ(pe.size(), essays.size());
  for (std::size_t i = 0; i < essays.size(); ++i) {
    EXPECT_NEAR(*pe[i].empathy, 0.75 * *pa[i].empathy + 0.25 * *pb[i].empathy, 1e-9);
    EXPECT_NEAR(*pe[i].distress, 0.75 * *pa[i].distress + 0.25 * *pb[i].distress, 1e-9);
    std::array<double, 7> mean{};
    for (std::size_t k = 0; k < 7; ++k) {
      mean[k] = 0.5 * ((*pa[i].emotion_probabilities)[k] + (*pb[i].emotion_probabilities)[k]);
      EXPECT_NEAR((*pe[i].emotion_probabilities)[k], mean[k], 1e-9);
    }
    const auto best = std::max_element(mean.begin(), mean.end()) - mean.begin();
    EXPECT_EQ(*pe[i].emotion, serve::emotion_label_names()[static_cast<std::size_t>(best)]);
    EXPECT_EQ(pe[i].truncated, pa[i].truncated || pb[i].truncated);
    EXPECT_EQ(pe[i].token_count, std::max(pa[i].token_count, pb[i].token_count));
  }
  write_file_atomic(dir / "ens" / "ensemble.json",
                    R"({"members": ["../a", "../b"], "emotion_weights": [1]})");
  EXPECT_THROW(serve::load_predictor(dir / "ens"), Error);
  write_file_atomic(dir / "ens" / "ensemble.json", R"({"members": []})");
  EXPECT_THROW(serve::load_predictor(dir / "ens"), Error);
}

TEST(EnsemblePredictor, ReadsTheManifestThatEmotuneEnsembleWrites) {
  testing::TempDir dir;
  make_model_folder(dir / "a" / "best", "electra", 48, 7);
  make_model_folder(dir / "b" / "best", "bert", 32, 11);
  fs::create_directories(dir / "ens");
  const auto manifest = nlohmann::json{
      {"members",
       {{{"name", "a"}, {"path", (dir / "a").string()}, {"regression_weight", 0.25},
         {"emotion_weight", 0.5}},
        {{"name", "b"}, {"path", (dir / "b").string()}, {"regression_weight", 0.75},
         {"emotion_weight", 0.5}}}},
      {"method", "vote"},
      {"split", "dev"}};
  write_file_atomic(dir / "ens" / "ensemble.json", manifest.dump(2));
  const auto essays = wassa_essays(6);
  auto ensemble = serve::load_predictor(dir / "ens");
  serve::RunPredictor a(dir / "a"), b(dir / "b");
  const auto pa = a.predict(essays), pb = b.predict(essays), pe = ensemble->predict(essays);
  ASSERT_EQ(pe.size(), essays.size());
  for (std::size_t i = 0; i < essays.size(); ++i) {
    EXPECT_NEAR(*pe[i].empathy, 0.25 * *pa[i].empathy + 0.75 * *pb[i].empathy, 1e-9);
    EXPECT_NEAR(*pe[i].distress, 0.25 * *pa[i].distress + 0.75 * *pb[i].distress, 1e-9);
  }
  EXPECT_NE(ensemble->info().version.find("vote"), std::string::npos) << ensemble->info().version;

  auto broken = manifest;
  broken["members"][1].erase("regression_weight");
  write_file_atomic(dir / "ens" / "ensemble.json", broken.dump());
  EXPECT_THROW(serve::load_predictor(dir / "ens"), Error);
  broken = manifest;
  broken["method"] = "median";
  write_file_atomic(dir / "ens" / "ensemble.json", broken.dump());
  EXPECT_THROW(serve::load_predictor(dir / "ens"), Error);
}

TEST(RunPredictor, FolderErrorsNameTheFileAndWhatWasExpected) {
  testing::TempDir dir;
  fs::create_directories(dir / "empty");
  try {
    serve::RunPredictor predictor(dir / "empty");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no model found"), std::string::npos) << e.what();
  }
  const auto folder = make_model_folder(dir / "best", "electra", 32);
  write_file_atomic(folder / "emotune.json",
                    R"({"tasks": ["joy"], "max_length": 32, "model_type": "electra"})");
  try {
    serve::RunPredictor predictor(folder);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown task \"joy\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("emotune.json"), std::string::npos) << e.what();
  }
  write_file_atomic(folder / "emotune.json", "{");
  EXPECT_THROW(serve::RunPredictor{folder}, Error);
  EXPECT_THROW(serve::parse_precision("int4"), Error);
}

}  // namespace
}  // namespace emotune
