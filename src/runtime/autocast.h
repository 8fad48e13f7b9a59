#pragma once
// Mixed-precision training: inside an AutocastScope torch's autocast runs the products
// (linear, matmul, bmm) in bfloat16 while parameters, gradients and the optimizer state stay
// float32. On CPUs with AMX or AVX-512 BF16 the products then run several times faster; the
// float32 master weights keep lr 1e-5 updates that a bfloat16 weight (8 mantissa bits) would
// round away.

#include <string>

#include <torch/torch.h>

namespace emotune::runtime {

// The training-config spellings: "none" (float32 throughout) | "bf16".
enum class MixedPrecision { none, bf16 };
MixedPrecision parse_mixed_precision(const std::string& name);  // Error on anything else
std::string to_string(MixedPrecision precision);

// "none" | "bf16" as parse_mixed_precision; "auto": bf16 on a CPU with AMX as oneDNN uses it
// (where bf16 steps are faster), none on other CPUs (also with AVX512_BF16 alone, where bf16 is
// allowed but slower than float32) and on CUDA.
MixedPrecision resolve_mixed_precision(const std::string& name, const torch::Device& device);

class AutocastScope {
 public:
  // Enables autocast to `precision` for `device`'s type (CPU or CUDA) until destruction;
  // MixedPrecision::none changes nothing.
  AutocastScope(MixedPrecision precision, const torch::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  torch::DeviceType device_type_ = torch::kCPU;
  bool was_enabled_ = false;
  torch::ScalarType previous_dtype_ = torch::kBFloat16;
};

// "" when `precision` may train on `device`, else why not: bf16 on a CPU without native
// bfloat16 (AVX2-only) runs its products ~30× slower than float32 (runtime::bf16_refusal).
std::string mixed_precision_refusal(MixedPrecision precision, const torch::Device& device);

// resolve_mixed_precision, then an Error with mixed_precision_refusal's reason when the result
// may not train on `device`: what a training run starts from.
MixedPrecision usable_mixed_precision(const std::string& name, const torch::Device& device);

}  // namespace emotune::runtime
