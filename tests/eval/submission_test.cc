#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/error_of.h"
#include "common/files.h"
#include "common/test_paths.h"
#include "eval/metrics.h"
#include "eval/submission.h"

namespace emotune::eval {
namespace {

using emotune::testing::TempDir;
using ::testing::HasSubstr;

using emotune::testing::error_of;

TEST(GoldStandard, ReadsTheTwelveColumnDevFileFromTheDataDirectory) {
  const auto path = emotune::testing::data_dir() / "wassa2021" / "goldstandard_dev_2022.tsv";
  const auto gold = read_gold_standard(path);
  ASSERT_EQ(gold.size(), 270u);
  EXPECT_EQ(gold.empathy.size(), 270u);
  EXPECT_EQ(gold.empathy[0], 7.0);
  EXPECT_EQ(gold.distress[1], 3.625);
  EXPECT_EQ(gold.emotion[2], *emotion_index("fear"));
  std::array<int, kNumEmotions> counts{};
  for (int e : gold.emotion) ++counts[static_cast<std::size_t>(e)];
  EXPECT_EQ(counts[*emotion_index("sadness")], 98);
  EXPECT_EQ(counts[*emotion_index("anger")], 76);
}

TEST(GoldStandard, ToleratesCrLfAndTrailingWhitespaceAsTheScriptDoes) {
  TempDir dir;
  write_file_atomic(dir / "gold.tsv", "1.5\t2\tjoy \r\n3\t4.25\tanger\t\n");
  const auto gold = read_gold_standard(dir / "gold.tsv");
  ASSERT_EQ(gold.size(), 2u);
  EXPECT_EQ(gold.emotion[0], *emotion_index("joy"));
  EXPECT_EQ(gold.distress[1], 4.25);
}

TEST(SubmissionReaders, RejectBadFilesNamingFileAndLine) {
  TempDir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    write_file_atomic(dir / name, text);
    return dir / name;
  };
  EXPECT_THAT(error_of([&] { read_gold_standard(write("empty.tsv", "")); }),
              HasSubstr("empty.tsv: empty file"));
  EXPECT_THAT(error_of([&] { read_gold_standard(write("g1.tsv", "1\t2\tjoy\n1\t2\n")); }),
              HasSubstr("g1.tsv:2: expected at least 3"));
  EXPECT_THAT(error_of([&] { read_gold_standard(write("g2.tsv", "1\tx\tjoy\n")); }),
              HasSubstr("g2.tsv:1: distress: expected a finite number, got 'x'"));
  EXPECT_THAT(error_of([&] { read_gold_standard(write("g3.tsv", "1\t2\tJoy\n")); }),
              HasSubstr("g3.tsv:1: unknown emotion label 'Joy'"));
  EXPECT_THAT(error_of([&] { read_gold_standard(write("g4.tsv", "1\t2\tjoy\n\n1\t2\tjoy\n")); }),
              HasSubstr("g4.tsv:2: empty line"));
  EXPECT_THAT(error_of([&] { read_emp_predictions(write("e1.tsv", "1\t2\t3\n")); }),
              HasSubstr("e1.tsv:1: expected 2 tab-separated columns"));
  EXPECT_THAT(error_of([&] { read_emp_predictions(write("e2.tsv", "1\t2\n1\tnan\n")); }),
              HasSubstr("e2.tsv:2: distress: expected a finite number, got 'nan'"));
  EXPECT_THAT(error_of([&] { read_emp_predictions(write("e3.tsv", "1.5e\t2\n")); }),
              HasSubstr("e3.tsv:1: empathy"));
  EXPECT_THAT(error_of([&] { read_emo_predictions(write("o1.tsv", "joy\nhappiness\n")); }),
              HasSubstr("o1.tsv:2: unknown emotion label 'happiness'"));
  EXPECT_THAT(error_of([&] { read_emo_predictions(write("o2.tsv", "joy\tanger\n")); }),
              HasSubstr("o2.tsv:1: expected 1 tab-separated column"));
  EXPECT_THAT(error_of([&] { read_emo_predictions(dir / "missing.tsv"); }),
              HasSubstr("missing.tsv"));
}

TEST(SubmissionFiles, RoundTripHeaderlessInRowOrder) {
  TempDir dir;
  const EmpathyPredictions emp{{4.5, 1.0, 6.123456789}, {2.0, 3.25, 1e-3}};
  const std::vector<int> emo{*emotion_index("surprise"), *emotion_index("anger"),
                             *emotion_index("neutral")};
  write_emp_predictions(dir / "predictions_EMP.tsv", emp);
  write_emo_predictions(dir / "predictions_EMO.tsv", emo);
  EXPECT_EQ(read_file(dir / "predictions_EMP.tsv"), "4.5\t2.0\n1.0\t3.25\n6.123456789\t0.001\n");
  EXPECT_EQ(read_file(dir / "predictions_EMO.tsv"), "surprise\nanger\nneutral\n");
  const auto emp_back = read_emp_predictions(dir / "predictions_EMP.tsv");
  EXPECT_EQ(emp_back.empathy, emp.empathy);
  EXPECT_EQ(emp_back.distress, emp.distress);
  EXPECT_EQ(read_emo_predictions(dir / "predictions_EMO.tsv"), emo);
}

TEST(SubmissionZip, HoldsBothFilesAtTheRootAndIsReproducible) {
  TempDir dir;
  const EmpathyPredictions emp{{4.5, 1.0}, {2.0, 3.25}};
  const std::vector<int> emo{*emotion_index("joy"), *emotion_index("fear")};
  write_submission_zip(dir / "predictions.zip", &emp, emo);
  const auto entries = read_zip_entries(dir / "predictions.zip");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries.at("predictions_EMP.tsv"), "4.5\t2.0\n1.0\t3.25\n");
  EXPECT_EQ(entries.at("predictions_EMO.tsv"), "joy\nfear\n");
  write_submission_zip(dir / "again.zip", &emp, emo);
  EXPECT_EQ(read_file(dir / "predictions.zip"), read_file(dir / "again.zip"));

