#include <dlfcn.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include <ATen/Parallel.h>

#include "common/error.h"
#include "common/test_paths.h"
#include "runtime/autocast.h"
#include "runtime/cpu_capabilities.h"
#include "runtime/device.h"
#include "runtime/doctor.h"
#include "runtime/process.h"
#include "runtime/threads.h"

namespace emotune::runtime {
namespace {

TEST(Threads, ConfigureSetsRequestedCount) {
  EXPECT_EQ(configure_threads(1), 1);
  EXPECT_EQ(configure_threads(0), hardware_threads());
}

TEST(Threads, CallingThreadGuardLimitsOnlyItsThreadAndRestores) {
  runtime::configure_threads(2);
  // MKL (PyPI's libtorch) has a count of its own that the guard must limit too.
  const auto mkl_threads = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "MKL_Get_Max_Threads"));
  int inside = 0, after = 0, other_during = 0, mkl_inside = 0, mkl_after = 0;
  bool active = false;
  std::thread worker([&] {
    {
      runtime::CallingThreadIntraOpThreads one(1);
      active = one.active();
      inside = at::get_num_threads();
      if (mkl_threads) mkl_inside = mkl_threads();
      // Another thread keeps the process-wide count meanwhile.
      std::thread([&] { other_during = at::get_num_threads(); }).join();
      // A parallel operation here does not reset the count (libtorch's lazy start-up did
      // its work before the guard).
      at::parallel_for(0, 100, 1, [](std::int64_t, std::int64_t) {});
      EXPECT_EQ(at::get_num_threads(), 1);
    }
    after = at::get_num_threads();
    if (mkl_threads) mkl_after = mkl_threads();
  });
  worker.join();
  EXPECT_EQ(active, runtime::CallingThreadIntraOpThreads::supported());
  if (!active) GTEST_SKIP() << "libtorch without OpenMP here: the guard does nothing";
  EXPECT_EQ(inside, 1);
  EXPECT_EQ(other_during, 2);
  EXPECT_EQ(after, 2);
  EXPECT_EQ(at::get_num_threads(), 2);
  if (mkl_threads) {
    EXPECT_EQ(mkl_inside, 1);
    EXPECT_EQ(mkl_after, mkl_threads());
  }
}

TEST(Process, MallocKeepsFreedMemoryUnlessTheUserTunedIt) {
#if defined(__GLIBC__)
  ::unsetenv("MALLOC_MMAP_THRESHOLD_");
  ::unsetenv("MALLOC_TRIM_THRESHOLD_");
  ::unsetenv("GLIBC_TUNABLES");
  EXPECT_TRUE(keep_freed_memory_for_reuse());
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1000", 1);
  EXPECT_FALSE(keep_freed_memory_for_reuse());
  ::setenv("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX512F", 1);
  EXPECT_TRUE(keep_freed_memory_for_reuse());
  ::unsetenv("GLIBC_TUNABLES");
  ::setenv("MALLOC_TRIM_THRESHOLD_", "1000", 1);
  EXPECT_FALSE(keep_freed_memory_for_reuse());
  ::unsetenv("MALLOC_TRIM_THRESHOLD_");
#else
  EXPECT_FALSE(keep_freed_memory_for_reuse());
#endif
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
  // What the reduced precisions will do here, from the same decision the predictor uses.
  const auto support = reduced_precision_support();
  EXPECT_NE(result.out.find("int8 (--precision int8): " + int8_summary(support)), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("bf16 (--precision bf16): " + bf16_summary(support)), std::string::npos)
      << result.out;
  EXPECT_EQ(result.out.find("--dtype bfloat16 runs"), std::string::npos) << result.out;
}

// /proc/cpuinfo of the CPU kinds users have, reduced to what the decision reads.
std::string cpuinfo(const std::string& model, const std::string& flags) {
  return "processor\t: 0\nmodel name\t: " + model + "\nflags\t\t: " + flags +
         "\n\nprocessor\t: 1\nflags\t\t: fpu\n";
}
const std::string kBase = "fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma";
const std::string kAvx512 = kBase + " avx512f avx512dq avx512cd avx512bw avx512vl";

