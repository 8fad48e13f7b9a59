#pragma once

#include <filesystem>
#include <memory>

#include "text/tokenizer.h"

namespace emotune::text {

// RoBERTa / GPT-2 byte-level BPE, as HuggingFace's slow RobertaTokenizer (transformers 4.30)
// reads a checkpoint folder: vocab.json (token -> id), merges.txt ("#version" line, then one
// "left right" merge per line, earlier = higher priority), and tokenizer_config.json
// (add_prefix_space, errors, model_max_length, clean_up_tokenization_spaces, special tokens
// as AddedToken objects with lstrip/rstrip), special_tokens_map.json and added_tokens.json
// when present.
//
// A merge whose result is not in vocab.json is accepted, as HF does not check either: the
// merged piece then shows up in tokenize() and maps to the unk id.
//
// Thread-safety: every const method may be called from several threads at once. The
// per-word BPE cache (bounded; cleared when full) is guarded by a shared mutex.
std::unique_ptr<Tokenizer> load_byte_bpe_tokenizer(const std::filesystem::path& dir);

}  // namespace emotune::text
