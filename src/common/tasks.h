#pragma once
// The prediction targets of the WASSA 2021 tasks, torch-free so that the files naming them
// (emotune.json, summary.json, prediction folders) can be read without the model.
// Track I: empathy, distress (regression, one output each); Track II: emotion (7-way
// classification).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/emotions.h"

namespace emotune {

enum class Task { empathy, distress, emotion };

inline constexpr std::array<Task, 3> kAllTasks = {Task::empathy, Task::distress, Task::emotion};

inline std::string task_name(Task task) {
  switch (task) {
    case Task::empathy:
      return "empathy";
    case Task::distress:
      return "distress";
    case Task::emotion:
      return "emotion";
  }
  return "?";
}

// "empathy" | "distress" | "emotion"; nullopt otherwise.
inline std::optional<Task> parse_task(std::string_view name) {
  for (const Task task : kAllTasks) {
    if (name == task_name(task)) return task;
  }
  return std::nullopt;
}

inline bool is_regression(Task task) { return task != Task::emotion; }

inline std::int64_t task_output_size(Task task) {
  return is_regression(task) ? 1 : static_cast<std::int64_t>(kNumEmotions);
}

}  // namespace emotune
