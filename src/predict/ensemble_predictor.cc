#include "predict/ensemble_predictor.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "eval/stacking.h"
#include "io/run_files.h"
#include "predict/linear_predictor.h"

namespace emotune::predict {

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

bool has_task(const ModelInfo& info, const char* task) {
  return std::find(info.tasks.begin(), info.tasks.end(), task) != info.tasks.end();
}

eval::Predictions to_eval(const std::vector<EssayPrediction>& predictions, const ModelInfo& info) {
  eval::Predictions out;
  out.empathy_column = has_task(info, "empathy");
  out.distress_column = has_task(info, "distress");
  out.has_regression = out.empathy_column || out.distress_column;
  if (!out.has_regression) out.empathy_column = out.distress_column = true;
  out.has_emotion = has_task(info, "emotion");
  if (out.has_emotion) out.labels.assign(emotion_label_names().begin(), emotion_label_names().end());
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    const auto& p = predictions[i];
    out.ids.push_back(std::to_string(i));
    if (out.has_empathy()) out.empathy.push_back(*p.empathy);
    if (out.has_distress()) out.distress.push_back(*p.distress);
    if (out.has_emotion) {
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
  // A member's weight for a task it does not predict is absent (nullopt).
  std::vector<std::optional<double>> member_regression_weights, member_emotion_weights;
  for (const auto& member : manifest["members"]) {
    fs::path folder;
    if (member.is_string()) {
      folder = member.get<std::string>();
      member_regression_weights.push_back(std::nullopt);
      member_emotion_weights.push_back(std::nullopt);
    } else if (member.is_object() && member.contains("path") && member["path"].is_string()) {
      folder = member["path"].get<std::string>();
      for (const auto& [key, weights] : {std::pair{"regression_weight", &member_regression_weights},
                                         std::pair{"emotion_weight", &member_emotion_weights}}) {
        if (!member.contains(key)) {
          weights->push_back(std::nullopt);
          continue;
        }
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
  if (manifest.value("method", json("")) == "stack") {
    if (!manifest.contains("stack")) {
      throw Error(fmt::format("{}: method \"stack\" needs key 'stack'", file.string()));
    }
    stack_ = eval::stack_from_json(manifest["stack"], file.string());
    if (stack_->member_count != members_.size()) {
      throw Error(fmt::format("{}: key 'stack' was fitted on {} members, 'members' lists {}",
                              file.string(), stack_->member_count, members_.size()));
    }
  }
  // Members may differ in their tasks: each task combines the members that predict it (a
  // vanilla empathy run and a vanilla distress run answer as one Track I system, a Track I run
  // and a Track II run as one system for both tracks).
  const auto& first = members_.front()->info();
  const auto predicts_regression = [](const ModelInfo& info) {
    return has_task(info, "empathy") || has_task(info, "distress");
  };
  const auto predicts_emotion = [](const ModelInfo& info) { return has_task(info, "emotion"); };
  const auto any_member = [&](auto predicts) {
    return std::any_of(members_.begin(), members_.end(),
                       [&](const auto& member) { return predicts(member->info()); });
  };
  std::vector<std::string> tasks;
  for (const char* task : {"empathy", "distress", "emotion"}) {
    for (const auto& member : members_) {
      if (has_task(member->info(), task)) {
        tasks.emplace_back(task);
        break;
      }
    }
  }
  if (stack_) {
    tasks.clear();
    if (stack_->empathy) tasks.emplace_back("empathy");
    if (stack_->distress) tasks.emplace_back("distress");
    if (!stack_->emotion_weights.empty()) tasks.emplace_back("emotion");
  }
  const bool with_regression = !stack_ && any_member(predicts_regression);
  const bool with_emotion = !stack_ && any_member(predicts_emotion);
  // "method" is what `emotune ensemble` writes (mean | prob-sum | vote); "combination" the
  // hand-written key. "mean" averages the regression outputs and sums probabilities.
  for (const char* key : {"combination", "method"}) {
    if (!manifest.contains(key) || stack_) continue;
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
  // Per-member weights: every member that predicts the task has one, or none does; a member
  // without the task counts 0 (eval::ensemble combines each task over its members only).
  const auto per_member = [&](const std::vector<std::optional<double>>& given, const char* key,
                              const char* task, auto predicts) {
    std::vector<double> weights;
    // Older `emotune ensemble` wrote both weights for every member (issue #20): a weight for a
    // task no member predicts is ignored.
    if (!any_member(predicts) ||
        std::none_of(given.begin(), given.end(), [](const auto& w) { return w.has_value(); }))
      return weights;
    for (std::size_t m = 0; m < members_.size(); ++m) {
      const bool member_predicts = predicts(members_[m]->info());
      if (member_predicts && !given[m]) {
        throw Error(fmt::format("{}: key 'members': member {} predicts {} but has no '{}'",
                                file.string(), m + 1, task, key));
      }
      weights.push_back(member_predicts ? *given[m] : 0.0);
    }
    eval::normalized_weights(weights, members_.size());
    return weights;
  };
  // Weights for a task the members lack are checked, then ignored: older `emotune ensemble`
  // wrote both weights for every member (issue #20).
  const auto regression_weights =
      manifest.contains("regression_weights")
          ? read_weights(manifest, "regression_weights", members_.size(), file)
          : per_member(member_regression_weights, "regression_weight", "regression",
                       predicts_regression);
  const auto emotion_weights =
      manifest.contains("emotion_weights")
          ? read_weights(manifest, "emotion_weights", members_.size(), file)
          : per_member(member_emotion_weights, "emotion_weight", "emotion", predicts_emotion);
  if (with_regression) ensemble_options_.regression_weights = regression_weights;
  if (with_emotion) ensemble_options_.emotion_weights = emotion_weights;

  info_ = first;
  info_.tasks = tasks;
  for (const auto& member : members_) {
    if (has_task(member->info(), "emotion")) {
      info_.emotion_labels = member->info().emotion_labels;
      break;
    }
  }
  info_.inputs = {"text"};
  for (const auto& member : members_)
    if (member->info().needs_person()) info_.inputs = {"text", "person"};
  info_.backbone.clear();
  info_.version = fmt::format("ensemble {} ({}):", dir.string(),
                              stack_ ? std::string("stack")
                                     : std::string(eval::to_string(ensemble_options_.combination)));
  info_.max_length = 0;
  for (const auto& member : members_) {
    info_.backbone += (info_.backbone.empty() ? "" : "+") + member->info().backbone;
    info_.max_length = std::max(info_.max_length, member->info().max_length);
    info_.version += " " + member->info().version;
  }
}

std::vector<EssayPrediction> EnsemblePredictor::predict(const std::vector<EssayInput>& essays) {
  std::vector<EssayPrediction> out(essays.size());
  std::vector<eval::Predictions> members;
  for (const auto& member : members_) {
    const auto predictions = member->predict(essays);
    for (std::size_t i = 0; i < essays.size(); ++i) {
      out[i].truncated = out[i].truncated || predictions[i].truncated;
      out[i].token_count = std::max(out[i].token_count, predictions[i].token_count);
    }
    members.push_back(to_eval(predictions, member->info()));
  }
  const auto combined =
      stack_ ? eval::apply_stack(members, *stack_) : eval::ensemble(members, ensemble_options_);
  for (std::size_t i = 0; i < essays.size(); ++i) {
    if (combined.has_empathy()) out[i].empathy = combined.empathy[i];
    if (combined.has_distress()) out[i].distress = combined.distress[i];
    if (combined.has_emotion) {
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
  if (is_linear_model(dir))
    return std::make_shared<LinearPredictor>(io::resolve_model_folder(dir));
  return std::make_shared<RunPredictor>(dir, options);
}

}  // namespace emotune::predict
