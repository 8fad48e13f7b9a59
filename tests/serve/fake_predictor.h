#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "predict/predictor.h"

namespace emotune::testing {

// Answers that are a function of the text alone, so a server that mixed up requests is
// caught: empathy = characters, distress = sum of bytes mod 1000, emotion = class
// (characters mod 7) with probability 0.4 and 0.1 for the others; "tokens" = words + 2,
// truncated past `max_length` tokens. Text "fail" makes the whole call throw.
class FakePredictor : public predict::Predictor {
 public:
  explicit FakePredictor(std::size_t max_length = 16) {
    info_.tasks = {"empathy", "distress", "emotion"};
    info_.backbone = "fake";
    info_.emotion_labels.assign(predict::emotion_label_names().begin(),
                                predict::emotion_label_names().end());
    info_.max_length = max_length;
    info_.version = "fake-1";
  }

  static predict::EssayPrediction expected(const std::string& text, std::size_t max_length) {
    predict::EssayPrediction p;
    p.empathy = static_cast<double>(text.size());
    long sum = 0;
    for (const unsigned char c : text) sum += c;
    p.distress = static_cast<double>(sum % 1000);
    std::array<double, predict::kEmotionCount> probabilities;
    probabilities.fill(0.1);
    const std::size_t label = text.size() % predict::kEmotionCount;
    probabilities[label] = 0.4;
    p.emotion_probabilities = probabilities;
    p.emotion = predict::emotion_label_names()[label];
    std::size_t words = 0;
    bool in_word = false;
    for (const char c : text) {
      if (c != ' ' && !in_word) ++words;
      in_word = c != ' ';
    }
    p.truncated = words + 2 > max_length;
    p.token_count = std::min(words + 2, max_length);
    return p;
  }

  const predict::ModelInfo& info() const override { return info_; }

  std::vector<predict::EssayPrediction> predict(
      const std::vector<predict::EssayInput>& essays) override {
    {
      std::unique_lock lock(mutex_);
      ++calls_;
      changed_.notify_all();
      changed_.wait(lock, [this] { return !gate_closed_; });
    }
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    std::vector<predict::EssayPrediction> out;
    for (const auto& essay : essays) {
      if (essay.text == "fail") throw Error("fake predictor failure");
      out.push_back(expected(essay.text, info_.max_length));
    }
    return out;
  }

  // While closed, predict() blocks on entry (after counting the call).
  void close_gate() {
    std::lock_guard lock(mutex_);
    gate_closed_ = true;
  }
  void open_gate() {
    {
      std::lock_guard lock(mutex_);
      gate_closed_ = false;
    }
    changed_.notify_all();
  }
  // Waits (at most 10 s) until predict() has been entered `count` times in all.
  bool wait_for_calls(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return calls_ >= count; });
  }
  void set_delay(std::chrono::milliseconds delay) { delay_ = delay; }

 private:
  predict::ModelInfo info_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int calls_ = 0;
  bool gate_closed_ = false;
  std::chrono::milliseconds delay_{0};
};

}  // namespace emotune::testing
