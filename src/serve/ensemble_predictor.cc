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
  // Two shapes: hand-written manifests list folder names (weights in parallel arrays);
  // `emotune ensemble` writes one object per member with its path and normalised weights.
  std::vector<double> member_regression_weights, member_emotion_weights;
  for (const auto& member : manifest["members"]) {
    fs::path folder;
    if (member.is_string()) {
      folder = member.get<std::string>();
    } else if (member.is_object() && member.contains("path") && member["path"].is_string()) {
      folder = member["path"].get<std::string>();
      for (const auto& [key, weights] : {std::pair{"regression_weight", &member_regression_weights},
                                         std::pair{"emotion_weight", &member_emotion_weights}}) {
        if (!member.contains(key)) continue;
        if (!member[key].is_number()) {
          throw Error(fmt::format("{}: key 'members': '{}' of {} must be a number", file.string(),
                                  key, member.dump()));
        }
        weights->push_back(member[key].get<double>());
      }
    } else {
      throw Error(
          fmt::format("{}: key 'members': expected folder names or objects with a \"path\", got {}",
                      file.string(), member.dump()));
    }
    if (folder.is_relative()) folder = dir / folder;
    members_.push_back(load_predictor(folder, options));  // a member may be an ensemble itself
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
  // "method" is what `emotune ensemble` writes (mean | prob-sum | vote); "combination" the
  // hand-written key. "mean" averages the regression outputs and sums probabilities.
  for (const char* key : {"combination", "method"}) {
    if (!manifest.contains(key)) continue;
    const auto& value = manifest[key];
    if (!value.is_string() || (value != "prob-sum" && value != "vote" &&
                               (std::string(key) != "method" || value != "mean"))) {
      throw Error(fmt::format("{}: key '{}': expected \"prob-sum\" or \"vote\"{}, got {}",
                              file.string(), key,
                              std::string(key) == "method" ? " or \"mean\"" : "", value.dump()));
    }
    ensemble_options_.combination = eval::parse_emotion_combination(
        value == "mean" ? std::string("prob-sum") : value.get<std::string>());
  }
  const auto per_member = [&](std::vector<double> weights, const char* key) {
    if (weights.empty()) return weights;
    if (weights.size() != members_.size()) {
      throw Error(fmt::format("{}: key 'members': '{}' given for {} of {} members", file.string(),
                              key, weights.size(), members_.size()));
    }
    eval::normalized_weights(weights, members_.size());
    return weights;
  };
  ensemble_options_.regression_weights =
      manifest.contains("regression_weights")
          ? read_weights(manifest, "regression_weights", members_.size(), file)
          : per_member(member_regression_weights, "regression_weight");
  ensemble_options_.emotion_weights =
      manifest.contains("emotion_weights")
          ? read_weights(manifest, "emotion_weights", members_.size(), file)
          : per_member(member_emotion_weights, "emotion_weight");

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
