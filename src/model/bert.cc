#include "model/bert.h"

namespace emotune::model {

BertModel::BertModel(const io::HfConfig& config, const DropoutRates& dropout)
    : BertModel(config, dropout, BertEmbeddingsImpl::Positions::Sequential) {}

BertModel::BertModel(const io::HfConfig& config, const DropoutRates& dropout,
                     BertEmbeddingsImpl::Positions positions)
    : hidden_size_(config.hidden_size) {
  embeddings = register_module(
      "embeddings", BertEmbeddings(config, config.hidden_size, positions, dropout.hidden));
  encoder = register_module("encoder", BertEncoder(config, dropout));
  pooler = register_module("pooler", BertPooler(config.hidden_size));
}

void BertModel::remove_pooler() {
  if (pooler.is_empty()) return;
  unregister_module("pooler");
  pooler = BertPooler(nullptr);
}

EncoderOutput BertModel::forward_detailed(const torch::Tensor& input_ids,
                                          const torch::Tensor& attention_mask,
                                          const torch::Tensor& token_type_ids,
                                          const EncoderOutputRequest& request) {
  EncoderOutput out;
  const auto embedded = embeddings(input_ids, token_type_ids);
  const auto mask = additive_attention_mask(attention_mask, embedded.scalar_type());
  out.last_hidden_state =
      encoder(embedded, mask, request.hidden_states ? &out.hidden_states : nullptr,
              request.first_token_only);
  if (request.pooler && has_pooler()) out.pooler_output = pooler(out.last_hidden_state);
  return out;
}

}  // namespace emotune::model

namespace emotune::model {

torch::Tensor BertModel::word_embeddings(const torch::Tensor& input_ids) {
  return embeddings->word_embeddings(input_ids);
}

torch::Tensor BertModel::forward_word_embeddings(const torch::Tensor& word_embeddings,
                                                 const torch::Tensor& input_ids,
                                                 const torch::Tensor& attention_mask,
                                                 const torch::Tensor& token_type_ids) {
  const auto embedded = embeddings->forward_words(word_embeddings, input_ids, token_type_ids);
  const auto mask = additive_attention_mask(attention_mask, embedded.scalar_type());
  return encoder(embedded, mask, nullptr);
}

}  // namespace emotune::model
