// Serving speed at ELECTRA-base shape (12 layers, hidden 768, 12 heads, FFN 3072; random
// weights, the fixture ELECTRA vocabulary) on WASSA 2021 essays truncated to 128 tokens.
//  1. RunPredictor::predict throughput on 200 essays with 2 threads: fp32, bf16 (where the CPU
//     has native bf16; left out with the reason otherwise) and int8 on
//     the fast kernels, length-sorted batches, against a plain eager fp32 loop padding batches
//     of 16 to 128 tokens (bench/fast_inference_bench compares every path in detail).
//  2. The HTTP service under 1, 8 and 32 concurrent clients (one essay per request):
//     essays/s, p50/p99 latency, with micro-batching and without (--max-batch 1).
// Run: build/serve_load_bench [--essays N] [--load-essays N] [--repeats R] [--threads T]
//      [--precision fp32|bf16|int8 (of the HTTP part)] [--skip-predict] [--skip-load]
// Data: $EMOTUNE_DATA and $EMOTUNE_HF_FIXTURES, else ../shared/... from the current folder.
// Every figure is the median of R runs.

#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "base_model.h"
#include "data/wassa.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "predict/run_predictor.h"
#include "runtime/cpu_capabilities.h"
#include "runtime/process.h"
#include "runtime/threads.h"
#include "serve/server.h"
#include "text/tokenizer.h"
#include "train/run_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace emotune;
using nlohmann::json;

std::vector<model::Task> all_tasks() {
  return {model::Task::empathy, model::Task::distress, model::Task::emotion};
}
using Clock = std::chrono::steady_clock;

