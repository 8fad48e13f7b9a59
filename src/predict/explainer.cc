#include "predict/explainer.h"

#include <algorithm>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common/error.h"
#include "common/files.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "predict/run_predictor.h"
#include "runtime/device.h"
#include "runtime/threads.h"
#include "text/tokenizer.h"
#include "text/word_spans.h"

namespace emotune::predict {

namespace fs = std::filesystem;
using nlohmann::json;

struct RunExplainer::State : TrainedModel {
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::vector<model::ModelOutput> outputs;
};

RunExplainer::RunExplainer(const fs::path& dir, const RunExplainerOptions& options)
    : state_(std::make_unique<State>()) {
  runtime::configure_threads(options.threads);
  static_cast<TrainedModel&>(*state_) = load_trained_model(dir);
  const auto& folder = state_->folder;
  const auto& weights_file = state_->weights_file;
  state_->outputs = model::model_outputs(state_->tasks);
  // Gradients flow to the word embeddings only; no weight gradient is ever needed.
  for (auto& parameter : state_->task_model->parameters()) parameter.requires_grad_(false);
  state_->task_model->to(runtime::parse_device(options.device));
  state_->tokenizer = text::load_tokenizer(folder);
  const auto special = state_->tokenizer->special_ids();
  if (special.cls < 0 || special.sep < 0 || special.pad < 0) {
    throw Error(fmt::format("{}: the tokenizer lacks a cls, sep or pad token", folder.string()));
  }
  state_->info.version = fmt::format("{} ({}, weights sha256 {}, integrated gradients, fp32)",
                                     folder.string(), state_->info.backbone,
                                     sha256_file(weights_file).substr(0, 12));
}

RunExplainer::~RunExplainer() = default;

const ModelInfo& RunExplainer::info() const {
  return state_->info;
}

std::vector<std::string> RunExplainer::output_names() const {
  std::vector<std::string> names;
  for (const auto& output : state_->outputs) names.push_back(output.name());
  return names;
}

Explanation RunExplainer::explain(const EssayInput& essay, const ExplainOptions& options) {
  for (const auto& name : options.outputs) {
    const auto output = model::parse_model_output(name);
    const bool predicted = name == kPredictedEmotion &&
                           std::find(state_->tasks.begin(), state_->tasks.end(),
                                     model::Task::emotion) != state_->tasks.end();
    if (!predicted && (!output || std::find(state_->outputs.begin(), state_->outputs.end(),
                                            *output) == state_->outputs.end())) {
      throw Error(fmt::format("output '{}': this model's outputs are {}", name,
                              fmt::join(output_names(), ", ")));
    }
  }

  const auto& tokenizer = *state_->tokenizer;
  const auto special = tokenizer.special_ids();
  const auto alignment = text::align_words(tokenizer, essay.text);
  const std::size_t body_limit = state_->info.max_length - 2;
  const std::size_t seen = std::min(alignment.ids.size(), body_limit);

  model::TokenAttributionRequest request;
  request.input_ids.push_back(special.cls);
  request.input_ids.insert(request.input_ids.end(), alignment.ids.begin(),
                           alignment.ids.begin() + static_cast<std::ptrdiff_t>(seen));
  request.input_ids.push_back(special.sep);
  request.attributed.assign(request.input_ids.size(), true);
  request.attributed.front() = request.attributed.back() = false;
  request.pad_id = special.pad;
  request.options = options.method;
  torch::Tensor person;
  if (state_->person) {
    // Held at its real value along the path: the attributions stay over the text pieces.
    person = person_matrix(*state_->person, {essay}, {0});
    request.person.assign(person.data_ptr<float>(), person.data_ptr<float>() + person.numel());
  }

  Explanation explanation;
  explanation.method = options.method;
  explanation.prediction.truncated = alignment.ids.size() > body_limit;
  explanation.prediction.token_count = request.input_ids.size();

  std::lock_guard lock(mutex_);
  auto& task_model = *state_->task_model;
  {
    // The prediction of every task, from the same forward pass the attributions explain.
    torch::NoGradGuard no_grad;
    const auto device = task_model.parameters().front().device();
    const auto ids = torch::tensor(request.input_ids, torch::kInt64).to(device).unsqueeze(0);
    const auto heads = task_model.forward(ids, torch::ones_like(ids), torch::zeros_like(ids),
                                          person.defined() ? person.to(device) : person);
    for (const auto& [task, value] : heads) {
      const auto values = value.to(torch::kCPU, torch::kFloat64).contiguous();
      if (task == model::Task::empathy) explanation.prediction.empathy = values.item<double>();
      if (task == model::Task::distress) explanation.prediction.distress = values.item<double>();
      if (task == model::Task::emotion) {
        const auto probabilities = torch::softmax(values, 1).contiguous();
        std::array<double, kEmotionCount> p{};
        std::copy_n(probabilities.data_ptr<double>(), kEmotionCount, p.begin());
        explanation.prediction.emotion_probabilities = p;
        explanation.prediction.emotion = emotion_label_names()[static_cast<std::size_t>(
            std::max_element(p.begin(), p.end()) - p.begin())];
      }
    }
  }
  std::vector<model::ModelOutput> outputs;
  for (const auto& name : options.outputs) {
    const auto output = name == kPredictedEmotion
                            ? model::parse_model_output("emotion:" + *explanation.prediction.emotion)
                            : model::parse_model_output(name);
    if (std::find(outputs.begin(), outputs.end(), *output) == outputs.end()) {
      outputs.push_back(*output);
    }
  }
  if (options.outputs.empty()) outputs = state_->outputs;
  request.outputs = outputs;
  const auto attributions = model::attribute_tokens(task_model, request);

  for (const auto& item : attributions) {
    explanation.outputs.push_back({item.output.name(), item.value, item.baseline_value,
                                   item.sum(), item.completeness_gap()});
  }
  for (std::size_t w = 0; w < alignment.words.size(); ++w) {
    const auto& span = alignment.words[w];
    WordExplanation word;
    const std::size_t previous_end = w == 0 ? 0 : alignment.words[w - 1].end;
    word.before = essay.text.substr(previous_end, span.begin - previous_end);
    word.text = essay.text.substr(span.begin, span.end - span.begin);
    word.begin = span.begin;
    word.end = span.end;
    word.truncated = span.piece_count > 0 && span.first_piece + span.piece_count > seen;
    word.attributions.assign(outputs.size(), 0.0);
    explanation.words.push_back(std::move(word));
  }
  explanation.after =
      essay.text.substr(alignment.words.empty() ? 0 : alignment.words.back().end);
  for (std::size_t p = 0; p < seen; ++p) {
    PieceExplanation piece;
    piece.token = tokenizer.id_to_token(alignment.ids[p]);
    piece.word = alignment.piece_word[p];
    for (const auto& item : attributions) piece.attributions.push_back(item.tokens[p + 1]);
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      explanation.words[piece.word].attributions[k] += piece.attributions[k];
    }
    explanation.pieces.push_back(std::move(piece));
  }
  return explanation;
}

