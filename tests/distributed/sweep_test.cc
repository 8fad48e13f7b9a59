#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/json_file.h"
#include "distributed_helpers.h"
#include "train/sweep.h"

namespace emotune::train {
namespace {

namespace fs = std::filesystem;
using emotune::testing::TempDir;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

SweepAxes axes_in(const fs::path& out) {
  SweepAxes axes;
  axes.config = "/configs/c.toml";
  axes.seeds = {1, 2, 3};
  axes.backbones = {"/models/electra-base", "${models_root}/roberta-large"};
  axes.augments = {"none", "ba"};
  axes.extra_arguments = {"--set", "epochs=2"};
  axes.out = out;
  return axes;
}

TEST(Sweep, PlanIsTheCrossProductWithSelfExplainingNames) {
  const auto members = plan_sweep(axes_in("/sweeps/s"));
  ASSERT_EQ(members.size(), 12u);
  EXPECT_EQ(members[0].name, "electra-base_aug-none_seed-1");
  EXPECT_EQ(members[1].name, "electra-base_aug-none_seed-2");
  EXPECT_EQ(members[3].name, "electra-base_aug-ba_seed-1");
  EXPECT_EQ(members[11].name, "roberta-large_aug-ba_seed-3");
  for (std::size_t i = 0; i < members.size(); ++i) EXPECT_EQ(members[i].index, i);
  EXPECT_EQ(members[11].run_dir, fs::path("/sweeps/s/roberta-large_aug-ba_seed-3"));
  EXPECT_EQ(
      members[4].arguments,
      (std::vector<std::string>{"train", "/configs/c.toml", "--seeds", "2", "--backbone",
                                "/models/electra-base", "--set", "augment=ba", "--set", "epochs=2",
                                "--out", "/sweeps/s/electra-base_aug-ba_seed-2"}));

  SweepAxes seeds_only;
  seeds_only.config = "c.toml";
  seeds_only.seeds = {5, 6};
  seeds_only.out = "out";
  const auto simple = plan_sweep(seeds_only);
  ASSERT_EQ(simple.size(), 2u);
  EXPECT_EQ(simple[1].name, "seed-6");
  EXPECT_EQ(simple[1].arguments,
            (std::vector<std::string>{"train", "c.toml", "--seeds", "6", "--out", "out/seed-6"}));
}

TEST(Sweep, BadAxesAreErrors) {
  auto axes = axes_in("/s");
  axes.augments = {"none", "xx"};
  EXPECT_THROW(plan_sweep(axes), Error);
  axes = axes_in("/s");
  axes.seeds.clear();
  EXPECT_THROW(plan_sweep(axes), Error);
  axes = axes_in("/s");
  axes.backbones = {"/a/electra", "/b/electra"};  // same folder name, same run folder
  EXPECT_THROW(plan_sweep(axes), Error);
}

TEST(Sweep, ManifestHasOneLinePerMemberWithARunnableCommand) {
  const auto members = plan_sweep(axes_in("/sweeps/s"));
  const auto lines = lines_of(manifest_tsv(members, "/usr/bin/emotune"));
  ASSERT_EQ(lines.size(), 13u);
  EXPECT_EQ(lines[0], "index\tname\tseed\tbackbone\taugment\trun_dir\tcommand");
  EXPECT_EQ(lines[12],
            "11\troberta-large_aug-ba_seed-3\t3\t${models_root}/roberta-large\tba\t"
            "/sweeps/s/roberta-large_aug-ba_seed-3\t/usr/bin/emotune train /configs/c.toml "
            "--seeds 3 --backbone '${models_root}/roberta-large' --set augment=ba --set "
            "epochs=2 --out /sweeps/s/roberta-large_aug-ba_seed-3");
}

TEST(Sweep, FinishedMembersAreSkippedAndInterruptedOnesResumed) {
  TempDir temp;
  SweepAxes axes;
  axes.config = "c.toml";
  axes.seeds = {1, 2, 3};
  axes.out = temp.path();
  const auto members = plan_sweep(axes);
  fs::create_directories(members[0].run_dir);
  write_file_atomic(members[0].run_dir / "summary.json", "{}");
  fs::create_directories(members[1].run_dir);
  write_file_atomic(members[1].run_dir / "config.toml", "");
  EXPECT_FALSE(member_arguments(members[0], {}).has_value());
  EXPECT_EQ(*member_arguments(members[1], {"--no-progress"}),
            (std::vector<std::string>{"train", "--resume", members[1].run_dir.string(),
                                      "--no-progress"}));
  EXPECT_EQ(*member_arguments(members[2], {}), members[2].arguments);
}

// A stand-in for emotune: records its arguments and how many members run at once (waiting,
// up to 20 s, until `limit` run together, so the count does not depend on timing).
fs::path fake_program(const fs::path& dir, int limit) {
  const auto script = dir / "fake-emotune.sh";
  std::ofstream out(script);
  out << "#!/bin/sh\n"
      << "state=" << emotune::testing::shell_quote((dir / "state").string()) << "\n"
      << "mkdir -p \"$state\"; touch \"$state/running.$$\"\n"
      << "count() { ls \"$state\" | grep -c '^running\\.'; }\n"
      << "i=0; while [ \"$(count)\" -lt " << limit << " ] && [ $i -lt 200 ]; do sleep 0.1; "
      << "i=$((i+1)); done\n"
      << "count >> \"$state/counts\"\n"
      << "echo \"$*\" >> \"$state/arguments\"\n"
      << "sleep 0.3\n"
      << "rm \"$state/running.$$\"\n"
      << "case \"$*\" in *'--seeds 3 '*) echo 'member 3 fails' >&2; exit 4;; esac\n"
      << "exit 0\n";
  out.close();
  fs::permissions(script, fs::perms::owner_all);
  return script;
}

TEST(Sweep, RunsAtMostMaxParallelMembersAtOnceAndReportsFailures) {
  TempDir temp;
  SweepAxes axes;
  axes.config = "c.toml";
  axes.seeds = {1, 2, 3, 4};
  axes.out = temp / "sweep";
  const auto members = plan_sweep(axes);
  SweepRunner runner;
  runner.program = fake_program(temp.path(), 2);
  runner.global_arguments = {"--threads", "1"};
  runner.extra_arguments = {"--no-progress"};
  runner.max_parallel = 2;
  runner.log_dir = temp / "sweep" / "logs";
  const auto outcomes = run_sweep(members, runner);
  ASSERT_EQ(outcomes.size(), 4u);
  for (const auto& outcome : outcomes) {
    EXPECT_FALSE(outcome.skipped);
    EXPECT_EQ(outcome.exit_code, outcome.name == "seed-3" ? 4 : 0) << outcome.name;
  }
  EXPECT_NE(read_file(outcomes[2].log).find("member 3 fails"), std::string::npos);

  int most = 0;
  for (const auto& line : lines_of(read_file(temp / "state" / "counts"))) {
    most = std::max(most, std::stoi(line));
  }
  EXPECT_EQ(most, 2);  // never more than --max-parallel, and the pool does fill it
  const auto arguments = lines_of(read_file(temp / "state" / "arguments"));
  ASSERT_EQ(arguments.size(), 4u);
  for (const auto& line : arguments) {
    EXPECT_EQ(line.rfind("--threads 1 train c.toml --seeds ", 0), 0u) << line;
    EXPECT_NE(line.find("--no-progress"), std::string::npos) << line;
  }
}

TEST(SweepCli, PrintManifestThenRunOneMemberByIndex) {
  TempDir temp;
  testing::make_tiny_backbone(temp / "backbone");
  auto config = testing::tiny_config(temp / "backbone");
  config.tasks = {model::Task::emotion};  // GoEmotions rows (augment=ba) have emotions only
  config.epochs = 1;
  config.seeds = {1};
  const auto file = testing::write_config(temp / "c.toml", config);
  const std::string common = "sweep " + emotune::testing::shell_quote(file.string()) +
                             " --seeds 4,5 --augment none,ba --set augment_size=40 --data " +
                             emotune::testing::shell_quote(emotune::testing::data_dir().string()) +
                             " --out " + emotune::testing::shell_quote((temp / "s").string());
  auto printed = emotune::testing::run_cli(common + " --print-manifest");
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  const auto lines = lines_of(printed.out);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[4].substr(0, 15), "3\taug-ba_seed-5");
  EXPECT_EQ(read_file(temp / "s" / "manifest.tsv"), printed.out);
  EXPECT_FALSE(fs::exists(temp / "s" / "aug-ba_seed-5"));  // nothing trained

  auto member = emotune::testing::run_cli("--threads 1 " + common + " --member 3");
  ASSERT_EQ(member.exit_code, 0) << member.err;
  const auto summary = read_json(temp / "s" / "aug-ba_seed-5" / "summary.json");
  EXPECT_EQ(summary.at("best_seed"), 5);
  const auto resolved = load_config(temp / "s" / "aug-ba_seed-5" / "config.toml");
  EXPECT_EQ(resolved.augment, "ba");
  EXPECT_EQ(resolved.augment_size, 40);
  EXPECT_FALSE(fs::exists(temp / "s" / "aug-none_seed-4"));  // only member 3 ran
  // Run again: already finished, nothing to do.
  auto again = emotune::testing::run_cli("--threads 1 " + common + " --member 3");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE((again.out + again.err).find("already finished"), std::string::npos) << again.out;

  auto out_of_range = emotune::testing::run_cli(common + " --member 4");
  EXPECT_NE(out_of_range.exit_code, 0);
  EXPECT_NE(out_of_range.err.find("has 4 members"), std::string::npos) << out_of_range.err;
}

}  // namespace
}  // namespace emotune::train
