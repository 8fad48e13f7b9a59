#pragma once

#include <string>

#include "runtime/cpu_capabilities.h"  // CpuFeatures, detect_cpu_features

namespace emotune::runtime {

struct BlasInfo {
  std::string library;  // resolved path of the library that provides sgemm_
  std::string vendor;   // "OpenBLAS", "reference (netlib)", "BLIS", "MKL", or "unknown"
  std::string config;   // OpenBLAS's own build line, when available
  bool is_reference = false;
};

// Which BLAS libtorch's CPU matmuls end up in (Debian's libtorch calls the system libblas.so.3).
BlasInfo detect_blas();

struct GemmMeasurement {
  int size = 0;
  int repetitions = 0;
  double seconds = 0;
  double gflops = 0;  // median over repetitions
};


// The OpenBLAS core type that beats the one in use, or "" when OpenBLAS's own choice is fine
// (or another BLAS is in use), whatever the environment says.
std::string faster_openblas_coretype();

// The OPENBLAS_CORETYPE this process should run with, or "" when OpenBLAS's own choice is
// fine. OpenBLAS 0.3.21 does not recognise CPUs newer than it (e.g. Xeon model 207) and falls
// back to its Prescott (SSE3) kernels, about 4x slower than SkylakeX's on those that have
// AVX-512 F/BW/VL/DQ. It reads the variable when the library loads, before main, so a caller
// must re-execute the process for it to take effect. Nothing is proposed when the user set
// OPENBLAS_CORETYPE (to anything) or EMOTUNE_KEEP_BLAS_CORE.
std::string preferred_openblas_coretype();

// Re-executes this program (argv as given) with preferred_openblas_coretype() in the
// environment when there is one; returns when there is none or exec fails (the slower kernels
// then stay). Call first thing in main: the CLI and the benchmark programs do, so that both
// measure the kernels a user's `emotune` runs with.
void reexec_with_better_blas_kernels(char** argv);

// Square fp32 matrix products through libtorch for about `seconds`.
GemmMeasurement measure_gemm(double seconds, int size = 1024);

}  // namespace emotune::runtime
