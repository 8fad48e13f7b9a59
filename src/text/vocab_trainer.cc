#include "text/vocab_trainer.h"

#include <dlfcn.h>

#include <algorithm>
#include <map>
#include <new>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>
#include <sentencepiece_trainer.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"
#include "text/albert_normalizer.h"
#include "text/bert_normalizer.h"
#include "text/unicode.h"

namespace emotune::text {
namespace {

const std::vector<std::string> kBertSpecials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

// ---------------------------------------------------------------------------------------------
// WordPiece: BPE-style merges over basic-tokenized words.

std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  return 4;
}

std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
         static_cast<std::uint32_t>(right);
}

class MergeLearner {
 public:
  explicit MergeLearner(const std::map<std::string, std::int64_t>& word_counts) {
    for (const auto& [word, count] : word_counts) {
      Word entry;
      entry.count = count;
      for (std::size_t i = 0; i < word.size();) {
        const std::size_t length = std::min(utf8_length(word[i]), word.size() - i);
        const std::string character = word.substr(i, length);
        entry.symbols.push_back(symbol_id(i == 0 ? character : "##" + character));
        alphabet_.insert(character);
        i += length;
      }
      words_.push_back(std::move(entry));
    }
    for (std::size_t w = 0; w < words_.size(); ++w) add_pairs(w);
    for (const auto& [key, count] : pair_counts_) push(key);
  }

  // Every character seen, as a word start and as a continuation, sorted.
  std::vector<std::string> alphabet_pieces() const {
    std::vector<std::string> pieces;
    for (const auto& character : alphabet_) {
      pieces.push_back(character);
      pieces.push_back("##" + character);
    }
    std::sort(pieces.begin(), pieces.end());
    return pieces;
  }

  // The next merged piece, or an empty string when no pair reaches `min_count`.
  std::string merge_next(std::int64_t min_count) {
    while (!queue_.empty()) {
      const Candidate top = queue_.top();
      queue_.pop();
      const auto it = pair_counts_.find(top.key);
      if (it == pair_counts_.end() || it->second != top.count) continue;  // stale entry
      if (top.count < min_count) return {};
      return apply_merge(top.key);
    }
    return {};
  }

 private:
  struct Word {
    std::vector<std::int32_t> symbols;
    std::int64_t count = 0;
  };
  struct Candidate {
    std::int64_t count;
    std::uint64_t key;
  };
  struct Order {
    const MergeLearner* learner;
    // std::priority_queue pops the largest: highest count first, then smallest (left, right).
    bool operator()(const Candidate& a, const Candidate& b) const {
      if (a.count != b.count) return a.count < b.count;
      return learner->pair_strings(a.key) > learner->pair_strings(b.key);
    }
  };

  std::pair<std::string_view, std::string_view> pair_strings(std::uint64_t key) const {
    return {symbols_[key >> 32], symbols_[key & 0xFFFFFFFFu]};
  }

  std::int32_t symbol_id(const std::string& piece) {
    const auto [it, inserted] =
        symbol_ids_.emplace(piece, static_cast<std::int32_t>(symbols_.size()));
    if (inserted) symbols_.push_back(piece);
    return it->second;
  }

  void add_pairs(std::size_t w) {
    const auto& word = words_[w];
    for (std::size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      const auto key = pair_key(word.symbols[i], word.symbols[i + 1]);
      pair_counts_[key] += word.count;
      occurrences_[key].push_back(static_cast<std::int32_t>(w));
      touched_.insert(key);
    }
  }

  void remove_pairs(std::size_t w) {
    const auto& word = words_[w];
    for (std::size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      const auto key = pair_key(word.symbols[i], word.symbols[i + 1]);
      auto it = pair_counts_.find(key);
      it->second -= word.count;
      if (it->second == 0) pair_counts_.erase(it);
      touched_.insert(key);
    }
  }

  void push(std::uint64_t key) { queue_.push({pair_counts_.at(key), key}); }

