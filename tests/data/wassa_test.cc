#include "data/wassa.h"

#include <map>
#include <set>

#include <gmock/gmock.h>

#include "common/files.h"
#include "common/test_paths.h"
#include "data/labels.h"
#include "data/test_support.h"

namespace emotune::data {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const fs::path& data() {
  static const fs::path dir = emotune::testing::data_dir();
  return dir;
}

TEST(WassaReal, SplitSizes) {
  EXPECT_EQ(load_wassa(data(), Split::train).rows.size(), 1860u);
  EXPECT_EQ(load_wassa(data(), Split::dev).rows.size(), 270u);
  EXPECT_EQ(load_wassa(data(), Split::test).rows.size(), 525u);
}

TEST(WassaReal, TrainFirstRowIsFullyTyped) {
  const auto train = load_wassa(data(), Split::train);
  const auto& row = train.rows.front();
  EXPECT_EQ(row.id, "R_1hGrPtWM4SumG0U_1");
  EXPECT_EQ(row.response_id, "R_1hGrPtWM4SumG0U");
  EXPECT_EQ(row.article_id, 67);
  EXPECT_EQ(row.line, 2u);
  EXPECT_THAT(row.text, StartsWith("it is really diheartening to read about these immigrants"));
  ASSERT_TRUE(row.empathy && row.distress && row.emotion);
  EXPECT_DOUBLE_EQ(*row.empathy, 5.667000000000001);
  EXPECT_DOUBLE_EQ(*row.distress, 4.375);
  EXPECT_EQ(*row.empathy_bin, 1);
  EXPECT_EQ(*row.distress_bin, 1);
  EXPECT_EQ(*row.emotion, emotion_index("sadness"));
  ASSERT_TRUE(row.demographics && row.personality && row.iri);
  EXPECT_EQ(row.demographics->gender, 1);
  EXPECT_EQ(row.demographics->education, 4);
  EXPECT_EQ(row.demographics->race, 1);
  EXPECT_EQ(row.demographics->age, 33);
  EXPECT_EQ(row.demographics->income, 50000);
  EXPECT_DOUBLE_EQ(row.personality->conscientiousness, 6.0);
  EXPECT_DOUBLE_EQ(row.personality->stability, 5.5);
  EXPECT_DOUBLE_EQ(row.iri->perspective_taking, 3.571);
  EXPECT_DOUBLE_EQ(row.iri->empathic_concern, 4.0);
  // The last row: a score written "1.0".
  const auto& last = train.rows.back();
  EXPECT_EQ(last.id, "R_DHy2Rcz9Hym8jgl_5");
  EXPECT_EQ(last.line, 1861u);
  EXPECT_DOUBLE_EQ(*last.empathy, 1.0);
  EXPECT_EQ(*last.empathy_bin, 0);
  EXPECT_DOUBLE_EQ(last.iri->fantasy, 4.2860000000000005);
}

TEST(WassaReal, TrainLabelDistributionAndQuotedEssays) {
  const auto train = load_wassa(data(), Split::train);
  EmotionCounts counts{};
  std::set<std::string> ids;
  for (const auto& row : train.rows) {
    ++counts[static_cast<std::size_t>(*row.emotion)];
    ids.insert(row.id);
    EXPECT_GE(*row.empathy, 1.0);
    EXPECT_LE(*row.distress, 7.0);
  }
  EXPECT_EQ(counts, (EmotionCounts{349, 149, 194, 82, 275, 647, 164}));
  EXPECT_EQ(ids.size(), 1860u);
  // Line 58 is written "\"I had heard ... ""early deaths"" ...\"" in the file.
  const auto& quoted = train.rows[56];
  EXPECT_EQ(quoted.id, "R_3nHIf1uTyHztQY7_2");
  EXPECT_EQ(quoted.line, 58u);
  EXPECT_THAT(quoted.text, StartsWith("I had heard about the huge fires"));
  EXPECT_THAT(quoted.text, HasSubstr("tried to count \"early deaths\" and"));
  EXPECT_NE(quoted.text.back(), '"');
}

TEST(WassaReal, DevJoinMatchesRawFilesAtBothEnds) {
  const auto dev = load_wassa(data(), Split::dev);
  ASSERT_EQ(dev.rows.size(), 270u);
  // Row 1: features line 2 and gold line 1 ("7.0 7.0 sadness 5.5 ... 3.143").
  const auto& first = dev.rows.front();
  EXPECT_EQ(first.id, "R_3QLVVnAgRBRH41U_1");
  EXPECT_EQ(first.line, 2u);
  EXPECT_EQ(first.gold_line, 1u);
  EXPECT_THAT(first.text, StartsWith("The story about the air strikes is very saddening."));
  EXPECT_DOUBLE_EQ(*first.empathy, 7.0);
  EXPECT_DOUBLE_EQ(*first.distress, 7.0);
  EXPECT_EQ(*first.emotion, emotion_index("sadness"));
  EXPECT_DOUBLE_EQ(first.personality->conscientiousness, 5.5);
  EXPECT_DOUBLE_EQ(first.iri->perspective_taking, 4.428999999999999);
  EXPECT_DOUBLE_EQ(first.iri->empathic_concern, 3.143);
  EXPECT_EQ(first.demographics->gender, 1);      // written "1.0"
  EXPECT_EQ(first.demographics->income, 24000);  // written "24000.0"
  EXPECT_FALSE(first.empathy_bin);
  // Row 270: gold "5.667000000000001 4.75 sadness 4.0 6.0 1.0 5.0 2.5 3.857 4.143 4.286... 3.286".
  const auto& last = dev.rows.back();
  EXPECT_EQ(last.id, "R_r3CoQ7YjIwxVvJT_5");
  EXPECT_EQ(last.line, 271u);
  EXPECT_EQ(last.gold_line, 270u);
  EXPECT_THAT(last.text, StartsWith("As a woman, it is very discouraging to see"));
  EXPECT_DOUBLE_EQ(*last.empathy, 5.667000000000001);
  EXPECT_DOUBLE_EQ(*last.distress, 4.75);
  EXPECT_EQ(*last.emotion, emotion_index("sadness"));
  EXPECT_DOUBLE_EQ(last.personality->openness, 6.0);
  EXPECT_DOUBLE_EQ(last.personality->extraversion, 1.0);
  EXPECT_DOUBLE_EQ(last.iri->fantasy, 4.2860000000000005);
  EXPECT_DOUBLE_EQ(last.iri->empathic_concern, 3.286);
  EXPECT_EQ(last.demographics->age, 37);
  EXPECT_EQ(last.demographics->income, 93000);

  EmotionCounts counts{};
  for (const auto& row : dev.rows) ++counts[static_cast<std::size_t>(*row.emotion)];
  EXPECT_EQ(counts, (EmotionCounts{76, 12, 31, 14, 25, 98, 14}));
}

TEST(WassaReal, TestHasNoLabelsAndBothFormatsAgree) {
  const auto test = load_wassa(data(), Split::test);
  EXPECT_EQ(test.file.filename(), kWassaTestFile);
  const auto test2021 = read_wassa_test(data() / "wassa2021" / kWassaTestFile2021);
  ASSERT_EQ(test2021.rows.size(), 525u);
  for (std::size_t i = 0; i < test.rows.size(); ++i) {
    EXPECT_FALSE(test.rows[i].empathy || test.rows[i].distress || test.rows[i].emotion);
    // The 2022 file has no personality/IRI; they come from its 2021 twin.
    ASSERT_TRUE(test.rows[i].personality && test.rows[i].iri);
    EXPECT_DOUBLE_EQ(test.rows[i].personality->openness, test2021.rows[i].personality->openness);
    EXPECT_EQ(test.rows[i].id, test2021.rows[i].id);
    EXPECT_EQ(test.rows[i].text, test2021.rows[i].text);
  }
  ASSERT_TRUE(test2021.rows.front().iri);
  EXPECT_DOUBLE_EQ(test2021.rows.front().iri->personal_distress, 2.8569999999999998);
  EXPECT_DOUBLE_EQ(test2021.rows.back().iri->fantasy, 4.428999999999999);
}

TEST(WassaReal, WritersAreDisjointAcrossSplits) {
  std::set<std::string> train_writers;
  for (const auto& row : load_wassa(data(), Split::train).rows) {
    train_writers.insert(row.response_id);
  }
  for (Split split : {Split::dev, Split::test}) {
    for (const auto& row : load_wassa(data(), split).rows) {
      EXPECT_FALSE(train_writers.contains(row.response_id)) << row.id;
    }
  }
}

TEST(WassaReal, WriterFoldsKeepEachWriterWholeAndBalanced) {
  const auto rows = load_wassa(data(), Split::train).rows;
  const auto folds = writer_folds(rows, 5);
  ASSERT_EQ(folds.size(), rows.size());
  std::map<std::string, std::size_t> fold_of_writer;
  std::vector<std::size_t> sizes(5, 0);
  std::set<int> articles_in_fold_0, articles_elsewhere;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_LT(folds[i], 5u);
    const auto [it, inserted] = fold_of_writer.try_emplace(rows[i].response_id, folds[i]);
    EXPECT_EQ(it->second, folds[i]) << rows[i].id;
    ++sizes[folds[i]];
    (folds[i] == 0 ? articles_in_fold_0 : articles_elsewhere).insert(rows[i].article_id);
  }
  // 372 writers of five essays each: 74 or 75 writers per fold.
  for (auto size : sizes) EXPECT_THAT(size, ::testing::AnyOf(370u, 375u));
  // Unlike folds by row position (i mod 5 takes one article slot), the held-out essays share
  // articles with the rest, as dev does with train.
  std::size_t shared = 0;
  for (int article : articles_in_fold_0) shared += articles_elsewhere.contains(article);
  EXPECT_GT(shared, articles_in_fold_0.size() / 2);
}

