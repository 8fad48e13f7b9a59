#include "data/labels.h"

#include <fmt/ranges.h>

#include "common/error.h"

namespace emotune::data {

std::optional<int> find_emotion(std::string_view name) {
  for (std::size_t i = 0; i < kEmotionLabels.size(); ++i) {
    if (kEmotionLabels[i] == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

int emotion_index(std::string_view name) {
  if (auto index = find_emotion(name)) return *index;
  throw Error(
      fmt::format("unknown emotion label '{}' (expected one of {})", name, emotion_label_list()));
}

std::string_view emotion_name(int index) {
  if (index < 0 || static_cast<std::size_t>(index) >= kEmotionLabels.size()) {
    throw Error(fmt::format("emotion class id {} is outside 0..{}", index, kNumEmotions - 1));
  }
  return kEmotionLabels[static_cast<std::size_t>(index)];
}

std::string emotion_label_list() {
  return fmt::format("{}", fmt::join(kEmotionLabels, ", "));
}

}  // namespace emotune::data
