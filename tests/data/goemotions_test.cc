#include "data/goemotions.h"

#include <numeric>

#include <gmock/gmock.h>

#include "common/files.h"
#include "common/test_paths.h"
#include "data/test_support.h"

namespace emotune::data {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::size_t sum(const EmotionCounts& counts) {
  return std::accumulate(counts.begin(), counts.end(), std::size_t{0});
}

TEST(GoEmotionsTaxonomy, MapsEveryLabelToAnEkmanClass) {
  const auto taxonomy = load_goemotions_taxonomy(data() / "goemotions");
  ASSERT_EQ(taxonomy.labels.size(), 28u);
  EXPECT_EQ(taxonomy.labels[0], "admiration");
  EXPECT_EQ(taxonomy.labels[27], "neutral");
  EXPECT_EQ(taxonomy.ekman_of_label[27], emotion_index("neutral"));
  EXPECT_EQ(taxonomy.ekman_of_label[0], emotion_index("joy"));        // admiration
  EXPECT_EQ(taxonomy.ekman_of_label[3], emotion_index("anger"));      // annoyance
  EXPECT_EQ(taxonomy.ekman_of_label[19], emotion_index("fear"));      // nervousness
  EXPECT_EQ(taxonomy.ekman_of_label[22], emotion_index("surprise"));  // realization
  EXPECT_EQ(taxonomy.ekman_of_label[24], emotion_index("sadness"));   // remorse
  EXPECT_EQ(taxonomy.ekman_of_label[11], emotion_index("disgust"));
}

TEST(GoEmotionsReal, SplitSizesUnderEachPolicy) {
  struct Expected {
    Split split;
    std::size_t rows;
    std::size_t multi;
  };
  // Counted independently with Python's csv module over the same files.
  for (const auto& e : {Expected{Split::train, 43410, 3855}, Expected{Split::dev, 5426, 480},
                        Expected{Split::test, 5427, 459}}) {
    const auto skipped = load_goemotions(data(), e.split, MultiLabelPolicy::skip);
    EXPECT_EQ(skipped.total_rows, e.rows);
    EXPECT_EQ(skipped.multi_class_rows, e.multi);
    EXPECT_EQ(skipped.skipped_lines.size(), e.multi);
    EXPECT_EQ(skipped.rows.size(), e.rows - e.multi);
    EXPECT_EQ(sum(skipped.class_counts), skipped.rows.size());
    const auto first = load_goemotions(data(), e.split, MultiLabelPolicy::first);
    EXPECT_EQ(first.rows.size(), e.rows);
    EXPECT_TRUE(first.skipped_lines.empty());
    EXPECT_EQ(first.multi_class_rows, e.multi);
  }
}

TEST(GoEmotionsReal, TrainClassCounts) {
  const auto skipped = load_goemotions(data(), Split::train, MultiLabelPolicy::skip);
  EXPECT_EQ(skipped.class_counts, (EmotionCounts{4293, 498, 541, 15216, 12823, 2326, 3858}));
  const auto first = load_goemotions(data(), Split::train, MultiLabelPolicy::first);
  EXPECT_EQ(first.class_counts, (EmotionCounts{5336, 580, 615, 16948, 12823, 2619, 4489}));
}

TEST(GoEmotionsReal, QuotedTextAndMultiLabelRows) {
  const auto train = load_goemotions(data(), Split::train, MultiLabelPolicy::first);
  // Line 124: "Three words, no subtlety. ""Dude. Stop. Seriously."" "  3  eetq9g0
  const auto& quoted = train.rows[123];
  EXPECT_EQ(quoted.line, 124u);
  EXPECT_EQ(quoted.id, "eetq9g0");
  EXPECT_EQ(quoted.text, "Three words, no subtlety. \"Dude. Stop. Seriously.\" ");
  EXPECT_EQ(quoted.labels, std::vector<int>{3});
  EXPECT_EQ(quoted.emotion, emotion_index("anger"));
  const auto& first = train.rows.front();
  EXPECT_EQ(first.text, "My favourite food is anything I didn't have to cook myself.");
  EXPECT_EQ(first.emotion, emotion_index("neutral"));
  EXPECT_EQ(first.id, "eebbqej");
}

TEST(GoEmotionsReal, ErrorPolicyNamesTheFirstMultiClassLine) {
  const auto message =
      error_of([] { load_goemotions(data(), Split::dev, MultiLabelPolicy::error); });
  EXPECT_THAT(message, AllOf(HasSubstr("dev.tsv:"), HasSubstr("several Ekman classes")));
}

class GoEmotionsBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "goemotions");
    write_file_atomic(dir_ / "goemotions" / "emotions.txt", "joy\nanger\nlove\nneutral");
    write_file_atomic(dir_ / "goemotions" / "ekman_mapping.json",
                      R"({"joy": ["joy", "love"], "anger": ["anger"]})");
  }
  fs::path write_train(const std::string& content) {
    const auto path = dir_ / "goemotions" / "train.tsv";
    write_file_atomic(path, content);
    return path;
  }
  emotune::testing::TempDir dir_;
};

