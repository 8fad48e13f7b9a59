#include "serve/server.h"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include "io/utf8.h"
#include "predict/prediction_run.h"
#include "serve/web_routes.h"

namespace emotune::serve {

using nlohmann::json;

namespace {

void send_json(httplib::Response& response, int status, const json& body) {
  response.status = status;
  // Error messages may quote a client's invalid UTF-8: replace it rather than throw.
  response.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                       "application/json");
}

void send_error(httplib::Response& response, int status, const std::string& message) {
  send_json(response, status, json{{"error", {{"status", status}, {"message", message}}}});
}

// The optional "person" object of essays[index] (an Error, hence 400, when malformed).
std::optional<data::PersonValues> essay_person(const json& essay, std::size_t index) {
  if (!essay.is_object() || !essay.contains("person")) return std::nullopt;
  return predict::person_values_from_json(json{{"person", essay["person"]}},
                                 fmt::format("essays[{}]", index));
}

// A 400 message when the model reads person features and an essay has none.
std::optional<std::string> missing_person(const predict::ModelInfo& info, const PredictRequest& request) {
  if (!info.needs_person()) return std::nullopt;
  for (std::size_t i = 0; i < request.essays.size(); ++i) {
    if (!request.essays[i].person) {
      return fmt::format(R"(essays[{}]: key "person" is missing; this model reads person )"
                         R"(features: {{"person": {{{}}}}})",
                         i, fmt::join(data::kPersonColumns, ", "));
    }
  }
  return std::nullopt;
}

json prediction_json(const predict::EssayPrediction& prediction, std::size_t index, const json& id) {
  json out = json::object();
  out["index"] = index;
  if (!id.is_null()) out["id"] = id;
  if (prediction.empathy) out["empathy"] = *prediction.empathy;
  if (prediction.distress) out["distress"] = *prediction.distress;
  if (prediction.emotion && prediction.emotion_probabilities) {
    json probabilities = json::object();
    const auto& names = predict::emotion_label_names();
    for (std::size_t k = 0; k < predict::kEmotionCount; ++k) {
      probabilities[names[k]] = (*prediction.emotion_probabilities)[k];
    }
    out["emotion"] = {{"label", *prediction.emotion}, {"probabilities", probabilities}};
  }
  out["truncated"] = prediction.truncated;
  out["tokens"] = prediction.token_count;
  return out;
}

}  // namespace

PredictRequest parse_predict_request(const std::string& body, const ServerOptions& options) {
  json document;
  try {
    document = json::parse(body);
  } catch (const json::exception& e) {
    throw Error(fmt::format("the body is not valid JSON: {}", e.what()));
  }
  if (!document.is_object() || !document.contains("essays")) {
    throw Error(R"(expected a JSON object with key "essays")");
  }
  const auto& essays = document["essays"];
  if (!essays.is_array()) throw Error(R"(key "essays": expected an array)");
  if (essays.empty()) throw Error(R"(key "essays": the list is empty)");
  if (essays.size() > options.max_essays) {
    throw TooLarge(fmt::format(R"(key "essays": {} essays, at most {} per request)", essays.size(),
                               options.max_essays));
  }
  PredictRequest request;
  for (std::size_t i = 0; i < essays.size(); ++i) {
    const auto& essay = essays[i];
    json id;
    const json* text = &essay;
    if (essay.is_object()) {
      if (!essay.contains("text")) {
        throw Error(fmt::format(R"(essays[{}]: key "text" is missing)", i));
      }
      text = &essay["text"];
      if (essay.contains("id")) {
        id = essay["id"];
        if (!id.is_string() && !id.is_number_integer()) {
          throw Error(fmt::format(R"(essays[{}].id: expected a string or an integer)", i));
        }
      }
    }
    if (!text->is_string()) {
      throw Error(fmt::format(
          R"(essays[{}]: expected a string or an object {{"id": ..., "text": "..."}})", i));
    }
    const auto& value = text->get_ref<const std::string&>();
    const auto characters = io::count_code_points(value);
    if (characters > options.max_chars) {
      throw TooLarge(fmt::format("essays[{}]: {} characters, at most {} per essay", i, characters,
                                 options.max_chars));
    }
    request.essays.push_back(predict::EssayInput{value, essay_person(essay, i)});
    request.ids.push_back(std::move(id));
  }
  return request;
}

struct Server::Impl {
  std::shared_ptr<predict::Predictor> predictor;
  ServerOptions options;
  Metrics metrics;
  std::unique_ptr<MicroBatcher> batcher;
  httplib::Server http;
  bool bound = false;
  // stop() may come before run() has started listening; these close that gap.
  std::atomic<bool> stop_requested = false;
  std::atomic<bool> run_started = false;
  std::atomic<bool> run_finished = false;