TEST(WriterFolds, WritersInOrderOfFirstAppearanceAndNamelessRowsAlone) {
  auto row = [](std::string writer) {
    WassaRecord r;
    r.response_id = std::move(writer);
    return r;
  };
  const std::vector<WassaRecord> rows = {row("a"), row("b"), row("a"), row(""), row(""), row("c"),
                                         row("b")};
  EXPECT_EQ(writer_folds(rows, 2), (std::vector<std::size_t>{0, 1, 0, 0, 1, 0, 1}));
  EXPECT_EQ(writer_folds(rows, 1), (std::vector<std::size_t>(7, 0)));
  EXPECT_THROW(writer_folds(rows, 0), Error);
}

// --- bad input, each in a small hand-made file ---------------------------------------------

constexpr std::string_view kTrainHeader =
    "message_id\tresponse_id\tarticle_id\tempathy\tdistress\tempathy_bin\tdistress_bin\tessay\t"
    "emotion\tgender\teducation\trace\tage\tincome\tpersonality_conscientiousness\t"
    "personality_openess\tpersonality_extraversion\tpersonality_agreeableness\t"
    "personality_stability\tiri_perspective_taking\tiri_personal_distress\tiri_fantasy\t"
    "iri_empathatic_concern\n";

std::string train_row(const std::string& id, const std::string& empathy = "4.5",
                      const std::string& emotion = "sadness",
                      const std::string& essay = "An essay.",
                      const std::string& empathy_bin = "1") {
  return fmt::format(
      "{}\tR_x\t3\t{}\t2.0\t{}\t0\t{}\t{}\t1\t4\t1\t33\t50000\t6.0\t5.0\t5.0\t5.5\t5.5\t3.571\t"
      "2.0\t3.429\t4.0\n",
      id, empathy, empathy_bin, essay, emotion);
}

