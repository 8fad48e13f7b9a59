#include "data/training_texts.h"

#include "common/error.h"
#include "data/goemotions.h"
#include "data/wassa.h"

namespace emotune::data {

TrainingTexts load_training_texts(const std::filesystem::path& data_dir,
                                  const TrainingTextOptions& options) {
  if (!options.wassa && !options.goemotions) throw Error("no training text source selected");
  TrainingTexts result;
  const auto limit = options.limit_per_source;
  if (options.wassa) {
    auto split = load_wassa(data_dir, Split::train);
    for (auto& row : split.rows) {
      if (limit != 0 && result.wassa == limit) break;
      result.texts.push_back(std::move(row.text));
      ++result.wassa;
    }
  }
  if (options.goemotions) {
    // The labels do not matter for unsupervised learning: keep multi-class comments too.
    auto split = load_goemotions(data_dir, Split::train, MultiLabelPolicy::first);
    for (auto& row : split.rows) {
      if (limit != 0 && result.goemotions == limit) break;
      result.texts.push_back(std::move(row.text));
      ++result.goemotions;
    }
  }
  return result;
}

}  // namespace emotune::data