json prediction_fields(const EssayPrediction& prediction) {
  json out = json::object();
  if (prediction.empathy) out["empathy"] = *prediction.empathy;
  if (prediction.distress) out["distress"] = *prediction.distress;
  if (prediction.emotion && prediction.emotion_probabilities) {
    json probabilities = json::object();
    const auto& names = emotion_label_names();
    for (std::size_t k = 0; k < kEmotionCount; ++k) {
      probabilities[names[k]] = (*prediction.emotion_probabilities)[k];
    }
    out["emotion"] = {{"label", *prediction.emotion}, {"probabilities", probabilities}};
  }
  out["truncated"] = prediction.truncated;
  out["tokens"] = prediction.token_count;
  return out;
}

json explanation_json(const Explanation& explanation, const json& id) {
  json out = json::object();
  if (!id.is_null()) out["id"] = id;
  out["prediction"] = prediction_fields(explanation.prediction);
  out["method"] = {{"name", "integrated_gradients"},
                   {"steps", explanation.method.steps},
                   {"rule", model::ig_rule_name(explanation.method.rule)},
                   {"baseline", model::ig_baseline_name(explanation.method.baseline)}};
  const auto by_output = [&](const std::vector<double>& values) {
    json map = json::object();
    for (std::size_t k = 0; k < explanation.outputs.size(); ++k) {
      map[explanation.outputs[k].name] = values.at(k);
    }
    return map;
  };
  json outputs = json::array();
  for (const auto& output : explanation.outputs) {
    outputs.push_back({{"name", output.name},
                       {"value", output.value},
                       {"baseline", output.baseline_value},
                       {"attribution_sum", output.attribution_sum},
                       {"completeness_gap", output.completeness_gap}});
  }
  out["outputs"] = outputs;
  json pieces = json::array();
  for (const auto& piece : explanation.pieces) {
    pieces.push_back(
        {{"token", piece.token}, {"word", piece.word}, {"attributions", by_output(piece.attributions)}});
  }
  out["pieces"] = pieces;
  json words = json::array();
  for (const auto& word : explanation.words) {
    words.push_back({{"text", word.text},
                     {"before", word.before},
                     {"start", word.begin},
                     {"end", word.end},
                     {"truncated", word.truncated},
                     {"attributions", by_output(word.attributions)}});
  }
  out["words"] = words;
  out["after"] = explanation.after;
  return out;
}

