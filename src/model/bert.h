#pragma once

#include "io/hf_config.h"
#include "model/encoder.h"
#include "model/layers.h"

namespace emotune::model {

// BertModel: embeddings -> post-LN layers -> optional pooler.dense + tanh.
class BertModel : public Encoder {
 public:
  BertModel(const io::HfConfig& config, const DropoutRates& dropout);

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
  std::string model_type() const override { return "bert"; }
  std::string weight_prefix() const override { return "bert"; }
  bool has_pooler() const override { return !pooler.is_empty(); }
  void remove_pooler() override;

  BertEmbeddings embeddings{nullptr};
  BertEncoder encoder{nullptr};
  BertPooler pooler{nullptr};

 protected:
  BertModel(const io::HfConfig& config, const DropoutRates& dropout,
            BertEmbeddingsImpl::Positions positions);

 private:
  std::int64_t hidden_size_;
};

}  // namespace emotune::model
