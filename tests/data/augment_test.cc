#include "data/augment.h"

#include <algorithm>
#include <set>

#include <gmock/gmock.h>

#include "common/test_paths.h"
#include "data/test_support.h"

namespace emotune::data {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct RealData {
  WassaSplit wassa_train;
  GoEmotionsSplit goemotions_train;
  std::set<std::string> goemotions_train_ids;
  std::set<std::string> goemotions_heldout_ids;
};

const RealData& real() {
  static const RealData loaded = [] {
    const fs::path dir = emotune::testing::data_dir();
    RealData d{load_wassa(dir, Split::train), load_goemotions(dir, Split::train), {}, {}};
    for (const auto& row : d.goemotions_train.rows) d.goemotions_train_ids.insert(row.id);
    for (Split split : {Split::dev, Split::test}) {
      for (const auto& row : load_goemotions(dir, split, MultiLabelPolicy::first).rows) {
        d.goemotions_heldout_ids.insert(row.id);
      }
    }
    return d;
  }();
  return loaded;
}

AugmentedTrainSet build(AugmentMode mode, std::size_t size, std::uint64_t seed) {
  return build_train_set(real().wassa_train, real().goemotions_train,
                         AugmentOptions{mode, size, seed});
}

std::vector<std::string> ids(const AugmentedTrainSet& set) {
  std::vector<std::string> out;
  for (const auto& e : set.examples) out.push_back(e.source_id);
  return out;
}

void expect_only_train_comments(const AugmentedTrainSet& set) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < set.examples.size(); ++i) {
    const auto& e = set.examples[i];
    if (i < set.wassa_count) {
      EXPECT_EQ(e.source, ExampleSource::wassa);
      continue;
    }
    EXPECT_EQ(e.source, ExampleSource::goemotions);
    EXPECT_TRUE(real().goemotions_train_ids.contains(e.source_id)) << e.source_id;
    EXPECT_FALSE(real().goemotions_heldout_ids.contains(e.source_id)) << e.source_id;
    EXPECT_TRUE(seen.insert(e.source_id).second) << "drawn twice: " << e.source_id;
  }
}

TEST(Augment, NoneIsWassaTrainInFileOrder) {
  const auto set = build(AugmentMode::none, 0, 1);
  ASSERT_EQ(set.examples.size(), 1860u);
  EXPECT_EQ(set.goemotions_count, 0u);
  EXPECT_EQ(set.examples.front().source_id, "R_1hGrPtWM4SumG0U_1");
  EXPECT_EQ(set.examples.front().emotion, emotion_index("sadness"));
  EXPECT_EQ(set.class_counts, (EmotionCounts{349, 149, 194, 82, 275, 647, 164}));
}

TEST(Augment, BalancedTotalsExactlyNAndFillsSmallestFirst) {
  const auto set = build(AugmentMode::balanced, 0, 42);
  EXPECT_EQ(set.examples.size(), kDefaultBalancedTotal);
  EXPECT_EQ(set.wassa_count, 1860u);
  EXPECT_EQ(set.goemotions_count, 940u);
  // Sadness (647) is already above the level the other six reach together: 1213 + 940 = 2153
  // over six classes is 358.8, so five classes end at 359 and one at 358.
  EXPECT_EQ(set.class_counts, (EmotionCounts{359, 359, 359, 359, 359, 647, 358}));
  EXPECT_EQ(set.added_counts[emotion_index("sadness")], 0u);
  EXPECT_EQ(set.added_counts[emotion_index("joy")], 359u - 82u);
  for (std::size_t i = set.wassa_count; i < set.examples.size(); ++i) {
    const auto& e = set.examples[i];
    const auto it =
        std::find_if(real().goemotions_train.rows.begin(), real().goemotions_train.rows.end(),
                     [&](const auto& row) { return row.id == e.source_id; });
    ASSERT_NE(it, real().goemotions_train.rows.end());
    EXPECT_EQ(it->emotion, e.emotion);
    EXPECT_EQ(it->text, e.text);
  }
  expect_only_train_comments(set);

  const auto larger = build(AugmentMode::balanced, 5000, 42);
  EXPECT_EQ(larger.examples.size(), 5000u);
  // Disgust has only 149 + 498 comments, so it takes all of them and the other six share the
  // rest within one of each other.
  const auto disgust = static_cast<std::size_t>(emotion_index("disgust"));
  EXPECT_EQ(larger.class_counts[disgust], 149u + 498u);
  std::vector<std::size_t> others;
  for (std::size_t c = 0; c < kNumEmotions; ++c) {
    if (c != disgust) others.push_back(larger.class_counts[c]);
  }
  const auto [lo, hi] = std::minmax_element(others.begin(), others.end());
  EXPECT_LE(*hi - *lo, 1u);
}

