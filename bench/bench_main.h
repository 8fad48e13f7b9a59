#pragma once
// main() of the Google Benchmark programs that run libtorch: BENCHMARK_MAIN, after preparing the
// process as `emotune` itself does (runtime::prepare_process: OpenBLAS kernels, malloc reuse),
// so that a figure measures what a user's command runs.

#include <benchmark/benchmark.h>

#include "runtime/process.h"

#define EMOTUNE_BENCHMARK_MAIN()                                        \
  int main(int argc, char** argv) {                                     \
    emotune::runtime::prepare_process(argv);                            \
    benchmark::Initialize(&argc, argv);                                 \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;   \
    benchmark::RunSpecifiedBenchmarks();                                \
    benchmark::Shutdown();                                              \
    return 0;                                                           \
  }
