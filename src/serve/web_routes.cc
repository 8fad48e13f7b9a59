#include "serve/web_routes.h"

#include <atomic>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <httplib.h>

#include "data/person.h"
#include "serve/web_assets.h"

namespace emotune::serve {

using nlohmann::json;

std::string_view content_type_of(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  return "application/octet-stream";
}

namespace {

void reply_json(httplib::Response& response, int status, const json& body) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                       "application/json");
}

void reply_error(httplib::Response& response, int status, const std::string& message) {
  reply_json(response, status, json{{"error", {{"status", status}, {"message", message}}}});
}

// predict's messages name "essays[0]"; an explain request has a single "essay".
std::string as_single_essay(std::string message) {
  constexpr std::string_view prefix = "essays[0]";
  if (message.starts_with(prefix)) message.replace(0, prefix.size(), "essay");
  return message;
}

// At most this many explanations wait for the model; more get 503 (each can take seconds).
constexpr int kMaxWaitingExplanations = 8;

}  // namespace

ExplainRequest parse_explain_request(const std::string& body, const ServerOptions& options,
                                     const predict::Explainer& explainer) {
  json document;
  try {
    document = json::parse(body);
  } catch (const json::exception& e) {
    throw Error(fmt::format("the body is not valid JSON: {}", e.what()));
  }
  if (!document.is_object()) throw Error(R"(expected a JSON object with key "essay")");
  if (document.contains("essays")) {
    throw Error(R"(key "essays": /v1/explain explains one essay; give it as "essay")");
  }
  if (!document.contains("essay")) throw Error(R"(expected a JSON object with key "essay")");
  for (const auto& [key, value] : document.items()) {
    if (key != "essay" && key != "outputs" && key != "steps" && key != "baseline" &&
        key != "rule") {
      throw Error(fmt::format(
          R"(unknown key "{}" (expected essay, outputs, steps, baseline, rule))", key));
    }
  }
  // The essay is checked exactly as /v1/predict checks each of its essays.
  PredictRequest essays;
  ServerOptions one = options;
  one.max_essays = 1;
  try {
    essays = parse_predict_request(json{{"essays", json::array({document["essay"]})}}.dump(), one);
  } catch (const TooLarge& e) {
    throw TooLarge(as_single_essay(e.what()));
  } catch (const Error& e) {
    throw Error(as_single_essay(e.what()));
  }
  ExplainRequest request;
  request.essay = essays.essays.front();
  if (explainer.info().needs_person() && !request.essay.person) {
    throw Error(fmt::format(R"(essay: key "person" is missing; this model reads person )"
                            R"(features: {{"person": {{{}}}}})",
                            fmt::join(data::kPersonColumns, ", ")));
  }
  request.id = essays.ids.front();
  request.options = predict::parse_explain_options(document, explainer);
  return request;
}

void add_web_routes(httplib::Server& http, std::shared_ptr<predict::Explainer> explainer,
                    const ServerOptions& options) {
  for (const auto& asset : web_assets()) {
    const std::string path = asset.name == "index.html" ? "/" : "/" + std::string(asset.name);
    http.Get(path, [&asset](const httplib::Request&, httplib::Response& response) {
      // The page needs nothing from anywhere else; the policy makes sure it gets nothing.
      response.set_header("Content-Security-Policy",
                          "default-src 'self'; style-src 'self'; img-src 'self' data:");
      response.set_header("X-Content-Type-Options", "nosniff");
      response.set_content(std::string(asset.body), std::string(content_type_of(asset.name)));
    });
  }
  auto waiting = std::make_shared<std::atomic<int>>(0);
  http.Post("/v1/explain", [explainer, options, waiting](const httplib::Request& request,
                                                         httplib::Response& response) {
    if (!explainer) {
      return reply_error(response, 501,
                         "this service explains single runs only (an ensemble folder is served)");
    }
    ExplainRequest parsed;
    try {
      parsed = parse_explain_request(request.body, options, *explainer);
    } catch (const TooLarge& e) {
      return reply_error(response, 413, e.what());
    } catch (const Error& e) {
      return reply_error(response, 400, e.what());
    }
    if (waiting->fetch_add(1) >= kMaxWaitingExplanations) {
      waiting->fetch_sub(1);
      response.set_header("Retry-After", "5");
      return reply_error(response, 503,
                         fmt::format("{} explanations are already waiting for the model",
                                     kMaxWaitingExplanations));
    }
    try {
      const auto explanation = explainer->explain(parsed.essay, parsed.options);
      waiting->fetch_sub(1);
      reply_json(response, 200, predict::explanation_json(explanation, parsed.id));
    } catch (const std::exception& e) {
      waiting->fetch_sub(1);
      reply_error(response, 500, fmt::format("explanation failed: {}", e.what()));
    }
  });
}

}  // namespace emotune::serve