  write_submission_zip(dir / "emo_only.zip", nullptr, emo);
  const auto emo_only = read_zip_entries(dir / "emo_only.zip");
  ASSERT_EQ(emo_only.size(), 1u);
  EXPECT_TRUE(emo_only.contains("predictions_EMO.tsv"));
  EXPECT_THROW(write_submission_zip(dir / "nothing.zip", nullptr, {}), Error);

  const auto archive = read_submission_zip(dir / "predictions.zip");
  ASSERT_TRUE(archive.empathy && archive.emotions);
  EXPECT_EQ(archive.empathy->distress, emp.distress);
  EXPECT_EQ(*archive.emotions, emo);
  const auto emo_archive = read_submission_zip(dir / "emo_only.zip");
  EXPECT_FALSE(emo_archive.empathy);
  EXPECT_EQ(*emo_archive.emotions, emo);
}

TEST(SubmissionZip, ReaderNamesTheEntryAndLineOfABadRow) {
  TempDir dir;
  const EmpathyPredictions emp{{4.5}, {2.0}};
  write_submission_zip(dir / "p.zip", &emp, {});
  EXPECT_THAT(error_of([&] { parse_emo_predictions("p.zip:predictions_EMO.tsv", "joy\nglee\n"); }),
              HasSubstr("p.zip:predictions_EMO.tsv:2: unknown emotion label 'glee'"));
  write_file_atomic(dir / "not_a.zip", "plain text");
  EXPECT_THAT(error_of([&] { read_submission_zip(dir / "not_a.zip"); }),
              HasSubstr("not_a.zip: cannot open zip archive"));
}

Predictions both_tasks() {
  Predictions p;
  p.ids = {"R_1", "R_2"};
  p.has_regression = true;
  p.empathy = {4.5, 1.25};
  p.distress = {2.0, 6.5};
  p.has_emotion = true;
  p.labels = {"anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"};
  p.emotion = {5, 0};
  p.probabilities = {{0.1, 0, 0, 0, 0.1, 0.7, 0.1}, {0.4, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05}};
  return p;
}