  std::string apply_merge(std::uint64_t key) {
    const auto left = static_cast<std::int32_t>(key >> 32);
    const auto right = static_cast<std::int32_t>(key & 0xFFFFFFFFu);
    const std::string& right_piece = symbols_[right];
    const std::string merged =
        symbols_[left] + (right_piece.starts_with("##") ? right_piece.substr(2) : right_piece);
    const std::int32_t merged_id = symbol_id(merged);

    // Words listed for a pair may have lost it since; duplicates come from repeated listing.
    auto candidates = std::move(occurrences_[key]);
    occurrences_.erase(key);
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    touched_.clear();
    for (const auto w : candidates) {
      auto& symbols = words_[w].symbols;
      bool present = false;
      for (std::size_t i = 0; i + 1 < symbols.size() && !present; ++i)
        present = symbols[i] == left && symbols[i + 1] == right;
      if (!present) continue;
      remove_pairs(w);
      std::vector<std::int32_t> rewritten;
      rewritten.reserve(symbols.size());
      for (std::size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          rewritten.push_back(merged_id);
          ++i;
        } else {
          rewritten.push_back(symbols[i]);
        }
      }
      symbols = std::move(rewritten);
      add_pairs(w);
    }
    std::vector<std::uint64_t> changed(touched_.begin(), touched_.end());
    std::sort(changed.begin(), changed.end());
    for (const auto changed_key : changed) {
      if (pair_counts_.contains(changed_key)) push(changed_key);
    }
    return merged;
  }

  std::vector<Word> words_;
  std::vector<std::string> symbols_;
  std::unordered_map<std::string, std::int32_t> symbol_ids_;
  std::set<std::string> alphabet_;
  std::unordered_map<std::uint64_t, std::int64_t> pair_counts_;
  std::unordered_map<std::uint64_t, std::vector<std::int32_t>> occurrences_;
  std::unordered_set<std::uint64_t> touched_;
  std::priority_queue<Candidate, std::vector<Candidate>, Order> queue_{Order{this}};
};

nlohmann::json bert_tokenizer_config(bool lowercase) {
  return {{"tokenizer_class", "BertTokenizer"},
          {"do_lower_case", lowercase},
          {"do_basic_tokenize", true},
          {"never_split", nullptr},
          {"strip_accents", nullptr},
          {"tokenize_chinese_chars", true},
          {"clean_up_tokenization_spaces", true},
          {"model_max_length", 512},
          {"unk_token", "[UNK]"},
          {"sep_token", "[SEP]"},
          {"pad_token", "[PAD]"},
          {"cls_token", "[CLS]"},
          {"mask_token", "[MASK]"}};
}

nlohmann::json bert_special_tokens_map() {
  return {{"unk_token", "[UNK]"},
          {"sep_token", "[SEP]"},
          {"pad_token", "[PAD]"},
          {"cls_token", "[CLS]"},
          {"mask_token", "[MASK]"}};
}

// ---------------------------------------------------------------------------------------------
// Unigram: SentencePiece's trainer.

// Debian's libsentencepiece bundles a protobuf-lite that clashes with libtorch's libprotobuf in
// one process (see unigram.cc), so the trainer library is opened privately and reached through
// dlsym'd entry points only; no symbol of it is linked.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kDeepBind = 0;
#else
constexpr int kDeepBind = RTLD_DEEPBIND;
#endif

using TrainArguments = std::unordered_map<std::string, std::string>;
using TrainFunction = sentencepiece::util::Status (*)(const TrainArguments&,
                                                      sentencepiece::SentenceIterator*,
                                                      std::string*);

class SentencePieceTrainerLibrary {
 public:
  static const SentencePieceTrainerLibrary& get() {
    static const SentencePieceTrainerLibrary library;
    return library;
  }

  TrainFunction train = nullptr;
  void (*destroy_status)(void*) = nullptr;
  const char* (*status_message)(const void*) = nullptr;
  void (*set_seed)(unsigned int) = nullptr;
  void (*set_min_log_level)(int) = nullptr;
  int (*get_min_log_level)() = nullptr;

 private:
  static constexpr const char* kName = "libsentencepiece_train.so.0";

