#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/emotions.h"

namespace emotune::data {

// The seven WASSA 2021 Track II classes (common/emotions.h).
using emotune::kEmotionLabels;
using emotune::kNumEmotions;

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