ExplainOptions parse_explain_options(const json& request, const Explainer& explainer,
                                     const ExplainOptions& defaults) {
  ExplainOptions options = defaults;
  if (request.contains("outputs")) {
    const auto& outputs = request["outputs"];
    if (!outputs.is_array() || outputs.empty()) {
      throw Error(R"(key "outputs": expected a non-empty array of output names)");
    }
    const auto known = explainer.output_names();
    options.outputs.clear();
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      if (!outputs[i].is_string()) {
        throw Error(fmt::format(R"(outputs[{}]: expected a string)", i));
      }
      const auto name = outputs[i].get<std::string>();
      const bool predicted = name == kPredictedEmotion &&
                             std::find(known.begin(), known.end(), "emotion:anger") != known.end();
      if (!predicted && std::find(known.begin(), known.end(), name) == known.end()) {
        throw Error(fmt::format(R"(outputs[{}]: "{}" is not an output of this model ({}))", i,
                                name, fmt::join(known, ", ")));
      }
      if (std::find(options.outputs.begin(), options.outputs.end(), name) == options.outputs.end()) {
        options.outputs.push_back(name);
      }
    }
  }
  if (request.contains("steps")) {
    const auto& steps = request["steps"];
    if (!steps.is_number_integer() || steps.get<long long>() < 2 ||
        steps.get<long long>() > static_cast<long long>(kMaxExplainSteps)) {
      throw Error(fmt::format(R"(key "steps": expected an integer from 2 to {})", kMaxExplainSteps));
    }
    options.method.steps = steps.get<std::size_t>();
  }
  if (request.contains("baseline")) {
    if (!request["baseline"].is_string()) throw Error(R"(key "baseline": expected "pad" or "zeros")");
    try {
      options.method.baseline = model::parse_ig_baseline(request["baseline"].get<std::string>());
    } catch (const Error&) {
      throw Error(R"(key "baseline": expected "pad" or "zeros")");
    }
  }
  if (request.contains("rule")) {
    if (!request["rule"].is_string()) {
      throw Error(R"(key "rule": expected "gauss-legendre" or "trapezoid")");
    }
    try {
      options.method.rule = model::parse_ig_rule(request["rule"].get<std::string>());
    } catch (const Error&) {
      throw Error(R"(key "rule": expected "gauss-legendre" or "trapezoid")");
    }
  }
  return options;
}

}  // namespace emotune::predict
