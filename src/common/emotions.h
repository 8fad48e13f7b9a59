#pragma once
// The seven WASSA 2021 Track II classes, the one definition every layer reads (data's label
// parsing, the model's emotion head, the service's answers). The position is the class id used
// everywhere (model outputs, metrics, submission files): the reference's alphabetical order.

#include <array>
#include <cstddef>
#include <string_view>

namespace emotune {

inline constexpr std::array<std::string_view, 7> kEmotionLabels = {
    "anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"};
inline constexpr std::size_t kNumEmotions = kEmotionLabels.size();

}  // namespace emotune
