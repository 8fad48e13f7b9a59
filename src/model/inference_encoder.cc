#include "model/inference_encoder.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "common/error.h"
#include "model/bert.h"
#include "model/electra.h"
#include "model/int8_linear.h"
#include "model/layers.h"
#include "model/packed_attention.h"
#include "runtime/cpu_capabilities.h"

namespace emotune::model {

InferencePrecision parse_inference_precision(const std::string& name) {
  if (name == "fp32") return InferencePrecision::fp32;
  if (name == "bf16") return InferencePrecision::bf16;
  if (name == "int8") return InferencePrecision::int8;
  throw Error(fmt::format("precision: expected fp32, bf16 or int8, got '{}'", name));
}

std::string inference_precision_name(InferencePrecision precision) {
  switch (precision) {
    case InferencePrecision::fp32:
      return "fp32";
    case InferencePrecision::bf16:
      return "bf16";
    case InferencePrecision::int8:
      return "int8";
  }
  return "?";
}

namespace {

// The parts of a BERT-layout encoder the schedule reads.
struct BertParts {
  BertEmbeddingsImpl* embeddings = nullptr;
  torch::nn::LinearImpl* embeddings_project = nullptr;  // ELECTRA with E != H
  BertEncoderImpl* encoder = nullptr;
};

std::optional<BertParts> bert_parts(const Encoder& encoder) {
  auto& mutable_encoder = const_cast<Encoder&>(encoder);
  if (auto* electra = dynamic_cast<ElectraModel*>(&mutable_encoder)) {
    BertParts parts{electra->embeddings.get(), nullptr, electra->encoder.get()};
    if (!electra->embeddings_project.is_empty())
      parts.embeddings_project = electra->embeddings_project.get();
    return parts;
  }
  if (auto* bert = dynamic_cast<BertModel*>(&mutable_encoder))  // RoBERTa is a BertModel
    return BertParts{bert->embeddings.get(), nullptr, bert->encoder.get()};
  return std::nullopt;
}

// The quantized engine for dynamic int8 Linear layers: FBGEMM where the build has it (the
// usual x86 choice), else oneDNN (Debian's libtorch: VNNI kernels).
c10::QEngine int8_engine() {
  const auto& engines = at::globalContext().supportedQEngines();
  for (const auto wanted : {at::kFBGEMM, at::kONEDNN}) {
    if (std::find(engines.begin(), engines.end(), wanted) != engines.end()) return wanted;
  }
  throw Error(
      "precision int8: this libtorch has neither the FBGEMM nor the oneDNN quantized engine; "
      "use --precision fp32 or bf16");
}

// Whether int8 must give up a bit: where its products are not VNNI dot products
// (runtime/cpu_capabilities.h). oneDNN honours ONEDNN_MAX_CPU_ISA; FBGEMM (other libtorch
// builds) ignores it and uses the CPU's best.
bool int8_needs_reduced_range(c10::QEngine engine) {
  const auto support = runtime::reduced_precision_support();
  if (engine == at::kONEDNN) return !support.int8_dot_product;
  return !(support.cpu_isa && runtime::has_int8_dot_product(*support.cpu_isa));
}

// A Linear layer packed for one arithmetic: a dense weight in the compute dtype, or int8
// (model/int8_linear.h) in the given Int8Range.
class PackedLinear {
 public:
  PackedLinear() = default;
  PackedLinear(const torch::Tensor& weight, const torch::Tensor& bias,
               InferencePrecision precision, Int8Range range = Int8Range::full) {
    if (precision == InferencePrecision::int8) {
      int8_ = std::make_shared<Int8Linear>(weight, bias, range);
      return;
    }
    const auto dtype = precision == InferencePrecision::bf16 ? torch::kBFloat16 : torch::kFloat32;
    weight_ = weight.to(dtype).contiguous();
    bias_ = bias.to(dtype).contiguous();
  }

  torch::Tensor operator()(const torch::Tensor& x) const {
    return int8_ ? (*int8_)(x) : torch::linear(x, weight_, bias_);
  }

  const torch::Tensor& weight() const { return weight_; }
  const torch::Tensor& bias() const { return bias_; }

