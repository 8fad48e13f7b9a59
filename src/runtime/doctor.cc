#include "runtime/doctor.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include <torch/torch.h>

namespace emotune::runtime {

BlasInfo detect_blas() {
  BlasInfo info;
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  if (sgemm == nullptr) {
    info.vendor = "unknown (no sgemm_ symbol: libtorch uses its own kernels)";
    return info;
  }
  Dl_info where{};
  if (dladdr(sgemm, &where) != 0 && where.dli_fname != nullptr) {
    std::error_code ec;
    auto resolved = std::filesystem::canonical(where.dli_fname, ec);
    info.library = ec ? std::string(where.dli_fname) : resolved.string();
  }
  using ConfigFn = char* (*)();
  if (auto config = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    info.vendor = "OpenBLAS";
    info.config = config();
  } else if (dlsym(RTLD_DEFAULT, "bli_info_get_version_str") != nullptr) {
    info.vendor = "BLIS";
  } else if (dlsym(RTLD_DEFAULT, "mkl_get_version") != nullptr ||
             dlsym(RTLD_DEFAULT, "MKL_Get_Max_Threads") != nullptr) {
    // PyPI's libtorch links MKL in statically and exports only part of its API.
    info.vendor = "MKL";
  } else if (info.library.find("/blas/") != std::string::npos ||
             info.library.find("libblas.so") != std::string::npos) {
    info.vendor = "reference (netlib)";
    info.is_reference = true;
  } else {
    info.vendor = "unknown";
  }
  return info;
}

std::string faster_openblas_coretype() {
  const auto blas = detect_blas();
  if (blas.vendor != "OpenBLAS" || blas.config.find(" Prescott") == std::string::npos) return {};
  return detect_cpu_features().avx512 ? "SkylakeX" : "";
}

std::string preferred_openblas_coretype() {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr ||
      std::getenv("EMOTUNE_KEEP_BLAS_CORE") != nullptr)
    return {};
  return faster_openblas_coretype();
}

// OpenBLAS picks its kernels when it loads, so a better core type needs a fresh process image.
// The variable being set afterwards is what stops a second re-execution.
void reexec_with_better_blas_kernels(char** argv) {
  const auto coretype = preferred_openblas_coretype();
  if (coretype.empty()) return;
  if (::setenv("OPENBLAS_CORETYPE", coretype.c_str(), 1) != 0) return;
  ::setenv("EMOTUNE_SET_BLAS_CORE", coretype.c_str(), 1);
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc): carry on with the slower kernels rather than fail.
  ::unsetenv("EMOTUNE_SET_BLAS_CORE");
}

GemmMeasurement measure_gemm(double seconds, int size) {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({size, size});
  auto b = torch::randn({size, size});
  auto c = torch::mm(a, b);  // warm-up: thread pool and BLAS buffers
  std::vector<double> rates;
  const double flops = 2.0 * size * size * static_cast<double>(size);
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds || rates.size() < 3) {
    const auto t0 = std::chrono::steady_clock::now();
    torch::mm_out(c, a, b);
    const auto t1 = std::chrono::steady_clock::now();
    rates.push_back(flops / std::chrono::duration<double>(t1 - t0).count() / 1e9);
    elapsed = std::chrono::duration<double>(t1 - start).count();
    if (rates.size() >= 10000) break;
  }
  std::sort(rates.begin(), rates.end());
  GemmMeasurement m;
  m.size = size;
  m.repetitions = static_cast<int>(rates.size());
  m.seconds = elapsed;
  m.gflops = rates[rates.size() / 2];
  return m;
}

}  // namespace emotune::runtime
