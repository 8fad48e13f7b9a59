#include <gtest/gtest.h>

#include <string>

#include "common/test_paths.h"

namespace emotune::testing {
namespace {

std::string build_line(const std::string& out) {
  const auto begin = out.find("BLAS build: ");
  if (begin == std::string::npos) return {};
  return out.substr(begin, out.find('\n', begin) - begin);
}

// OpenBLAS 0.3.21 falls back to Prescott kernels on AVX-512 CPUs it does not know (4x slower
// fp32 on this project's Xeons); emotune re-executes itself with SkylakeX's kernels then.
TEST(DoctorCli, NeverLeavesOpenBlasOnPrescottKernelsOnAnAvx512Cpu) {
  // The test support library sets EMOTUNE_KEEP_BLAS_CORE for every child; not for this one.
  const auto result =
      run_command("env -u EMOTUNE_KEEP_BLAS_CORE " + shell_quote(cli_path().string()) +
                  " doctor --seconds 0.05 --size 64");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto line = build_line(result.out);
  if (line.empty() || result.out.find("AVX-512 yes") == std::string::npos)
    GTEST_SKIP() << "not OpenBLAS on an AVX-512 CPU:\n" << result.out;
  EXPECT_EQ(line.find(" Prescott"), std::string::npos) << result.out;
}

TEST(DoctorCli, KeepsOpenBlasChoiceWhenAsked) {
  const auto result = run_command("EMOTUNE_KEEP_BLAS_CORE=1 " + shell_quote(cli_path().string()) +
                                  " doctor --seconds 0.05 --size 64");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out.find("restarted itself"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace emotune::testing
