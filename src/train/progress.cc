#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace emotune::train {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<long>(seconds);
  if (total >= 3600)
    return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{:02}:{:02}", total / 60, total % 60);
}

ProgressReporter::ProgressReporter(bool enabled, std::int64_t total_steps, std::int64_t start_step,
                                   std::string loss_label)
    : enabled_(enabled),
      terminal_(::isatty(::fileno(stderr)) != 0),
      total_(total_steps),
      start_step_(start_step),
      loss_label_(std::move(loss_label)),
      start_(std::chrono::steady_clock::now()) {}

void ProgressReporter::update(std::int64_t step, std::int64_t epoch, double loss) {
  if (!enabled_) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(step - start_step_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - step) / rate : -1.0;
  if (terminal_) {
    constexpr int width = 30;
    const int filled = static_cast<int>(width * step / std::max<std::int64_t>(1, total_));
    fmt::print(stderr, "\r[{}{}] {}/{} epoch {} {} {:.4f} {:.2f} steps/s ETA {}   ",
               std::string(static_cast<std::size_t>(filled), '#'),
               std::string(static_cast<std::size_t>(width - filled), '.'), step, total_, epoch + 1,
               loss_label_, loss, rate, format_duration(eta));
    std::fflush(stderr);
    dirty_ = true;
  } else if (step % std::max<std::int64_t>(1, total_ / 20) == 0 || step == total_) {
    spdlog::info("step {}/{} epoch {} {} {:.4f} {:.2f} steps/s ETA {}", step, total_, epoch + 1,
                 loss_label_, loss, rate, format_duration(eta));
  }
}

void ProgressReporter::break_line() {
  if (dirty_) fmt::print(stderr, "\n");
  dirty_ = false;
}

}  // namespace emotune::train
