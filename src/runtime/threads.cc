#include "runtime/threads.h"

#include <dlfcn.h>

#include <thread>

#include <ATen/Parallel.h>

namespace emotune::runtime {
namespace {

// OpenMP's per-thread count, looked up in the process (libtorch loads its libgomp) rather than
// linked, so that a build without OpenMP still links and the guard then does nothing.
struct OpenMpThreads {
  void (*set)(int) = nullptr;
  int (*get)() = nullptr;
};

const OpenMpThreads& openmp_threads() {
  static const OpenMpThreads functions = [] {
    OpenMpThreads f;
    f.set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    f.get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
    if (!f.set || !f.get) f = {};
    return f;
  }();
  return functions;
}

// MKL (inside PyPI's libtorch) keeps its own count, which the OpenMP one does not limit: a
// one-thread batch would still open a two-thread team in every small attention GEMM, tens of
// thousands of thread hand-offs per prediction run. Null where the BLAS is not MKL.
using MklSetLocalThreads = int (*)(int);
MklSetLocalThreads mkl_set_local_threads() {
  // The C entry point; the lower-case names are Fortran's, which take the count by pointer.
  static const auto function =
      reinterpret_cast<MklSetLocalThreads>(dlsym(RTLD_DEFAULT, "MKL_Set_Num_Threads_Local"));
  return function;
}

}  // namespace

int hardware_threads() {
  const auto n = static_cast<int>(std::thread::hardware_concurrency());
  return n > 0 ? n : 1;
}

int configure_threads(int n) {
  const int threads = n > 0 ? n : hardware_threads();
  at::set_num_threads(threads);
  return at::get_num_threads();
}

bool CallingThreadIntraOpThreads::supported() {
  return openmp_threads().set != nullptr;
}

CallingThreadIntraOpThreads::CallingThreadIntraOpThreads(int threads) {
  const auto& omp = openmp_threads();
  if (!omp.set || threads <= 0) return;
  // libtorch sets a thread's count lazily, at its first parallel operation, from the
  // process-wide value: make that happen now (inside libtorch, and in the inline copy our own
  // code compiles), so that it does not undo the count set below.
  (void)at::get_num_threads();
  at::internal::lazy_init_num_threads();
  previous_ = omp.get();
  omp.set(threads);
  if (const auto mkl = mkl_set_local_threads()) mkl_previous_ = mkl(threads);
}

CallingThreadIntraOpThreads::~CallingThreadIntraOpThreads() {
  if (previous_ <= 0) return;  // the constructor set nothing
  // MKL's previous local count 0 means "follow the process-wide count" again.
  if (const auto mkl = mkl_set_local_threads()) mkl(mkl_previous_);
  openmp_threads().set(previous_);
}

}  // namespace emotune::runtime
