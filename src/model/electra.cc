#include "model/electra.h"

namespace emotune::model {

ElectraModel::ElectraModel(const io::HfConfig& config, const DropoutRates& dropout)
    : hidden_size_(config.hidden_size) {
  embeddings = register_module(
      "embeddings", BertEmbeddings(config, config.embedding_size,
                                   BertEmbeddingsImpl::Positions::Sequential, dropout.hidden));
  if (config.embedding_size != config.hidden_size)
    embeddings_project = register_module(
        "embeddings_project", torch::nn::Linear(config.embedding_size, config.hidden_size));
  encoder = register_module("encoder", BertEncoder(config, dropout));
}

EncoderOutput ElectraModel::forward_detailed(const torch::Tensor& input_ids,
                                             const torch::Tensor& attention_mask,
                                             const torch::Tensor& token_type_ids,
                                             const EncoderOutputRequest& request) {
  EncoderOutput out;
  auto hidden = embeddings(input_ids, token_type_ids);
  if (!embeddings_project.is_empty()) hidden = embeddings_project(hidden);
  const auto mask = additive_attention_mask(attention_mask, hidden.scalar_type());
  out.last_hidden_state = encoder(
      hidden, mask, request.hidden_states ? &out.hidden_states : nullptr, request.first_token_only);
  return out;
}

}  // namespace emotune::model

namespace emotune::model {

torch::Tensor ElectraModel::word_embeddings(const torch::Tensor& input_ids) {
  return embeddings->word_embeddings(input_ids);
}

torch::Tensor ElectraModel::forward_word_embeddings(const torch::Tensor& word_embeddings,
                                                    const torch::Tensor& input_ids,
                                                    const torch::Tensor& attention_mask,
                                                    const torch::Tensor& token_type_ids) {
  auto hidden = embeddings->forward_words(word_embeddings, input_ids, token_type_ids);
  if (!embeddings_project.is_empty()) hidden = embeddings_project(hidden);
  const auto mask = additive_attention_mask(attention_mask, hidden.scalar_type());
  return encoder(hidden, mask, nullptr);
}

}  // namespace emotune::model
