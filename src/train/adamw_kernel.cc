#include "train/adamw_kernel.h"

#include <cmath>

namespace emotune::train {

// One clone per vector width, chosen at load time by the CPU (never assumed: AVX2-only CPUs
// take the avx2 clone, older ones the baseline).
__attribute__((target_clones("avx512f", "avx2", "default"))) void adamw_update(
    float* param, const float* grad, float* exp_avg, float* exp_avg_sq, std::size_t count,
    const AdamWStepScalars& s) {
  const AdamWStepScalars k = s;  // by value: the compiler then knows the scalars do not alias
  for (std::size_t i = 0; i < count; ++i) {
    const float g = grad[i];
    const float m = exp_avg[i] * k.beta1 + k.one_minus_beta1 * g;
    const float v = exp_avg_sq[i] * k.beta2 + k.one_minus_beta2 * g * g;
    const float denom = std::sqrt(v) / k.bias_correction2_sqrt + k.eps;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] = param[i] * k.decay_factor + k.negative_step_size * m / denom;
  }
}

}  // namespace emotune::train
