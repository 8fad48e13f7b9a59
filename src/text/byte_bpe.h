#pragma once

#include <filesystem>
#include <memory>

#include "text/tokenizer.h"

namespace emotune::text {

std::unique_ptr<Tokenizer> load_byte_bpe_tokenizer(const std::filesystem::path& dir);

}  // namespace emotune::text
