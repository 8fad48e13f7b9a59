#pragma once

// The BERT-style building blocks shared by the encoder families, registered under the names
// HuggingFace's modeling_bert.py uses (ELECTRA and RoBERTa reuse them as HF does).
//
// A layer asked for its first token alone (first_only) takes keys and values from every token
// but queries, attention output, feed-forward and norms for the first row only: when a head
// reads only the first token of the last layer, that is all of it that matters, and it skips
// about five sixths of that layer's work, in training as in prediction.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "io/hf_config.h"

namespace emotune::model {

enum class Activation { Gelu, GeluNew, GeluPytorchTanh, GeluFast, Relu, Silu, Tanh };

// hidden_act spelling of config.json -> Activation; Error for an unknown name.
Activation parse_activation(const std::string& name);
torch::Tensor activate(Activation activation, const torch::Tensor& x);

// The first token of every sequence, [batch, 1, features], or x itself when !first_only.
torch::Tensor first_rows(const torch::Tensor& x, bool first_only);

// Dropout probabilities after EncoderOptions overrides.
struct DropoutRates {
  double hidden = 0.0;
  double attention = 0.0;
};

// attention_mask (1 = token, 0 = padding) [batch, length] -> additive [batch, 1, 1, length]
// of (1 - mask) * lowest(dtype), as HF's get_extended_attention_mask.
torch::Tensor additive_attention_mask(const torch::Tensor& attention_mask, torch::ScalarType dtype);

// Dropout as torch::dropout (kept elements scaled by 1/(1-p)) with its mask drawn by
// dropout_kernel.h on every intra-op thread: torch's CPU bernoulli draws one mt19937 stream
// on one thread, a quarter of a bf16 MiniLM training step. p is resolved to 1/65536. The
// stream's key is drawn from torch's default generator, so torch::manual_seed fixes the masks.
// Off the CPU, torch::dropout.
torch::Tensor apply_dropout(const torch::Tensor& x, double p, bool training);

// `norm` applied in the dtype of its weights. Under mixed precision (runtime/autocast.h) a
// bfloat16 product can reach a LayerNorm whose weights are float32: libtorch 1.13's CPU kernel
// refuses the mix, so the input is taken to float32 first, as 2.x's autocast does too.
torch::Tensor normalize(torch::nn::LayerNorm& norm, const torch::Tensor& x);

// Scaled dot-product attention over projected q [batch, queries, hidden] and k, v [batch,
// length, hidden], in HF's order of operations (scores = q k^T, then / sqrt(head_dim), + mask,
// softmax, dropout, · v). Returns the context [batch, queries, hidden].
torch::Tensor multi_head_attention(const torch::Tensor& query, const torch::Tensor& key,
                                   const torch::Tensor& value, const torch::Tensor& additive_mask,
                                   std::int64_t num_heads, double dropout, bool training);

// Sum of word, position and token-type embeddings, LayerNorm, dropout (in embedding_size).
class BertEmbeddingsImpl : public torch::nn::Module {
 public:
  enum class Positions {
    Sequential,   // 0..L-1 (BERT, ELECTRA, ALBERT)
    AfterPadding  // cumsum(id != pad) * (id != pad) + pad (RoBERTa)
  };
  BertEmbeddingsImpl(const io::HfConfig& config, std::int64_t embedding_size, Positions positions,
                     double dropout);
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids);
  // forward() with the word embeddings of input_ids given (HF's inputs_embeds); input_ids
  // still set the position ids.
  torch::Tensor forward_words(const torch::Tensor& words, const torch::Tensor& input_ids,
                              const torch::Tensor& token_type_ids);

  torch::nn::Embedding word_embeddings{nullptr};
  torch::nn::Embedding position_embeddings{nullptr};
  torch::nn::Embedding token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};

 private:
  Positions positions_;
  std::int64_t pad_token_id_;
  double dropout_;
};
TORCH_MODULE(BertEmbeddings);

class BertSelfAttentionImpl : public torch::nn::Module {
 public:
  BertSelfAttentionImpl(const io::HfConfig& config, double attention_dropout);
  // first_only: queries for the first token alone ([batch, 1, hidden] out); keys and values
  // still come from every token.
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                        bool first_only = false);

  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
  std::int64_t num_heads() const { return num_heads_; }

 private:
  std::int64_t num_heads_;
  double dropout_;
};
TORCH_MODULE(BertSelfAttention);

// dense -> dropout -> LayerNorm(· + residual); BertSelfOutput and BertOutput share this shape.
class BertResidualOutputImpl : public torch::nn::Module {
 public:
  BertResidualOutputImpl(std::int64_t in_features, std::int64_t hidden_size, double eps,
                         double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);

  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(BertResidualOutput);

class BertAttentionImpl : public torch::nn::Module {
 public:
  BertAttentionImpl(const io::HfConfig& config, const DropoutRates& dropout);
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                        bool first_only = false);

  BertSelfAttention self{nullptr};
  BertResidualOutput output{nullptr};
};
TORCH_MODULE(BertAttention);

class BertIntermediateImpl : public torch::nn::Module {
 public:
  explicit BertIntermediateImpl(const io::HfConfig& config);
  torch::Tensor forward(const torch::Tensor& hidden);

  torch::nn::Linear dense{nullptr};
  Activation activation() const { return activation_; }

 private:
  Activation activation_;
};
TORCH_MODULE(BertIntermediate);

class BertLayerImpl : public torch::nn::Module {
 public:
  BertLayerImpl(const io::HfConfig& config, const DropoutRates& dropout);
  // first_only: the first token's output alone, [batch, 1, hidden] (see BertSelfAttention).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                        bool first_only = false);

  BertAttention attention{nullptr};
  BertIntermediate intermediate{nullptr};
  BertResidualOutput output{nullptr};
};
TORCH_MODULE(BertLayer);

// "encoder.layer.{i}": num_hidden_layers independent post-LN layers.
class BertEncoderImpl : public torch::nn::Module {
 public:
  BertEncoderImpl(const io::HfConfig& config, const DropoutRates& dropout);
  // Appends the input and every layer's output to `hidden_states` when it is not null.
  // first_token_last_layer: the last layer computes the first token alone ([batch, 1, hidden]).
  torch::Tensor forward(torch::Tensor hidden, const torch::Tensor& additive_mask,
                        std::vector<torch::Tensor>* hidden_states,
                        bool first_token_last_layer = false);

  torch::nn::ModuleList layer{nullptr};
  const std::vector<BertLayer>& layers() const { return layers_; }

 private:
  std::vector<BertLayer> layers_;
};
TORCH_MODULE(BertEncoder);

// tanh(dense(h[:, 0])).
class BertPoolerImpl : public torch::nn::Module {
 public:
  explicit BertPoolerImpl(std::int64_t hidden_size);
  torch::Tensor forward(const torch::Tensor& last_hidden_state);

  torch::nn::Linear dense{nullptr};
};
TORCH_MODULE(BertPooler);

// HF's _init_weights: Linear/Embedding weights ~ N(0, initializer_range), biases 0, the padding
// row of embeddings 0, LayerNorm weight 1 and bias 0.
void initialize_weights(torch::nn::Module& module, double initializer_range);

}  // namespace emotune::model