fs::path find_dir(const char* variable, const fs::path& relative) {
  if (const char* value = std::getenv(variable); value != nullptr && *value != '\0') return value;
  for (const fs::path up : {"..", "../..", "../../.."}) {
    if (fs::is_directory(up / relative)) return up / relative;
  }
  throw std::runtime_error(std::string("set ") + variable);
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

// The naive path: batches of 16 in file order, every one padded to max_length, eager fp32.
double naive_essays_per_second(const fs::path& folder, const std::vector<predict::EssayInput>& essays,
                               std::size_t max_length) {
  auto tokenizer = text::load_tokenizer(folder);
  model::TaskModel task_model(model::create_encoder(folder / "config.json"), all_tasks(), 0.0);
  task_model->import_tensors(model::load_tensors(folder / "model.safetensors"), "bench");
  task_model->eval();
  torch::NoGradGuard no_grad;
  return bench::padded_essays_per_second(essays, max_length, task_model, *tokenizer);
}

struct LoadResult {
  double essays_per_second, p50_ms, p99_ms;
};

LoadResult run_load(const std::shared_ptr<predict::Predictor>& predictor,
                    const std::vector<predict::EssayInput>& essays, int clients, bool batching) {
  serve::ServerOptions options;
  options.batching.max_batch = batching ? 32 : 1;
  options.batching.max_wait = std::chrono::milliseconds(batching ? 5 : 0);
  serve::Server server(predictor, options);
  const int port = server.bind("127.0.0.1", 0);
  std::thread running([&] { server.run(); });
  std::vector<std::future<std::vector<double>>> workers;
  const auto started = Clock::now();
  for (int c = 0; c < clients; ++c) {
    workers.push_back(std::async(std::launch::async, [&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(600, 0);
      std::vector<double> latencies;
      for (std::size_t i = static_cast<std::size_t>(c); i < essays.size();
           i += static_cast<std::size_t>(clients)) {
        const auto sent = Clock::now();
        const auto body = json{{"essays", {essays[i].text}}}.dump();
        auto result = client.Post("/v1/predict", body, "application/json");
        // httplib's listen backlog is 5: a connection lost there is retried once, as HTTP
        // clients do.
        if (!result) result = client.Post("/v1/predict", body, "application/json");
        if (!result || result->status != 200) {
          throw std::runtime_error(
              result ? fmt::format("request failed: HTTP {} {}", result->status, result->body)
                     : fmt::format("request failed: {}", httplib::to_string(result.error())));
        }
        latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
      }
      return latencies;
    }));
  }
  std::vector<double> latencies;
  for (auto& w : workers) {
    auto part = w.get();
    latencies.insert(latencies.end(), part.begin(), part.end());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  server.stop();
  running.join();
  return {static_cast<double>(essays.size()) / seconds, percentile(latencies, 0.5),
          percentile(latencies, 0.99)};
}

}  // namespace

int main(int argc, char** argv) {
  emotune::runtime::prepare_process(argv);
  std::size_t essay_count = 200;
  int repeats = 3;
  int threads = 2;
  bool skip_load = false;
  bool skip_predict = false;
  std::size_t load_essays = 64;
  auto load_precision = predict::Precision::fp32;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--essays" && i + 1 < argc)
      essay_count = std::stoul(argv[++i]);
    else if (arg == "--repeats" && i + 1 < argc)
      repeats = std::stoi(argv[++i]);
    else if (arg == "--threads" && i + 1 < argc)
      threads = std::stoi(argv[++i]);
    else if (arg == "--precision" && i + 1 < argc)
      load_precision = predict::parse_precision(argv[++i]);
    else if (arg == "--skip-predict")
      skip_predict = true;
    else if (arg == "--skip-load")
      skip_load = true;
    else if (arg == "--load-essays" && i + 1 < argc)
      load_essays = std::stoul(argv[++i]);
    else {
      fmt::print(stderr,
                 "usage: serve_load_bench [--essays N] [--load-essays N] [--repeats R] [--threads "
                 "T] [--precision fp32|bf16|int8] [--skip-predict] [--skip-load]\n");
      return 2;
    }
  }
  const auto data_dir = find_dir("EMOTUNE_DATA", "shared/data");
  const auto fixtures = find_dir("EMOTUNE_HF_FIXTURES", "shared/fixtures/hf");
  runtime::configure_threads(threads);
  constexpr std::size_t kMaxLength = 128;
  const auto folder = fs::temp_directory_path() / fmt::format("emotune-serve-bench-{}", ::getpid());
  bench::make_base_model(folder, fixtures, kMaxLength);

  const auto train_split = data::load_wassa(data_dir, data::Split::train);
  std::vector<predict::EssayInput> essays;
  for (std::size_t i = 0; i < essay_count && i < train_split.rows.size(); ++i) {
    essays.push_back({train_split.rows[i].text});
  }
  fmt::print("ELECTRA-base shape, {} WASSA essays, max_length {}, {} threads, median of {}\n",
             essays.size(), kMaxLength, threads, repeats);

  // Dynamic int8 Linear layers need a quantized engine (FBGEMM on x86); report what this
  // libtorch build has.
  std::string engines;
  for (const auto engine : at::globalContext().supportedQEngines()) {
    engines += fmt::format(" {}", c10::toString(engine));
  }
  fmt::print("quantized engines in this libtorch:{}\n", engines.empty() ? " none" : engines);

  if (!skip_predict) {
    std::vector<double> naive;
    for (int r = 0; r < repeats; ++r)
      naive.push_back(naive_essays_per_second(folder, essays, kMaxLength));
    fmt::print("predict  eager fp32, batches of 16 padded to 128: {:7.2f} essays/s\n",
               bench::median(naive));
    std::fflush(stdout);
  }

  std::shared_ptr<predict::RunPredictor> load_predictor;
  // bf16 is refused on CPUs without native bf16 (AVX2-only ones among them): left out there,
  // saying so, unless the HTTP part was asked to run it (then the refusal is the answer).
  const auto bf16_refusal = runtime::bf16_refusal(runtime::reduced_precision_support());
  for (const auto precision :
       {predict::Precision::fp32, predict::Precision::bf16, predict::Precision::int8}) {
    if (precision == predict::Precision::bf16 && !bf16_refusal.empty() &&
        load_precision != predict::Precision::bf16) {
      fmt::print("predict  bf16 left out: {}\n", bf16_refusal);
      continue;
    }
    predict::RunPredictorOptions options;
    options.threads = threads;
    options.precision = precision;
    auto predictor = std::make_shared<predict::RunPredictor>(folder, options);
    if (precision == load_precision) load_predictor = predictor;
    if (skip_predict) continue;
    std::vector<double> rates;
    for (int r = 0; r < repeats; ++r) {
      const auto started = Clock::now();
      predictor->predict(essays);
      rates.push_back(static_cast<double>(essays.size()) /
                      std::chrono::duration<double>(Clock::now() - started).count());
    }
    fmt::print("predict  {} (fast kernels), length-sorted, forward batch 16: {:7.2f} essays/s\n",
               predict::precision_name(precision), bench::median(rates));
    std::fflush(stdout);
  }
  if (!skip_load) {
    const std::vector<predict::EssayInput> load_set(
        essays.begin(),
        essays.begin() + static_cast<std::ptrdiff_t>(std::min(load_essays, essays.size())));
    fmt::print("http load: {} essays, one per request, precision {}\n", load_set.size(),
               predict::precision_name(load_precision));
    for (const int clients : {1, 8, 32}) {
      for (const bool batching : {false, true}) {
        std::vector<double> rate, p50, p99;
        for (int r = 0; r < repeats; ++r) {
          const auto result = run_load(load_predictor, load_set, clients, batching);
          rate.push_back(result.essays_per_second);
          p50.push_back(result.p50_ms);
          p99.push_back(result.p99_ms);
        }
        fmt::print(
            "http     {:2} clients, {:<17} {:7.2f} essays/s  p50 {:8.1f} ms  p99 {:8.1f} ms\n",
            clients, batching ? "micro-batched:" : "one at a time:", bench::median(rate),
            bench::median(p50), bench::median(p99));
        std::fflush(stdout);
      }
    }
  }
  fs::remove_all(folder);
  return 0;
}
