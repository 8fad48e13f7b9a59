#pragma once

// The encoder rearranged for prediction: only the first token's final hidden state is
// computed (what the WASSA heads read), with the weights packed once for the chosen
// arithmetic. The training modules (layers.h) stay the reference; this is a second,
// inference-only schedule of the same post-LN BERT layers.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "model/encoder.h"

namespace emotune::model {

enum class InferencePrecision {
  fp32,  // float32 weights and activations
  bf16,  // bfloat16 weights and activations (oneDNN AVX-512 BF16 / AMX kernels on CPUs
         // that have them); LayerNorm and softmax in bf16, first-token output as float32
  int8,  // Linear layers as dynamically quantized int8 (weights per output channel, inputs
         // per tensor, oneDNN/VNNI on the CPU); attention, LayerNorm, GELU in float32
};
InferencePrecision parse_inference_precision(const std::string& name);  // fp32 | bf16 | int8
std::string inference_precision_name(InferencePrecision precision);

struct InferenceEncoderOptions {
  InferencePrecision precision = InferencePrecision::fp32;
  // Runs whole layers through libtorch's fused transformer-encoder kernel (the
  // "BetterTransformer" fast path: one QKV product, fused bias/scale, masked softmax) on
  // nested tensors, so padding costs nothing. Needs exact GELU (hidden_act "gelu") and
  // fp32/bf16; otherwise (or when false) each layer runs as separate products.
  bool fused_layers = true;
  // The last layer computes its query, attention output and FFN for the first token only
  // (keys and values still cover every token): the rest of that layer is never read.
  bool first_token_last_layer = true;
};

// Inference-only view of a loaded BERT, RoBERTa or ELECTRA encoder (ALBERT: see supports()).
// It copies the weights it needs into packed form on the encoder's device; later changes to
// the encoder's parameters are not seen. Call under torch::InferenceMode or NoGradGuard.
class InferenceEncoder {
 public:
  // Whether `encoder` has the BERT layer layout this schedule knows (bert, roberta, electra).
  static bool supports(const Encoder& encoder);

  InferenceEncoder(Encoder& encoder, const InferenceEncoderOptions& options);
  ~InferenceEncoder();
  InferenceEncoder(InferenceEncoder&&) noexcept;
  InferenceEncoder& operator=(InferenceEncoder&&) noexcept;

  // input_ids, attention_mask (1 = token, right padding only), token_type_ids (may be
  // undefined): int64 [batch, length] on the encoder's device. Returns the final hidden state
  // of the first token, float32 [batch, hidden].
  torch::Tensor first_token(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                            const torch::Tensor& token_type_ids);

  const InferenceEncoderOptions& options() const;
  // Whether the fused kernel is in use (options().fused_layers and the model allows it).
  bool fused() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace emotune::model
