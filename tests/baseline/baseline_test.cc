// The WASSA dev scores of the TF-IDF baseline, the training-text corpus (train splits only)
// and the vocab/baseline commands on the real data.

#include "baseline/baseline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "baseline/training_texts.h"
#include "common/error.h"
#include "common/test_paths.h"
#include "data/wassa.h"
#include "text/tokenizer.h"
#include "text/vocab_trainer.h"

namespace emotune {
namespace {

namespace fs = std::filesystem;
using testing::shell_quote;

const baseline::BaselineReport& dev_report() {
  // One intra-op thread: the problem is small, and spinning pool threads only cost time on a
  // loaded machine.
  at::set_num_threads(1);
  static const auto report = baseline::run_wassa_baseline(testing::data_dir());
  return report;
}

TEST(WassaBaseline, DevScoresAreInTheExpectedBand) {
  const auto& report = dev_report();
  EXPECT_EQ(report.train_rows, 1860u);
  EXPECT_EQ(report.dev_rows, 270u);
  EXPECT_GT(report.features, 5000u);
  // Such models score about 0.38 average Pearson and 0.43 macro-F1 on dev.
  EXPECT_GT(report.track1.empathy, 0.2);
  EXPECT_GT(report.track1.distress, 0.2);
  EXPECT_GT(report.track1.average, 0.25);
  EXPECT_LT(report.track1.average, 0.6);
  EXPECT_GT(report.track2.macro_f1, 0.3);
  EXPECT_LT(report.track2.macro_f1, 0.7);
  EXPECT_GT(report.track2.accuracy, 0.4);
}

// A data folder holding links to the train files only: reading dev or test would fail.
class TrainOnlyData {
 public:
  TrainOnlyData() {
    const auto source = testing::data_dir();
    fs::create_directories(dir_ / "wassa2021");
    fs::create_directories(dir_ / "goemotions");
    fs::create_symlink(source / "wassa2021" / std::string(data::kWassaTrainFile),
                       dir_ / "wassa2021" / std::string(data::kWassaTrainFile));
    for (const char* name : {"train.tsv", "emotions.txt", "ekman_mapping.json"})
      fs::create_symlink(source / "goemotions" / name, dir_ / "goemotions" / name);
  }
  fs::path path() const { return dir_.path(); }

 private:
  testing::TempDir dir_;
};

TEST(TrainingTexts, ReadsOnlyTheTrainSplits) {
  TrainOnlyData data;
  const auto corpus = baseline::load_training_texts(data.path());
  EXPECT_EQ(corpus.wassa, 1860u);
  EXPECT_GT(corpus.goemotions, 40000u);  // every train comment, multi-class ones included
  EXPECT_EQ(corpus.texts.size(), corpus.wassa + corpus.goemotions);
  baseline::TrainingTextOptions limited;
  limited.limit_per_source = 10;
  limited.goemotions = false;
  EXPECT_EQ(baseline::load_training_texts(data.path(), limited).texts.size(), 10u);
  // Dev is really absent from this folder.
  EXPECT_THROW(data::load_wassa(data.path(), data::Split::dev), Error);
}

TEST(VocabOnRealData, BothKindsLoadAndCoverTrainingText) {
  TrainOnlyData data;
  baseline::TrainingTextOptions text_options;
  text_options.limit_per_source = 300;
  const auto corpus = baseline::load_training_texts(data.path(), text_options);
  for (const auto kind : {text::VocabKind::wordpiece, text::VocabKind::unigram}) {
    testing::TempDir out;
    text::VocabTrainOptions options;
    options.kind = kind;
    options.vocab_size = 2000;
    text::train_vocab(corpus.texts, out.path(), options);
    const auto tokenizer = text::load_tokenizer(out.path());
    const auto unk = tokenizer->special_ids().unk;
    for (std::size_t i = 0; i < corpus.texts.size(); i += 7) {
      const auto ids = tokenizer->encode_without_specials(corpus.texts[i]);
      EXPECT_EQ(std::count(ids.begin(), ids.end(), unk), 0)
          << text::vocab_kind_name(kind) << ": " << corpus.texts[i];
    }
  }
}

TEST(VocabCommand, WritesALoadableFolderFromTrainFilesOnly) {
  TrainOnlyData data;
  testing::TempDir out;
  const auto result = testing::run_cli("vocab --data " + shell_quote(data.path().string()) +
                                       " --out " + shell_quote(out.path().string()) +
                                       " --kind wordpiece --size 3000 --limit 200");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("400 texts"), std::string::npos) << result.out;
  const auto tokenizer = text::load_tokenizer(out.path());
  EXPECT_EQ(tokenizer->algorithm(), "wordpiece");

  const auto bad = testing::run_cli("vocab --data " + shell_quote(data.path().string()) +
                                    " --out " + shell_quote(out.path().string()) + " --kind bpe");
  EXPECT_NE(bad.exit_code, 0);
}

TEST(BaselineCommand, PrintsJsonDevScores) {
  const auto result = testing::run_cli("--threads 1 baseline --json --data " +
                                       shell_quote(testing::data_dir().string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json.at("dev").at("pearson_average").get<double>(), dev_report().track1.average);
  EXPECT_EQ(json.at("dev").at("macro_f1").get<double>(), dev_report().track2.macro_f1);
}

}  // namespace
}  // namespace emotune
