#include "serve/ensemble_predictor.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"

namespace emotune::serve {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<double> read_weights(const json& manifest, const char* key, std::size_t members,
                                 const fs::path& file) {
  if (!manifest.contains(key)) return {};
  const auto& value = manifest[key];
  if (!value.is_array() || value.size() != members ||
      !std::all_of(value.begin(), value.end(), [](const json& w) { return w.is_number(); })) {
    throw Error(
        fmt::format("{}: key '{}': expected an array of {} numbers", file.string(), key, members));
  }
  auto weights = value.get<std::vector<double>>();
  eval::normalized_weights(weights, members);  // throws on negative / all-zero weights
  return weights;
}

eval::Predictions to_eval(const std::vector<EssayPrediction>& predictions, bool regression,
                          bool emotion) {
  eval::Predictions out;
  out.has_regression = regression;
  out.has_emotion = emotion;
  if (emotion) out.labels.assign(emotion_label_names().begin(), emotion_label_names().end());
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    const auto& p = predictions[i];
    out.ids.push_back(std::to_string(i));
    if (regression) {
      out.empathy.push_back(*p.empathy);
      out.distress.push_back(*p.distress);
    }
    if (emotion) {
      const auto& probabilities = *p.emotion_probabilities;
      out.probabilities.emplace_back(probabilities.begin(), probabilities.end());
      out.emotion.push_back(static_cast<int>(
          std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin()));
    }
  }
  return out;
}

}  // namespace

EnsemblePredictor::EnsemblePredictor(const fs::path& dir, const RunPredictorOptions& options) {
  const auto file = dir / "ensemble.json";
  json manifest;
  try {
    manifest = json::parse(read_file(file));
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON ({})", file.string(), e.what()));
  }
  if (!manifest.is_object() || !manifest.contains("members") || !manifest["members"].is_array() ||
      manifest["members"].empty()) {
    throw Error(
        fmt::format("{}: key 'members': expected a non-empty array of folders", file.string()));
  }
  for (const auto& member : manifest["members"]) {
    if (!member.is_string()) {
      throw Error(fmt::format("{}: key 'members': expected folder names, got {}", file.string(),
                              member.dump()));
    }
    members_.push_back(std::make_unique<RunPredictor>(dir / member.get<std::string>(), options));
  }
  const auto& first = members_.front()->info();
  for (const auto& member : members_) {
    if (member->info().tasks != first.tasks) {
      throw Error(fmt::format("{}: members have different tasks ({} vs {})", file.string(),
                              fmt::join(first.tasks, ","), fmt::join(member->info().tasks, ",")));
    }
  }
  const auto has = [&](const char* task) {
    return std::find(first.tasks.begin(), first.tasks.end(), task) != first.tasks.end();
  };
  if (has("empathy") != has("distress")) {
    throw Error(
        fmt::format("{}: ensembles need both empathy and distress, or neither", file.string()));
  }
  if (manifest.contains("combination")) {
    if (!manifest["combination"].is_string()) {
      throw Error(
          fmt::format("{}: key 'combination': expected \"prob-sum\" or \"vote\"", file.string()));
    }
    ensemble_options_.combination =
        eval::parse_emotion_combination(manifest["combination"].get<std::string>());
  }
  ensemble_options_.regression_weights =
      read_weights(manifest, "regression_weights", members_.size(), file);
  ensemble_options_.emotion_weights =
      read_weights(manifest, "emotion_weights", members_.size(), file);

  info_ = first;
  info_.backbone.clear();
  info_.version = fmt::format("ensemble {} ({}):", dir.string(),
                              eval::to_string(ensemble_options_.combination));
  info_.max_length = 0;
  for (const auto& member : members_) {
    info_.backbone += (info_.backbone.empty() ? "" : "+") + member->info().backbone;
    info_.max_length = std::max(info_.max_length, member->info().max_length);
    info_.version += " " + member->info().version;
  }
}

std::vector<EssayPrediction> EnsemblePredictor::predict(const std::vector<EssayInput>& essays) {
  const auto& tasks = info_.tasks;
  const bool regression = std::find(tasks.begin(), tasks.end(), "empathy") != tasks.end();
  const bool emotion = std::find(tasks.begin(), tasks.end(), "emotion") != tasks.end();
  std::vector<EssayPrediction> out(essays.size());
  std::vector<eval::Predictions> members;
  for (const auto& member : members_) {
    const auto predictions = member->predict(essays);
    for (std::size_t i = 0; i < essays.size(); ++i) {
      out[i].truncated = out[i].truncated || predictions[i].truncated;
      out[i].token_count = std::max(out[i].token_count, predictions[i].token_count);
    }
    members.push_back(to_eval(predictions, regression, emotion));
  }
  const auto combined = eval::ensemble(members, ensemble_options_);
  for (std::size_t i = 0; i < essays.size(); ++i) {
    if (regression) {
      out[i].empathy = combined.empathy[i];
      out[i].distress = combined.distress[i];
    }
    if (emotion) {
      std::array<double, kEmotionCount> probabilities{};
      std::copy_n(combined.probabilities[i].begin(), kEmotionCount, probabilities.begin());
      out[i].emotion_probabilities = probabilities;
      out[i].emotion = combined.labels[static_cast<std::size_t>(combined.emotion[i])];
    }
  }
  return out;
}

std::shared_ptr<Predictor> load_predictor(const fs::path& dir, const RunPredictorOptions& options) {
  if (fs::exists(dir / "ensemble.json")) return std::make_shared<EnsemblePredictor>(dir, options);
  return std::make_shared<RunPredictor>(dir, options);
}

}  // namespace emotune::serve