TEST(PredictionsTsv, WritesAHeaderAndRoundTrips) {
  TempDir dir;
  const auto p = both_tasks();
  write_predictions(dir / "predictions.tsv", p);
  const std::string text = read_file(dir / "predictions.tsv");
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "id\tempathy\tdistress\temotion\tp_anger\tp_disgust\tp_fear\tp_joy\tp_neutral\t"
            "p_sadness\tp_surprise");
  EXPECT_THAT(text, HasSubstr("\nR_1\t4.5\t2.0\tsadness\t0.1\t0.0\t0.0\t0.0\t0.1\t0.7\t0.1\n"));
  const auto back = read_predictions(dir / "predictions.tsv");
  EXPECT_EQ(back.ids, p.ids);
  EXPECT_EQ(back.empathy, p.empathy);
  EXPECT_EQ(back.distress, p.distress);
  EXPECT_EQ(back.labels, p.labels);
  EXPECT_EQ(back.emotion, p.emotion);
  EXPECT_EQ(back.probabilities, p.probabilities);
  EXPECT_EQ(official_emotion_ids(back), (std::vector<int>{5, 0}));
}

TEST(PredictionsTsv, WritesOnlyTheTasksPresent) {
  TempDir dir;
  auto regression_only = both_tasks();
  regression_only.has_emotion = false;
  regression_only.labels.clear();
  regression_only.emotion.clear();
  regression_only.probabilities.clear();
  write_predictions(dir / "r.tsv", regression_only);
  EXPECT_EQ(read_file(dir / "r.tsv"), "id\tempathy\tdistress\nR_1\t4.5\t2.0\nR_2\t1.25\t6.5\n");
  const auto back = read_predictions(dir / "r.tsv");
  EXPECT_TRUE(back.has_regression);
  EXPECT_FALSE(back.has_emotion);

  auto emotion_only = both_tasks();
  emotion_only.has_regression = false;
  emotion_only.empathy.clear();
  emotion_only.distress.clear();
  write_predictions(dir / "e.tsv", emotion_only);
  const auto e = read_predictions(dir / "e.tsv");
  EXPECT_FALSE(e.has_regression);
  EXPECT_TRUE(e.has_emotion);
  EXPECT_EQ(e.emotion, emotion_only.emotion);
}

TEST(PredictionsTsv, RejectsBadFiles) {
  TempDir dir;
  auto read = [&](const std::string& text) {
    write_file_atomic(dir / "p.tsv", text);
    return error_of([&] { read_predictions(dir / "p.tsv"); });
  };
  EXPECT_THAT(read("essay\tempathy\tdistress\nR_1\t1\t2\n"), HasSubstr("p.tsv:1: header"));
  // One regression column is a vanilla (empathy-only) run's file, not an error.
  EXPECT_EQ(read("id\tempathy\nR_1\t1\n"), "(no error)");
  EXPECT_THAT(read("id\n"), HasSubstr("p.tsv:1: header"));
  EXPECT_THAT(read("id\tempathy\tdistress\n"), HasSubstr("no rows"));
  EXPECT_THAT(read("id\tempathy\tdistress\nR_1\t1\t2\nR_1\t3\t4\n"),
              HasSubstr("p.tsv:3: id 'R_1' is empty or repeated"));
  EXPECT_THAT(read("id\tempathy\tdistress\nR_1\t1\n"), HasSubstr("p.tsv:2: expected 3 columns"));
  EXPECT_THAT(read("id\temotion\tp_joy\tp_fear\nR_1\tanger\t0.5\t0.5\n"),
              HasSubstr("p.tsv:2: emotion 'anger' is not one of the header's labels"));
  EXPECT_THAT(read("id\temotion\tp_joy\tp_fear\nR_1\tjoy\t1.5\t0.5\n"),
              HasSubstr("p.tsv:2: p_joy = 1.5: expected a probability in [0, 1]"));
  EXPECT_THAT(read("id\temotion\tp_joy\tp_joy\nR_1\tjoy\t0.5\t0.5\n"), HasSubstr("repeated"));
  EXPECT_THAT(read("id\temotion\nR_1\tjoy\n"), HasSubstr("p_<label>"));
  EXPECT_THAT(read("id\tempathy\tdistress\textra\nR_1\t1\t2\t3\n"),
              HasSubstr("unexpected column 4 'extra'"));
  // A label outside the seven only fails when official ids are asked for.
  write_file_atomic(dir / "q.tsv", "id\temotion\tp_joy\tp_calm\nR_1\tcalm\t0.5\t0.5\n");
  const auto p = read_predictions(dir / "q.tsv");
  EXPECT_THAT(error_of([&] { official_emotion_ids(p); }), HasSubstr("'calm'"));
}

}  // namespace
}  // namespace emotune::eval
