#pragma once

#include <cstddef>
#include <filesystem>
#include <istream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "model/encoder.h"
#include "text/tokenizer.h"

namespace emotune::model {

struct EncodeTextsOptions {
  std::size_t batch_size = 8;
  std::size_t max_length = 0;  // 0 = the tokenizer's model_max_length
};

// Hidden states of many texts, on the CPU in float32.
struct EncodedTexts {
  torch::Tensor last_hidden_state;  // [texts, L, hidden], L = longest text; zeros at padding
  torch::Tensor attention_mask;     // int64 [texts, L]
  torch::Tensor first_token;        // [texts, hidden]
};

// Tokenizes every text, then runs the encoder (in eval mode, under InferenceMode) over
// consecutive batches padded to the longest text of the batch, in input order.
EncodedTexts encode_texts(Encoder& encoder, const text::Tokenizer& tokenizer,
                          const std::vector<std::string>& texts,
                          const EncodeTextsOptions& options = {});

// The "text" field of every line of a JSON Lines stream (blank lines skipped); a line that
// is not an object with a string "text" is an Error naming `origin` and the line.
std::vector<std::string> read_jsonl_texts(std::istream& in, const std::filesystem::path& origin);

}  // namespace emotune::model
