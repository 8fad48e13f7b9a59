#include "runtime/process.h"

#include <cstdlib>
#include <string_view>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "runtime/doctor.h"

namespace emotune::runtime {

namespace {

bool user_tuned_malloc() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_")) return true;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables && std::string_view(tunables).find("glibc.malloc.") != std::string_view::npos;
}

}  // namespace

bool keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  if (user_tuned_malloc()) return false;
  constexpr int kMmapThresholdCeiling = 32 * 1024 * 1024;  // glibc's maximum on 64-bit
  constexpr int kTrimThreshold = 512 * 1024 * 1024;
  return ::mallopt(M_MMAP_THRESHOLD, kMmapThresholdCeiling) == 1 &&
         ::mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
#else
  return false;
#endif
}

void prepare_process(char** argv) {
  reexec_with_better_blas_kernels(argv);
  keep_freed_memory_for_reuse();
}

}  // namespace emotune::runtime
