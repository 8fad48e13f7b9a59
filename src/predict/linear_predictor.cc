#include "predict/linear_predictor.h"

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"

namespace emotune::predict {

LinearPredictor::LinearPredictor(const std::filesystem::path& dir)
    : model_(baseline::LinearModel::load(dir)) {
  info_.tasks = model_.options().tasks;
  // Task order as the transformer runs list them.
  std::vector<std::string> ordered;
  for (const char* task : {"empathy", "distress", "emotion"})
    for (const auto& t : info_.tasks)
      if (t == task) ordered.emplace_back(task);
  info_.tasks = ordered;
  info_.backbone = "linear";
  info_.emotion_labels.assign(emotion_label_names().begin(), emotion_label_names().end());
  info_.max_length = 0;
  info_.inputs = model_.inputs();
  info_.version = fmt::format("{} (linear, {} features, weights sha256 {})", dir.string(),
                              model_.feature_count(),
                              sha256_file(dir / "linear_model.safetensors").substr(0, 12));
}

std::vector<EssayPrediction> LinearPredictor::predict(const std::vector<EssayInput>& essays) {
  std::vector<baseline::LinearInput> rows;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < essays.size(); ++i) {
    rows.push_back({essays[i].text, essays[i].person});
    ids.push_back(std::to_string(i + 1));
  }
  const auto predictions = model_.predict(rows, ids);
  std::vector<EssayPrediction> out(essays.size());
  const auto& labels = emotion_label_names();
  for (std::size_t i = 0; i < essays.size(); ++i) {
    if (predictions.has_empathy()) out[i].empathy = predictions.empathy[i];
    if (predictions.has_distress()) out[i].distress = predictions.distress[i];
    if (predictions.has_emotion) {
      std::array<double, kEmotionCount> p{};
      std::copy_n(predictions.probabilities[i].begin(), kEmotionCount, p.begin());
      out[i].emotion_probabilities = p;
      out[i].emotion = labels[static_cast<std::size_t>(predictions.emotion[i])];
    }
  }
  return out;
}

bool is_linear_model(const std::filesystem::path& dir) {
  return baseline::is_linear_run(dir);
}

}  // namespace emotune::predict
