#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace emotune::data {

// Which training texts to learn a tokenizer (or any unsupervised statistic) from. Only the
// train splits are ever opened: dev and test text never leaks into what is learned.
struct TrainingTextOptions {
  bool wassa = true;       // <data>/wassa2021/messages_train_ready_for_WS.tsv essays
  bool goemotions = true;  // <data>/goemotions/train.tsv comments, every row whatever its labels
  std::size_t limit_per_source = 0;  // first N texts of each source; 0 = all
};

struct TrainingTexts {
  std::vector<std::string> texts;
  std::size_t wassa = 0;
  std::size_t goemotions = 0;
};

TrainingTexts load_training_texts(const std::filesystem::path& data_dir,
                                  const TrainingTextOptions& options = {});

}  // namespace emotune::data
