// `emotune` is a front program: it runs score, data, tokenize and download without libtorch
// and hands every other command to emotune-torch beside it (src/cli/front_main.cc).

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "common/test_paths.h"

namespace emotune {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::run_command;
using testing::shell_quote;

// Copied alone into a folder, the front still scores (nothing of libtorch is needed), and a
// command that needs tensors fails with a message naming the missing program.
TEST(FrontProgram, ScoresAloneAndNamesEmotuneTorchForTheRest) {
  testing::TempDir temp;
  const auto alone = temp / "emotune";
  fs::copy_file(testing::cli_path(), alone);
  write_file_atomic(temp / "gold.tsv", "1\t1\tanger\n2\t2\tjoy\n3\t3\tfear\n");
  write_file_atomic(temp / "emo.tsv", "anger\njoy\nfear\n");
  const auto scored =
      run_command(shell_quote(alone.string()) + " --threads 1 score --gold " +
                  shell_quote((temp / "gold.tsv").string()) + " --emo " +
                  shell_quote((temp / "emo.tsv").string()));
  EXPECT_EQ(scored.exit_code, 0) << scored.err;
  EXPECT_THAT(scored.out, HasSubstr("Accuracy: 1.0"));

  const auto doctor = run_command(shell_quote(alone.string()) + " doctor");
  EXPECT_EQ(doctor.exit_code, 1);
  EXPECT_THAT(doctor.err, HasSubstr("emotune-torch"));
  EXPECT_THAT(doctor.err, HasSubstr("score, data, tokenize and download"));
}

// Beside emotune-torch, the hand-over keeps the arguments: the global options before the
// command, the command's own options and its exit status.
TEST(FrontProgram, HandsOtherCommandsOverWithTheirArguments) {
  const auto version = testing::run_cli("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, HasSubstr("emotune "));
  const auto bad = testing::run_cli("--threads 1 --log-level warn predict");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("runs is required"));  // predict's own option check
  const auto help = testing::run_cli("--help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* command : {"score", "train", "serve", "data", "reproduce"})
    EXPECT_THAT(help.out, HasSubstr(command)) << command;
}

}  // namespace
}  // namespace emotune
