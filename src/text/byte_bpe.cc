#include "text/byte_bpe.h"

#include "common/error.h"

namespace emotune::text {

std::unique_ptr<Tokenizer> load_byte_bpe_tokenizer(const std::filesystem::path& dir) {
  throw Error(dir.string() + ": the byte_bpe tokenizer is not implemented yet");
}

}  // namespace emotune::text
