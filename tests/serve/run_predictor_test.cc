#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>
#include <thread>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "common/devices.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"
#include "common/test_paths.h"
#include "data/wassa.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "predict/ensemble_predictor.h"
#include "predict/run_predictor.h"
#include "runtime/cpu_capabilities.h"
#include "serve/server.h"
#include "text/tokenizer.h"
#include "serve/model_folders.h"
#include "train/run_dir.h"

extern char** environ;

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
  testing::save_model_folder(folder, task_model, static_cast<std::int64_t>(max_length));
  return folder;
}

std::vector<predict::EssayInput> wassa_essays(std::size_t count) {
  const auto dev = data::load_wassa(testing::data_dir(), data::Split::dev);
  std::vector<predict::EssayInput> essays;
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
  for (const auto kernels : {predict::Kernels::fast, predict::Kernels::reference}) {
    SCOPED_TRACE(predict::kernels_name(kernels));
    predict::RunPredictorOptions options;
    options.threads = 2;
    options.forward_batch = 4;
    options.kernels = kernels;
    predict::RunPredictor predictor(dir / "run", options);  // a run folder: its only seed's best/
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
}

INSTANTIATE_TEST_SUITE_P(Families, RunPredictorTest,
                         ::testing::Values("electra", "bert", "roberta", "albert"));

TEST(RunPredictor, ServerAnswersEqualTheDirectPredictions) {
  testing::TempDir dir;
  const auto folder = make_model_folder(dir / "best", "electra", 64);
  auto predictor = std::make_shared<predict::RunPredictor>(folder);
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


// `emotune serve` as a process: SIGTERM while a request waits in the micro-batcher lets that
// request finish with its answer, then the program exits 0.
TEST(ServeCommand, SigtermFinishesTheRequestInFlightThenExitsZero) {
  testing::TempDir dir;
  const auto folder = make_model_folder(dir / "best", "electra", 32);
  const int port = testing::free_port();
  ASSERT_GT(port, 0);
  const auto log = (dir / "serve.log").string();
  const std::vector<std::string> args = {
      testing::cli_path().string(), "--threads",     "1",   "serve", folder.string(), "--port",
      std::to_string(port),         "--max-wait-ms", "3000"};
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  const auto kill_child = [&] {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  };

  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(60, 0);
  bool up = false;
  for (int attempt = 0; attempt < 600 && !up; ++attempt) {
    auto health = client.Get("/healthz");
    up = health && health->status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!up) {
    kill_child();
    FAIL() << "emotune serve did not come up: " << read_file(log);
  }
  auto in_flight = std::async(std::launch::async, [port] {
    httplib::Client one("127.0.0.1", port);
    one.set_read_timeout(60, 0);
    auto result = one.Post("/v1/predict", R"({"essays": [{"id": 5, "text": "I feel for them."}]})",
                           "application/json");
    return result ? std::make_pair(result->status, result->body)
                  : std::make_pair(-1, std::string());
  });
  // The request is in flight once it waits in the queue (up to --max-wait-ms for company).
  bool queued = false;
  for (int attempt = 0; attempt < 200 && !queued; ++attempt) {
    auto metrics = client.Get("/metrics");
    queued = metrics && metrics->body.find("emotune_queue_depth 1") != std::string::npos;
    if (!queued) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(queued) << "the request was answered before SIGTERM could be sent";
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  const auto [status, body] = in_flight.get();
  int wait_status = 0;
  ASSERT_EQ(::waitpid(pid, &wait_status, 0), pid);
  pid = -1;
  EXPECT_EQ(status, 200) << body;
  if (status == 200) {
    const auto answer = json::parse(body)["predictions"][0];
    EXPECT_EQ(answer["id"], 5);
    EXPECT_TRUE(answer.contains("empathy") && answer.contains("emotion"));
  }
  ASSERT_TRUE(WIFEXITED(wait_status)) << read_file(log);
  EXPECT_EQ(WEXITSTATUS(wait_status), 0) << read_file(log);
  EXPECT_NE(read_file(log).find("finishing requests in flight"), std::string::npos)
      << read_file(log);
}

// Reduced precisions (on both kernels where they exist) stay close to the reference fp32
// answers on a real fixture encoder, and really compute in another precision. The bound, 0.1,
// is the encoders' reduced-precision bound on the first-token vector the heads read
// (tests/model/inference_encoder_golden_test.cc); saturating int8 products, the bug this
// guards against, are caught there (0.37 against 0.1) and by Int8Kernels. Measured here: int8
// 0.020 with VNNI, 0.048 capped to AVX2 (7-bit weights). The bound is the
// same on every CPU: int8 quantizes to 7 bits where the CPU has no VNNI, and bf16 is refused
// (skipped here, with the reason) where it has no native bf16. CTest runs these again under
// ONEDNN_MAX_CPU_ISA=AVX2 (`serve_avx2`), so both kinds of CPU are covered on either.
void expect_close_to_fp32(predict::Kernels kernels, predict::Precision precision) {
  testing::TempDir dir;
  const auto folder = make_model_folder(dir / "best", "electra", 64);
  const auto essays = wassa_essays(20);
  predict::RunPredictorOptions reference_options;
  reference_options.kernels = predict::Kernels::reference;
  const auto want = predict::RunPredictor(folder, reference_options).predict(essays);
  predict::RunPredictorOptions options;
  options.kernels = kernels;
  options.precision = precision;
  predict::RunPredictor predictor(folder, options);
  const auto got = predictor.predict(essays);
  double worst = 0;
  for (std::size_t i = 0; i < essays.size(); ++i) {
    worst = std::max(worst, std::abs(*want[i].empathy - *got[i].empathy));
    worst = std::max(worst, std::abs(*want[i].distress - *got[i].distress));
    for (std::size_t k = 0; k < 7; ++k) {
      worst = std::max(worst, std::abs((*want[i].emotion_probabilities)[k] -
                                       (*got[i].emotion_probabilities)[k]));
    }
    EXPECT_EQ(got[i].token_count, want[i].token_count);
  }
  const auto name = predict::kernels_name(kernels) + " " + predict::precision_name(precision);
  std::printf("%s: max |difference| to reference fp32 %.4f (%s)\n", name.c_str(), worst,
              predictor.info().version.c_str());
  EXPECT_LT(worst, 0.1) << name;
  EXPECT_GT(worst, 0.0) << name << ": it really ran in another precision";
  EXPECT_NE(predictor.info().version.find(predict::precision_name(precision)), std::string::npos);
}

// Where bf16 is refused: both kernels say so, naming the CPU feature; then the test skips.
void skip_where_bf16_is_refused() {
  const auto refusal = runtime::bf16_refusal(runtime::reduced_precision_support());
  if (refusal.empty()) return;
  testing::TempDir dir;
  const auto folder = make_model_folder(dir / "best", "electra", 32);
  for (const auto kernels : {predict::Kernels::fast, predict::Kernels::reference}) {
    predict::RunPredictorOptions options;
    options.kernels = kernels;
    options.precision = predict::Precision::bf16;
    try {
      predict::RunPredictor predictor(folder, options);
      ADD_FAILURE() << predict::kernels_name(kernels) << " bf16 ran without native bf16";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("AVX512_BF16"), std::string::npos) << e.what();
    }
  }
  GTEST_SKIP() << refusal;
}

// Several batches at once, one thread each, compute each batch as one batch at a time does:
// the same answers in the same order, for every kernel and CPU precision.
TEST(RunPredictor, ParallelBatchesAnswerAsOneBatchAtATime) {
  testing::TempDir dir;
  const auto folder = make_model_folder(dir / "best", "electra", 48);
  const auto essays = wassa_essays(40);
  std::vector<std::pair<predict::Kernels, predict::Precision>> cases = {
      {predict::Kernels::fast, predict::Precision::fp32},
      {predict::Kernels::reference, predict::Precision::fp32},
      {predict::Kernels::fast, predict::Precision::int8}};
  if (runtime::bf16_refusal(runtime::reduced_precision_support()).empty())
    cases.emplace_back(predict::Kernels::fast, predict::Precision::bf16);
  for (const auto& [kernels, precision] : cases) {
    const auto name = predict::kernels_name(kernels) + " " + predict::precision_name(precision);
    predict::RunPredictorOptions options;
    options.threads = 2;
    options.forward_batch = 3;  // 14 batches
    options.kernels = kernels;
    options.precision = precision;
    options.parallel_batches = 1;
    const auto one_at_a_time = predict::RunPredictor(folder, options).predict(essays);
    for (const std::size_t parallel : {std::size_t{0}, std::size_t{2}}) {
      options.parallel_batches = parallel;
      const auto got = predict::RunPredictor(folder, options).predict(essays);
      ASSERT_EQ(got.size(), essays.size());
      for (std::size_t i = 0; i < essays.size(); ++i) {
        EXPECT_NEAR(*got[i].empathy, *one_at_a_time[i].empathy, 1e-6) << name << " essay " << i;
        EXPECT_NEAR(*got[i].distress, *one_at_a_time[i].distress, 1e-6) << name << " essay " << i;
        EXPECT_EQ(got[i].emotion, one_at_a_time[i].emotion) << name << " essay " << i;
        EXPECT_EQ(got[i].token_count, one_at_a_time[i].token_count) << name;
      }
    }
  }
  // The process-wide thread count is untouched afterwards.
  EXPECT_EQ(at::get_num_threads(), 2);
}

TEST(RunPredictor, Int8StaysCloseToFp32) {
  expect_close_to_fp32(predict::Kernels::fast, predict::Precision::int8);
}

TEST(RunPredictor, Bf16StaysCloseToFp32OrIsRefused) {
  skip_where_bf16_is_refused();
  if (IsSkipped() || HasFailure()) return;
  expect_close_to_fp32(predict::Kernels::fast, predict::Precision::bf16);
  expect_close_to_fp32(predict::Kernels::reference, predict::Precision::bf16);
}

TEST(RunPredictor, UnavailableCombinationsAreClearErrors) {
  testing::TempDir dir;
  const auto folder = make_model_folder(dir / "best", "electra", 32);
  predict::RunPredictorOptions options;
  options.kernels = predict::Kernels::reference;
  options.precision = predict::Precision::int8;
  EXPECT_THROW(predict::RunPredictor(folder, options), Error);
  const auto albert = make_model_folder(dir / "albert", "albert", 32);
  options.kernels = predict::Kernels::fast;  // ALBERT has no fast kernels: reference, no int8
  EXPECT_THROW(predict::RunPredictor(albert, options), Error);
  options.precision = predict::Precision::fp32;
  EXPECT_NE(predict::RunPredictor(albert, options).info().version.find("reference kernels"),
            std::string::npos);
  options.device = "gpu";
  EXPECT_THROW(predict::RunPredictor(folder, options), Error);
  if (!torch::cuda::is_available()) {
    options.device = "cuda:0";
    try {
      predict::RunPredictor predictor(folder, options);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cuda:0"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(predict::parse_kernels("turbo"), Error);
  EXPECT_EQ(predict::parse_kernels(predict::kernels_name(predict::Kernels::reference)),
            predict::Kernels::reference);
}

TEST(EnsemblePredictor, CombinesMembersAsTheEvalEnsembleDoes) {
  testing::TempDir dir;
  make_model_folder(dir / "a" / "best", "electra", 48, 7);
  make_model_folder(dir / "b" / "best", "bert", 32, 11);
  fs::create_directories(dir / "ens");
  write_file_atomic(dir / "ens" / "ensemble.json",
                    R"({"members": ["../a", "../b"], "regression_weights": [3, 1]})");
  const auto essays = wassa_essays(8);
  auto ensemble = predict::load_predictor(dir / "ens");
  EXPECT_EQ(ensemble->info().backbone, "electra+bert");
  EXPECT_EQ(ensemble->info().max_length, 48u);
  predict::RunPredictor a(dir / "a"), b(dir / "b");
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
    EXPECT_EQ(*pe[i].emotion, predict::emotion_label_names()[static_cast<std::size_t>(best)]);
    EXPECT_EQ(pe[i].truncated, pa[i].truncated || pb[i].truncated);
    EXPECT_EQ(pe[i].token_count, std::max(pa[i].token_count, pb[i].token_count));
  }
  write_file_atomic(dir / "ens" / "ensemble.json",
                    R"({"members": ["../a", "../b"], "emotion_weights": [1]})");
  EXPECT_THROW(predict::load_predictor(dir / "ens"), Error);
  write_file_atomic(dir / "ens" / "ensemble.json", R"({"members": []})");
  EXPECT_THROW(predict::load_predictor(dir / "ens"), Error);
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
  auto ensemble = predict::load_predictor(dir / "ens");
  predict::RunPredictor a(dir / "a"), b(dir / "b");
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
  EXPECT_THROW(predict::load_predictor(dir / "ens"), Error);
  broken = manifest;
  broken["method"] = "median";
  write_file_atomic(dir / "ens" / "ensemble.json", broken.dump());
  EXPECT_THROW(predict::load_predictor(dir / "ens"), Error);
}

TEST(RunPredictor, FolderErrorsNameTheFileAndWhatWasExpected) {
  testing::TempDir dir;
  fs::create_directories(dir / "empty");
  try {
    predict::RunPredictor predictor(dir / "empty");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no model found"), std::string::npos) << e.what();
  }
  const auto folder = make_model_folder(dir / "best", "electra", 32);
  write_file_atomic(folder / "emotune.json",
                    R"({"tasks": ["joy"], "max_length": 32, "model_type": "electra"})");
  try {
    predict::RunPredictor predictor(folder);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown task \"joy\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("emotune.json"), std::string::npos) << e.what();
  }
  write_file_atomic(folder / "emotune.json", "{");
  EXPECT_THROW(predict::RunPredictor{folder}, Error);
  EXPECT_THROW(predict::parse_precision("int4"), Error);
}

// Predictions and the HTTP service on each device (tests/common/devices.h): the fast fp32 and
// bf16 kernels and the reference kernels computed on the device against the CPU's reference
// fp32 answers, and /v1/predict of a Server over a predictor on that device. fp32 on cuda is
// held to 1e-4 (other summation orders), bf16 to 0.05 as on the CPU.
class RunPredictorOnDevice : public ::testing::TestWithParam<std::string> {};

TEST_P(RunPredictorOnDevice, PredictionsAndServiceMatchTheCpuReference) {
  EMOTUNE_SKIP_UNLESS_DEVICE(GetParam());
  testing::TempDir dir;
  const auto folder = make_model_folder(dir / "best", "electra", 64);
  const auto essays = wassa_essays(12);
  predict::RunPredictorOptions cpu_options;
  cpu_options.kernels = predict::Kernels::reference;
  const auto want = predict::RunPredictor(folder, cpu_options).predict(essays);
  struct Case {
    predict::Kernels kernels;
    predict::Precision precision;
    double tolerance;
  };
  const double fp32_tolerance = GetParam() == "cpu" ? 1e-5 : 1e-4;
  // The fast kernels' attention on CUDA uses TF32 tensor cores (tests/model/device_golden_test.cc).
  const double fast_fp32_tolerance = GetParam() == "cpu" ? fp32_tolerance : 2e-3;
  for (const auto& [kernels, precision, tolerance] :
       {Case{predict::Kernels::fast, predict::Precision::fp32, fast_fp32_tolerance},
        Case{predict::Kernels::reference, predict::Precision::fp32, fp32_tolerance},
        Case{predict::Kernels::fast, predict::Precision::bf16, 0.05}}) {
    predict::RunPredictorOptions options;
    options.kernels = kernels;
    options.precision = precision;
    options.device = GetParam();
    predict::RunPredictor predictor(folder, options);
    const auto name = predict::kernels_name(kernels) + " " + predict::precision_name(precision);
    EXPECT_NE(predictor.info().version.find(GetParam()), std::string::npos)
        << name << ": " << predictor.info().version;
    const auto got = predictor.predict(essays);
    ASSERT_EQ(got.size(), essays.size());
    double worst = 0;
    for (std::size_t i = 0; i < essays.size(); ++i) {
      worst = std::max(worst, std::abs(*want[i].empathy - *got[i].empathy));
      worst = std::max(worst, std::abs(*want[i].distress - *got[i].distress));
      for (std::size_t k = 0; k < 7; ++k) {
        worst = std::max(worst, std::abs((*want[i].emotion_probabilities)[k] -
                                         (*got[i].emotion_probabilities)[k]));
      }
      EXPECT_EQ(got[i].token_count, want[i].token_count);
    }
    std::printf("%s %s: max|diff| to the cpu reference %.3g (tolerance %.0e)\n",
                GetParam().c_str(), name.c_str(), worst, tolerance);
    EXPECT_LE(worst, tolerance) << name;
  }

  predict::RunPredictorOptions options;
  options.device = GetParam();
  serve::ServerOptions server_options;
  server_options.batching.max_wait = std::chrono::milliseconds(1);
  serve::Server server(std::make_shared<predict::RunPredictor>(folder, options), server_options);
  const int port = server.bind("127.0.0.1", 0);
  std::thread running([&] { server.run(); });
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);
  json body = {{"essays", json::array()}};
  for (std::size_t i = 0; i < essays.size(); ++i) {
    body["essays"].push_back({{"id", "e" + std::to_string(i)}, {"text", essays[i].text}});
  }
  auto result = client.Post("/v1/predict", body.dump(), "application/json");
  server.stop();
  running.join();
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const auto answers = json::parse(result->body)["predictions"];
  ASSERT_EQ(answers.size(), essays.size());
  for (std::size_t i = 0; i < essays.size(); ++i) {
    EXPECT_NEAR(answers[i]["empathy"].get<double>(), *want[i].empathy, fast_fp32_tolerance) << i;
    EXPECT_NEAR(answers[i]["distress"].get<double>(), *want[i].distress, fast_fp32_tolerance) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, RunPredictorOnDevice,
                         ::testing::ValuesIn(testing::test_devices()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace emotune
