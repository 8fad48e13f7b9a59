#include "runtime/threads.h"

#include <thread>

#include <ATen/Parallel.h>

namespace emotune::runtime {

int hardware_threads() {
  const auto n = static_cast<int>(std::thread::hardware_concurrency());
  return n > 0 ? n : 1;
}

int configure_threads(int n) {
  const int threads = n > 0 ? n : hardware_threads();
  at::set_num_threads(threads);
  return at::get_num_threads();
}

}  // namespace emotune::runtime
