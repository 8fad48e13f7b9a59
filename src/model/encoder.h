#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <torch/torch.h>

namespace emotune::model {

// A pretrained transformer body (BERT, RoBERTa, ELECTRA discriminator, ALBERT).
// Submodules are registered under HuggingFace's own names, so named_parameters() yields
// exactly the tensor names of a bare base-model checkpoint ("embeddings.word_embeddings.weight",
// "encoder.layer.0.attention.self.query.weight", ...): loading and saving need no name maps.
class Encoder : public torch::nn::Module {
 public:
  // input_ids, attention_mask: int64 [batch, length]; token_type_ids may be undefined
  // (zeros). Returns last_hidden_state [batch, length, hidden].
  virtual torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                const torch::Tensor& token_type_ids) = 0;

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
};

// Builds the encoder described by `dir`/config.json (model_type bert | roberta | electra |
// albert) and loads `dir`/model.safetensors into it by the checkpoint's own tensor names,
// accepting bare base-model names and task/pre-training class prefixes ("electra.", ...).
std::shared_ptr<Encoder> load_encoder(const std::filesystem::path& dir,
                                      const EncoderOptions& options = {});

// The same architecture with freshly initialised weights (config.json only).
std::shared_ptr<Encoder> create_encoder(const std::filesystem::path& config_json,
                                        const EncoderOptions& options = {});

}  // namespace emotune::model
