#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace emotune::data {

// The seven WASSA 2021 Track II classes; the position is the class id used everywhere
// (model outputs, metrics, submission files), as the alphabetical order of the reference.
inline constexpr std::array<std::string_view, 7> kEmotionLabels = {
    "anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"};
inline constexpr std::size_t kNumEmotions = kEmotionLabels.size();

using EmotionCounts = std::array<std::size_t, kNumEmotions>;

// Class id of a label name (exact, lowercase), or nullopt.
std::optional<int> find_emotion(std::string_view name);

// Class id of a label name; an Error listing the known labels otherwise.
int emotion_index(std::string_view name);

// Label name of a class id; an Error for an id outside 0..6.
std::string_view emotion_name(int index);

// "anger, disgust, ..." for messages.
std::string emotion_label_list();

}  // namespace emotune::data
