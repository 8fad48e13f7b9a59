#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/emotions.h"
#include "data/person.h"

namespace emotune::predict {

// The emotion classes, in the order of EssayPrediction::emotion_probabilities.
inline constexpr std::size_t kEmotionCount = kNumEmotions;
inline const std::array<std::string, kEmotionCount>& emotion_label_names() {
  static const std::array<std::string, kEmotionCount> names = [] {
    std::array<std::string, kEmotionCount> copied;
    for (std::size_t i = 0; i < kEmotionCount; ++i) copied[i] = std::string(kEmotionLabels[i]);
    return copied;
  }();
  return names;
}

struct EssayInput {
  std::string text;
  // The writer's person-level columns; required by models whose ModelInfo::inputs has
  // "person", ignored by the others.
  std::optional<data::PersonValues> person;
};

struct EssayPrediction {
  std::optional<double> empathy;   // set when the model has the empathy task
  std::optional<double> distress;  // set when the model has the distress task
  // Set when the model has the emotion task: the most probable class and all seven
  // probabilities (softmax of the head's logits), in emotion_label_names() order.
  std::optional<std::string> emotion;
  std::optional<std::array<double, kEmotionCount>> emotion_probabilities;
  bool truncated = false;       // the text had more tokens than max_length allows
  std::size_t token_count = 0;  // tokens fed to the model, [CLS]/[SEP] included
};

struct ModelInfo {
  std::vector<std::string> tasks;  // "empathy", "distress", "emotion"
  std::string backbone;            // HF model_type of the encoder
  std::vector<std::string> emotion_labels;
  std::size_t max_length = 0;
  std::string version;  // what was loaded (e.g. the folder and its weights' sha256 prefix)
  std::vector<std::string> inputs = {"text"};  // "text" and/or "person"
  bool needs_person() const {
    for (const auto& input : inputs)
      if (input == "person") return true;
    return false;
  }
};

// Something that turns essays into predictions. Implementations must be callable from one
// thread at a time (the micro-batcher serialises calls) and may throw; a throw fails only the
// essays of that call.
class Predictor {
 public:
  virtual ~Predictor() = default;
  virtual const ModelInfo& info() const = 0;
  // One prediction per input, in input order.
  virtual std::vector<EssayPrediction> predict(const std::vector<EssayInput>& essays) = 0;
};

}  // namespace emotune::predict
