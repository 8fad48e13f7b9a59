#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "io/hf_config.h"

namespace emotune::model {

// What forward_detailed returns besides last_hidden_state, when asked for.
struct EncoderOutputRequest {
  bool hidden_states = false;  // the input of the first layer and the output of every layer
  bool pooler = false;         // tanh(W h[:, 0] + b), for families whose checkpoint has one
  // The last layer computes the first token alone: last_hidden_state (and the last of
  // hidden_states) is [batch, 1, hidden], equal to the full pass's first row. For heads that
  // read only the first token; it skips most of the last layer, forward and backward.
  bool first_token_only = false;
};

struct EncoderOutput {
  // [batch, length, hidden]; [batch, 1, hidden] if first_token_only was requested.
  torch::Tensor last_hidden_state;
  // [0] = encoder input (after ELECTRA's embeddings_project / ALBERT's
  // embedding_hidden_mapping_in), [k] = output of layer k; empty unless requested.
  std::vector<torch::Tensor> hidden_states;
  torch::Tensor pooler_output;  // [batch, hidden]; undefined unless requested and present
};

// A pretrained transformer body (BERT, RoBERTa, ELECTRA discriminator, ALBERT).
// Submodules are registered under HuggingFace's own names, so named_parameters() yields
// exactly the tensor names of a bare base-model checkpoint ("embeddings.word_embeddings.weight",
// "encoder.layer.0.attention.self.query.weight", ...): loading and saving need no name maps.
class Encoder : public torch::nn::Module {
 public:
  // input_ids, attention_mask: int64 [batch, length]; token_type_ids may be undefined
  // (zeros). Returns last_hidden_state [batch, length, hidden].
  virtual torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                const torch::Tensor& token_type_ids) {
    return forward_detailed(input_ids, attention_mask, token_type_ids, {}).last_hidden_state;
  }

  // forward() plus, on request, per-layer hidden states and the pooler output.
  virtual EncoderOutput forward_detailed(const torch::Tensor& input_ids,
                                         const torch::Tensor& attention_mask,
                                         const torch::Tensor& token_type_ids,
                                         const EncoderOutputRequest& request) = 0;

  // Whether a pooler (pooler.dense.* / ALBERT pooler.*) is part of the model. Published
  // masked-LM checkpoints (e.g. roberta-base) carry none; the loader then removes it.
  virtual bool has_pooler() const { return false; }
  virtual void remove_pooler() {}

  virtual std::int64_t hidden_size() const = 0;

  // "bert", "roberta", "electra" or "albert" (HF's model_type).
  virtual std::string model_type() const = 0;

  // The checkpoint-class prefix of this family ("bert", "roberta", "electra", "albert").
  virtual std::string weight_prefix() const = 0;
};

}  // namespace emotune::model

namespace emotune::model {

struct EncoderOptions {
  // Override the checkpoint's dropout probabilities (e.g. 0 for parity tests); unset = config.
  std::optional<double> hidden_dropout;
  std::optional<double> attention_dropout;
  // Where and in which floating dtype the weights live after loading (default: CPU, float32;
  // F16/BF16 checkpoints are converted).
  std::optional<torch::Device> device;
  std::optional<torch::ScalarType> dtype;
  // Standard deviation of the weights create_encoder draws (default: config.json's
  // initializer_range). An own pre-trained checkpoint records its pre-training init
  // (1/sqrt(hidden)), at which a fresh draw fine-tunes far worse than at 0.02
  // (docs/pretraining.md).
  std::optional<double> initializer_range;
};

// Builds the encoder described by `dir`/config.json (model_type bert | roberta | electra |
// albert) and loads its weights into it by the checkpoint's own tensor names, accepting bare
// base-model names and task/pre-training class prefixes ("electra.", ...). The weights are
// found as transformers finds them: model.safetensors, model.safetensors.index.json,
// pytorch_model.bin, pytorch_model.bin.index.json (model/checkpoint.h).
std::shared_ptr<Encoder> load_encoder(const std::filesystem::path& dir,
                                      const EncoderOptions& options = {});

// The same architecture with freshly initialised weights (config.json only).
std::shared_ptr<Encoder> create_encoder(const std::filesystem::path& config_json,
                                        const EncoderOptions& options = {});
std::shared_ptr<Encoder> create_encoder(const io::HfConfig& config,
                                        const EncoderOptions& options = {});

// The architecture of `config` (registry by model_type), weights as libtorch initialises
// them (no HF init, no loading); options.device/dtype are not applied.
std::shared_ptr<Encoder> build_encoder(const io::HfConfig& config,
                                       const EncoderOptions& options = {});

// The model types build_encoder knows.
std::vector<std::string> supported_model_types();

// Copies the tensors of a weights file (any open_weights reads) into `encoder` by name (see
// load_encoder). Missing weights, shape mismatches and non-float weights are Errors naming
// the tensor.
void load_encoder_weights(Encoder& encoder, const std::filesystem::path& weights_file);

// Replaces the encoder's word embeddings ("embeddings.word_embeddings.weight" in every family)
// by those of the checkpoint in `dir`, centred over the vocabulary and rescaled to standard
// deviation `std` (the padding row stays zero): a fresh encoder that starts from what minutes of
// pre-training teach best, the embeddings, and from nothing else (docs/pretraining.md). Error
// naming the file if the checkpoint has no such tensor or its shape differs.
void start_from_word_embeddings(Encoder& encoder, const std::filesystem::path& dir, double std);
// The same from a tensor (`emotune pretrain`'s co-occurrence start) of the encoder's embedding
// width and at most its vocabulary's rows: it replaces the first rows, the rest keep their draw
// (a config may declare more entries than the tokenizer has). Error on another shape or a
// constant tensor.
void start_from_word_embeddings(Encoder& encoder, const torch::Tensor& embeddings, double std);

// Multiplies every attention query and key weight and bias (any family's names: "...query.weight",
// "...key.bias") by `factor`, so that every attention logit is scaled by factor² before any
// training. Error if the encoder has no such tensor.
void scale_attention_logits(Encoder& encoder, double factor);

}  // namespace emotune::model
