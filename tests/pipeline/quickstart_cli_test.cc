// `emotune quickstart` end to end with the shipped configs/quick/ made tiny by overrides: a
// vocabulary, the TF-IDF baseline, a few seconds of ELECTRA pre-training at the fixture's shape,
// fine-tuning from it and from random init (as two child processes at a time, --jobs 2), seed
// ensembles, the better system per track submitted, and the table. A second run must train
// nothing and print the same table. With a real pretrained encoder present (a fixture BERT
// folder standing in for $EMOTUNE_MODELS/all-MiniLM-L6-v2), the quick start fine-tunes it with
// configs/minilm/ instead of pre-training (beside the random-init ablation when asked: by
// default it is left out with an encoder, to keep the 30 minutes).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/test_paths.h"
#include "train/cooccurrence_embeddings.h"
#include "train/pretrain.h"

namespace emotune {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::run_cli;
using testing::shell_quote;
using testing::source_dir;

class QuickstartCliTest : public ::testing::Test {
 protected:
  // The quick start made tiny, writing into `out`.
  static std::string tiny_arguments(const fs::path& out) {
    return "--threads 1 quickstart --no-progress --no-report --no-stacking --data " +
           shell_quote(testing::data_dir().string()) + " --out " + shell_quote(out.string()) +
           " --budget-minutes 0.2 --pretrain-share 0.5 --pretrain-config " +
           shell_quote(
               (testing::hf_fixtures_dir() / "electra_pretraining" / "config.json").string()) +
           " --configs " + shell_quote((source_dir() / "configs" / "quick").string()) +
           " --systems " +
           shell_quote((source_dir() / "configs" / "ensembles" / "paper.toml").string()) +
           " --set train_limit=16 --set dev_limit=8 --set epochs=1 --set max_length=32"
           " --set eval_every_steps=0 --set augment_size=40 --set batch_size=8";
  }
  static void SetUpTestSuite() {
    temp_ = std::make_unique<testing::TempDir>();
    // No real encoder for these runs, whatever this machine's model cache holds (the quick
    // start would otherwise find ~/.cache/emotune/models/all-MiniLM-L6-v2 and fine-tune it).
    ::setenv("EMOTUNE_MODELS", (temp_->path() / "no-models").c_str(), 1);
    arguments_ = tiny_arguments(temp_->path() / "out") + " --jobs 2 --seeds 1,2";
    first_ = run_cli(arguments_);
  }
  static void TearDownTestSuite() { temp_.reset(); }
  static fs::path out() { return temp_->path() / "out"; }

