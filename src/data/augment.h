#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "data/goemotions.h"
#include "data/labels.h"
#include "data/wassa.h"

namespace emotune::data {

enum class ExampleSource { wassa, goemotions };
std::string_view source_name(ExampleSource source);

// One Track II training example.
struct TrainingExample {
  std::string text;
  int emotion = 0;  // class id into kEmotionLabels
  ExampleSource source = ExampleSource::wassa;
  std::string source_id;  // WASSA message_id or GoEmotions comment id
};

enum class AugmentMode {
  none,
  balanced,  // BA: top the train set up to a total size, filling the smallest classes first
  random,    // RA: add a number of GoEmotions comments drawn uniformly
};

std::string_view augment_mode_name(AugmentMode mode);
// "none", "ba" or "ra"; an Error otherwise.
AugmentMode parse_augment_mode(std::string_view name);

inline constexpr std::size_t kDefaultBalancedTotal = 2800;
inline constexpr std::size_t kDefaultRandomAdded = 1000;
inline constexpr std::uint64_t kDefaultAugmentSeed = 42;

struct AugmentOptions {
  AugmentMode mode = AugmentMode::none;
  // BA: the total size of the combined set; RA: how many comments to add. 0 = the default.
  std::size_t size = 0;
  std::uint64_t seed = kDefaultAugmentSeed;
};

struct AugmentedTrainSet {
  std::vector<TrainingExample> examples;  // WASSA rows in file order, then the added comments
  std::size_t wassa_count = 0;
  std::size_t goemotions_count = 0;
  EmotionCounts class_counts{};  // over all examples
  EmotionCounts added_counts{};  // over the added comments
};

// WASSA train (+ GoEmotions train comments when mode is not none). Deterministic for a seed
// on every platform: std::mt19937_64 with our own sampling (std distributions and
// std::shuffle differ between standard libraries). Only a GoEmotions *train* split is
// accepted; an Error otherwise, or when the pool cannot supply the requested size.
AugmentedTrainSet build_train_set(const WassaSplit& wassa_train,
                                  const GoEmotionsSplit& goemotions_train,
                                  const AugmentOptions& options);

// How many comments BA adds per class: water-filling, one at a time to the class that is
// smallest so far (ties: lower class id) among those that still have comments available.
EmotionCounts balanced_additions(const EmotionCounts& current, const EmotionCounts& available,
                                 std::size_t to_add);

// Uniform integer in [0, bound) by rejection, so the result is the same on every platform.
std::uint64_t uniform_below(std::mt19937_64& generator, std::uint64_t bound);

// `count` distinct indices out of [0, population), uniformly, in draw order (partial
// Fisher-Yates).
std::vector<std::size_t> sample_without_replacement(std::mt19937_64& generator,
                                                    std::size_t population, std::size_t count);

}  // namespace emotune::data
