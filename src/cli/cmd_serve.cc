#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/predictor_flags.h"
#include "common/error.h"
#include "predict/ensemble_predictor.h"
#include "predict/explainer.h"
#include "serve/server.h"

namespace emotune::cli {
namespace {

struct ServeOptions {
  std::string model_dir;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::size_t max_batch = 32;
  int max_wait_ms = 5;
  std::size_t max_queue = 1024;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_essays = 64;
  std::size_t max_chars = 20000;
  std::size_t http_threads = 64;
  std::size_t forward_batch = 16;
  PredictorFlags predictor;
  bool no_explain = false;
};

void run_serve(const ServeOptions& options, const GlobalOptions& globals) {
  // Signals are taken by one waiting thread (below), never by an arbitrary one mid-request;
  // threads started from here on inherit the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto predictor = predict::load_predictor(
      options.model_dir, predictor_options(options.predictor, globals, options.forward_batch));

  serve::ServerOptions server_options;
  server_options.max_body_bytes = options.max_body_bytes;
  server_options.max_essays = options.max_essays;
  server_options.max_chars = options.max_chars;
  server_options.http_threads = options.http_threads;
  server_options.batching.max_batch = options.max_batch;
  server_options.batching.max_wait = std::chrono::milliseconds(options.max_wait_ms);
  server_options.batching.max_queue = options.max_queue;
  // /v1/explain and the page's attributions need a single run's model (loaded a second time,
  // fp32 with autograd); an ensemble folder is served without them.
  std::shared_ptr<predict::Explainer> explainer;
  if (!options.no_explain) {
    if (std::filesystem::is_regular_file(std::filesystem::path(options.model_dir) / "ensemble.json")) {
      spdlog::info("{}: an ensemble; /v1/explain answers 501", options.model_dir);
    } else {
      explainer = std::make_shared<predict::RunExplainer>(
          options.model_dir, predict::RunExplainerOptions{globals.threads, options.predictor.device});
    }
  }
  serve::Server server(predictor, server_options, explainer);
  const int port = server.bind(options.host, options.port);

  std::atomic<bool> stopped_by_signal = false;
  std::thread signal_waiter([&] {
    int received = 0;
    sigwait(&signals, &received);
    if (received == SIGINT || received == SIGTERM) {
      stopped_by_signal = true;
      spdlog::info("signal {}: finishing requests in flight, then exiting", received);
    }
    server.stop();
  });
  const auto& info = predictor->info();
  spdlog::info("serving {} (tasks {}) on http://{}:{}", info.version, fmt::join(info.tasks, ", "),
               options.host, port);
  server.run();
  if (!stopped_by_signal) pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  spdlog::info("stopped");
}

[[maybe_unused]] const bool registered = register_command(
    "serve", "Serve a trained model over HTTP: a page at /, POST /v1/predict and /v1/explain, GET /v1/model, /healthz, /metrics",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<ServeOptions>();
      command
          .add_option("model", options->model_dir,
                      "A model folder written by `emotune train`: a run folder (its best seed), "
                      "a seed folder, or a best/ folder (emotune.json, config.json, "
                      "model.safetensors, tokenizer files); or an ensemble folder whose "
                      "ensemble.json lists member folders (see src/predict/ensemble_predictor.h)")
          ->required()
          ->check(CLI::ExistingDirectory);
      command.add_option("--host", options->host, "Address to listen on")->capture_default_str();
      command.add_option("--port", options->port, "TCP port to listen on (0: any free port)")
          ->capture_default_str()
          ->check(CLI::Range(0, 65535));
      command
          .add_option("--max-batch", options->max_batch,
                      "Most essays merged from concurrent requests into one model call")
          ->capture_default_str()
          ->check(CLI::Range(1, 4096));
      command
          .add_option("--max-wait-ms", options->max_wait_ms,
                      "How long a request waits for others to share its batch (milliseconds)")
          ->capture_default_str()
          ->check(CLI::Range(0, 10000));
      command
          .add_option("--max-queue", options->max_queue,
                      "Most essays waiting for the model; beyond it requests get 503 with "
                      "Retry-After")
          ->capture_default_str()
          ->check(CLI::Range(1, 1000000));
      command
          .add_option("--max-body-bytes", options->max_body_bytes,
                      "Largest request body accepted (larger: 413)")
          ->capture_default_str()
          ->check(CLI::Range(16, 1 << 30));
      command
          .add_option("--max-essays", options->max_essays,
                      "Most essays in one request (more: 413); at most --max-queue")
          ->capture_default_str()
          ->check(CLI::Range(1, 100000));
      command
          .add_option("--max-chars", options->max_chars,
                      "Most characters in one essay (more: 413). Essays within it but longer "
                      "than the model's max_length tokens are truncated, and the answer says so")
          ->capture_default_str()
          ->check(CLI::Range(1, 10000000));
      command
          .add_option("--http-threads", options->http_threads,
                      "Connections served at once (each waits for its batch on its own thread)")
          ->capture_default_str()
          ->check(CLI::Range(1, 4096));
      command
          .add_option("--forward-batch", options->forward_batch,
                      "Essays per forward pass inside a batch (sorted by length, padded to the "
                      "longest of each pass)")
          ->capture_default_str()
          ->check(CLI::Range(1, 4096));
      add_predictor_flags(command, options->predictor);
      command.add_flag("--no-explain", options->no_explain,
                       "Do not load the model a second time for POST /v1/explain (the page at / "
                       "then shows predictions without word attributions)");
      command.footer(
          "The page at http://HOST:PORT/ predicts and explains pasted essays (docs/explain.md).");
      command.callback([options, &globals] { run_serve(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
