#pragma once
// A Linear layer in int8 for prediction (model::InferenceEncoder's --precision int8): weights
// quantized once per output channel and prepacked for quantized::linear_dynamic on the quantized
// engine in use (FBGEMM in PyTorch's own libtorch 2.x, oneDNN in Debian's 1.13). linear_dynamic
// quantizes its input with one scale per call; the largest token of a batch of 16 essays then
// sets every token's step, and a trained MiniLM lost 0.019 dev macro-F1 that way. Dividing each
// row (token) by its largest |value| first, and multiplying the product back, gives every token
// its own scale: the loss fell to 0.007 (docs/performance.md). The bias is therefore added after
// the rescaling. Both passes are the loops of model/int8_rows_kernel.h: as tensor operations
// they took 21% of int8 prediction.

#include <memory>

#include <torch/torch.h>

#include "model/inference_encoder.h"

namespace emotune::model {

class Int8Linear {
 public:
  // weight [out, in], bias [out], on the CPU; `range` as InferenceEncoderOptions::int8_range,
  // resolved (full or a seven-bit choice, not automatic).
  Int8Linear(const torch::Tensor& weight, const torch::Tensor& bias, Int8Range range);
  ~Int8Linear();
  Int8Linear(const Int8Linear&) = delete;
  Int8Linear& operator=(const Int8Linear&) = delete;

  // x [..., in] → [..., out], float32.
  torch::Tensor operator()(const torch::Tensor& x) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace emotune::model
