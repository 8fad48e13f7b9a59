#include "model/layers.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "common/error.h"
#include "model/dropout_kernel.h"

namespace emotune::model {

namespace F = torch::nn::functional;

Activation parse_activation(const std::string& name) {
  if (name == "gelu") return Activation::Gelu;
  if (name == "gelu_new") return Activation::GeluNew;
  if (name == "gelu_pytorch_tanh") return Activation::GeluPytorchTanh;
  if (name == "gelu_fast") return Activation::GeluFast;
  if (name == "relu") return Activation::Relu;
  if (name == "silu" || name == "swish") return Activation::Silu;
  if (name == "tanh") return Activation::Tanh;
  throw Error(fmt::format("unknown hidden_act '{}'", name));
}

torch::Tensor activate(Activation activation, const torch::Tensor& x) {
  switch (activation) {
    case Activation::Gelu:
      return torch::gelu(x);
    case Activation::GeluNew:
      // HF's NewGELUActivation, operation for operation, so rounding matches.
      return 0.5 * x *
             (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3.0))));
    case Activation::GeluPytorchTanh:
      return torch::gelu(x, "tanh");
    case Activation::GeluFast:
      return 0.5 * x * (1.0 + torch::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)));
    case Activation::Relu:
      return torch::relu(x);
    case Activation::Silu:
      return torch::silu(x);
    case Activation::Tanh:
      return torch::tanh(x);
  }
  throw std::logic_error("unhandled Activation");
}

torch::Tensor additive_attention_mask(const torch::Tensor& attention_mask,
                                      torch::ScalarType dtype) {
  double lowest = 0;
  switch (dtype) {
    case torch::kFloat:
      lowest = std::numeric_limits<float>::lowest();
      break;
    case torch::kBFloat16:
      lowest = static_cast<float>(std::numeric_limits<c10::BFloat16>::lowest());
      break;
    case torch::kHalf:
      lowest = static_cast<float>(std::numeric_limits<c10::Half>::lowest());
      break;
    case torch::kDouble:
      lowest = std::numeric_limits<double>::lowest();
      break;
    default:
      throw Error(
          fmt::format("encoder compute dtype {} is not a floating type", c10::toString(dtype)));
  }
  const auto mask = attention_mask.unsqueeze(1).unsqueeze(2).to(dtype);
  return (1.0 - mask) * lowest;
}

torch::Tensor apply_dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p <= 0.0) return x;
  if (!x.device().is_cpu()) return torch::dropout(x, p, true);
  if (p >= 1.0) return x.mul(0.0);
  const auto drop_threshold = static_cast<std::uint32_t>(std::lround(p * 65536.0));
  const auto key = static_cast<std::uint64_t>(
      torch::randint(std::numeric_limits<std::int64_t>::max(), {1}, torch::kLong)
          .item<std::int64_t>());
  auto mask = torch::empty(x.sizes(), torch::TensorOptions().dtype(torch::kBool));
  auto* bytes = reinterpret_cast<std::uint8_t*>(mask.data_ptr<bool>());
  at::parallel_for(0, mask.numel(), 1 << 16, [&](std::int64_t begin, std::int64_t end) {
    fill_keep_mask(bytes + begin, static_cast<std::size_t>(end - begin),
                   static_cast<std::uint64_t>(begin), key, drop_threshold);
  });
  return x.mul(mask).mul_(1.0 / (1.0 - p));
}

torch::Tensor normalize(torch::nn::LayerNorm& norm, const torch::Tensor& x) {
  const auto dtype = norm->weight.defined() ? norm->weight.scalar_type() : x.scalar_type();
  return norm->forward(x.scalar_type() == dtype ? x : x.to(dtype));
}

