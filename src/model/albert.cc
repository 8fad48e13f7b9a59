#include "model/albert.h"

namespace emotune::model {

AlbertLayerImpl::AttentionImpl::AttentionImpl(const io::HfConfig& config,
                                              const DropoutRates& dropout)
    : num_heads(config.num_attention_heads), dropout(dropout) {
  const auto h = config.hidden_size;
  query = register_module("query", torch::nn::Linear(h, h));
  key = register_module("key", torch::nn::Linear(h, h));
  value = register_module("value", torch::nn::Linear(h, h));
  dense = register_module("dense", torch::nn::Linear(h, h));
  LayerNorm = register_module(
      "LayerNorm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}).eps(config.layer_norm_eps)));
}

torch::Tensor AlbertLayerImpl::AttentionImpl::forward(const torch::Tensor& hidden,
                                                      const torch::Tensor& additive_mask,
                                                      bool first_only) {
  const auto queries = first_rows(hidden, first_only);
  const auto context =
      multi_head_attention(query(queries), key(hidden), value(hidden), additive_mask, num_heads,
                           dropout.attention, is_training());
  return normalize(LayerNorm,
                   queries + apply_dropout(dense(context), dropout.hidden, is_training()));
}

AlbertLayerImpl::AlbertLayerImpl(const io::HfConfig& config, const DropoutRates& dropout)
    : activation_(parse_activation(config.hidden_act)) {
  attention = register_module("attention", Attention(config, dropout));
  ffn = register_module("ffn", torch::nn::Linear(config.hidden_size, config.intermediate_size));
  ffn_output = register_module("ffn_output",
                               torch::nn::Linear(config.intermediate_size, config.hidden_size));
  full_layer_layer_norm = register_module(
      "full_layer_layer_norm",
      torch::nn::LayerNorm(
          torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps)));
}

torch::Tensor AlbertLayerImpl::forward(const torch::Tensor& hidden,
                                       const torch::Tensor& additive_mask, bool first_only) {
  const auto attended = attention(hidden, additive_mask, first_only);
  // HF's AlbertLayer applies no dropout after ffn_output (its dropout module is unused).
  const auto transformed = ffn_output(activate(activation_, ffn(attended)));
  return normalize(full_layer_layer_norm, transformed + attended);
}

AlbertLayerGroupImpl::AlbertLayerGroupImpl(const io::HfConfig& config,
                                           const DropoutRates& dropout) {
  albert_layers = register_module("albert_layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config.inner_group_num; ++i) {
    layers_.emplace_back(config, dropout);
    albert_layers->push_back(layers_.back());
  }
}

torch::Tensor AlbertLayerGroupImpl::forward(torch::Tensor hidden,
                                            const torch::Tensor& additive_mask,
                                            bool first_token_last_layer) {
  for (std::size_t i = 0; i < layers_.size(); ++i)
    hidden = layers_[i](hidden, additive_mask, first_token_last_layer && i + 1 == layers_.size());
  return hidden;
}

AlbertTransformerImpl::AlbertTransformerImpl(const io::HfConfig& config,
                                             const DropoutRates& dropout)
    : num_hidden_layers_(config.num_hidden_layers) {
  embedding_hidden_mapping_in = register_module(
      "embedding_hidden_mapping_in", torch::nn::Linear(config.embedding_size, config.hidden_size));
  albert_layer_groups = register_module("albert_layer_groups", torch::nn::ModuleList());
  for (std::int64_t g = 0; g < config.num_hidden_groups; ++g) {
    groups_.emplace_back(config, dropout);
    albert_layer_groups->push_back(groups_.back());
  }
}

torch::Tensor AlbertTransformerImpl::forward(const torch::Tensor& embedded,
                                             const torch::Tensor& additive_mask,
                                             std::vector<torch::Tensor>* hidden_states,
                                             bool first_token_last_layer) {
  auto hidden = embedding_hidden_mapping_in(embedded);
  if (hidden_states != nullptr) hidden_states->push_back(hidden);
  const double layers_per_group =
      static_cast<double>(num_hidden_layers_) / static_cast<double>(groups_.size());
  for (std::int64_t i = 0; i < num_hidden_layers_; ++i) {
    const auto group = static_cast<std::size_t>(static_cast<double>(i) / layers_per_group);
    hidden = groups_.at(group)(hidden, additive_mask,
                               first_token_last_layer && i + 1 == num_hidden_layers_);
    if (hidden_states != nullptr) hidden_states->push_back(hidden);
  }
  return hidden;
}

AlbertModel::AlbertModel(const io::HfConfig& config, const DropoutRates& dropout)
    : hidden_size_(config.hidden_size) {
  embeddings = register_module(
      "embeddings", BertEmbeddings(config, config.embedding_size,
                                   BertEmbeddingsImpl::Positions::Sequential, dropout.hidden));
  encoder = register_module("encoder", AlbertTransformer(config, dropout));
  pooler = register_module("pooler", torch::nn::Linear(config.hidden_size, config.hidden_size));
}

void AlbertModel::remove_pooler() {
  if (pooler.is_empty()) return;
  unregister_module("pooler");
  pooler = torch::nn::Linear(nullptr);
}

EncoderOutput AlbertModel::forward_detailed(const torch::Tensor& input_ids,
                                            const torch::Tensor& attention_mask,
                                            const torch::Tensor& token_type_ids,
                                            const EncoderOutputRequest& request) {
  EncoderOutput out;
  const auto embedded = embeddings(input_ids, token_type_ids);
  const auto mask = additive_attention_mask(attention_mask, embedded.scalar_type());
  out.last_hidden_state =
      encoder(embedded, mask, request.hidden_states ? &out.hidden_states : nullptr,
              request.first_token_only);
  if (request.pooler && has_pooler())
    out.pooler_output = torch::tanh(pooler(out.last_hidden_state.select(1, 0)));
  return out;
}

}  // namespace emotune::model

namespace emotune::model {

torch::Tensor AlbertModel::word_embeddings(const torch::Tensor& input_ids) {
  return embeddings->word_embeddings(input_ids);
}

torch::Tensor AlbertModel::forward_word_embeddings(const torch::Tensor& word_embeddings,
                                                   const torch::Tensor& input_ids,
                                                   const torch::Tensor& attention_mask,
                                                   const torch::Tensor& token_type_ids) {
  const auto embedded = embeddings->forward_words(word_embeddings, input_ids, token_type_ids);
  const auto mask = additive_attention_mask(attention_mask, embedded.scalar_type());
  return encoder(embedded, mask, nullptr);
}

}  // namespace emotune::model
