#pragma once

// The routes of `emotune serve` beyond prediction: the page at `/` (and its files), and
// `POST /v1/explain`. Kept apart from server.cc, which calls add_web_routes once.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "predict/explainer.h"
#include "serve/server.h"

namespace httplib {
class Server;
}

namespace emotune::serve {

// An explain request, checked as /v1/predict checks its essays (the same messages, limits,
// Error → 400 and TooLarge → 413): {"essay": "..." | {"id", "text"}, "outputs"?, "steps"?,
// "baseline"?, "rule"?}.
struct ExplainRequest {
  predict::EssayInput essay;
  nlohmann::json id;  // null when none was given
  predict::ExplainOptions options;
};
ExplainRequest parse_explain_request(const std::string& body, const ServerOptions& options,
                                     const predict::Explainer& explainer);

// Adds GET /, /<asset> and POST /v1/explain (501 when `explainer` is null, e.g. ensembles).
void add_web_routes(httplib::Server& http, std::shared_ptr<predict::Explainer> explainer,
                    const ServerOptions& options);

}  // namespace emotune::serve