torch::Tensor multi_head_attention(const torch::Tensor& query, const torch::Tensor& key,
                                   const torch::Tensor& value, const torch::Tensor& additive_mask,
                                   std::int64_t num_heads, double dropout, bool training) {
  const auto batch = query.size(0);
  const auto queries = query.size(1);
  const auto hidden = query.size(2);
  const auto head_size = hidden / num_heads;
  const auto split_heads = [&](const torch::Tensor& t) {
    return t.view({batch, -1, num_heads, head_size}).permute({0, 2, 1, 3});
  };
  auto scores = torch::matmul(split_heads(query), split_heads(key).transpose(-1, -2));
  scores = scores / std::sqrt(static_cast<double>(head_size));
  scores = scores + additive_mask;
  auto probs = torch::softmax(scores, -1);
  probs = apply_dropout(probs, dropout, training);
  auto context = torch::matmul(probs, split_heads(value));
  return context.permute({0, 2, 1, 3}).contiguous().view({batch, queries, hidden});
}

torch::Tensor first_rows(const torch::Tensor& x, bool first_only) {
  return first_only ? x.narrow(1, 0, 1) : x;
}

BertEmbeddingsImpl::BertEmbeddingsImpl(const io::HfConfig& config, std::int64_t embedding_size,
                                       Positions positions, double dropout)
    : positions_(positions), pad_token_id_(config.pad_token_id), dropout_(dropout) {
  word_embeddings = register_module(
      "word_embeddings",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(config.vocab_size, embedding_size)
                               .padding_idx(config.pad_token_id)));
  auto position_options =
      torch::nn::EmbeddingOptions(config.max_position_embeddings, embedding_size);
  if (positions == Positions::AfterPadding) position_options.padding_idx(config.pad_token_id);
  position_embeddings =
      register_module("position_embeddings", torch::nn::Embedding(position_options));
  token_type_embeddings = register_module(
      "token_type_embeddings", torch::nn::Embedding(config.type_vocab_size, embedding_size));
  LayerNorm = register_module(
      "LayerNorm", torch::nn::LayerNorm(
                       torch::nn::LayerNormOptions({embedding_size}).eps(config.layer_norm_eps)));
}

torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& input_ids,
                                          const torch::Tensor& token_type_ids) {
  return forward_words(word_embeddings(input_ids), input_ids, token_type_ids);
}

torch::Tensor BertEmbeddingsImpl::forward_words(const torch::Tensor& words,
                                                const torch::Tensor& input_ids,
                                                const torch::Tensor& token_type_ids) {
  const auto length = input_ids.size(1);
  const auto max_positions = position_embeddings->weight.size(0);
  torch::Tensor position_ids;
  if (positions_ == Positions::AfterPadding) {
    const auto not_pad = input_ids.ne(pad_token_id_).to(torch::kLong);
    position_ids = torch::cumsum(not_pad, 1) * not_pad + pad_token_id_;
    // The largest position is at most length + pad; only then is the (syncing) max needed.
    if (length > 0 && length + pad_token_id_ >= max_positions &&
        position_ids.max().item<std::int64_t>() >= max_positions)
      throw Error(fmt::format("sequence of {} tokens needs more than the model's {} positions",
                              length, max_positions));
  } else {
    if (length > max_positions)
      throw Error(fmt::format("sequence of {} tokens is longer than the model's {} positions",
                              length, max_positions));
    position_ids = torch::arange(length, input_ids.options()).unsqueeze(0);
  }
  const auto types = token_type_ids.defined() ? token_type_ids : torch::zeros_like(input_ids);
  auto embeddings = words + token_type_embeddings(types);
  embeddings = embeddings + position_embeddings(position_ids);
  embeddings = normalize(LayerNorm, embeddings);
  return apply_dropout(embeddings, dropout_, is_training());
}

BertSelfAttentionImpl::BertSelfAttentionImpl(const io::HfConfig& config, double attention_dropout)
    : num_heads_(config.num_attention_heads), dropout_(attention_dropout) {
  query = register_module("query", torch::nn::Linear(config.hidden_size, config.hidden_size));
  key = register_module("key", torch::nn::Linear(config.hidden_size, config.hidden_size));
  value = register_module("value", torch::nn::Linear(config.hidden_size, config.hidden_size));
}

torch::Tensor BertSelfAttentionImpl::forward(const torch::Tensor& hidden,
                                             const torch::Tensor& additive_mask, bool first_only) {
  return multi_head_attention(query(first_rows(hidden, first_only)), key(hidden), value(hidden),
                              additive_mask, num_heads_, dropout_, is_training());
}

