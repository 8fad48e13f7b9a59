#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emotune::text {

// One text, as HuggingFace's `tokenizer(text, truncation=True, max_length=N)` returns it.
struct Encoding {
  std::vector<std::int64_t> input_ids;
  std::vector<std::int64_t> attention_mask;
  std::vector<std::int64_t> token_type_ids;  // all zeros for single texts
};

// Several texts right-padded to the longest (HF `padding=True`); row-major [batch, length].
struct BatchEncoding {
  std::size_t batch = 0;
  std::size_t length = 0;
  std::vector<std::int64_t> input_ids;
  std::vector<std::int64_t> attention_mask;
  std::vector<std::int64_t> token_type_ids;
};

struct SpecialTokenIds {
  std::int64_t cls = -1;  // [CLS] or <s>
  std::int64_t sep = -1;  // [SEP] or </s>
  std::int64_t pad = -1;
  std::int64_t unk = -1;
  std::int64_t mask = -1;
};

// A checkpoint's tokenizer. Subclasses implement one algorithm each (wordpiece, byte_bpe,
// unigram); the framing (specials, truncation, padding) is shared here.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // HF `tokenizer.tokenize(text)`: the pieces, no special tokens added, not truncated.
  // Throws Error on invalid UTF-8.
  virtual std::vector<std::string> tokenize(std::string_view text) const = 0;

  // The ids of tokenize(text) (unknown pieces map to the unk id).
  virtual std::vector<std::int64_t> encode_without_specials(std::string_view text) const = 0;

  virtual std::string id_to_token(std::int64_t id) const = 0;
  virtual std::optional<std::int64_t> token_to_id(std::string_view token) const = 0;
  virtual std::size_t vocab_size() const = 0;

  // Ids back to text, as HF `decode(ids, skip_special_tokens=...)`.
  virtual std::string decode(const std::vector<std::int64_t>& ids,
                             bool skip_special_tokens = true) const = 0;

  // "wordpiece", "byte_bpe" or "unigram".
  virtual std::string algorithm() const = 0;

  const SpecialTokenIds& special_ids() const { return special_; }
  std::size_t model_max_length() const { return model_max_length_; }

  // [CLS] + the first max_length-2 ids + [SEP]; max_length 0 = model_max_length (≤ 512).
  Encoding encode(std::string_view text, std::size_t max_length = 0) const;
  BatchEncoding encode_batch(const std::vector<std::string>& texts,
                             std::size_t max_length = 0) const;

 protected:
  SpecialTokenIds special_;
  std::size_t model_max_length_ = 512;
};

// Loads the tokenizer of a HuggingFace checkpoint folder from its own files:
// vocab.txt (WordPiece), vocab.json + merges.txt (byte-level BPE), spiece.model (Unigram),
// with tokenizer_config.json / special_tokens_map.json when present.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir);

}  // namespace emotune::text
