// Explanations of a run (predict/explainer.h), POST /v1/explain and the page's files
// (serve/web_routes.h), and `emotune explain`, on best/ folders made from the fixture encoders.

#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/json_file.h"
#include "common/test_paths.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "predict/explainer.h"
#include "predict/run_predictor.h"
#include "serve/fake_predictor.h"
#include "serve/server.h"
#include "serve/web_routes.h"
#include "train/run_dir.h"

namespace emotune {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A best/ folder as `emotune train` writes it: a fixture encoder plus seeded heads for `tasks`.
fs::path make_model_folder(const fs::path& folder, const std::string& family,
                           std::size_t max_length, const std::vector<model::Task>& tasks) {
  const auto backbone = testing::hf_fixtures_dir() / family;
  fs::create_directories(folder);
  fs::copy_file(backbone / "config.json", folder / "config.json");
  train::copy_tokenizer_files(backbone, folder);
  torch::manual_seed(11);
  model::EncoderOptions options;
  options.hidden_dropout = 0.0;
  options.attention_dropout = 0.0;
  model::TaskModel task_model(model::load_encoder(backbone, options), tasks, 0.0);
  {
    torch::NoGradGuard no_grad;
    for (const auto task : tasks) {
      task_model->head(task)->weight.normal_(0.0, 0.5);
      if (task != model::Task::emotion) task_model->head(task)->bias.fill_(4.0);
    }
  }
  std::map<std::string, torch::Tensor> tensors;
  for (auto& [name, tensor] : task_model->export_tensors()) tensors.emplace(name, tensor.detach());
  model::save_tensors(folder / "model.safetensors", tensors);
  json task_names = json::array();
  for (const auto task : tasks) task_names.push_back(model::task_name(task));
  write_json(folder / "emotune.json",
                    json{{"model_type", task_model->encoder().model_type()},
                         {"weight_prefix", task_model->encoder().weight_prefix()},
                         {"tasks", task_names},
                         {"emotion_labels", model::emotion_labels()},
                         {"max_length", max_length}});
  return folder;
}

const std::vector<model::Task> kAllTasks = {model::Task::empathy, model::Task::distress,
                                            model::Task::emotion};
const std::string kEssay =
    "I felt so sad reading this.  Nobody helped the families,\tand the children lost "
    "everything!";

class ExplainerFamilyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ExplainerFamilyTest, WordsCoverTheEssayAndAttributionsAddUp) {
  testing::TempDir dir;
  const auto folder = make_model_folder(dir / "best", GetParam(), 64, kAllTasks);
  predict::RunExplainer explainer(folder, {1, "cpu"});
  ASSERT_EQ(explainer.output_names().size(), 9u);
  const auto explanation = explainer.explain({kEssay}, {});
  ASSERT_EQ(explanation.outputs.size(), 9u);

  // The essay is rebuilt exactly from the words and the whitespace between them.
  std::string rebuilt;
  for (const auto& word : explanation.words) rebuilt += word.before + word.text;
  EXPECT_EQ(rebuilt + explanation.after, kEssay);
  ASSERT_EQ(explanation.words.size(), 15u);
  EXPECT_EQ(explanation.words[3].text, "sad");
  EXPECT_EQ(explanation.words[5].text, "this.");
  EXPECT_EQ(explanation.words[5].before, " ");
  EXPECT_EQ(explanation.words[6].before, "  ");

  // Words sum their pieces, and all pieces sum to the output's difference (completeness).
  for (std::size_t k = 0; k < explanation.outputs.size(); ++k) {
    const auto& output = explanation.outputs[k];
    SCOPED_TRACE(output.name);
    double pieces = 0, words = 0;
    for (const auto& piece : explanation.pieces) pieces += piece.attributions[k];
    for (const auto& word : explanation.words) words += word.attributions[k];
    EXPECT_NEAR(pieces, output.attribution_sum, 1e-9);
    EXPECT_NEAR(words, output.attribution_sum, 1e-9);
    EXPECT_NEAR(output.value - output.baseline_value - output.attribution_sum,
                output.completeness_gap, 1e-12);
    EXPECT_LT(std::abs(output.completeness_gap), 2e-3);
  }
  EXPECT_EQ(explanation.prediction.token_count, explanation.pieces.size() + 2);