  Impl(std::shared_ptr<predict::Predictor> p, const ServerOptions& o, std::shared_ptr<predict::Explainer> explainer)
      : predictor(std::move(p)), options(o) {
    if (!predictor) throw Error("server: no predictor given");
    if (options.max_essays > options.batching.max_queue) {
      throw Error(fmt::format("--max-essays ({}) must not exceed --max-queue ({})",
                              options.max_essays, options.batching.max_queue));
    }
    batcher = std::make_unique<MicroBatcher>(*predictor, options.batching, &metrics);
    const auto threads = std::max<std::size_t>(options.http_threads, 1);
    // httplib takes ownership of the queue it is handed.
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http.set_payload_max_length(options.max_body_bytes);
    // httplib also waits this long for the first request on a fresh connection: 1 s dropped
    // requests from clients starved of CPU under load; 5 s bounds how long a stop waits.
    http.set_keep_alive_timeout(5);
    http.set_logger([this](const httplib::Request&, const httplib::Response& response) {
      metrics.record_response(response.status);
    });
    http.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
      if (!response.body.empty()) return;
      std::string message = fmt::format("HTTP status {}", response.status);
      if (response.status == 413) message = "the request body is too large";
      if (response.status == 404) {
        message = fmt::format("no such endpoint: {} {}", request.method, request.path);
      }
      send_error(response, response.status, message);
    });
    http.set_exception_handler(
        [](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
          std::string message = "internal error";
          try {
            if (error) std::rethrow_exception(error);
          } catch (const std::exception& e) {
            message = e.what();
          } catch (...) {
          }
          send_error(response, 500, message);
        });
    http.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
      send_json(response, 200, json{{"status", "ok"}});
    });
    http.Get("/v1/model", [this](const httplib::Request&, httplib::Response& response) {
      const auto& info = predictor->info();
      send_json(response, 200,
                json{{"tasks", info.tasks},
                     {"backbone", info.backbone},
                     {"emotion_labels", info.emotion_labels},
                     {"max_length", info.max_length},
                     {"inputs", info.inputs},
                     {"version", info.version}});
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
      response.set_content(metrics.render(), "text/plain; version=0.0.4");
    });
    add_web_routes(http, std::move(explainer), options);
    http.Post("/v1/predict", [this](const httplib::Request& request, httplib::Response& response) {
      const auto started = std::chrono::steady_clock::now();
      predict(request, response);
      metrics.record_request_latency(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    });
  }

  void predict(const httplib::Request& request, httplib::Response& response) {
    PredictRequest parsed;
    try {
      parsed = parse_predict_request(request.body, options);
    } catch (const TooLarge& e) {
      return send_error(response, 413, e.what());
    } catch (const Error& e) {
      return send_error(response, 400, e.what());
    }
    if (const auto missing = missing_person(predictor->info(), parsed)) {
      return send_error(response, 400, *missing);
    }
    std::future<std::vector<predict::EssayPrediction>> pending;
    try {
      pending = batcher->submit(std::move(parsed.essays));
    } catch (const QueueFull& e) {
      response.set_header("Retry-After", "1");
      return send_error(response, 503, e.what());
    }
    std::vector<predict::EssayPrediction> predictions;
    try {
      predictions = pending.get();
    } catch (const std::exception& e) {
      return send_error(response, 500, fmt::format("prediction failed: {}", e.what()));
    } catch (...) {
      return send_error(response, 500, "prediction failed");
    }
    json answers = json::array();
    for (std::size_t i = 0; i < predictions.size(); ++i) {
      answers.push_back(prediction_json(predictions[i], i, parsed.ids[i]));
    }
    send_json(response, 200, json{{"predictions", answers}});
  }
};

Server::Server(std::shared_ptr<predict::Predictor> predictor, const ServerOptions& options,
               std::shared_ptr<predict::Explainer> explainer)
    : impl_(std::make_unique<Impl>(std::move(predictor), options, std::move(explainer))) {}

Server::~Server() {
  stop();
  impl_->batcher->shutdown();
}

int Server::bind(const std::string& host, int port) {
  const int bound = port == 0 ? impl_->http.bind_to_any_port(host)
                              : (impl_->http.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    throw Error(fmt::format("cannot listen on {}:{} (address in use or not local?)", host, port));
  }
  impl_->bound = true;
  return bound;
}

void Server::run() {
  if (!impl_->bound) throw Error("server: bind() before run()");
  impl_->run_started = true;
  if (!impl_->stop_requested) impl_->http.listen_after_bind();
  // listen returns once its worker threads have answered what they were serving.
  impl_->batcher->shutdown();
  impl_->run_finished = true;
}

void Server::stop() {
  impl_->stop_requested = true;
  if (!impl_->run_started) return;  // run() will see the request and not listen
  while (!impl_->http.is_running() && !impl_->run_finished) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->http.stop();
}

Metrics& Server::metrics() {
  return impl_->metrics;
}

}  // namespace emotune::serve