TEST_F(GoEmotionsBadInput, PoliciesOnASmallFile) {
  write_train("fine\t0,2\tc1\nmixed\t1,0\tc2\n\"said \"\"no\"\"\"\t3\tc3\n");
  const auto skip = load_goemotions(dir_.path(), Split::train, MultiLabelPolicy::skip);
  ASSERT_EQ(skip.rows.size(), 2u);
  EXPECT_EQ(skip.rows[0].emotion, emotion_index("joy"));  // joy + love is one class
  EXPECT_EQ(skip.rows[1].text, "said \"no\"");
  EXPECT_EQ(skip.skipped_lines, std::vector<std::size_t>{2});
  const auto first = load_goemotions(dir_.path(), Split::train, MultiLabelPolicy::first);
  ASSERT_EQ(first.rows.size(), 3u);
  EXPECT_EQ(first.rows[1].emotion, emotion_index("anger"));
  EXPECT_THAT(
      error_of([&] { load_goemotions(dir_.path(), Split::train, MultiLabelPolicy::error); }),
      AllOf(HasSubstr("train.tsv:2:"), HasSubstr("anger, joy")));
}

TEST_F(GoEmotionsBadInput, BadLabelIds) {
  write_train("ok\t0\tc1\nbad\t4\tc2\n");
  EXPECT_THAT(error_of([&] { load_goemotions(dir_.path(), Split::train); }),
              AllOf(HasSubstr("train.tsv:2:"), HasSubstr("label ids 0..3"), HasSubstr("'4'")));
  write_train("ok\t0,\tc1\n");
  EXPECT_THAT(error_of([&] { load_goemotions(dir_.path(), Split::train); }),
              HasSubstr("train.tsv:1:"));
  write_train("ok\tjoy\tc1\n");
  EXPECT_THAT(error_of([&] { load_goemotions(dir_.path(), Split::train); }),
              AllOf(HasSubstr("train.tsv:1:"), HasSubstr("'joy'")));
}

TEST_F(GoEmotionsBadInput, WrongFieldCountAndUtf8) {
  write_train("ok\t0\tc1\nmissing id\t0\n");
  EXPECT_THAT(error_of([&] { load_goemotions(dir_.path(), Split::train); }),
              AllOf(HasSubstr("train.tsv:2:"), HasSubstr("expected 3")));
  write_train("ok\t0\tc1\nbad \xC3\x28\t0\tc2\n");
  EXPECT_THAT(error_of([&] { load_goemotions(dir_.path(), Split::train); }),
              AllOf(HasSubstr("train.tsv:2:"), HasSubstr("invalid UTF-8")));
}

TEST_F(GoEmotionsBadInput, BadTaxonomy) {
  write_train("ok\t0\tc1\n");
  write_file_atomic(dir_ / "goemotions" / "ekman_mapping.json", R"({"joy": ["joy"]})");
  EXPECT_THAT(
      error_of([&] { load_goemotions(dir_.path(), Split::train); }),
      AllOf(HasSubstr("ekman_mapping.json"), HasSubstr("'anger'"), HasSubstr("no Ekman class")));
  write_file_atomic(dir_ / "goemotions" / "ekman_mapping.json",
                    R"({"happy": ["joy", "love"], "anger": ["anger"]})");
  EXPECT_THAT(error_of([&] { load_goemotions(dir_.path(), Split::train); }),
              AllOf(HasSubstr("ekman_mapping.json"), HasSubstr("'happy'")));
  write_file_atomic(dir_ / "goemotions" / "ekman_mapping.json", "{not json");
  EXPECT_THAT(error_of([&] { load_goemotions(dir_.path(), Split::train); }),
              AllOf(HasSubstr("ekman_mapping.json"), HasSubstr("not valid JSON")));
  fs::remove(dir_ / "goemotions" / "emotions.txt");
  EXPECT_THAT(error_of([&] { load_goemotions(dir_.path(), Split::train); }),
              AllOf(HasSubstr("emotions.txt"), HasSubstr("no such file")));
}

TEST(GoEmotionsPolicy, Names) {
  EXPECT_EQ(parse_multi_label_policy("first"), MultiLabelPolicy::first);
  EXPECT_EQ(multi_label_policy_name(MultiLabelPolicy::skip), "skip");
  EXPECT_THAT(error_of([] { parse_multi_label_policy("all"); }), HasSubstr("'all'"));
}

}  // namespace
}  // namespace emotune::data
