#pragma once

#include <filesystem>
#include <memory>

#include "text/tokenizer.h"

namespace emotune::text {

// BERT / ELECTRA (HF BertTokenizer, ElectraTokenizer): vocab.txt, one token per line, the id
// is the line index; options and special tokens from tokenizer_config.json and
// special_tokens_map.json. Throws Error naming the file and line for a missing, empty or
// corrupt vocab.txt, a special token absent from it, or a bad tokenizer_config.json value.
std::unique_ptr<Tokenizer> load_wordpiece_tokenizer(const std::filesystem::path& dir);

}  // namespace emotune::text
