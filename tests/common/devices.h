#pragma once
// Devices for the tests that have a CUDA variant (suite names end in "OnDevice", which is how
// scripts/gpu_check.sh selects them). Every such test runs on "cpu" everywhere, so its code is
// exercised by the ordinary suite, and on "cuda" where this libtorch has CUDA and a GPU is
// visible; elsewhere the cuda instance is skipped with a message saying why.
// Header-only: it needs libtorch, which the test support library does not link.

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/types.h>

namespace emotune::testing {

inline std::vector<std::string> test_devices() { return {"cpu", "cuda"}; }

inline bool device_available(const std::string& device) {
  return device == "cpu" || torch::cuda::is_available();
}

inline std::string device_test_name(const std::string& device) { return device; }

// Whether a tensor lives on the device a test asked for. Tensors report an index ("cuda:0")
// where the test names only the kind ("cuda"), so torch::Device equality would not hold.
inline bool on_device(const at::Tensor& tensor, const torch::Device& want) {
  return tensor.device().type() == want.type() &&
         (!want.has_index() || tensor.device().index() == want.index());
}

}  // namespace emotune::testing

// First statement of a device test: skips the cuda instance where no GPU can run it.
#define EMOTUNE_SKIP_UNLESS_DEVICE(device)                                                   \
  do {                                                                                       \
    if (!::emotune::testing::device_available(device))                                       \
      GTEST_SKIP() << "no CUDA device: this libtorch has no CUDA or no GPU is visible "      \
                      "(scripts/gpu_check.sh runs this on a GPU machine)";                   \
  } while (false)
