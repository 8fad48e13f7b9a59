#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <cstdlib>

#include "cli/command.h"
#include "common/version.h"
#include "runtime/cpu_capabilities.h"
#include "runtime/doctor.h"
#include "runtime/threads.h"

#include <ATen/Parallel.h>

namespace emotune::cli {
namespace {

struct DoctorOptions {
  double seconds = 1.0;
  int size = 1024;
};

void run_doctor(const DoctorOptions& options, const GlobalOptions& globals) {
  apply_thread_option(globals);
  const auto blas = runtime::detect_blas();
  fmt::print("emotune {}\n", kVersion);
  fmt::print("threads: {} intra-op (machine has {})\n", at::get_num_threads(),
             runtime::hardware_threads());
  fmt::print("BLAS: {} ({})\n", blas.vendor, blas.library.empty() ? "?" : blas.library);
  if (!blas.config.empty()) fmt::print("BLAS build: {}\n", blas.config);
  const auto support = runtime::reduced_precision_support();
  const auto& cpu = support.cpu;
  const auto yes = [](bool value) { return value ? "yes" : "no"; };
  fmt::print("CPU: {} (AVX2 {}, AVX-512 {}, AVX512_VNNI {}, AVX_VNNI {}, AVX512_BF16 {}, AMX {})\n",
             cpu.model.empty() ? "?" : cpu.model, yes(cpu.avx2), yes(cpu.avx512),
             yes(cpu.avx512_vnni), yes(cpu.avx_vnni), yes(cpu.avx512_bf16), yes(cpu.amx));
  fmt::print("oneDNN ISA: {} ({}{})\n",
             support.isa ? runtime::onednn_isa_name(*support.isa) : "below SSE41",
             support.reported_by_onednn ? "reported by oneDNN" : "from /proc/cpuinfo",
             support.cap.empty()
                 ? std::string("; ONEDNN_MAX_CPU_ISA unset")
                 : fmt::format("; ONEDNN_MAX_CPU_ISA={}{}", support.cap,
                               support.cap_recognised ? "" : ", a value oneDNN ignores"));
  fmt::print("int8 (--precision int8): {}\n", runtime::int8_summary(support));
  fmt::print("bf16 (--precision bf16): {}\n", runtime::bf16_summary(support));
  fmt::print("mixed-precision training (mixed_precision = \"bf16\"): {}\n",
             support.bf16_matrix_units
                 ? "available, and what \"auto\" picks here: bf16 products on AMX, float32 "
                   "weights (1.2-1.6x the float32 steps on MiniLM, docs/performance.md)"
             : support.native_bf16
                 ? "available, but \"auto\" stays float32 here: without AMX bf16 steps were "
                   "slower than float32 (0.64x on MiniLM, docs/performance.md)"
                 : "refused here (no native bfloat16); train in float32");
  if (!cpu.avx512) {
    // libtorch 1.13 routes bf16 matmuls to oneDNN only with AVX-512 BW/VL/DQ; without it they
    // fall back to scalar loops (about 1 GFLOP/s measured here), so bf16 is far slower.
    fmt::print(
        "note: no AVX-512 here: dtype = \"bfloat16\" in a training config and `emotune encode "
        "--dtype bfloat16` run far slower than float32 on this CPU\n");
  }
  if (const char* set = std::getenv("EMOTUNE_SET_BLAS_CORE")) {
    // OpenBLAS 0.3.21 does not know newer Xeons and falls back to its oldest x86-64 kernels;
    // measured on such a 2-vCPU Xeon: 62.7 GFLOP/s as detected, 277 with SkylakeX's kernels.
    fmt::print(
        "note: OpenBLAS did not recognise this AVX-512 CPU (it chose its Prescott kernels); "
        "emotune restarted itself with OPENBLAS_CORETYPE={} (about 4x faster fp32 here; "
        "EMOTUNE_KEEP_BLAS_CORE=1 keeps OpenBLAS's choice)\n",
        set);
  } else if (const auto faster = runtime::faster_openblas_coretype(); !faster.empty()) {
    fmt::print(
        "note: OpenBLAS uses its Prescott kernels on this AVX-512 CPU; "
        "OPENBLAS_CORETYPE={} is about 4x faster in fp32 here\n",
        faster);
  }
  const auto gemm = runtime::measure_gemm(options.seconds, options.size);
  fmt::print("fp32 GEMM {}x{}: {:.1f} GFLOP/s (median of {} in {:.2f} s)\n", gemm.size, gemm.size,
             gemm.gflops, gemm.repetitions, gemm.seconds);
  if (blas.is_reference) {
    fmt::print(stderr,
               "WARNING: libtorch is using the reference (netlib) BLAS, about 30x slower than an "
               "optimized one. Install one: apt-get install libopenblas0-openmp\n");
    throw ExitStatus{2};
  }
}

[[maybe_unused]] const bool registered = register_command(
    "doctor",
    "Check the runtime: BLAS in use, threads, CPU features, what int8 and bf16 will do, and a "
    "matrix-multiply GFLOP/s figure",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<DoctorOptions>();
      command.add_option("--seconds", options->seconds, "How long to measure GEMM")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      command.add_option("--size", options->size, "Matrix size for the GEMM measurement")
          ->capture_default_str()
          ->check(CLI::Range(16, 8192));
      command.callback([options, &globals] { run_doctor(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
