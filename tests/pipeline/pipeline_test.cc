// The pipeline's steps on their own: the systems file, member references and seed ranks,
// --only selection, and a member trained, interrupted, resumed and then left alone.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"
#include "common/error_of.h"
#include "common/files.h"
#include "common/json_file.h"
#include "common/test_paths.h"
#include "pipeline/pipeline.h"
#include "pipeline/reproduce.h"

namespace emotune::pipeline {
namespace {

namespace fs = std::filesystem;
using emotune::testing::source_dir;
using ::testing::HasSubstr;

using emotune::testing::error_of;

TEST(MemberRef, ParsesBestAndRankedSeeds) {
  EXPECT_EQ(parse_member_ref("multitask-electra-large").rank, 1);
  const auto second = parse_member_ref("multitask-electra-large#2");
  EXPECT_EQ(second.member, "multitask-electra-large");
  EXPECT_EQ(second.rank, 2);
  EXPECT_EQ(second.text(), "multitask-electra-large#2");
  for (const char* bad : {"x#0", "x#two", "#2", "x#2b", ""}) {
    EXPECT_THAT(error_of([&] { parse_member_ref(bad); }), HasSubstr("member")) << bad;
  }
}

TEST(PipelineSpec, ThePaperSystemsFileHoldsTheThreeFinalSystems) {
  const auto spec = load_pipeline_spec(source_dir() / "configs" / "ensembles" / "paper.toml");
  ASSERT_EQ(spec.systems.size(), 3u);
  const auto& track1 = spec.systems[0];
  EXPECT_EQ(track1.name, "track1");
  EXPECT_TRUE(track1.submit);
  ASSERT_EQ(track1.empathy.size(), 2u);
  EXPECT_EQ(track1.empathy[0].member, "multitask-roberta-large");
  EXPECT_EQ(track1.empathy[1].member, "vanilla-electra-large-empathy");
  ASSERT_EQ(track1.distress.size(), 2u);
  EXPECT_EQ(track1.distress[1].text(), "multitask-electra-large#2");
  EXPECT_DOUBLE_EQ(track1.paper_test.at("average_r"), 0.533);
  const auto& ensemble1 = spec.systems[1];
  EXPECT_TRUE(ensemble1.submit);
  EXPECT_EQ(ensemble1.member_names(),
            (std::vector<std::string>{"emotion-electra-base-ra", "emotion-electra-base-ba",
                                      "emotion-electra-large-ra"}));
  EXPECT_EQ(ensemble1.emotion_method, eval::EmotionCombination::prob_sum);
  EXPECT_DOUBLE_EQ(ensemble1.paper_dev.at("macro_f1"), 0.64);
  EXPECT_DOUBLE_EQ(ensemble1.paper_test.at("macro_f1"), 0.5528);
  EXPECT_FALSE(spec.systems[2].submit);
  EXPECT_EQ(spec.systems[2].emotion.size(), 7u);
  EXPECT_DOUBLE_EQ(spec.paper_dev.at("emotion-electra-base-ba").at("macro_f1"), 0.608);
  EXPECT_DOUBLE_EQ(spec.paper_dev.at("emotion-electra-base-noaug").at("macro_f1"), 0.561);

  // Every member named has a training config in configs/paper.
  for (const auto& system : spec.systems) {
    for (const auto& name : system.member_names()) {
      EXPECT_TRUE(fs::exists(source_dir() / "configs" / "paper" / (name + ".toml"))) << name;
    }
  }
}

TEST(PipelineSpec, MistakesAreErrorsNamingFileLineAndKey) {
  testing::TempDir temp;
  const auto file = temp / "systems.toml";
  const auto load_error = [&](const std::string& text) {
    write_file_atomic(file, text);
    return error_of([&] { load_pipeline_spec(file); });
  };
  EXPECT_THAT(load_error("[[ensemble]]\nname = \"a\"\nemotion = [\"m\"]\nmembers = [\"x\"]\n"),
              HasSubstr("systems.toml:4: ensemble 1: unknown key 'members'"));
  EXPECT_THAT(load_error("[[ensemble]]\nname = \"a\"\nempathy = [\"m\"]\n"),
              HasSubstr("give both empathy and distress"));
  EXPECT_THAT(load_error("[[ensemble]]\nname = \"a\"\n"),
              HasSubstr("no empathy, distress or emotion"));
  EXPECT_THAT(load_error("[[ensemble]]\nname = \"a\"\nemotion = [\"m#0\"]\n"), HasSubstr("#"));
  EXPECT_THAT(load_error("[[ensemble]]\nname = \"a\"\nemotion = [\"m\"]\n"
                         "paper = { dev_f1 = 0.5 }\n"),
              HasSubstr("dev_f1: unknown score"));
  EXPECT_THAT(
      load_error("[[ensemble]]\nname = \"a\"\nemotion = [\"m\"]\nemotion_method = \"max\"\n"),
      HasSubstr("prob-sum or vote"));
  EXPECT_THAT(load_error("[[ensemble]]\nname = \"a\"\nemotion = [\"m\"]\nsubmit = true\n"
                         "[[ensemble]]\nname = \"b\"\nemotion = [\"n\"]\nsubmit = true\n"),
              HasSubstr("'a' and 'b' are both submitted for Track II"));
  EXPECT_THAT(load_error("[[ensemble]]\nname = \"a\"\nemotion = [\"m\"]\n"
                         "[[ensemble]]\nname = \"a\"\nemotion = [\"n\"]\n"),
              HasSubstr("two ensembles are named 'a'"));
  EXPECT_THAT(load_error("[paper]\nm = { dev_macro_f1 = 0.5 }\n"), HasSubstr("no [[ensemble]]"));
  EXPECT_THAT(load_error("[[ensemble]]\nname = \"a\"\nemotion = [\"m\"]\n[paper]\n"
                         "m = { test_macro_f1 = 0.5 }\n"),
              HasSubstr("systems only"));
}

TEST(MemberFolder, RanksSeedsByTheirBestDevScore) {
  testing::TempDir temp;
  const auto run = temp / "run";
  std::string why;
  EXPECT_FALSE(member_folder(run, 1, why));
  EXPECT_THAT(why, HasSubstr("no finished run"));
  fs::create_directories(run);
  write_json(run / "summary.json", {{"seeds",
                                            {{{"seed", 1}, {"best", {{"score", 0.2}}}},
                                             {{"seed", 2}, {"best", {{"score", 0.5}}}},
                                             {{"seed", 3}, {"best", {{"score", 0.3}}}}}}});
  EXPECT_EQ(*member_folder(run, 1, why), run);
  EXPECT_EQ(*member_folder(run, 2, why), run / "seed-3");
  EXPECT_EQ(*member_folder(run, 3, why), run / "seed-1");
  EXPECT_FALSE(member_folder(run, 4, why));
  EXPECT_THAT(why, HasSubstr("has 3 seed(s), so no seed ranks 4"));
}

TEST(Select, MembersBringTheirSystemsAndSystemsTheirMembers) {
  const auto spec = load_pipeline_spec(source_dir() / "configs" / "ensembles" / "paper.toml");
  const auto members =
      load_members(source_dir() / "configs" / "paper", {}, fs::path("out") / "runs");
  ASSERT_EQ(members.size(), 12u);
  EXPECT_EQ(members.front().run_dir, fs::path("out") / "runs" / members.front().name);

  const auto all = select(members, spec, {});
  EXPECT_EQ(all.members.size(), 12u);
  EXPECT_TRUE(all.systems.empty());

  const auto by_system = select(members, spec, {"ensemble-1"});
  EXPECT_EQ(by_system.members.size(), 3u);
  EXPECT_EQ(by_system.systems, (std::vector<std::string>{"ensemble-1"}));

  const auto by_member = select(members, spec, {"emotion-albert-large-ba"});
  ASSERT_EQ(by_member.members.size(), 1u);
  EXPECT_EQ(by_member.systems, (std::vector<std::string>{"ensemble-2"}));

  EXPECT_THAT(error_of([&] { select(members, spec, {"ensemble-3"}); }),
              HasSubstr("--only ensemble-3: no such member or ensemble (expected one of"));
}

TEST(PredictSystem, ASystemWithoutMembersIsSkippedSayingWhy) {
  const auto spec = load_pipeline_spec(source_dir() / "configs" / "ensembles" / "paper.toml");
  const auto dev = data::load_wassa(testing::data_dir(), data::Split::dev);
  const MemberLocator nothing = [](const std::string& member, std::string& why_not) {
    why_not = member + " was never trained";
    return std::optional<fs::path>();
  };
  std::string why;
  EXPECT_FALSE(predict_system(spec.systems[1], nothing, dev, {}, why));
  EXPECT_THAT(why, HasSubstr("no member available for emotion"));
  EXPECT_THAT(why, HasSubstr("emotion-electra-large-ra was never trained"));
}

TEST(LoadMembers, AppliesOverridesInOrder) {
  const auto members = load_members(source_dir() / "configs" / "paper",
                                    std::vector<std::string>{"epochs=2", "seeds=4,5"}, "runs");
  for (const auto& member : members) {
    EXPECT_EQ(member.config.epochs, 2) << member.name;
    EXPECT_EQ(member.config.seeds, (std::vector<std::int64_t>{4, 5})) << member.name;
  }
  EXPECT_THAT(error_of([&] {
                load_members(source_dir() / "configs" / "paper",
                             std::vector<std::string>{"epoch=2"}, "runs");
              }),
              HasSubstr("epochs"));
}

TEST(TrainMember, TrainsResumesAfterACrashThenLeavesAFinishedRunAlone) {
  testing::TempDir temp;
  Member member;
  member.name = "tiny";
  member.run_dir = temp / "runs" / "tiny";
  member.config.models_root = (temp / "models").string();
  member.config.backbone = "${models_root}/electra-small";
  member.config.tasks = {model::Task::emotion};
  member.config.max_length = 32;
  member.config.batch_size = 4;
  member.config.learning_rate = 1e-3;
  member.config.train_limit = 16;
  member.config.dev_limit = 8;
  member.config.max_steps = 3;
  member.config.seeds = {5};

  // No backbone yet: skipped, naming the folder expected under the models root.
  auto outcome = train_member(member, testing::data_dir());
  EXPECT_EQ(outcome.status, MemberStatus::missing_backbone);
  EXPECT_THAT(outcome.message(), HasSubstr("'electra-small' under the models root"));
  EXPECT_FALSE(fs::exists(member.run_dir));

  fs::create_directories(temp / "models");
  fs::create_directory_symlink(testing::hf_fixtures_dir() / "electra",
                               temp / "models" / "electra-small");
  train::TrainHooks crash;
  crash.progress = false;
  crash.crash_after_step = 2;
  EXPECT_THROW(train_member(member, testing::data_dir(), crash), train::SimulatedCrash);
  EXPECT_FALSE(is_finished_run(member.run_dir));

  train::TrainHooks quiet;
  quiet.progress = false;
  outcome = train_member(member, testing::data_dir(), quiet);
  EXPECT_EQ(outcome.status, MemberStatus::resumed) << outcome.message();
  ASSERT_TRUE(is_finished_run(member.run_dir));
  const auto summary = read_json(member.run_dir / "summary.json");
  EXPECT_EQ(summary["seeds"][0]["last"]["step"], 3);

  // Cached predictions survive only while the run is left alone.
  const auto dev = data::load_wassa(testing::data_dir(), data::Split::dev);
  const auto columns = member_columns(member.run_dir, dev);
  ASSERT_TRUE(columns.emotion);
  EXPECT_FALSE(columns.empathy);
  EXPECT_EQ(columns.emotion->size(), dev.rows.size());
  const auto cached = member.run_dir / "predictions" / "dev" / "predictions.tsv";
  ASSERT_TRUE(fs::exists(cached));
  const auto weights = member.run_dir / "seed-5" / "best" / "model.safetensors";
  const auto written = fs::last_write_time(weights);

  outcome = train_member(member, testing::data_dir(), quiet);
  EXPECT_EQ(outcome.status, MemberStatus::done);
  EXPECT_THAT(outcome.message(), HasSubstr("not retrained"));
  EXPECT_EQ(fs::last_write_time(weights), written);
  EXPECT_TRUE(fs::exists(cached));

  // Another seed is trained on top; the finished one is kept, the stale cache dropped.
  member.config.seeds = {5, 6};
  outcome = train_member(member, testing::data_dir(), quiet);
  EXPECT_EQ(outcome.status, MemberStatus::resumed);
  EXPECT_EQ(fs::last_write_time(weights), written);
  EXPECT_TRUE(fs::exists(member.run_dir / "seed-6" / "best" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(cached));

  // Another config in the same folder is refused, naming the key.
  member.config.learning_rate = 2e-3;
  EXPECT_THAT(error_of([&] { train_member(member, testing::data_dir(), quiet); }),
              HasSubstr("learning_rate is 0.001 there but 0.002 now"));
}

TEST(Comparison, ShowsOursBesideThePapersNumbers) {
  std::vector<ComparisonRow> rows(3);
  rows[0] = {"emotion-electra-base-ba",
             "trained",
             {{"macro_f1", 0.5}, {"accuracy", 0.6}},
             {{"macro_f1", 0.608}, {"accuracy", 0.6777}},
             {}};
  rows[1] = {
      "ensemble-1", "built", {{"macro_f1", 0.55}}, {{"macro_f1", 0.64}}, {{"macro_f1", 0.5528}}};
  rows[2] = {
      "emotion-albert-large-ba", "skipped: no albert-large-v2", {}, {{"macro_f1", 0.595}}, {}};
  const auto text = format_comparison(rows);
  EXPECT_THAT(text, HasSubstr("ours (dev)"));
  EXPECT_THAT(text, HasSubstr("0.5000       0.6080"));
  EXPECT_THAT(text, HasSubstr("0.5500       0.6400        0.5528"));
  EXPECT_THAT(text, HasSubstr("emotion-albert-large-ba: skipped: no albert-large-v2"));
  const auto markdown = format_comparison_markdown(rows);
  EXPECT_THAT(markdown, HasSubstr("| ensemble-1 | built | macro-F1 | 0.5500 | 0.6400 | 0.5528 |"));
}

}  // namespace
}  // namespace emotune::pipeline
