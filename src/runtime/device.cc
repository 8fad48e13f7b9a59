#include "runtime/device.h"

#include <torch/cuda.h>

#include "common/error.h"

namespace emotune::runtime {

c10::Device parse_device(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw Error(fmt::format(
          "--device {}: this emotune was built against a libtorch without CUDA, or no GPU is "
          "visible; use --device cpu",
          name));
    }
    try {
      return c10::Device(name);
    } catch (const std::exception&) {
      throw Error(fmt::format("--device {}: expected cuda or cuda:N", name));
    }
  }
  throw Error(fmt::format("--device {}: expected cpu, cuda or cuda:N", name));
}

c10::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32" || name == "float") return c10::kFloat;
  if (name == "bfloat16" || name == "bf16") return c10::kBFloat16;
  throw Error(fmt::format("--dtype {}: expected float32 or bfloat16", name));
}

}  // namespace emotune::runtime
