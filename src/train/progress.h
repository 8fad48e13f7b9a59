#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace emotune::train {

// "mm:ss" or "h:mm:ss"; "--:--" for a negative or non-finite duration.
std::string format_duration(double seconds);

// Training progress: a bar with rate and ETA on a terminal (stderr), log lines otherwise
// (every 5% of the steps). Shared by fine-tuning and pre-training.
class ProgressReporter {
 public:
  ProgressReporter(bool enabled, std::int64_t total_steps, std::int64_t start_step,
                   std::string loss_label = "loss");

  void update(std::int64_t step, std::int64_t epoch, double loss);

  // Ends the bar's line before something else is printed.
  void break_line();

 private:
  bool enabled_;
  bool terminal_;
  std::int64_t total_;
  std::int64_t start_step_;
  std::string loss_label_;
  std::chrono::steady_clock::time_point start_;
  bool dirty_ = false;
};

}  // namespace emotune::train
