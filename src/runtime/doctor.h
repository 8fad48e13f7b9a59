#pragma once

#include <string>

namespace emotune::runtime {

struct BlasInfo {
  std::string library;     // resolved path of the library that provides sgemm_
  std::string vendor;      // "OpenBLAS", "reference (netlib)", "BLIS", "MKL", or "unknown"
  std::string config;      // OpenBLAS's own build line, when available
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

// Square fp32 matrix products through libtorch for about `seconds`.
GemmMeasurement measure_gemm(double seconds, int size = 1024);

}  // namespace emotune::runtime