class WassaBadInput : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& content) {
    const auto path = dir_ / name;
    write_file_atomic(path, content);
    return path;
  }
  std::string train_error(const std::string& content) {
    const auto path = write("train.tsv", content);
    return error_of([&] { read_wassa_train(path); });
  }
  emotune::testing::TempDir dir_;
};

TEST_F(WassaBadInput, GoodSmallFileLoads) {
  const auto path = write("train.tsv", std::string(kTrainHeader) + train_row("a_1") +
                                           train_row("a_2", "1", "joy", "\"Say \"\"hi\"\"\"", "0"));
  const auto split = read_wassa_train(path);
  ASSERT_EQ(split.rows.size(), 2u);
  EXPECT_EQ(split.rows[1].text, "Say \"hi\"");
  EXPECT_EQ(*split.rows[1].emotion, emotion_index("joy"));
  EXPECT_DOUBLE_EQ(*split.rows[1].empathy, 1.0);
}

TEST_F(WassaBadInput, MissingFile) {
  const auto path = dir_ / "nope.tsv";
  EXPECT_THAT(error_of([&] { read_wassa_train(path); }),
              AllOf(HasSubstr(path.string()), HasSubstr("no such file")));
  EXPECT_THAT(error_of([&] { load_wassa(dir_.path(), Split::dev); }),
              AllOf(HasSubstr(std::string(kWassaDevFeaturesFile)), HasSubstr("no such file")));
}

