#include "text/tokenizer.h"

#include <algorithm>

#include "common/error.h"
#include "text/byte_bpe.h"
#include "text/unigram.h"
#include "text/wordpiece.h"

namespace emotune::text {

Encoding Tokenizer::encode(std::string_view text, std::size_t max_length) const {
  if (max_length == 0) max_length = std::min<std::size_t>(model_max_length_, 512);
  if (max_length < 2) {
    throw Error(fmt::format("max_length {} leaves no room for the special tokens", max_length));
  }
  if (special_.cls < 0 || special_.sep < 0) {
    throw Error(fmt::format("this {} tokenizer has no cls/sep token ids to frame a text with",
                            algorithm()));
  }
  auto ids = encode_without_specials(text);
  if (ids.size() > max_length - 2) ids.resize(max_length - 2);
  Encoding out;
  out.input_ids.reserve(ids.size() + 2);
  out.input_ids.push_back(special_.cls);
  out.input_ids.insert(out.input_ids.end(), ids.begin(), ids.end());
  out.input_ids.push_back(special_.sep);
  out.attention_mask.assign(out.input_ids.size(), 1);
  out.token_type_ids.assign(out.input_ids.size(), 0);
  return out;
}

BatchEncoding Tokenizer::encode_batch(const std::vector<std::string>& texts,
                                      std::size_t max_length) const {
  std::vector<Encoding> rows;
  rows.reserve(texts.size());
  BatchEncoding out;
  for (const auto& text : texts) {
    rows.push_back(encode(text, max_length));
    out.length = std::max(out.length, rows.back().input_ids.size());
  }
  out.batch = rows.size();
  const bool needs_padding = std::any_of(rows.begin(), rows.end(), [&](const Encoding& row) {
    return row.input_ids.size() < out.length;
  });
  if (needs_padding && special_.pad < 0) {
    throw Error(
        fmt::format("this {} tokenizer has no pad token id to pad a batch with", algorithm()));
  }
  out.input_ids.assign(out.batch * out.length, special_.pad);
  out.attention_mask.assign(out.batch * out.length, 0);
  out.token_type_ids.assign(out.batch * out.length, 0);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::copy(rows[r].input_ids.begin(), rows[r].input_ids.end(),
              out.input_ids.begin() + static_cast<std::ptrdiff_t>(r * out.length));
    std::copy(rows[r].attention_mask.begin(), rows[r].attention_mask.end(),
              out.attention_mask.begin() + static_cast<std::ptrdiff_t>(r * out.length));
  }
  return out;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) {
    throw Error(fmt::format("{}: not a checkpoint folder (no such directory)", dir.string()));
  }
  if (fs::exists(dir / "spiece.model")) return load_unigram_tokenizer(dir);
  if (fs::exists(dir / "vocab.json") || fs::exists(dir / "merges.txt")) {
    return load_byte_bpe_tokenizer(dir);
  }
  if (fs::exists(dir / "vocab.txt")) return load_wordpiece_tokenizer(dir);
  throw Error(
      fmt::format("{}: no tokenizer files found (expected vocab.txt for BERT/ELECTRA, vocab.json + "
                  "merges.txt for RoBERTa, or spiece.model for ALBERT)",
                  dir.string()));
}

}  // namespace emotune::text
