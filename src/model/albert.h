#pragma once

#include <vector>

#include "io/hf_config.h"
#include "model/encoder.h"
#include "model/layers.h"

namespace emotune::model {

// One ALBERT layer: attention (query/key/value/dense + post-LN "attention.LayerNorm"), then
// ffn -> activation -> ffn_output -> full_layer_layer_norm(· + attention output).
class AlbertLayerImpl : public torch::nn::Module {
 public:
  AlbertLayerImpl(const io::HfConfig& config, const DropoutRates& dropout);
  // first_only as in layers.h: the first token's output alone, [batch, 1, hidden].
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                        bool first_only = false);

  struct AttentionImpl : torch::nn::Module {
    AttentionImpl(const io::HfConfig& config, const DropoutRates& dropout);
    torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                          bool first_only = false);
    torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, dense{nullptr};
    torch::nn::LayerNorm LayerNorm{nullptr};
    std::int64_t num_heads;
    DropoutRates dropout;
  };
  TORCH_MODULE(Attention);

  Attention attention{nullptr};
  torch::nn::Linear ffn{nullptr}, ffn_output{nullptr};
  torch::nn::LayerNorm full_layer_layer_norm{nullptr};

 private:
  Activation activation_;
};
TORCH_MODULE(AlbertLayer);

// "albert_layer_groups.{g}": inner_group_num layers run in sequence.
class AlbertLayerGroupImpl : public torch::nn::Module {
 public:
  AlbertLayerGroupImpl(const io::HfConfig& config, const DropoutRates& dropout);
  // first_token_last_layer: the group's last layer computes the first token alone.
  torch::Tensor forward(torch::Tensor hidden, const torch::Tensor& additive_mask,
                        bool first_token_last_layer = false);

  torch::nn::ModuleList albert_layers{nullptr};

 private:
  std::vector<AlbertLayer> layers_;
};
TORCH_MODULE(AlbertLayerGroup);

// "encoder": embedding_hidden_mapping_in (E -> H), then num_hidden_layers applications of the
// shared groups (layer i uses group i / (num_hidden_layers / num_hidden_groups)).
class AlbertTransformerImpl : public torch::nn::Module {
 public:
  AlbertTransformerImpl(const io::HfConfig& config, const DropoutRates& dropout);
  // first_token_last_layer: the last layer computes the first token alone ([batch, 1, hidden]).
  torch::Tensor forward(const torch::Tensor& embedded, const torch::Tensor& additive_mask,
                        std::vector<torch::Tensor>* hidden_states,
                        bool first_token_last_layer = false);

  torch::nn::Linear embedding_hidden_mapping_in{nullptr};
  torch::nn::ModuleList albert_layer_groups{nullptr};

 private:
  std::vector<AlbertLayerGroup> groups_;
  std::int64_t num_hidden_layers_;
};
TORCH_MODULE(AlbertTransformer);

// AlbertModel: factorized embeddings, shared layers, pooler ("pooler.weight/bias") + tanh.
class AlbertModel : public Encoder {
 public:
  AlbertModel(const io::HfConfig& config, const DropoutRates& dropout);

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
  std::string model_type() const override { return "albert"; }
  std::string weight_prefix() const override { return "albert"; }
  bool has_pooler() const override { return !pooler.is_empty(); }
  void remove_pooler() override;

  BertEmbeddings embeddings{nullptr};
  AlbertTransformer encoder{nullptr};
  torch::nn::Linear pooler{nullptr};

 private:
  std::int64_t hidden_size_;
};

}  // namespace emotune::model