TEST(Augment, BalancedSpreadsWhatAnExhaustedClassCannotTake) {
  // Class 1 has only 2 comments to give; the rest goes to the others, smallest first.
  const EmotionCounts current{10, 0, 5, 10, 10, 10, 10};
  const EmotionCounts available{100, 2, 100, 100, 100, 100, 100};
  const auto added = balanced_additions(current, available, 20);
  EXPECT_EQ(added, (EmotionCounts{3, 2, 7, 2, 2, 2, 2}));
  EXPECT_THAT(error_of([&] {
                balanced_additions(current, EmotionCounts{1, 1, 1, 1, 1, 1, 1}, 8);
              }),
              HasSubstr("only 7 are available"));
}

TEST(Augment, RandomAddsExactlyN) {
  const auto set = build(AugmentMode::random, 0, 42);
  EXPECT_EQ(set.examples.size(), 1860u + kDefaultRandomAdded);
  EXPECT_EQ(set.goemotions_count, kDefaultRandomAdded);
  expect_only_train_comments(set);
  const auto small = build(AugmentMode::random, 17, 42);
  EXPECT_EQ(small.goemotions_count, 17u);
  // Uniform draws follow the pool's skew: joy and neutral are most of GoEmotions.
  EXPECT_GT(set.added_counts[emotion_index("joy")], set.added_counts[emotion_index("disgust")]);
}

TEST(Augment, DeterministicForASeed) {
  for (AugmentMode mode : {AugmentMode::balanced, AugmentMode::random}) {
    const auto a = ids(build(mode, 0, 7));
    const auto b = ids(build(mode, 0, 7));
    const auto c = ids(build(mode, 0, 8));
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
  }
}

TEST(Augment, RefusesHeldOutSplitsAndImpossibleSizes) {
  const fs::path dir = emotune::testing::data_dir();
  const auto dev = load_goemotions(dir, Split::dev);
  EXPECT_THAT(error_of([&] {
                build_train_set(real().wassa_train, dev, {AugmentMode::random, 10, 1});
              }),
              HasSubstr("only from GoEmotions train, not dev"));
  EXPECT_THAT(error_of([] { build(AugmentMode::balanced, 1000, 1); }),
              HasSubstr("smaller than the 1860"));
  EXPECT_THAT(error_of([] { build(AugmentMode::random, 1000000, 1); }), HasSubstr("has only"));
  EXPECT_THAT(error_of([] { build(AugmentMode::balanced, 1000000, 1); }), HasSubstr("available"));
}

TEST(Sampling, UniformWithoutReplacement) {
  std::mt19937_64 generator(123);
  const auto drawn = sample_without_replacement(generator, 50, 50);
  EXPECT_EQ(std::set<std::size_t>(drawn.begin(), drawn.end()).size(), 50u);
  std::vector<int> hits(10, 0);
  for (int i = 0; i < 20000; ++i) ++hits[uniform_below(generator, 10)];
  for (int h : hits) EXPECT_NEAR(h, 2000, 200);
  EXPECT_THROW(sample_without_replacement(generator, 3, 4), Error);
  EXPECT_THROW(uniform_below(generator, 0), Error);
}

TEST(Sampling, FixedSequenceForASeed) {
  // mt19937_64's output is fixed by the standard, so this holds on every platform.
  std::mt19937_64 generator(42);
  std::vector<std::uint64_t> draws;
  for (int i = 0; i < 5; ++i) draws.push_back(uniform_below(generator, 1000));
  std::mt19937_64 reference(42);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(draws[i], reference() % 1000);
}

TEST(AugmentModes, Names) {
  EXPECT_EQ(parse_augment_mode("ba"), AugmentMode::balanced);
  EXPECT_EQ(parse_augment_mode("ra"), AugmentMode::random);
  EXPECT_EQ(augment_mode_name(AugmentMode::none), "none");
  EXPECT_THAT(error_of([] { parse_augment_mode("xx"); }), HasSubstr("'xx'"));
}

}  // namespace
}  // namespace emotune::data