TEST_F(WassaBadInput, WrongHeaderNamesTheMissingColumn) {
  std::string header(kTrainHeader);
  header.replace(header.find("\tessay\t"), 7, "\ttext\t");
  const auto message = train_error(header + train_row("a_1"));
  EXPECT_THAT(message, AllOf(HasSubstr("train.tsv:1:"), HasSubstr("missing column 'essay'")));
  // Part of a column group present: the message names the absent one.
  std::string partial(kTrainHeader);
  partial.replace(partial.find("\tiri_fantasy\t"), 13, "\tiri_fantasia\t");
  EXPECT_THAT(train_error(partial + train_row("a_1")),
              AllOf(HasSubstr("train.tsv:1:"), HasSubstr("missing column 'iri_fantasy'")));
}

TEST_F(WassaBadInput, WrongFieldCount) {
  std::string short_row = train_row("a_2");
  short_row.erase(short_row.rfind('\t'));
  short_row += "\n";
  const auto message = train_error(std::string(kTrainHeader) + train_row("a_1") + short_row);
  EXPECT_THAT(message,
              AllOf(HasSubstr("train.tsv:3:"), HasSubstr("expected 23"), HasSubstr("found 22")));
}

TEST_F(WassaBadInput, NonNumericScore) {
  const auto message =
      train_error(std::string(kTrainHeader) + train_row("a_1") + train_row("a_2", "high"));
  EXPECT_THAT(message, AllOf(HasSubstr("train.tsv:3:"), HasSubstr("empathy"),
                             HasSubstr("expected a number"), HasSubstr("'high'")));
}

TEST_F(WassaBadInput, ScoreOutsideOneToSeven) {
  EXPECT_THAT(train_error(std::string(kTrainHeader) + train_row("a_1", "7.5")),
              AllOf(HasSubstr("train.tsv:2:"), HasSubstr("empathy"), HasSubstr("outside 1..7")));
  EXPECT_THAT(train_error(std::string(kTrainHeader) + train_row("a_1", "0.99", "joy", "e", "0")),
              AllOf(HasSubstr("train.tsv:2:"), HasSubstr("outside 1..7")));
}

TEST_F(WassaBadInput, BinInconsistentWithScore) {
  EXPECT_THAT(train_error(std::string(kTrainHeader) + train_row("a_1", "3.9", "joy", "e", "1")),
              AllOf(HasSubstr("train.tsv:2:"), HasSubstr("empathy_bin")));
}

TEST_F(WassaBadInput, UnknownEmotionLabel) {
  const auto message = train_error(std::string(kTrainHeader) + train_row("a_1") +
                                   train_row("a_2", "4.5", "happiness"));
  EXPECT_THAT(message, AllOf(HasSubstr("train.tsv:3:"), HasSubstr("unknown label 'happiness'"),
                             HasSubstr("anger, disgust")));
}

TEST_F(WassaBadInput, InvalidUtf8) {
  const auto message = train_error(std::string(kTrainHeader) + train_row("a_1") +
                                   train_row("a_2", "4.5", "joy", "caf\xE9 latte"));
  EXPECT_THAT(message, AllOf(HasSubstr("train.tsv:3:"), HasSubstr("invalid UTF-8")));
}

TEST_F(WassaBadInput, EmptyEssayAndHeaderOnly) {
  EXPECT_THAT(train_error(std::string(kTrainHeader) + train_row("a_1", "4.5", "joy", "")),
              AllOf(HasSubstr("train.tsv:2:"), HasSubstr("essay is empty")));
  EXPECT_THAT(train_error(std::string(kTrainHeader)),
              AllOf(HasSubstr("train.tsv"), HasSubstr("no data rows")));
}

constexpr std::string_view kFeaturesHeader =
    "message_id\tresponse_id\tarticle_id\tessay\tgender\teducation\trace\tage\tincome\n";

std::string features_row(int i) {
  return fmt::format("R_d_{}\tR_d\t{}\tEssay number {}.\t2.0\t6.0\t3.0\t22.0\t100000.0\n", i, i, i);
}

std::string gold_row(const std::string& empathy = "4.0", const std::string& emotion = "fear") {
  return fmt::format(
      "{}\t3.5\t{}\t5.5\t5.5\t4.0\t5.0\t4.5\t4.428999999999999\t2.286\t4.143\t3.143\n", empathy,
      emotion);
}

