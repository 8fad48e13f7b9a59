#include "data/augment.h"

#include <numeric>

#include "common/error.h"

namespace emotune::data {

std::string_view source_name(ExampleSource source) {
  return source == ExampleSource::wassa ? "wassa" : "goemotions";
}

std::string_view augment_mode_name(AugmentMode mode) {
  switch (mode) {
    case AugmentMode::none:
      return "none";
    case AugmentMode::balanced:
      return "ba";
    case AugmentMode::random:
      return "ra";
  }
  return "?";
}

AugmentMode parse_augment_mode(std::string_view name) {
  if (name == "none") return AugmentMode::none;
  if (name == "ba") return AugmentMode::balanced;
  if (name == "ra") return AugmentMode::random;
  throw Error(fmt::format("unknown augmentation '{}' (expected none, ba or ra)", name));
}

std::uint64_t uniform_below(std::mt19937_64& generator, std::uint64_t bound) {
  if (bound == 0) throw Error("uniform_below: empty range");
  // Values below `threshold` would make some residues more likely than others.
  const std::uint64_t threshold = (0 - bound) % bound;
  while (true) {
    const std::uint64_t draw = generator();
    if (draw >= threshold) return draw % bound;
  }
}

std::vector<std::size_t> sample_without_replacement(std::mt19937_64& generator,
                                                    std::size_t population, std::size_t count) {
  if (count > population) {
    throw Error(fmt::format("cannot draw {} distinct items out of {}", count, population));
  }
  std::vector<std::size_t> pool(population);
  std::iota(pool.begin(), pool.end(), std::size_t{0});
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t j = i + uniform_below(generator, population - i);
    std::swap(pool[i], pool[j]);
  }
  pool.resize(count);
  return pool;
}

EmotionCounts balanced_additions(const EmotionCounts& current, const EmotionCounts& available,
                                 std::size_t to_add) {
  const std::size_t supply = std::accumulate(available.begin(), available.end(), std::size_t{0});
  if (to_add > supply) {
    throw Error(fmt::format("balanced augmentation needs {} comments but only {} are available",
                            to_add, supply));
  }
  EmotionCounts added{};
  for (std::size_t step = 0; step < to_add; ++step) {
    std::size_t best = kNumEmotions;
    for (std::size_t c = 0; c < kNumEmotions; ++c) {
      if (added[c] >= available[c]) continue;
      if (best == kNumEmotions || current[c] + added[c] < current[best] + added[best]) best = c;
    }
    ++added[best];
  }
  return added;
}

AugmentedTrainSet build_train_set(const WassaSplit& wassa_train,
                                  const GoEmotionsSplit& goemotions_train,
                                  const AugmentOptions& options) {
  if (wassa_train.split != Split::train) {
    throw Error(fmt::format("the training set is built from WASSA train, not {} ({})",
                            split_name(wassa_train.split), wassa_train.file.string()));
  }
  AugmentedTrainSet out;
  out.examples.reserve(wassa_train.rows.size());
  for (const auto& row : wassa_train.rows) {
    if (!row.emotion) {
      throw error_at(wassa_train.file, row.line, "row has no emotion label");
    }
    out.examples.push_back({row.text, *row.emotion, ExampleSource::wassa, row.id});
    ++out.class_counts[static_cast<std::size_t>(*row.emotion)];
  }
  out.wassa_count = out.examples.size();
  if (options.mode == AugmentMode::none) return out;

  // Augmenting from dev/test would leak evaluation data into training.
  if (goemotions_train.split != Split::train) {
    throw Error(fmt::format("augmentation draws only from GoEmotions train, not {} ({})",
                            split_name(goemotions_train.split), goemotions_train.file.string()));
  }
  std::array<std::vector<std::size_t>, kNumEmotions> pool_by_class;
  for (std::size_t i = 0; i < goemotions_train.rows.size(); ++i) {
    pool_by_class[static_cast<std::size_t>(goemotions_train.rows[i].emotion)].push_back(i);
  }

  std::mt19937_64 generator(options.seed);
  std::vector<std::size_t> chosen;
  if (options.mode == AugmentMode::balanced) {
    const std::size_t total = options.size == 0 ? kDefaultBalancedTotal : options.size;
    if (total < out.wassa_count) {
      throw Error(
          fmt::format("balanced augmentation total {} is smaller than the {} WASSA train "
                      "rows it starts from",
                      total, out.wassa_count));
    }
    EmotionCounts available{};
    for (std::size_t c = 0; c < kNumEmotions; ++c) available[c] = pool_by_class[c].size();
    const auto per_class = balanced_additions(out.class_counts, available, total - out.wassa_count);
    for (std::size_t c = 0; c < kNumEmotions; ++c) {
      for (std::size_t k :
           sample_without_replacement(generator, pool_by_class[c].size(), per_class[c])) {
        chosen.push_back(pool_by_class[c][k]);
      }
    }
  } else {
    const std::size_t count = options.size == 0 ? kDefaultRandomAdded : options.size;
    if (count > goemotions_train.rows.size()) {
      throw Error(
          fmt::format("random augmentation of {} comments, but GoEmotions train has only "
                      "{} usable ones",
                      count, goemotions_train.rows.size()));
    }
    chosen = sample_without_replacement(generator, goemotions_train.rows.size(), count);
  }

  for (std::size_t index : chosen) {
    const auto& comment = goemotions_train.rows[index];
    out.examples.push_back({comment.text, comment.emotion, ExampleSource::goemotions, comment.id});
    ++out.class_counts[static_cast<std::size_t>(comment.emotion)];
    ++out.added_counts[static_cast<std::size_t>(comment.emotion)];
  }
  out.goemotions_count = chosen.size();
  return out;
}

}  // namespace emotune::data
