#pragma once

#include "io/hf_config.h"
#include "model/encoder.h"
#include "model/layers.h"

namespace emotune::model {

// ElectraModel (the discriminator body): embeddings in embedding_size, then
// embeddings_project (E -> H) only when E != H, then BERT's layers. No pooler.
class ElectraModel : public Encoder {
 public:
  ElectraModel(const io::HfConfig& config, const DropoutRates& dropout);

  EncoderOutput forward_detailed(const torch::Tensor& input_ids,
                                 const torch::Tensor& attention_mask,
                                 const torch::Tensor& token_type_ids,
                                 const EncoderOutputRequest& request) override;
  // HF's inputs_embeds entry point, for token attributions (model/attribution.h).
  torch::Tensor word_embeddings(const torch::Tensor& input_ids);
  torch::Tensor forward_word_embeddings(const torch::Tensor& word_embeddings,
                                        const torch::Tensor& input_ids,
                                        const torch::Tensor& attention_mask,
                                        const torch::Tensor& token_type_ids);
  std::int64_t hidden_size() const override { return hidden_size_; }
  std::string model_type() const override { return "electra"; }
  std::string weight_prefix() const override { return "electra"; }

  BertEmbeddings embeddings{nullptr};
  torch::nn::Linear embeddings_project{nullptr};  // empty when embedding_size == hidden_size
  BertEncoder encoder{nullptr};

 private:
  std::int64_t hidden_size_;
};

}  // namespace emotune::model
