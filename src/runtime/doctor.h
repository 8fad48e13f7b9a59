#pragma once

#include <string>

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

struct CpuFeatures {
  std::string model;  // "model name" of /proc/cpuinfo
  bool avx2 = false;
  bool avx512 = false;  // avx512f + bw + vl + dq: what libtorch 1.13 needs for oneDNN bf16
  bool avx512_bf16 = false;
  bool amx = false;
};

// Instruction-set features as the kernel reports them (Linux /proc/cpuinfo; empty elsewhere).
CpuFeatures detect_cpu_features();

// Square fp32 matrix products through libtorch for about `seconds`.
GemmMeasurement measure_gemm(double seconds, int size = 1024);

}  // namespace emotune::runtime