 private:
  torch::Tensor weight_, bias_;
  std::shared_ptr<const Int8Linear> int8_;
};

struct PackedLayer {
  PackedLinear qkv, query, key_value, output, ffn_in, ffn_out;
  torch::Tensor norm1_weight, norm1_bias, norm2_weight, norm2_bias;
  double eps1 = 0, eps2 = 0;
  Activation activation = Activation::Gelu;
};

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& weight,
                         const torch::Tensor& bias, double eps) {
  return torch::layer_norm(x, {x.size(-1)}, weight, bias, eps);
}

}  // namespace

struct InferenceEncoder::Impl {
  InferenceEncoderOptions options;
  BertParts parts;
  std::vector<PackedLayer> layers;
  std::int64_t num_heads = 0;
  std::int64_t hidden = 0;
  torch::ScalarType compute_dtype = torch::kFloat32;
  bool fused = false;
  bool packed = false;
  Int8Range int8_range = Int8Range::full;

  // One post-LN layer as separate products, over every token (query_rows = all) or, when
  // first_only, queries for the first token alone; returns [batch, rows, hidden].
  torch::Tensor unfused_layer(const PackedLayer& layer, const torch::Tensor& x,
                              const torch::Tensor& additive_mask, bool first_only) const {
    torch::Tensor query, key, value, residual;
    if (first_only) {
      residual = x.narrow(1, 0, 1);
      query = layer.query(residual);
      auto key_value = layer.key_value(x).chunk(2, -1);
      key = key_value[0];
      value = key_value[1];
    } else {
      residual = x;
      auto qkv = layer.qkv(x).chunk(3, -1);
      query = qkv[0];
      key = qkv[1];
      value = qkv[2];
    }
    const auto context = multi_head_attention(query, key, value, additive_mask, num_heads, 0.0,
                                              /*training=*/false);
    return after_attention(layer, context, residual);
  }

  // Output projection, residual and norm, then the feed-forward block with its own.
  static torch::Tensor after_attention(const PackedLayer& layer, const torch::Tensor& context,
                                       const torch::Tensor& residual) {
    const auto attended = layer_norm(layer.output(context).add_(residual), layer.norm1_weight,
                                     layer.norm1_bias, layer.eps1);
    const auto inner = activate(layer.activation, layer.ffn_in(attended));
    return layer_norm(layer.ffn_out(inner).add_(attended), layer.norm2_weight, layer.norm2_bias,
                      layer.eps2);
  }

  // The packed-token schedule: hidden [batch, length, hidden] from the embeddings and the
  // essays' token counts (right padding) -> first-token states [batch, hidden].
  torch::Tensor packed_first_token(const torch::Tensor& padded,
                                   const std::vector<std::int64_t>& lengths) const {
    const auto batch = padded.size(0);
    const auto length = padded.size(1);
    PackedRows rows;
    std::vector<std::int64_t> token_rows;
    std::int64_t tokens = 0;
    for (std::int64_t b = 0; b < batch; ++b) {
      const auto n = lengths[static_cast<std::size_t>(b)];
      rows.key_start.push_back(tokens);
      rows.query_start.push_back(tokens);
      rows.length.push_back(n);
      for (std::int64_t j = 0; j < n; ++j) token_rows.push_back(b * length + j);
      tokens += n;
    }
    const auto first_rows = torch::tensor(rows.key_start, torch::kInt64);
    auto x = padded.reshape({batch * length, hidden})
                 .index_select(0, torch::tensor(token_rows, torch::kInt64));
    const auto as_float = [](const torch::Tensor& t) { return t.to(torch::kFloat32); };
    const bool first_only_last = options.first_token_last_layer && !layers.empty();
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const auto& layer = layers[i];
      if (first_only_last && i + 1 == layers.size()) {
        // Keys and values of every token, the query of the first alone.
        const auto key_value = as_float(layer.key_value(x));
        const auto first = x.index_select(0, first_rows);
        const auto query = as_float(layer.query(first));
        PackedRows last = rows;
        last.first_query_only = true;
        for (std::int64_t b = 0; b < batch; ++b) last.query_start[static_cast<std::size_t>(b)] = b;
        const auto context =
            packed_attention(query, key_value.narrow(1, 0, hidden),
                             key_value.narrow(1, hidden, hidden), last, num_heads, hidden);
        return as_float(after_attention(layer, context.to(compute_dtype), first));
      }
      const auto qkv = as_float(layer.qkv(x));
      const auto context = packed_attention(qkv.narrow(1, 0, hidden), qkv.narrow(1, hidden, hidden),
                                            qkv.narrow(1, 2 * hidden, hidden), rows, num_heads,
                                            hidden);
      x = after_attention(layer, context.to(compute_dtype), x);
    }
    return as_float(x.index_select(0, first_rows));
  }

  torch::Tensor fused_layer(const PackedLayer& layer, const torch::Tensor& x) const {
    return at::_transformer_encoder_layer_fwd(
        x, hidden, num_heads, layer.qkv.weight(), layer.qkv.bias(), layer.output.weight(),
        layer.output.bias(), /*use_gelu=*/true, /*norm_first=*/false, layer.eps1,
        layer.norm1_weight, layer.norm1_bias, layer.norm2_weight, layer.norm2_bias,
        layer.ffn_in.weight(), layer.ffn_in.bias(), layer.ffn_out.weight(), layer.ffn_out.bias());
  }
};

