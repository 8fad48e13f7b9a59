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
         // per token, oneDNN/VNNI on the CPU); attention, LayerNorm, GELU in float32
};
// How int8 keeps its products from saturating. Without int8 dot products (VNNI), two u8·s8
// products are added into a saturating 16-bit lane (runtime/cpu_capabilities.h), so one side
// gives up a bit: 7-bit activations (0..127, libtorch's reduce_range) or 7-bit weights
// (-63..63). automatic: all 8 bits where the CPU has VNNI, else kReducedInt8Range; the others
// force one, to measure what the choice is worth.
enum class Int8Range { automatic, full, seven_bit_activations, seven_bit_weights };
// The range `automatic` gives up a bit in without VNNI: the weights (-63..63), keeping 8-bit
// activations. Measured under ONEDNN_MAX_CPU_ISA=AVX2 (docs/performance.md), with per-token
// activation scales: a trained MiniLM's dev macro-F1 0.5024 (fp32) -> 0.5001 with 7-bit
// weights, 0.4749 with 7-bit activations (libtorch's reduce_range); avg r 0.4264 -> 0.4239 /
// 0.4219. HF fixture first-token vectors: 7-bit weights were also the closer (0.083 vs 0.097).
inline constexpr Int8Range kReducedInt8Range = Int8Range::seven_bit_weights;
InferencePrecision parse_inference_precision(const std::string& name);  // fp32 | bf16 | int8
std::string inference_precision_name(InferencePrecision precision);

struct InferenceEncoderOptions {
  InferencePrecision precision = InferencePrecision::fp32;
  // On the CPU, drops the padding: every product runs over the batch's real tokens only
  // ([tokens, hidden]) and attention runs per essay at its own length (packed_attention.h).
  // The fastest schedule here at every width measured (docs/performance.md); when false, or
  // on another device, fused_layers chooses between the two padded schedules below.
  bool packed_tokens = true;
  // Runs whole layers through libtorch's fused transformer-encoder kernel (the
  // "BetterTransformer" fast path: one QKV product, fused bias/scale, masked softmax) on
  // nested tensors, so padding costs nothing. Needs exact GELU (hidden_act "gelu") and
  // fp32/bf16; otherwise (or when false) each layer runs as separate products.
  bool fused_layers = true;
  // The last layer computes its query, attention output and FFN for the first token only
  // (keys and values still cover every token): the rest of that layer is never read.
  bool first_token_last_layer = true;
  Int8Range int8_range = Int8Range::automatic;
};

// Inference-only view of a loaded BERT, RoBERTa or ELECTRA encoder (ALBERT: see supports()).
// bf16 on the CPU is refused (an Error naming the missing CPU feature) where the CPU has no
// native bfloat16 (runtime::bf16_refusal). It copies the weights it needs into packed form on the encoder's device; later changes to
// the encoder's parameters are not seen. Call under torch::InferenceMode or NoGradGuard.
class InferenceEncoder {
 public:
  // Whether `encoder` has the BERT layer layout this schedule knows (bert, roberta, electra).
  static bool supports(const Encoder& encoder);

  InferenceEncoder(Encoder& encoder, const InferenceEncoderOptions& options);
  ~InferenceEncoder();
  InferenceEncoder(InferenceEncoder&&) noexcept;
  InferenceEncoder& operator=(InferenceEncoder&&) noexcept;

  // input_ids, attention_mask (1 = token; right padding takes the packed or fused
  // schedule, any other mask the separate ops), token_type_ids (may be
  // undefined): int64 [batch, length] on the encoder's device. Returns the final hidden state
  // of the first token, float32 [batch, hidden].
  torch::Tensor first_token(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                            const torch::Tensor& token_type_ids);

  const InferenceEncoderOptions& options() const;
  // Whether the fused kernel is in use (padded schedule, options().fused_layers, and the
  // model allows it).
  bool fused() const;
  // Whether the packed-token schedule runs (options().packed_tokens on a CPU model).
  bool packed() const;
  // int8 only: the range in use (never automatic): full where the CPU has VNNI.
  Int8Range int8_range() const;
  // "fp32", "bf16", "int8 (8-bit)", "int8 (7-bit activations)", "int8 (7-bit weights)".
  std::string arithmetic() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace emotune::model
