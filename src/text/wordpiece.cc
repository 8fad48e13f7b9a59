#include "text/wordpiece.h"

#include "common/error.h"

namespace emotune::text {

std::unique_ptr<Tokenizer> load_wordpiece_tokenizer(const std::filesystem::path& dir) {
  throw Error(dir.string() + ": the wordpiece tokenizer is not implemented yet");
}

}  // namespace emotune::text