  static std::unique_ptr<testing::TempDir> temp_;
  static std::string arguments_;
  static testing::CommandResult first_;
};
std::unique_ptr<testing::TempDir> QuickstartCliTest::temp_;
std::string QuickstartCliTest::arguments_;
testing::CommandResult QuickstartCliTest::first_;

TEST_F(QuickstartCliTest, RunsEveryStepAndPrintsTheTable) {
  ASSERT_EQ(first_.exit_code, 0) << first_.err;
  EXPECT_TRUE(fs::is_regular_file(out() / "vocab" / "vocab.txt"));
  const auto pretraining =
      nlohmann::json::parse(read_file(out() / "pretrained" / "pretraining.json"));
  EXPECT_GT(pretraining.at("steps_done").get<int>(), 0);
  EXPECT_TRUE(fs::is_regular_file(out() / "pretrained" / "model.safetensors"));
  // The default "context" recipe reaches the child process: lr 1e-3, the local attention start,
  // dropout 0, a half-width generator with embeddings as wide as itself.
  const auto& recipe = pretraining.at("recipe");
  EXPECT_EQ(recipe.at("learning_rate").get<double>(), 1e-3);
  EXPECT_EQ(recipe.at("attention_init"), "local");
  EXPECT_EQ(recipe.at("dropout").get<double>(), 0.0);
  EXPECT_EQ(recipe.at("word_embeddings"), "cooccurrence");
  const auto& generator = recipe.at("generator_config");
  const auto half_width = train::generator_config_for(recipe.at("discriminator_config"), 0.5,
                                                      /*own_embeddings=*/true);
  EXPECT_EQ(generator.at("hidden_size"), half_width.at("hidden_size"));
  EXPECT_EQ(generator.at("num_attention_heads"), half_width.at("num_attention_heads"));
  EXPECT_EQ(generator.at("embedding_size"), generator.at("hidden_size"));
  for (const char* member :
       {"multitask", "emotion", "multitask-random-init", "emotion-random-init"})
    EXPECT_TRUE(fs::is_regular_file(out() / "runs" / member / "summary.json")) << member;
  EXPECT_TRUE(fs::is_regular_file(out() / "submission" / "predictions.zip"));
  const auto table = read_file(out() / "quickstart.md");
  for (const char* row : {"| track1 |", "| track2 |", "| track1-random-init |",
                          "| track2-random-init |", "| tfidf-baseline |"})
    EXPECT_THAT(table, HasSubstr(row));
  EXPECT_THAT(first_.out, HasSubstr("tfidf-baseline"));
  for (const char* log : {"pretrain", "multitask", "emotion-random-init"})
    EXPECT_TRUE(fs::is_regular_file(out() / "logs" / (std::string(log) + ".log"))) << log;
  EXPECT_TRUE(fs::is_regular_file(out() / "random-init" / "config.json"));
  EXPECT_FALSE(fs::exists(out() / "random-init" / "model.safetensors"));
  // The own members keep the checkpoint's word embeddings and draw the rest as the random-init
  // members do (the checkpoint's config records its fan-in pre-training init instead).
  const auto random_config =
      nlohmann::json::parse(read_file(out() / "random-init" / "config.json"));
  const auto own = read_file(out() / "runs" / "multitask" / "config.toml");
  EXPECT_THAT(own, HasSubstr("backbone_weights = 'word_embeddings'"));
  EXPECT_THAT(own, HasSubstr(fmt::format("initializer_range = {}",
                                         random_config.at("initializer_range").get<double>())));
  EXPECT_THAT(read_file(out() / "runs" / "multitask-random-init" / "config.toml"),
              Not(HasSubstr("backbone_weights")));
  const auto baseline = nlohmann::json::parse(read_file(out() / "baseline.json"));
  EXPECT_GT(baseline.at("macro_f1").get<double>(), 0.2) << "the baseline is fitted on all of train";
}

TEST_F(QuickstartCliTest, EachTrackSubmitsTheSystemThatScoresBetterOnDev) {
  ASSERT_EQ(first_.exit_code, 0) << first_.err;
  const auto results = nlohmann::json::parse(read_file(out() / "results.json"));
  for (const auto& [track, file, score] :
       {std::tuple{"track1", "predictions_EMP.tsv", "average_r"},
        std::tuple{"track2", "predictions_EMO.tsv", "macro_f1"}}) {
    std::map<std::string, nlohmann::json> rows;
    for (const auto& row : results.at("rows")) rows[row.at("name")] = row;
    const auto& own = rows.at(track);
    const auto& random_init = rows.at(std::string(track) + "-random-init");
    const bool own_submitted = own.at("status") == "built, submitted";
    EXPECT_NE(own_submitted, random_init.at("status") == "built, submitted") << track;
    const auto own_score = own.at("ours_dev").at(score).get<double>();
    const auto random_init_score = random_init.at("ours_dev").at(score).get<double>();
    EXPECT_EQ(own_submitted, own_score >= random_init_score) << track;
    const auto submitted = own_submitted ? std::string(track) : std::string(track) + "-random-init";
    EXPECT_EQ(read_file(out() / "submission" / file),
              read_file(out() / "systems" / "test" / submitted / file))
        << track;
  }
}

TEST_F(QuickstartCliTest, InOneProcessWithoutTheAblationThePreTrainedSystemsAreSubmitted) {
  const testing::TempDir temp;
  const auto result = run_cli(tiny_arguments(temp.path()) +
                              " --jobs 1 --no-ablation --seeds 1 --pretrain-recipe plain");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_FALSE(fs::exists(temp.path() / "logs")) << "no child process";
  // "plain" is `emotune pretrain`'s defaults.
  const auto recipe =
      nlohmann::json::parse(read_file(temp.path() / "pretrained" / "pretraining.json"))
          .at("recipe");
  EXPECT_EQ(recipe.at("learning_rate").get<double>(), 1e-4);
  EXPECT_EQ(recipe.at("attention_init"), "random");
  EXPECT_TRUE(recipe.at("dropout").is_null());
  EXPECT_FALSE(fs::exists(temp.path() / "runs" / "multitask-random-init"));
  EXPECT_FALSE(fs::exists(temp.path() / "random-init"));
  const auto table = read_file(temp.path() / "quickstart.md");
  EXPECT_THAT(table, HasSubstr("| track1 | built, submitted |"));
  EXPECT_THAT(table, HasSubstr("| track2 | built, submitted |"));
  EXPECT_THAT(table, ::testing::Not(HasSubstr("random-init |")));
  EXPECT_EQ(read_file(temp.path() / "submission" / "predictions_EMO.tsv"),
            read_file(temp.path() / "systems" / "test" / "track2" / "predictions_EMO.tsv"));
}

// Linear members and stacked systems join the table; a track submits its stack when the stack
// beats the fine-tuned system on dev (with these tiny transformer runs it does).
TEST_F(QuickstartCliTest, StackedSystemsJoinTheTableAndTheSubmission) {
  const testing::TempDir temp;
  auto arguments = tiny_arguments(temp.path()) + " --jobs 1 --no-ablation --seeds 1";
  arguments.replace(arguments.find(" --no-stacking"), 14, "");
  const auto result = run_cli(arguments);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto table = read_file(temp.path() / "quickstart.md");
  for (const char* row :
       {"| track1-stack-text |", "| track1-stack-person |", "| track1-stack-kernel |",
        "| track2-stack-text |", "| track2-stack-person |", "| linear-text |",
        "| linear-text-person |", "| linear-person |", "| kernel-text-person |",
        "| kernel-person |"})
    EXPECT_THAT(table, HasSubstr(row));
  // The RBF members predict empathy/distress only: no Track II kernel stack.
  EXPECT_THAT(table, ::testing::Not(HasSubstr("track2-stack-kernel")));
  for (const char* member :
       {"linear-text", "linear-text-person", "linear-person", "kernel-text-person", "kernel-person"})
    EXPECT_TRUE(fs::is_regular_file(temp.path() / "linear" / member / "oof" / "predictions.tsv"));
  // The fine-tuned systems' out-of-fold predictions come from held-out twins.
  const auto oof = nlohmann::json::parse(
      read_file(temp.path() / "stack-members" / "track1" / "oof" / "oof.json"));
  EXPECT_EQ(oof.at("scheme"), "held-out slice");
  EXPECT_TRUE(fs::is_regular_file(temp.path() / "runs" / "multitask-holdout-writers" / "summary.json"));
  const auto stack = nlohmann::json::parse(
      read_file(temp.path() / "systems" / "dev" / "track1-stack-person" / "ensemble.json"));
  EXPECT_EQ(stack.at("method"), "stack");
  EXPECT_EQ(stack.at("members").size(), 4u);
  // Exactly one system per track is submitted, and the submission holds its test predictions.
  for (const auto& [track, file] : {std::pair{"track1", "predictions_EMP.tsv"},
                                    std::pair{"track2", "predictions_EMO.tsv"}}) {
    std::string submitted;
    std::vector<std::string> names = {"", "-stack-text", "-stack-person"};
    if (std::string(track) == "track1") names.push_back("-stack-kernel");
    for (const auto& name : names) {
      const auto row = "| " + std::string(track) + name + " |";
      const auto at = table.find(row);
      ASSERT_NE(at, std::string::npos) << row;
      const auto line = table.substr(at, table.find('\n', at) - at);
      if (line.find("submitted") != std::string::npos) {
        EXPECT_TRUE(submitted.empty()) << "two submitted: " << submitted << " and " << name;
        submitted = std::string(track) + name;
      }
    }
    ASSERT_FALSE(submitted.empty()) << track;
    EXPECT_EQ(read_file(temp.path() / "submission" / file),
              read_file(temp.path() / "systems" / "test" / submitted / file))
        << track;
  }
}

TEST_F(QuickstartCliTest, ASecondRunTrainsNothingAndPrintsTheSameScores) {
  ASSERT_EQ(first_.exit_code, 0) << first_.err;
  const auto before = read_file(out() / "results.md");
  const auto second = run_cli(arguments_);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const auto log = second.err + second.out;
  EXPECT_THAT(log, HasSubstr("pre-trained checkpoint"));
  EXPECT_THAT(log, HasSubstr("not retrained"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr(": training in"))) << log;
  // The members now say "done" where they said "trained"; every score is the same.
  auto after = read_file(out() / "results.md");
  for (std::size_t at; (at = after.find("| done |")) != std::string::npos;)
    after.replace(at, 8, "| trained |");
  EXPECT_EQ(after, before);
}

TEST_F(QuickstartCliTest, APretrainedEncoderInTheModelCacheIsFineTunedInsteadOfPreTraining) {
  const testing::TempDir temp;
  const auto models = temp.path() / "models";
  fs::create_directories(models);
  fs::create_directory_symlink(testing::hf_fixtures_dir() / "bert", models / "all-MiniLM-L6-v2");
  const auto result = testing::run_command(
      "EMOTUNE_MODELS=" + shell_quote(models.string()) + " " +
      shell_quote(testing::cli_path().string()) + " " + tiny_arguments(temp.path() / "out") +
      " --encoder-configs " + shell_quote((source_dir() / "configs" / "minilm").string()) +
      " --jobs 2 --seeds 1 --ablation");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto out = temp.path() / "out";
  EXPECT_FALSE(fs::exists(out / "pretrained")) << "no own pre-training by default";
  for (const char* member : {"multitask-all-MiniLM-L6-v2", "emotion-ba-all-MiniLM-L6-v2",
                             "multitask-random-init", "emotion-random-init"})
    EXPECT_TRUE(fs::is_regular_file(out / "runs" / member / "summary.json")) << member;
  // Fine-tuned from the checkpoint's weights with the recipe of configs/minilm/.
  const auto config = read_file(out / "runs" / "multitask-all-MiniLM-L6-v2" / "config.toml");
  EXPECT_THAT(config, HasSubstr("backbone = '" + (models / "all-MiniLM-L6-v2").string() + "'"));
  EXPECT_THAT(config, HasSubstr("random_init = false"));
  EXPECT_THAT(config, Not(HasSubstr("backbone_weights")));
  const auto emotion = read_file(out / "runs" / "emotion-ba-all-MiniLM-L6-v2" / "config.toml");
  EXPECT_THAT(emotion, HasSubstr("augment = 'ba'"));

  const auto table = read_file(out / "quickstart.md");
  for (const char* row : {"| track1-all-MiniLM-L6-v2 |", "| track2-all-MiniLM-L6-v2 |",
                          "| track1-random-init |", "| track2-random-init |", "| tfidf-baseline |"})
    EXPECT_THAT(table, HasSubstr(row));
  EXPECT_THAT(table, ::testing::Not(HasSubstr("| track1 |")));
  EXPECT_THAT(table, HasSubstr("Own pre-training: not run"));

  // Per track, the better of the two origins on dev is the one submitted.
  const auto results = nlohmann::json::parse(read_file(out / "results.json"));
  std::map<std::string, nlohmann::json> rows;
  for (const auto& row : results.at("rows")) rows[row.at("name")] = row;
  for (const auto& [track, file, score] :
       {std::tuple{"track1", "predictions_EMP.tsv", "average_r"},
        std::tuple{"track2", "predictions_EMO.tsv", "macro_f1"}}) {
    const auto& encoder = rows.at(std::string(track) + "-all-MiniLM-L6-v2");
    const auto& random_init = rows.at(std::string(track) + "-random-init");
    const bool encoder_submitted = encoder.at("status") == "built, submitted";
    EXPECT_NE(encoder_submitted, random_init.at("status") == "built, submitted") << track;
    EXPECT_EQ(encoder_submitted, encoder.at("ours_dev").at(score).get<double>() >=
                                     random_init.at("ours_dev").at(score).get<double>())
        << track;
    const auto submitted =
        std::string(track) + (encoder_submitted ? "-all-MiniLM-L6-v2" : "-random-init");
    EXPECT_EQ(read_file(out / "submission" / file),
              read_file(out / "systems" / "test" / submitted / file))
        << track;
  }
}

TEST_F(QuickstartCliTest, CooccurrenceEmbeddingsRefuseATooLargeVocabularyBeforeAnythingRuns) {
  const testing::TempDir temp;
  const auto result = run_cli(tiny_arguments(temp.path() / "out") + " --no-encoder --vocab-size " +
                              std::to_string(train::kMaxCooccurrenceVocabulary + 1));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("--pretrain-word-embeddings cooccurrence needs a vocabulary"));
  EXPECT_FALSE(fs::exists(temp.path() / "out" / "vocab"));
}

TEST_F(QuickstartCliTest, AnEncoderFolderWithoutConfigIsAClearError) {
  const testing::TempDir temp;
  const auto result = run_cli(tiny_arguments(temp.path() / "out") + " --encoder " +
                              shell_quote((temp.path() / "nowhere").string()));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("nowhere"));
  EXPECT_THAT(result.err, HasSubstr("config.json"));
  const auto both = run_cli(tiny_arguments(temp.path() / "out") + " --no-encoder --encoder " +
                            shell_quote((testing::hf_fixtures_dir() / "bert").string()));
  EXPECT_NE(both.exit_code, 0);
  EXPECT_THAT(both.err, HasSubstr("--no-encoder"));
}

}  // namespace
}  // namespace emotune
