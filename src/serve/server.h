#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "predict/predictor.h"
#include "serve/metrics.h"
#include "serve/micro_batcher.h"

namespace emotune::predict {
class Explainer;  // predict/explainer.h
}  // namespace emotune::predict

namespace emotune::serve {

struct ServerOptions {
  std::size_t max_body_bytes = 1 << 20;  // larger request bodies: 413
  std::size_t max_essays = 64;           // essays per request; more: 413
  std::size_t max_chars = 20000;         // Unicode characters per essay; more: 413
  std::size_t http_threads = 64;         // connections served at once
  MicroBatcherOptions batching;
};

// The HTTP service: POST /v1/predict, GET /healthz, GET /v1/model, GET /metrics, and the page
// at GET / with POST /v1/explain (serve/web_routes.h).
// Requests of concurrent clients are merged into micro-batches for the predictor.
class Server {
 public:
  // With an `explainer`, POST /v1/explain answers too (serve/web_routes.h); the page at `/` is
  // always served.
  Server(std::shared_ptr<predict::Predictor> predictor, const ServerOptions& options,
         std::shared_ptr<predict::Explainer> explainer = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port (port 0: any free port) and returns the port; an Error when it cannot.
  int bind(const std::string& host, int port);
  // Serves until stop(); call after bind(). Returns once in-flight requests are answered.
  void run();
  // Stops accepting connections and lets run() return after the requests in flight are
  // answered; callable from any thread (e.g. a signal-waiting one), any number of times.
  void stop();

  Metrics& metrics();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The JSON of a predict request, checked against the limits: the essays, and their ids
// (null where none was given). An Error (→ 400) or TooLarge (→ 413) saying what is wrong.
struct TooLarge : Error {
  using Error::Error;
};
struct PredictRequest {
  std::vector<predict::EssayInput> essays;
  std::vector<nlohmann::json> ids;  // null where the request gave none
};
PredictRequest parse_predict_request(const std::string& body, const ServerOptions& options);

}  // namespace emotune::serve
