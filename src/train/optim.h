#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace emotune::train {

struct AdamWOptions {
  double lr = 1e-5;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double eps = 1e-6;
  double weight_decay = 0.0;
  // One pass per element (adamw_kernel.h) on contiguous float32 CPU tensors, ~6× faster than
  // the tensor operations, equal to them up to float rounding (a fused multiply-add where
  // libtorch's vector kernels use one); false, or other tensors: the tensor operations.
  bool fused = true;
};

// AdamW with torch 1.13's update (torch.optim.AdamW, single-tensor path):
//   p *= 1 - lr·wd;  m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²;
//   p -= lr/(1-b1^t) · m / (sqrt(v)/sqrt(1-b2^t) + eps)
// Own code rather than torch::optim::AdamW so that the state is addressed by parameter name
// and saved/restored as plain tensors (resume), and the learning rate can follow a schedule.
class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, torch::Tensor>> named_parameters, AdamWOptions options);

  // Drops the gradients (as torch's set_to_none): backward then writes fresh ones instead of
  // adding into zeroed ones, one pass less over every gradient.
  void zero_grad();
  // One update of every parameter that has a gradient, with learning rate `lr`.
  void step(double lr);
  void step() { step(options_.lr); }

  const AdamWOptions& options() const { return options_; }
  std::int64_t steps_taken() const { return steps_; }

  // "adamw.<name>.exp_avg" / ".exp_avg_sq" tensors plus "adamw.step" (int64 scalar).
  std::map<std::string, torch::Tensor> state_tensors() const;
  // Restores state_tensors(); an Error naming `origin` when something is missing or mis-shaped.
  void load_state_tensors(const std::map<std::string, torch::Tensor>& tensors,
                          const std::string& origin);

 private:
  struct Slot {
    std::string name;
    torch::Tensor param;
    torch::Tensor exp_avg;
    torch::Tensor exp_avg_sq;
  };
  std::vector<Slot> slots_;
  AdamWOptions options_;
  std::int64_t steps_ = 0;
};

}  // namespace emotune::train
