#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace emotune::text {

// Learns a tokenizer from raw training texts and writes it in HuggingFace's folder layout, so
// that load_tokenizer(folder) reads it back.
//
// wordpiece: vocab.txt + tokenizer_config.json (BertTokenizer) + special_tokens_map.json.
//   Texts are split into words by BERT's BasicTokenizer (lower-casing and stripping accents
//   when `lowercase`). The vocabulary is [PAD] [UNK] [CLS] [SEP] [MASK], then every character
//   seen, both as a word start "c" and as a continuation "##c" (so nothing seen in training is
//   ever [UNK]), then pieces learned by BPE-style merging: each word starts as its characters
//   [c1, ##c2, ...]; repeatedly the adjacent pair with the highest count (weighted by word
//   frequency; ties: the lexicographically smallest (left, right)) is merged everywhere, and the
//   merged piece ("un" + "##able" -> "unable", "##ab" + "##le" -> "##able") is added when new.
//   Stops at `vocab_size` entries or when no pair occurs at least `min_pair_count` times.
//
// unigram: spiece.model + tokenizer_config.json (AlbertTokenizer) + special_tokens_map.json.
//   SentencePiece's unigram trainer on the texts after AlbertTokenizer's own pre-processing
//   (whitespace collapsed, lower-cased and accents dropped when `lowercase`), nmt_nfkc
//   normalization, character coverage 1.0, ids as ALBERT's: <pad>=0 <unk>=1 [CLS]=2 [SEP]=3
//   [MASK]=4 (control symbols). The vocabulary may end below `vocab_size` on a small corpus.
//
// Both are deterministic: the same texts and options give byte-identical files.
enum class VocabKind { wordpiece, unigram };

std::string_view vocab_kind_name(VocabKind kind);
// "wordpiece" or "unigram"; an Error otherwise.
VocabKind parse_vocab_kind(std::string_view name);

struct VocabTrainOptions {
  VocabKind kind = VocabKind::wordpiece;
  std::size_t vocab_size = 16000;
  bool lowercase = true;
  std::size_t min_pair_count = 2;  // wordpiece only
};

struct VocabTrainResult {
  std::size_t vocab_size = 0;  // entries in the written vocabulary
  std::size_t texts = 0;
  std::size_t words = 0;  // wordpiece: distinct basic-tokenized words
  std::vector<std::filesystem::path> files;
};

// Trains on `texts` and writes the folder `out_dir` (created when missing; files replaced
// atomically). Throws Error for an empty corpus, invalid UTF-8 (naming the text's index), a
// vocabulary size below what the special tokens need, or a trainer failure.
VocabTrainResult train_vocab(const std::vector<std::string>& texts,
                             const std::filesystem::path& out_dir,
                             const VocabTrainOptions& options);

// The WordPiece vocabulary alone, in id order (see above).
std::vector<std::string> learn_wordpiece_vocab(const std::vector<std::string>& texts,
                                               const VocabTrainOptions& options,
                                               std::size_t* distinct_words = nullptr);

}  // namespace emotune::text
