#pragma once
// main() of the Google Benchmark programs that run libtorch: BENCHMARK_MAIN, after taking the
// OpenBLAS kernels `emotune` itself would run with (runtime::reexec_with_better_blas_kernels),
// so that a figure measures what a user's command runs.

#include <benchmark/benchmark.h>

#include "runtime/doctor.h"

#define EMOTUNE_BENCHMARK_MAIN()                                         \
  int main(int argc, char** argv) {                                      \
    emotune::runtime::reexec_with_better_blas_kernels(argv);             \
    benchmark::Initialize(&argc, argv);                                  \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;    \
    benchmark::RunSpecifiedBenchmarks();                                 \
    benchmark::Shutdown();                                               \
    return 0;                                                            \
  }