TEST_F(WassaBadInput, DevJoinsByPosition) {
  const auto features =
      write("f.tsv", std::string(kFeaturesHeader) + features_row(1) + features_row(2));
  const auto gold = write("g.tsv", gold_row("2.5", "joy") + gold_row("6", "anger"));
  const auto dev = read_wassa_dev(features, gold);
  ASSERT_EQ(dev.rows.size(), 2u);
  EXPECT_EQ(dev.rows[1].id, "R_d_2");
  EXPECT_DOUBLE_EQ(*dev.rows[1].empathy, 6.0);
  EXPECT_EQ(*dev.rows[1].emotion, emotion_index("anger"));
  EXPECT_EQ(dev.rows[0].gold_line, 1u);
  // The 2021 form: three columns under a header line.
  const auto gold2021 = write("g21.tsv", "empathy\tdistress\temotion\n2.5\t3\tjoy\n6\t1\tanger\n");
  const auto dev2021 = read_wassa_dev(features, gold2021);
  EXPECT_EQ(*dev2021.rows[1].emotion, emotion_index("anger"));
  EXPECT_EQ(dev2021.rows[1].gold_line, 3u);
  EXPECT_FALSE(dev2021.rows[1].personality);
}

TEST_F(WassaBadInput, DevGoldRowCountMismatch) {
  const auto features = write(
      "f.tsv", std::string(kFeaturesHeader) + features_row(1) + features_row(2) + features_row(3));
  const auto short_gold = write("g.tsv", gold_row() + gold_row());
  EXPECT_THAT(error_of([&] { read_wassa_dev(features, short_gold); }),
              AllOf(HasSubstr("f.tsv:4:"), HasSubstr("no gold row"), HasSubstr("g.tsv"),
                    HasSubstr("2 rows")));
  const auto long_gold = write("g2.tsv", gold_row() + gold_row() + gold_row() + gold_row());
  EXPECT_THAT(
      error_of([&] { read_wassa_dev(features, long_gold); }),
      AllOf(HasSubstr("g2.tsv:4:"), HasSubstr("no features row"), HasSubstr("3 data rows")));
}

TEST_F(WassaBadInput, DevGoldBadValues) {
  const auto features =
      write("f.tsv", std::string(kFeaturesHeader) + features_row(1) + features_row(2));
  const auto bad_label = write("g.tsv", gold_row() + gold_row("4.0", "Joy"));
  EXPECT_THAT(error_of([&] { read_wassa_dev(features, bad_label); }),
              AllOf(HasSubstr("g.tsv:2:"), HasSubstr("unknown label 'Joy'")));
  const auto bad_score = write("g2.tsv", gold_row("n/a") + gold_row());
  EXPECT_THAT(error_of([&] { read_wassa_dev(features, bad_score); }),
              AllOf(HasSubstr("g2.tsv:1:"), HasSubstr("empathy"), HasSubstr("'n/a'")));
  const auto ragged = write("g3.tsv", gold_row() + "4.0\t3.0\tjoy\n");
  EXPECT_THAT(error_of([&] { read_wassa_dev(features, ragged); }),
              AllOf(HasSubstr("g3.tsv:2:"), HasSubstr("expected 12")));
  const auto narrow = write("g4.tsv", "4.0\t3.0\n4.0\t3.0\n");
  EXPECT_THAT(error_of([&] { read_wassa_dev(features, narrow); }),
              AllOf(HasSubstr("g4.tsv:1:"), HasSubstr("found 2")));
}

TEST_F(WassaBadInput, TestFeaturesNonIntegerDemographic) {
  const auto path = write("t.tsv", std::string(kFeaturesHeader) +
                                       "R_t_1\tR_t\t5\tAn essay.\t2.5\t6.0\t3.0\t22.0\t1.0\n");
  EXPECT_THAT(error_of([&] { read_wassa_test(path); }),
              AllOf(HasSubstr("t.tsv:2:"), HasSubstr("gender"), HasSubstr("integer")));
}

TEST(WassaSplitNames, RoundTrip) {
  for (Split split : {Split::train, Split::dev, Split::test}) {
    EXPECT_EQ(parse_split(split_name(split)), split);
  }
  EXPECT_THAT(error_of([] { parse_split("validation"); }), HasSubstr("'validation'"));
}

}  // namespace
}  // namespace emotune::data