bool InferenceEncoder::supports(const Encoder& encoder) {
  return bert_parts(encoder).has_value();
}

InferenceEncoder::InferenceEncoder(Encoder& encoder, const InferenceEncoderOptions& options)
    : impl_(std::make_unique<Impl>()) {
  auto parts = bert_parts(encoder);
  if (!parts) {
    throw Error(fmt::format("the inference schedule supports bert, roberta and electra, not {}",
                            encoder.model_type()));
  }
  torch::NoGradGuard no_grad;
  auto& impl = *impl_;
  impl.options = options;
  impl.parts = *parts;
  impl.hidden = encoder.hidden_size();
  impl.compute_dtype =
      options.precision == InferencePrecision::bf16 ? torch::kBFloat16 : torch::kFloat32;
  const auto device = parts->embeddings->parameters().front().device();
  if (options.precision == InferencePrecision::bf16 && device.is_cpu()) {
    if (const auto refusal = runtime::bf16_refusal(runtime::reduced_precision_support());
        !refusal.empty())
      throw Error(refusal);
  }
  if (options.precision == InferencePrecision::int8) {
    const auto engine = int8_engine();
    at::globalContext().setQEngine(engine);
    impl.int8_range = options.int8_range != Int8Range::automatic ? options.int8_range
                      : int8_needs_reduced_range(engine)          ? kReducedInt8Range
                                                                  : Int8Range::full;
  }
  const auto pack = [&](const torch::Tensor& weight, const torch::Tensor& bias) {
    return PackedLinear(weight, bias, options.precision, impl.int8_range);
  };

  const auto& bert_layers = parts->encoder->layers();
  bool all_exact_gelu = true;
  for (const auto& bert_layer : bert_layers) {
    const auto& self = *bert_layer->attention->self;
    impl.num_heads = self.num_heads();
    PackedLayer packed;
    const auto h = impl.hidden;
    const auto qkv_weight =
        torch::cat({self.query->weight, self.key->weight, self.value->weight}, 0);
    const auto qkv_bias = torch::cat({self.query->bias, self.key->bias, self.value->bias}, 0);
    packed.qkv = pack(qkv_weight, qkv_bias);
    if (options.first_token_last_layer && &bert_layer == &bert_layers.back()) {
      packed.query = pack(self.query->weight, self.query->bias);
      packed.key_value = pack(qkv_weight.narrow(0, h, 2 * h), qkv_bias.narrow(0, h, 2 * h));
    }
    const auto& attention_out = *bert_layer->attention->output;
    packed.output = pack(attention_out.dense->weight, attention_out.dense->bias);
    packed.norm1_weight = attention_out.LayerNorm->weight.to(impl.compute_dtype);
    packed.norm1_bias = attention_out.LayerNorm->bias.to(impl.compute_dtype);
    packed.eps1 = attention_out.LayerNorm->options.eps();
    const auto& intermediate = *bert_layer->intermediate;
    packed.ffn_in = pack(intermediate.dense->weight, intermediate.dense->bias);
    packed.activation = intermediate.activation();
    const auto& ffn_out = *bert_layer->output;
    packed.ffn_out = pack(ffn_out.dense->weight, ffn_out.dense->bias);
    packed.norm2_weight = ffn_out.LayerNorm->weight.to(impl.compute_dtype);
    packed.norm2_bias = ffn_out.LayerNorm->bias.to(impl.compute_dtype);
    packed.eps2 = ffn_out.LayerNorm->options.eps();
    // The fused kernel has one eps for both norms and exact (erf) GELU.
    all_exact_gelu =
        all_exact_gelu && packed.activation == Activation::Gelu && packed.eps1 == packed.eps2;
    impl.layers.push_back(std::move(packed));
  }
  impl.fused =
      options.fused_layers && options.precision != InferencePrecision::int8 && all_exact_gelu;
  impl.packed = options.packed_tokens && device.is_cpu();
}