  // The prediction is the reference forward's: the predictor's reference kernels agree.
  predict::RunPredictorOptions reference;
  reference.kernels = predict::Kernels::reference;
  predict::RunPredictor predictor(folder, reference);
  const auto predicted = predictor.predict({{kEssay}}).front();
  EXPECT_NEAR(*explanation.prediction.empathy, *predicted.empathy, 1e-5);
  EXPECT_NEAR(explanation.outputs[0].value, *predicted.empathy, 1e-5);
  EXPECT_EQ(*explanation.prediction.emotion, *predicted.emotion);
}

INSTANTIATE_TEST_SUITE_P(Families, ExplainerFamilyTest,
                         ::testing::Values("electra", "roberta", "albert", "bert"),
                         [](const auto& info) { return info.param; });

TEST(Explainer, WordsPastMaxLengthAreMarkedAndGetNothing) {
  testing::TempDir dir;
  const auto folder = make_model_folder(dir / "best", "bert", 6, kAllTasks);
  predict::RunExplainer explainer(folder, {1, "cpu"});
  predict::ExplainOptions options;
  options.outputs = {"distress", "emotion:fear"};
  options.method.steps = 8;
  const auto explanation = explainer.explain({"one two three four five six seven"}, options);
  ASSERT_EQ(explanation.outputs.size(), 2u);
  EXPECT_EQ(explanation.outputs[1].name, "emotion:fear");
  EXPECT_TRUE(explanation.prediction.truncated);
  EXPECT_EQ(explanation.pieces.size(), 4u);
  ASSERT_EQ(explanation.words.size(), 7u);
  for (std::size_t w = 0; w < 7; ++w) {
    EXPECT_EQ(explanation.words[w].truncated, w >= 4) << w;
    if (w >= 4) EXPECT_EQ(explanation.words[w].attributions, (std::vector<double>{0.0, 0.0}));
  }
  predict::ExplainOptions unknown;
  unknown.outputs = {"emotion:bliss"};
  EXPECT_THROW(explainer.explain({"x"}, unknown), Error);
}

TEST(Explainer, ARunWithoutEmotionOffersOnlyItsOutputs) {
  testing::TempDir dir;
  const auto folder = make_model_folder(dir / "best", "electra", 32, {model::Task::empathy});
  predict::RunExplainer explainer(folder, {1, "cpu"});
  EXPECT_EQ(explainer.output_names(), (std::vector<std::string>{"empathy"}));
  const auto explanation = explainer.explain({"So sad."}, {});
  const auto answer = predict::explanation_json(explanation, 3);
  EXPECT_EQ(answer["id"], 3);
  EXPECT_TRUE(answer["prediction"].contains("empathy"));
  EXPECT_FALSE(answer["prediction"].contains("emotion"));
  EXPECT_EQ(answer["outputs"].size(), 1u);
  EXPECT_EQ(answer["words"][0]["text"], "So");
  EXPECT_TRUE(answer["words"][1]["attributions"].contains("empathy"));
  EXPECT_EQ(answer["method"]["steps"], 32);
  EXPECT_EQ(answer["method"]["rule"], "gauss-legendre");
  EXPECT_EQ(answer["method"]["baseline"], "pad");
}