  SentencePieceTrainerLibrary() {
    handle_ = dlopen(kName, RTLD_NOW | RTLD_LOCAL | kDeepBind);
    if (handle_ == nullptr) {
      const char* why = dlerror();
      throw Error(fmt::format("cannot load {} (install libsentencepiece0): {}", kName,
                              why != nullptr ? why : "unknown error"));
    }
    train = symbol<TrainFunction>(
        "_ZN13sentencepiece20SentencePieceTrainer5TrainERKSt13unordered_mapINSt7__cxx1112basic_"
        "stringIcSt11char_traitsIcESaIcEEES7_St4hashIS7_ESt8equal_toIS7_ESaISt4pairIKS7_S7_EEEPNS_"
        "16SentenceIteratorEPS7_");
    destroy_status = symbol<void (*)(void*)>("_ZN13sentencepiece4util6StatusD1Ev");
    status_message =
        symbol<const char* (*)(const void*)>("_ZNK13sentencepiece4util6Status13error_messageEv");
    set_seed = symbol<void (*)(unsigned int)>("_ZN13sentencepiece22SetRandomGeneratorSeedEj");
    set_min_log_level = symbol<void (*)(int)>("_ZN13sentencepiece7logging14SetMinLogLevelEi");
    get_min_log_level = symbol<int (*)()>("_ZN13sentencepiece7logging14GetMinLogLevelEv");
  }

  template <typename Function>
  Function symbol(const char* name) const {
    void* address = dlsym(handle_, name);
    if (address == nullptr)
      throw Error(fmt::format("{} lacks {}: an incompatible version", kName, name));
    return reinterpret_cast<Function>(address);
  }

  void* handle_ = nullptr;  // kept open for the life of the process
};

// Runs the trainer; an empty string on success, else its message.
std::string run_sentencepiece_trainer(const TrainArguments& arguments, std::string& model) {
  const auto& library = SentencePieceTrainerLibrary::get();
  alignas(sentencepiece::util::Status) unsigned char storage[sizeof(sentencepiece::util::Status)];
  // Guaranteed copy elision builds the returned Status in `storage`; only the library's own
  // destructor and accessors touch it.
  ::new (static_cast<void*>(storage))
      sentencepiece::util::Status(library.train(arguments, nullptr, &model));
  const auto* status = std::launder(reinterpret_cast<const sentencepiece::util::Status*>(storage));
  std::string message;
  if (!status->ok()) {
    const char* text = library.status_message(storage);
    message = text != nullptr && *text != '\0' ? text : "unknown error";
  }
  library.destroy_status(storage);
  return message;
}

// Removes a file when it goes out of scope.
class ScopedFile {
 public:
  explicit ScopedFile(std::filesystem::path path) : path_(std::move(path)) {}
  ~ScopedFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  ScopedFile(const ScopedFile&) = delete;
  ScopedFile& operator=(const ScopedFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Just enough of the protobuf wire format to walk a serialized ModelProto without the
// library's types: each field's number, its whole bytes, and a length-delimited payload.
struct ProtoField {
  std::uint32_t number = 0;
  std::string_view bytes;    // tag through end of value
  std::string_view payload;  // length-delimited fields only
};

std::vector<ProtoField> proto_fields(std::string_view message) {
  std::vector<ProtoField> fields;
  std::size_t pos = 0;
  auto varint = [&]() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= message.size()) throw Error("SentencePiece returned a truncated model");
      const auto byte = static_cast<unsigned char>(message[pos++]);
      value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) break;
    }
    return value;
  };
  while (pos < message.size()) {
    const std::size_t start = pos;
    const auto tag = varint();
    ProtoField field;
    field.number = static_cast<std::uint32_t>(tag >> 3);
    switch (tag & 7) {
      case 0:
        varint();
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        const auto length = varint();
        if (length > message.size() - pos) throw Error("SentencePiece returned a truncated model");
        field.payload = message.substr(pos, length);
        pos += length;
        break;
      }
      default:
        throw Error("SentencePiece returned a model in an unknown wire format");
    }
    if (pos > message.size()) throw Error("SentencePiece returned a truncated model");
    field.bytes = message.substr(start, pos - start);
    fields.push_back(field);
  }
  return fields;
}

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}

// The trainer records its input file's path in ModelProto.trainer_spec (field 2) as
// TrainerSpec.input (field 1); that path is a scratch file, different on every run, so it is
// dropped to make the model depend only on the texts and options.
std::string without_input_path(std::string_view model) {
  std::string out;
  for (const auto& field : proto_fields(model)) {
    if (field.number != 2) {
      out += field.bytes;
      continue;
    }
    std::string spec;
    for (const auto& inner : proto_fields(field.payload)) {
      if (inner.number != 1) spec += inner.bytes;
    }
    append_varint(out, (2u << 3) | 2u);
    append_varint(out, spec.size());
    out += spec;
  }
  return out;
}

