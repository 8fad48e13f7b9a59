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
}

CallingThreadIntraOpThreads::~CallingThreadIntraOpThreads() {
  if (previous_ > 0) openmp_threads().set(previous_);
}

}  // namespace emotune::runtime