InferenceEncoder::~InferenceEncoder() = default;
InferenceEncoder::InferenceEncoder(InferenceEncoder&&) noexcept = default;
InferenceEncoder& InferenceEncoder::operator=(InferenceEncoder&&) noexcept = default;

const InferenceEncoderOptions& InferenceEncoder::options() const {
  return impl_->options;
}

bool InferenceEncoder::fused() const {
  return impl_->fused && !impl_->packed;
}

bool InferenceEncoder::packed() const {
  return impl_->packed;
}

Int8Range InferenceEncoder::int8_range() const {
  return impl_->int8_range;
}

std::string InferenceEncoder::arithmetic() const {
  if (impl_->options.precision != InferencePrecision::int8)
    return inference_precision_name(impl_->options.precision);
  switch (impl_->int8_range) {
    case Int8Range::seven_bit_activations:
      return "int8 (7-bit activations)";
    case Int8Range::seven_bit_weights:
      return "int8 (7-bit weights)";
    default:
      return "int8 (8-bit)";
  }
}

torch::Tensor InferenceEncoder::first_token(const torch::Tensor& input_ids,
                                            const torch::Tensor& attention_mask,
                                            const torch::Tensor& token_type_ids) {
  auto& impl = *impl_;
  auto hidden = impl.parts.embeddings->forward(input_ids, token_type_ids);
  if (impl.parts.embeddings_project != nullptr)
    hidden = impl.parts.embeddings_project->forward(hidden);
  hidden = hidden.to(impl.compute_dtype);
  // Token counts from the mask. A mask that is not ones-then-zeros (or an essay without
  // tokens) can be neither packed nor nested: it takes the separate ops, which add the mask.
  const auto mask = attention_mask.to(torch::kCPU, torch::kInt64).contiguous();
  const auto* m = mask.data_ptr<std::int64_t>();
  const auto batch = mask.size(0);
  const auto length = mask.size(1);
  std::vector<std::int64_t> lengths(static_cast<std::size_t>(batch));
  bool right_padded = true;
  for (std::int64_t b = 0; b < batch && right_padded; ++b) {
    std::int64_t n = 0;
    while (n < length && m[b * length + n] != 0) ++n;
    for (std::int64_t j = n; j < length && right_padded; ++j) right_padded = m[b * length + j] == 0;
    right_padded = right_padded && n > 0;
    lengths[static_cast<std::size_t>(b)] = n;
  }
  if (impl.packed && right_padded) return impl.packed_first_token(hidden, lengths);
  const auto layer_count = impl.layers.size();
  const bool first_only_last = impl.options.first_token_last_layer && layer_count > 0;
  const auto unfused_count = first_only_last ? layer_count - 1 : layer_count;

  std::size_t next = 0;
  torch::Tensor padded_mask = attention_mask;
  if (impl.fused && right_padded && unfused_count > 0) {
    // Nested tensors hold each essay at its own length: no work on padding at all.
    auto nested = at::_nested_tensor_from_mask(hidden, attention_mask.to(torch::kBool));
    for (; next < unfused_count; ++next) nested = impl.fused_layer(impl.layers[next], nested);
    hidden = at::nested_to_padded_tensor(nested, 0.0);
    padded_mask = attention_mask.narrow(1, 0, hidden.size(1));
  }
  if (next == layer_count) return hidden.select(1, 0).to(torch::kFloat32);
  const auto additive_mask = additive_attention_mask(padded_mask, hidden.scalar_type());
  for (; next < layer_count; ++next) {
    const bool first_only = first_only_last && next + 1 == layer_count;
    hidden = impl.unfused_layer(impl.layers[next], hidden, additive_mask, first_only);
  }
  return hidden.select(1, 0).to(torch::kFloat32);
}

}  // namespace emotune::model