// ModelProto.pieces is field 1.
std::size_t count_pieces(std::string_view model) {
  std::size_t pieces = 0;
  for (const auto& field : proto_fields(model)) pieces += field.number == 1 ? 1 : 0;
  return pieces;
}

VocabTrainResult train_unigram(const std::vector<std::string>& texts,
                               const std::filesystem::path& out_dir,
                               const VocabTrainOptions& options) {
  // AlbertTokenizer pre-processes text before SentencePiece sees it; train on the same view.
  AlbertPreprocessOptions preprocess;
  preprocess.do_lower_case = options.lowercase;
  preprocess.keep_accents = !options.lowercase;
  std::string corpus;
  std::size_t lines = 0;
  for (const auto& text : texts) {
    std::string line = albert_preprocess(text, preprocess);
    // One sentence per line for the trainer; albert_preprocess already turned newlines into
    // single spaces.
    if (line.empty()) continue;
    corpus += line;
    corpus += '\n';
    ++lines;
  }
  if (lines == 0) throw Error("vocab: every training text is empty");

  ScopedFile input(out_dir / ".spiece_training_input.txt");
  write_file_atomic(input.path(), corpus);

  const TrainArguments arguments = {
      {"input", input.path().string()},
      // No model_prefix: the model comes back in memory and is written by us.
      {"model_type", "unigram"},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"hard_vocab_limit", "false"},
      {"character_coverage", "1.0"},
      {"normalization_rule_name", "nmt_nfkc"},
      {"pad_id", "0"},
      {"unk_id", "1"},
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"pad_piece", "<pad>"},
      {"unk_piece", "<unk>"},
      {"control_symbols", "[CLS],[SEP],[MASK]"},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"max_sentence_length", "1000000"},
      // The E-step sums per-thread counts in thread order: a fixed count keeps the model
      // byte-identical on every machine.
      {"num_threads", "4"},
  };
  const auto& library = SentencePieceTrainerLibrary::get();
  library.set_seed(1);
  const int log_level = library.get_min_log_level();
  library.set_min_log_level(2);  // errors only; the trainer logs every EM step at INFO
  std::string model;
  const std::string failure = run_sentencepiece_trainer(arguments, model);
  library.set_min_log_level(log_level);
  if (!failure.empty())
    throw Error(fmt::format("vocab: SentencePiece training failed: {}", failure));
  if (model.empty()) throw Error("vocab: SentencePiece training produced no model");
  model = without_input_path(model);

  write_file_atomic(out_dir / "spiece.model", model);
  const nlohmann::json mask = {{"__type", "AddedToken"}, {"content", "[MASK]"},
                               {"lstrip", true},         {"normalized", false},
                               {"rstrip", false},        {"single_word", false}};
  const nlohmann::json config = {{"tokenizer_class", "AlbertTokenizer"},
                                 {"do_lower_case", options.lowercase},
                                 {"keep_accents", !options.lowercase},
                                 {"remove_space", true},
                                 {"clean_up_tokenization_spaces", true},
                                 {"model_max_length", 512},
                                 {"sp_model_kwargs", nlohmann::json::object()},
                                 {"bos_token", "[CLS]"},
                                 {"eos_token", "[SEP]"},
                                 {"cls_token", "[CLS]"},
                                 {"sep_token", "[SEP]"},
                                 {"unk_token", "<unk>"},
                                 {"pad_token", "<pad>"},
                                 {"mask_token", mask}};
  nlohmann::json map_mask = mask;
  map_mask.erase("__type");
  const nlohmann::json special = {{"bos_token", "[CLS]"},  {"eos_token", "[SEP]"},
                                  {"cls_token", "[CLS]"},  {"sep_token", "[SEP]"},
                                  {"unk_token", "<unk>"},  {"pad_token", "<pad>"},
                                  {"mask_token", map_mask}};
  write_json(out_dir / "tokenizer_config.json", config);
  write_json(out_dir / "special_tokens_map.json", special);

  VocabTrainResult result;
  result.vocab_size = count_pieces(model);
  result.texts = lines;
  result.files = {out_dir / "spiece.model", out_dir / "tokenizer_config.json",
                  out_dir / "special_tokens_map.json"};
  return result;
}

}  // namespace

