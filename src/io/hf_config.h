#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace emotune::io {

// The hyper-parameters of a HuggingFace encoder's config.json that emotune's encoders use.
struct HfConfig {
  std::filesystem::path origin;  // the file it came from, for error messages
  std::string model_type;        // "bert" | "roberta" | "electra" | "albert" | ...
  std::vector<std::string> architectures;
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t intermediate_size = 0;
  std::string hidden_act = "gelu";  // gelu | gelu_new | gelu_pytorch_tanh | gelu_fast | relu | ...
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  std::int64_t max_position_embeddings = 512;
  std::int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  std::int64_t pad_token_id = 0;
  std::string position_embedding_type = "absolute";
  // ELECTRA/ALBERT factorized embeddings; equals hidden_size when the config has none.
  std::int64_t embedding_size = 0;
  // ALBERT weight sharing.
  std::int64_t num_hidden_groups = 1;
  std::int64_t inner_group_num = 1;
  // Standard deviation of freshly initialised weights (create_encoder).
  double initializer_range = 0.02;

  std::int64_t head_size() const { return hidden_size / num_attention_heads; }
};

// Parses config.json text; Errors name `origin` and the key at fault. Required keys:
// model_type, vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
// intermediate_size; the rest default to HF's values for BERT. position_embedding_type other
// than "absolute" is refused (relative positions are not implemented).
HfConfig parse_hf_config(std::string_view json_text, const std::filesystem::path& origin);

// Reads and parses a config.json file (or `dir`/config.json when given a directory).
HfConfig load_hf_config(const std::filesystem::path& path);

// Names of the activations parse_hf_config accepts in hidden_act.
const std::vector<std::string>& supported_activations();

}  // namespace emotune::io
