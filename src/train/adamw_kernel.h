#pragma once
// AdamW's per-element update in one pass over the four float32 arrays, instead of the seven
// tensor operations (about 21 array passes) of the reference formula in optim.cc. The update is
// memory-bound: on MiniLM's 22.7 M parameters (2-vCPU Xeon) a fused pass takes ~15 ms where
// PyTorch 2.15's tensor operations take ~100 ms (docs/performance.md, "Training step").

#include <cstddef>

namespace emotune::train {

// The scalars of one step, already as float32 (as torch casts a double Scalar for a float32
// tensor), named after the operation they take part in.
struct AdamWStepScalars {
  float decay_factor;           // 1 - lr·weight_decay (1: no decay)
  float beta1;                  // exp_avg *= beta1
  float one_minus_beta1;        // exp_avg += (1 - beta1)·g
  float beta2;                  // exp_avg_sq *= beta2
  float one_minus_beta2;        // exp_avg_sq += (1 - beta2)·g·g
  float bias_correction2_sqrt;  // denom = sqrt(exp_avg_sq) / sqrt(1 - beta2^t) + eps
  float eps;
  float negative_step_size;  // param += (-lr / (1 - beta1^t))·exp_avg / denom
};

// Updates elements [0, count) in the order of the reference formula's operations; element-wise,
// so the result depends neither on the thread split nor on the CPU's vector width (correctly
// rounded sqrt and division, no fused multiply-add: see CMakeLists.txt).
void adamw_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
                  std::size_t count, const AdamWStepScalars& s);

}  // namespace emotune::train
