#pragma once

#include <filesystem>
#include <memory>

#include "text/tokenizer.h"

namespace emotune::text {

// HF's slow AlbertTokenizer (transformers 4.30) over a checkpoint folder's spiece.model
// (SentencePiece unigram) and tokenizer_config.json / special_tokens_map.json. Throws Error
// naming the file when spiece.model is missing or unreadable or a config value has the wrong type.
std::unique_ptr<Tokenizer> load_unigram_tokenizer(const std::filesystem::path& dir);

}  // namespace emotune::text