// A service with the fake predictor and a real explainer on a tiny fixture run.
class ExplainServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<testing::TempDir>();
    const auto folder = make_model_folder(dir_->path() / "best", "electra", 32, kAllTasks);
    explainer_ = std::make_shared<predict::RunExplainer>(folder, predict::RunExplainerOptions{1, "cpu"});
  }
  static void TearDownTestSuite() {
    explainer_.reset();
    dir_.reset();
  }

  void start(std::shared_ptr<predict::Explainer> explainer, serve::ServerOptions options = {}) {
    server_ = std::make_unique<serve::Server>(std::make_shared<testing::FakePredictor>(), options,
                                              std::move(explainer));
    port_ = server_->bind("127.0.0.1", 0);
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Result explain(const std::string& body) {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(60, 0);
    client.set_connection_timeout(20, 0);
    return client.Post("/v1/explain", body, "application/json");
  }
  httplib::Result get(const std::string& path) {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(20, 0);
    return client.Get(path);
  }

  static std::unique_ptr<testing::TempDir> dir_;
  static std::shared_ptr<predict::RunExplainer> explainer_;
  std::unique_ptr<serve::Server> server_;
  std::thread thread_;
  int port_ = 0;
};
std::unique_ptr<testing::TempDir> ExplainServer::dir_;
std::shared_ptr<predict::RunExplainer> ExplainServer::explainer_;

