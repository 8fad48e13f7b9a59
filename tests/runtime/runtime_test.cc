#include <gtest/gtest.h>

#include "common/error.h"
#include "common/test_paths.h"
#include "runtime/device.h"
#include "runtime/doctor.h"
#include "runtime/threads.h"

namespace emotune::runtime {
namespace {

TEST(Threads, ConfigureSetsRequestedCount) {
  EXPECT_EQ(configure_threads(1), 1);
  EXPECT_EQ(configure_threads(0), hardware_threads());
}

TEST(Device, ParsesCpuAndRejectsUnknown) {
  EXPECT_EQ(parse_device("cpu").type(), c10::kCPU);
  EXPECT_THROW(parse_device("tpu"), Error);
  EXPECT_EQ(parse_dtype("bf16"), c10::kBFloat16);
  EXPECT_EQ(parse_dtype("float32"), c10::kFloat);
  EXPECT_THROW(parse_dtype("int8"), Error);
}

TEST(Doctor, FindsTheBlasThatProvidesSgemm) {
  const auto blas = detect_blas();
  EXPECT_FALSE(blas.vendor.empty());
  EXPECT_FALSE(blas.library.empty());
}

TEST(Doctor, CliPrintsBlasThreadsAndGflops) {
  const auto result = emotune::testing::run_cli("--threads 1 doctor --seconds 0.05 --size 128");
  EXPECT_NE(result.out.find("BLAS:"), std::string::npos) << result.out << result.err;
  EXPECT_NE(result.out.find("threads: 1 intra-op"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("GFLOP/s"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace emotune::runtime
