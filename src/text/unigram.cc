#include "text/unigram.h"

#include "common/error.h"

namespace emotune::text {

std::unique_ptr<Tokenizer> load_unigram_tokenizer(const std::filesystem::path& dir) {
  throw Error(dir.string() + ": the unigram tokenizer is not implemented yet");
}

}  // namespace emotune::text