BertResidualOutputImpl::BertResidualOutputImpl(std::int64_t in_features, std::int64_t hidden_size,
                                               double eps, double dropout)
    : dropout_(dropout) {
  dense = register_module("dense", torch::nn::Linear(in_features, hidden_size));
  LayerNorm = register_module(
      "LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden_size}).eps(eps)));
}

torch::Tensor BertResidualOutputImpl::forward(const torch::Tensor& x,
                                              const torch::Tensor& residual) {
  return normalize(LayerNorm, apply_dropout(dense(x), dropout_, is_training()) + residual);
}

BertAttentionImpl::BertAttentionImpl(const io::HfConfig& config, const DropoutRates& dropout) {
  self = register_module("self", BertSelfAttention(config, dropout.attention));
  output = register_module("output", BertResidualOutput(config.hidden_size, config.hidden_size,
                                                        config.layer_norm_eps, dropout.hidden));
}

torch::Tensor BertAttentionImpl::forward(const torch::Tensor& hidden,
                                         const torch::Tensor& additive_mask, bool first_only) {
  return output(self(hidden, additive_mask, first_only), first_rows(hidden, first_only));
}

BertIntermediateImpl::BertIntermediateImpl(const io::HfConfig& config)
    : activation_(parse_activation(config.hidden_act)) {
  dense = register_module("dense", torch::nn::Linear(config.hidden_size, config.intermediate_size));
}

torch::Tensor BertIntermediateImpl::forward(const torch::Tensor& hidden) {
  return activate(activation_, dense(hidden));
}

BertLayerImpl::BertLayerImpl(const io::HfConfig& config, const DropoutRates& dropout) {
  attention = register_module("attention", BertAttention(config, dropout));
  intermediate = register_module("intermediate", BertIntermediate(config));
  output =
      register_module("output", BertResidualOutput(config.intermediate_size, config.hidden_size,
                                                   config.layer_norm_eps, dropout.hidden));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& hidden,
                                     const torch::Tensor& additive_mask, bool first_only) {
  const auto attended = attention(hidden, additive_mask, first_only);
  return output(intermediate(attended), attended);
}

BertEncoderImpl::BertEncoderImpl(const io::HfConfig& config, const DropoutRates& dropout) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers_.emplace_back(config, dropout);
    layer->push_back(layers_.back());
  }
}

torch::Tensor BertEncoderImpl::forward(torch::Tensor hidden, const torch::Tensor& additive_mask,
                                       std::vector<torch::Tensor>* hidden_states,
                                       bool first_token_last_layer) {
  if (hidden_states != nullptr) hidden_states->push_back(hidden);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    hidden = layers_[i](hidden, additive_mask, first_token_last_layer && i + 1 == layers_.size());
    if (hidden_states != nullptr) hidden_states->push_back(hidden);
  }
  return hidden;
}

BertPoolerImpl::BertPoolerImpl(std::int64_t hidden_size) {
  dense = register_module("dense", torch::nn::Linear(hidden_size, hidden_size));
}

torch::Tensor BertPoolerImpl::forward(const torch::Tensor& last_hidden_state) {
  return torch::tanh(dense(last_hidden_state.select(1, 0)));
}

void initialize_weights(torch::nn::Module& module, double initializer_range) {
  torch::NoGradGuard no_grad;
  module.apply([initializer_range](torch::nn::Module& m) {
    if (auto* linear = m.as<torch::nn::LinearImpl>()) {
      linear->weight.normal_(0.0, initializer_range);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* embedding = m.as<torch::nn::EmbeddingImpl>()) {
      embedding->weight.normal_(0.0, initializer_range);
      if (const auto& pad = embedding->options.padding_idx(); pad.has_value())
        embedding->weight[*pad].zero_();
    } else if (auto* norm = m.as<torch::nn::LayerNormImpl>()) {
      norm->weight.fill_(1.0);
      norm->bias.zero_();
    }
  });
}

}  // namespace emotune::model