void expect_error(const httplib::Result& result, int status, const std::string& fragment) {
  ASSERT_TRUE(result) << "no response";
  EXPECT_EQ(result->status, status) << result->body;
  const auto body = json::parse(result->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << result->body;
  EXPECT_EQ(body["error"]["status"], status);
  EXPECT_NE(body["error"]["message"].get<std::string>().find(fragment), std::string::npos)
      << "expected '" << fragment << "' in " << result->body;
}

TEST_F(ExplainServer, AnswersWithPredictionAttributionsAndTheGap) {
  start(explainer_);
  const auto result = explain(
      R"({"essay": {"id": "e-1", "text": "How awful, I cried."}, "outputs": ["empathy", "emotion:sadness"], "steps": 16})");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const auto answer = json::parse(result->body);
  EXPECT_EQ(answer["id"], "e-1");
  EXPECT_TRUE(answer["prediction"].contains("distress"));  // the prediction is complete
  ASSERT_EQ(answer["outputs"].size(), 2u);
  EXPECT_EQ(answer["outputs"][1]["name"], "emotion:sadness");
  EXPECT_LT(std::abs(answer["outputs"][0]["completeness_gap"].get<double>()), 2e-3);
  EXPECT_EQ(answer["method"]["steps"], 16);
  ASSERT_EQ(answer["words"].size(), 4u);
  EXPECT_EQ(answer["words"][1]["text"], "awful,");
  EXPECT_EQ(answer["words"][1]["start"], 4);
  EXPECT_EQ(answer["words"][1]["end"], 10);
  EXPECT_TRUE(answer["pieces"][0]["attributions"].contains("emotion:sadness"));
}

TEST_F(ExplainServer, BadRequestsGet400WithTheReason) {
  serve::ServerOptions options;
  options.max_chars = 50;
  start(explainer_, options);
  expect_error(explain("{not json"), 400, "not valid JSON");
  expect_error(explain("[1, 2]"), 400, R"(key "essay")");
  expect_error(explain(R"({"text": "hi"})"), 400, R"(key "essay")");
  expect_error(explain(R"({"essay": "hi", "step": 3})"), 400, R"(unknown key "step")");
  expect_error(explain(R"({"outputs": ["empathy"]})"), 400, R"(key "essay")");
  expect_error(explain(R"({"essays": ["a", "b"]})"), 400, "one essay");
  expect_error(explain(R"({"essay": 5})"), 400, "essay: expected a string");
  expect_error(explain(R"({"essay": {"id": 1}})"), 400, R"(essay: key "text" is missing)");
  expect_error(explain(R"({"essay": {"id": [1], "text": "x"}})"), 400,
               "essay.id: expected a string or an integer");
  expect_error(explain(R"({"essay": "x", "outputs": "empathy"})"), 400, R"(key "outputs")");
  expect_error(explain(R"({"essay": "x", "outputs": []})"), 400, R"(key "outputs")");
  expect_error(explain(R"({"essay": "x", "outputs": ["joy"]})"), 400,
               R"(outputs[0]: "joy" is not an output of this model)");
  expect_error(explain(R"({"essay": "x", "outputs": [7]})"), 400, "outputs[0]: expected a string");
  expect_error(explain(R"({"essay": "x", "steps": 1})"), 400, R"(key "steps")");
  expect_error(explain(R"({"essay": "x", "steps": 100000})"), 400, R"(key "steps")");
  expect_error(explain(R"({"essay": "x", "steps": "many"})"), 400, R"(key "steps")");
  expect_error(explain(R"({"essay": "x", "baseline": "mask"})"), 400, R"(key "baseline")");
  expect_error(explain(R"({"essay": "x", "rule": "simpson"})"), 400, R"(key "rule")");
  expect_error(explain(R"({"essay": ")" + std::string(60, 'a') + R"("})"), 413,
               "essay: 60 characters, at most 50");
}

TEST_F(ExplainServer, WithoutAnExplainerTheEndpointSays501) {
  start(nullptr);
  expect_error(explain(R"({"essay": "x"})"), 501, "single runs");
}

TEST_F(ExplainServer, ServesThePageAndItsFilesWithNothingFromElsewhere) {
  start(nullptr);
  const auto page = get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  EXPECT_NE(page->body.find("<textarea id=\"essay\""), std::string::npos);
  EXPECT_NE(page->body.find("aria-live"), std::string::npos);
  EXPECT_EQ(page->body.find("http://"), std::string::npos) << "the page links elsewhere";
  EXPECT_EQ(page->body.find("https://"), std::string::npos) << "the page links elsewhere";
  const auto script = get("/app.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_NE(script->body.find("/v1/explain"), std::string::npos);
  const auto style = get("/style.css");
  ASSERT_TRUE(style);
  EXPECT_EQ(style->get_header_value("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(get("/nope.js")->status, 404);
}

TEST(ExplainCommand, WritesOneJsonLinePerEssayAndRejectsBadInput) {
  testing::TempDir dir;
  const auto folder = make_model_folder(dir / "best", "roberta", 32, kAllTasks);
  const auto input = dir / "essays.jsonl";
  write_file_atomic(input, R"({"id": "a", "essay": "I am so sorry for them."}
{"id": "b", "essay": "Great news, finally!"}
)");
  const auto out = dir / "why.jsonl";
  const auto result =
      testing::run_cli("--threads 1 explain " + testing::shell_quote(folder.string()) +
                       " --input " + testing::shell_quote(input.string()) + " --steps 8" +
                       " --outputs distress emotion:joy --out " + testing::shell_quote(out.string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto text = read_file(out);
  std::vector<json> lines;
  std::size_t start = 0;
  for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
    lines.push_back(json::parse(text.substr(start, end - start)));
    start = end + 1;
  }
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["id"], "a");
  EXPECT_EQ(lines[1]["id"], "b");
  EXPECT_EQ(lines[1]["outputs"].size(), 2u);
  EXPECT_EQ(lines[1]["outputs"][1]["name"], "emotion:joy");
  EXPECT_EQ(lines[1]["method"]["steps"], 8);
  EXPECT_EQ(lines[0]["words"].size(), 6u);

  write_file_atomic(input, "{\"id\": \"a\"}\n");
  const auto bad = testing::run_cli("--threads 1 explain " + testing::shell_quote(folder.string()) +
                                    " --input " + testing::shell_quote(input.string()));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("essays.jsonl"), std::string::npos) << bad.err;
  const auto unknown = testing::run_cli("--threads 1 explain " + testing::shell_quote(folder.string()) +
                                        " --input " + testing::shell_quote(input.string()) +
                                        " --outputs joy");
  EXPECT_NE(unknown.exit_code, 0);
}

}  // namespace
}  // namespace emotune