TEST(CpuCapabilities, Zen3HasNeitherInt8DotProductsNorNativeBf16) {
  const auto cpu = parse_cpu_features(cpuinfo("AMD EPYC 7B13", kBase));
  EXPECT_EQ(cpu.model, "AMD EPYC 7B13");
  EXPECT_TRUE(cpu.avx2);
  EXPECT_FALSE(cpu.avx512);
  const auto support = reduced_precision_support(cpu, "");
  EXPECT_EQ(support.isa, OnednnIsa::avx2);
  EXPECT_FALSE(support.int8_dot_product);
  EXPECT_FALSE(support.native_bf16);
  EXPECT_NE(int8_summary(support).find("7 bits"), std::string::npos) << int8_summary(support);
  EXPECT_EQ(int8_summary(reduced_precision_support(cpu, "")).find("keep 8 bits"),
            std::string::npos);
  const auto refusal = bf16_refusal(support);
  EXPECT_NE(refusal.find("AVX512_BF16"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("--precision int8"), std::string::npos) << refusal;
  EXPECT_EQ(bf16_summary(support).rfind("refused", 0), 0u) << bf16_summary(support);
}

TEST(CpuCapabilities, VnniWithoutBf16KeepsEightBitsAndRefusesBf16) {
  const auto alder_lake = reduced_precision_support(
      parse_cpu_features(cpuinfo("Intel Core i7-12700", kBase + " avx_vnni")), "");
  EXPECT_EQ(alder_lake.isa, OnednnIsa::avx2_vnni);
  EXPECT_TRUE(alder_lake.int8_dot_product);
  EXPECT_FALSE(alder_lake.native_bf16);
  const auto cascade_lake = reduced_precision_support(
      parse_cpu_features(cpuinfo("Xeon Gold 6248", kAvx512 + " avx512_vnni")), "");
  EXPECT_EQ(cascade_lake.isa, OnednnIsa::avx512_core_vnni);
  EXPECT_TRUE(cascade_lake.int8_dot_product);
  EXPECT_FALSE(cascade_lake.native_bf16);
  const auto skylake =
      reduced_precision_support(parse_cpu_features(cpuinfo("Xeon Gold 6148", kAvx512)), "");
  EXPECT_EQ(skylake.isa, OnednnIsa::avx512_core);
  EXPECT_FALSE(skylake.int8_dot_product);
}

TEST(CpuCapabilities, OnednnMaxCpuIsaCapsTheDecision) {
  const auto xeon =
      parse_cpu_features(cpuinfo("Xeon", kAvx512 + " avx512_vnni avx_vnni avx512_bf16"));
  EXPECT_EQ(best_onednn_isa(xeon), OnednnIsa::avx512_core_bf16);
  const auto uncapped = reduced_precision_support(xeon, "");
  EXPECT_TRUE(uncapped.int8_dot_product);
  EXPECT_TRUE(uncapped.native_bf16);
  EXPECT_FALSE(uncapped.bf16_matrix_units) << "AVX512_BF16 without AMX";
  EXPECT_EQ(bf16_refusal(uncapped), "");
  const auto sapphire_rapids = parse_cpu_features(cpuinfo(
      "Xeon", kAvx512 + " avx512_vnni avx_vnni avx512_bf16 amx_tile amx_int8 amx_bf16"));
  EXPECT_TRUE(reduced_precision_support(sapphire_rapids, "").bf16_matrix_units);
  EXPECT_TRUE(reduced_precision_support(sapphire_rapids, "").native_bf16);
  EXPECT_FALSE(reduced_precision_support(sapphire_rapids, "AVX512_CORE_BF16").bf16_matrix_units)
      << "capped below AMX";
  EXPECT_TRUE(reduced_precision_support(sapphire_rapids, "AVX512_CORE_BF16").native_bf16);

  const auto avx2 = reduced_precision_support(xeon, "AVX2");
  EXPECT_EQ(avx2.isa, OnednnIsa::avx2);
  EXPECT_EQ(avx2.cpu_isa, OnednnIsa::avx512_core_bf16);
  EXPECT_FALSE(avx2.int8_dot_product);
  EXPECT_FALSE(avx2.native_bf16);
  EXPECT_NE(bf16_refusal(avx2).find("ONEDNN_MAX_CPU_ISA=AVX2"), std::string::npos)
      << bf16_refusal(avx2);

  // Names are case-insensitive; each level allows only what its instructions cover.
  EXPECT_EQ(reduced_precision_support(xeon, "avx2_vnni").isa, OnednnIsa::avx2_vnni);
  EXPECT_EQ(reduced_precision_support(xeon, "AVX512_CORE").isa, OnednnIsa::avx512_core);
  EXPECT_FALSE(reduced_precision_support(xeon, "AVX512_CORE").int8_dot_product);
  EXPECT_EQ(reduced_precision_support(xeon, "AVX512_CORE_VNNI").isa, OnednnIsa::avx512_core_vnni);
  EXPECT_FALSE(reduced_precision_support(xeon, "AVX512_CORE_VNNI").native_bf16);
  // A cap above the CPU's best changes nothing; unknown values are ignored, as oneDNN does.
  EXPECT_EQ(reduced_precision_support(xeon, "AVX512_CORE_AMX").isa, OnednnIsa::avx512_core_bf16);
  EXPECT_EQ(reduced_precision_support(xeon, "ALL").isa, OnednnIsa::avx512_core_bf16);
  EXPECT_TRUE(reduced_precision_support(xeon, "ALL").cap_recognised);
  const auto bogus = reduced_precision_support(xeon, "AVX3000");
  EXPECT_EQ(bogus.isa, OnednnIsa::avx512_core_bf16);
  EXPECT_FALSE(bogus.cap_recognised);
  // A cap the CPU cannot reach at all: the best level below it.
  const auto zen3 = parse_cpu_features(cpuinfo("EPYC", kBase));
  EXPECT_EQ(reduced_precision_support(zen3, "AVX512_CORE_BF16").isa, OnednnIsa::avx2);
  EXPECT_EQ(reduced_precision_support(zen3, "AVX").isa, OnednnIsa::avx);
}

TEST(CpuCapabilities, OnednnIsaNamesRoundTrip) {
  for (const auto isa : {OnednnIsa::sse41, OnednnIsa::avx, OnednnIsa::avx2, OnednnIsa::avx2_vnni,
                         OnednnIsa::avx512_core, OnednnIsa::avx512_core_vnni,
                         OnednnIsa::avx512_core_bf16, OnednnIsa::avx512_core_amx})
    EXPECT_EQ(parse_onednn_isa(onednn_isa_name(isa)), isa) << onednn_isa_name(isa);
  EXPECT_EQ(parse_onednn_isa("AVX10_1_512"), OnednnIsa::avx512_core_bf16);
  EXPECT_EQ(parse_onednn_isa(""), std::nullopt);
}

// In this process (natively, and under CTest's ONEDNN_MAX_CPU_ISA=AVX2 entry `runtime_avx2`):
// the loaded oneDNN's own answer and the one derived from /proc/cpuinfo and the variable agree.
TEST(CpuCapabilities, TheLoadedOnednnAgreesWithTheDerivation) {
  const auto here = reduced_precision_support();
  std::printf("oneDNN ISA %s (%s), cap '%s'\nint8: %s\nbf16: %s\n",
              here.isa ? onednn_isa_name(*here.isa).c_str() : "none",
              here.reported_by_onednn ? "reported by oneDNN" : "derived", here.cap.c_str(),
              int8_summary(here).c_str(), bf16_summary(here).c_str());
  if (!here.reported_by_onednn) GTEST_SKIP() << "no dnnl_get_effective_cpu_isa in this process";
  EXPECT_EQ(here.isa, reduced_precision_support(detect_cpu_features(), here.cap).isa);
}

TEST(MixedPrecision, AutoTakesBf16ExactlyWhereTheCpuHasAmx) {
  const torch::Device cpu(torch::kCPU);
  const bool native = reduced_precision_support().native_bf16;
  EXPECT_EQ(resolve_mixed_precision("auto", cpu), reduced_precision_support().bf16_matrix_units
                                                      ? MixedPrecision::bf16
                                                      : MixedPrecision::none);
  EXPECT_EQ(resolve_mixed_precision("auto", torch::Device(torch::kCUDA, 0)), MixedPrecision::none);
  EXPECT_EQ(resolve_mixed_precision("none", cpu), MixedPrecision::none);
  EXPECT_EQ(resolve_mixed_precision("bf16", cpu), MixedPrecision::bf16);
  EXPECT_THROW(resolve_mixed_precision("fp16", cpu), Error);
  // What auto picks is never refused; bf16 is refused exactly where auto would not pick it.
  EXPECT_EQ(mixed_precision_refusal(resolve_mixed_precision("auto", cpu), cpu), "");
  EXPECT_EQ(mixed_precision_refusal(MixedPrecision::bf16, cpu).empty(), native);
  EXPECT_EQ(mixed_precision_refusal(MixedPrecision::none, cpu), "");
  EXPECT_EQ(usable_mixed_precision("auto", cpu), resolve_mixed_precision("auto", cpu));
  if (native) {
    EXPECT_EQ(usable_mixed_precision("bf16", cpu), MixedPrecision::bf16);
  } else {
    EXPECT_THROW(usable_mixed_precision("bf16", cpu), Error);
  }
}

}  // namespace
}  // namespace emotune::runtime