std::string_view vocab_kind_name(VocabKind kind) {
  return kind == VocabKind::wordpiece ? "wordpiece" : "unigram";
}

VocabKind parse_vocab_kind(std::string_view name) {
  if (name == "wordpiece") return VocabKind::wordpiece;
  if (name == "unigram") return VocabKind::unigram;
  throw Error(fmt::format("unknown tokenizer kind \"{}\": expected wordpiece or unigram", name));
}

std::vector<std::string> learn_wordpiece_vocab(const std::vector<std::string>& texts,
                                               const VocabTrainOptions& options,
                                               std::size_t* distinct_words) {
  BertNormalizerOptions normalizer_options;
  normalizer_options.do_lower_case = options.lowercase;
  normalizer_options.special_tokens = kBertSpecials;
  const BertNormalizer normalizer(normalizer_options);

  std::map<std::string, std::int64_t> word_counts;
  BasicWords words;
  for (std::size_t t = 0; t < texts.size(); ++t) {
    words.clear();
    try {
      normalizer.split(texts[t], words);
    } catch (const Error& e) {
      throw Error(fmt::format("vocab: training text {}: {}", t + 1, e.what()));
    }
    for (std::size_t w = 0; w < words.size(); ++w) ++word_counts[std::string(words.text(w))];
  }
  // The specials are vocabulary entries of their own, not words to learn from.
  for (const auto& special : kBertSpecials) word_counts.erase(special);
  if (word_counts.empty()) throw Error("vocab: the training texts contain no words");
  if (distinct_words != nullptr) *distinct_words = word_counts.size();

  MergeLearner learner(word_counts);
  std::vector<std::string> vocab = kBertSpecials;
  std::unordered_set<std::string> known(vocab.begin(), vocab.end());
  for (auto& piece : learner.alphabet_pieces()) {
    if (known.insert(piece).second) vocab.push_back(std::move(piece));
  }
  const auto min_count =
      static_cast<std::int64_t>(std::max<std::size_t>(options.min_pair_count, 1));
  while (vocab.size() < options.vocab_size) {
    std::string piece = learner.merge_next(min_count);
    if (piece.empty()) break;
    if (known.insert(piece).second) vocab.push_back(std::move(piece));
  }
  return vocab;
}

VocabTrainResult train_vocab(const std::vector<std::string>& texts,
                             const std::filesystem::path& out_dir,
                             const VocabTrainOptions& options) {
  if (texts.empty()) throw Error("vocab: no training texts");
  const std::size_t minimum = options.kind == VocabKind::wordpiece ? kBertSpecials.size() + 1 : 8;
  if (options.vocab_size < minimum) {
    throw Error(fmt::format("vocab: size {} is too small for the special tokens (at least {})",
                            options.vocab_size, minimum));
  }
  for (std::size_t t = 0; t < texts.size(); ++t) {
    try {
      check_utf8(texts[t]);
    } catch (const Error& e) {
      throw Error(fmt::format("vocab: training text {}: {}", t + 1, e.what()));
    }
  }
  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) throw error_in(out_dir, fmt::format("cannot create the folder: {}", error.message()));

  if (options.kind == VocabKind::unigram) return train_unigram(texts, out_dir, options);

  VocabTrainResult result;
  const auto vocab = learn_wordpiece_vocab(texts, options, &result.words);
  std::string vocab_text;
  for (const auto& piece : vocab) {
    vocab_text += piece;
    vocab_text += '\n';
  }
  write_file_atomic(out_dir / "vocab.txt", vocab_text);
  write_json(out_dir / "tokenizer_config.json", bert_tokenizer_config(options.lowercase));
  write_json(out_dir / "special_tokens_map.json", bert_special_tokens_map());
  result.vocab_size = vocab.size();
  result.texts = texts.size();
  result.files = {out_dir / "vocab.txt", out_dir / "tokenizer_config.json",
                  out_dir / "special_tokens_map.json"};
  return result;
}

}  // namespace emotune::text
