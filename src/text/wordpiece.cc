#include "text/wordpiece.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <map>

#include <utf8proc.h>
#include <nlohmann/json.hpp>

#include <fmt/ranges.h>

#include "common/error.h"
#include "common/files.h"
#include "text/added_tokens.h"
#include "text/bert_normalizer.h"
#include "text/tokenizer_files.h"
#include "io/utf8.h"

namespace emotune::text {
namespace {

constexpr std::size_t kMaxInputCharsPerWord = 100;  // WordpieceTokenizer's default
constexpr std::string_view kContinuationPrefix = "##";

std::uint64_t hash_bytes(std::string_view s) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xFF51AFD7ED558CCDull);
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t chunk;
    std::memcpy(&chunk, s.data() + i, 8);
    h = (h ^ chunk) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0x94D049BB133111EBull;
  h ^= h >> 32;
  return h;
}

// Token → id with open addressing over one string arena: lookups take a string_view of the
// word being split, so WordPiece never builds a string to probe the vocabulary.
class VocabIndex {
 public:
  void build(const std::vector<std::pair<std::string_view, std::int64_t>>& entries) {
    std::size_t capacity = 16;
    while (capacity < entries.size() * 2) capacity *= 2;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const auto& [key, id] : entries) {
      auto& slot = probe(key);
      slot.offset = static_cast<std::uint32_t>(arena_.size());
      slot.length = static_cast<std::uint32_t>(key.size());
      slot.id = static_cast<std::int32_t>(id);
      arena_ += key;
      max_length_ = std::max(max_length_, key.size());
    }
  }

  std::int64_t find(std::string_view key) const {
    const auto& slot = const_cast<VocabIndex*>(this)->probe(key);
    return slot.id;
  }

  std::size_t max_length() const { return max_length_; }

 private:
  struct Slot {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    std::int32_t id = -1;
  };

  Slot& probe(std::string_view key) {
    for (std::size_t i = hash_bytes(key) & mask_;; i = (i + 1) & mask_) {
      auto& slot = slots_[i];
      if (slot.id < 0) return slot;
      if (slot.length == key.size() &&
          std::memcmp(arena_.data() + slot.offset, key.data(), key.size()) == 0) {
        return slot;
      }
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  std::size_t mask_ = 0;
  std::size_t max_length_ = 0;
};

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  out.append(s, pos);
  s.swap(out);
}

struct WordPieceConfig {
  BertNormalizerOptions normalizer;
  bool do_basic_tokenize = true;
  bool clean_up_tokenization_spaces = true;
  std::size_t model_max_length = 512;
};

class WordPieceTokenizer final : public Tokenizer {
 public:
  WordPieceTokenizer(std::vector<std::string> vocab, WordPieceConfig config,
                     std::vector<AddedToken> added, std::size_t model_max_length)
      : tokens_(std::move(vocab)),
        normalizer_(config.normalizer),
        config_(std::move(config)),
        added_(std::move(added)) {
    std::vector<std::pair<std::string_view, std::int64_t>> whole;
    std::vector<std::pair<std::string_view, std::int64_t>> continuation;
    whole.reserve(tokens_.size());
    for (std::size_t id = 0; id < tokens_.size(); ++id) {
      const std::string_view token = tokens_[id];
      whole.emplace_back(token, static_cast<std::int64_t>(id));
      if (token.starts_with(kContinuationPrefix)) {
        continuation.emplace_back(token.substr(kContinuationPrefix.size()),
                                  static_cast<std::int64_t>(id));
      }
    }
    whole_.build(whole);
    continuation_.build(continuation);
    for (const auto& token : added_) {
      if (!token.content.empty()) {
        added_first_bytes_[static_cast<unsigned char>(token.content[0])] = true;
      }
    }
    model_max_length_ = model_max_length;
  }

  void set_special_ids(const SpecialTokenIds& ids, std::vector<std::int64_t> all_special_ids) {
    special_ = ids;
    all_special_ids_ = std::move(all_special_ids);
  }

  std::vector<std::string> tokenize(std::string_view text) const override {
    std::vector<std::int64_t> ids;
    std::vector<std::string> tokens;
    run(text, ids, &tokens);
    return tokens;
  }

  std::vector<std::int64_t> encode_without_specials(std::string_view text) const override {
    std::vector<std::int64_t> ids;
    ids.reserve(text.size() / 4 + 4);
    run(text, ids, nullptr);
    return ids;
  }

  std::string id_to_token(std::int64_t id) const override {
    if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size()) {
      throw Error(
          fmt::format("token id {} is outside the vocabulary (0..{})", id, tokens_.size() - 1));
    }
    return tokens_[static_cast<std::size_t>(id)];
  }

  std::optional<std::int64_t> token_to_id(std::string_view token) const override {
    const auto id = whole_.find(token);
    if (id < 0) return std::nullopt;
    return id;
  }

  std::size_t vocab_size() const override { return tokens_.size(); }

  std::string decode(const std::vector<std::int64_t>& ids,
                     bool skip_special_tokens) const override {
    // HF: " ".join(tokens).replace(" ##", "").strip(), then clean_up_tokenization.
    std::string text;
    for (const auto id : ids) {
      if (skip_special_tokens && std::find(all_special_ids_.begin(), all_special_ids_.end(), id) !=
                                     all_special_ids_.end()) {
        continue;
      }
      if (!text.empty()) text += ' ';
      text += id_to_token(id);
    }
    replace_all(text, " ##", "");
    const auto first = text.find_first_not_of(' ');
    if (first == std::string::npos) return {};
    text = text.substr(first, text.find_last_not_of(' ') - first + 1);
    return config_.clean_up_tokenization_spaces ? clean_up_tokenization(std::move(text)) : text;
  }

  std::string algorithm() const override { return "wordpiece"; }

 private:
  // HF tokenize(): split on special tokens typed in the text, then BasicTokenizer +
  // WordPiece on the rest. Ids always; the token strings too when `tokens` is given.
  void run(std::string_view text, std::vector<std::int64_t>& ids,
           std::vector<std::string>* tokens) const {
    thread_local BasicWords words;
    const bool may_hold_added = std::any_of(text.begin(), text.end(), [this](char c) {
      return added_first_bytes_[static_cast<unsigned char>(c)];
    });
    if (!may_hold_added) {
      segment_ids(text, 0, words, ids, tokens);
      return;
    }
    for (const auto& segment : split_on_added_tokens(text, added_)) {
      if (segment.added != nullptr) {
        ids.push_back(segment.added->id);
        if (tokens) tokens->push_back(segment.added->content);
        continue;
      }
      segment_ids(segment.text, static_cast<std::size_t>(segment.text.data() - text.data()), words,
                  ids, tokens);
    }
  }

  void segment_ids(std::string_view text, std::size_t offset, BasicWords& words,
                   std::vector<std::int64_t>& ids, std::vector<std::string>* tokens) const {
    try {
      if (config_.do_basic_tokenize) {
        words.clear();
        normalizer_.split(text, words);
        emit_words(words, ids, tokens);
      } else {
        whitespace_wordpiece(text, ids, tokens);
      }
    } catch (const Error&) {
      throw Error(fmt::format("invalid UTF-8 in the text to tokenize (near byte {})",
                              offset + first_invalid_byte(text)));
    }
  }

  static std::size_t first_invalid_byte(std::string_view text) {
    for (std::size_t pos = 0; pos < text.size();) {
      utf8proc_int32_t cp;
      const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + pos),
                                      static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
      if (n <= 0) return pos;
      pos += static_cast<std::size_t>(n);
    }
    return text.size();
  }

  // do_basic_tokenize=false: WordPiece on the whitespace-separated words as they are (HF then
  // has no basic tokenizer, so it neither cleans nor lower-cases).
  void whitespace_wordpiece(std::string_view text, std::vector<std::int64_t>& ids,
                            std::vector<std::string>* tokens) const {
    if (io::first_invalid_utf8(text)) throw Error("invalid UTF-8");
    std::size_t start = 0;
    auto word_until = [&](std::size_t end) {
      if (end > start) wordpiece(text.substr(start, end - start), ids, tokens);
    };
    for (std::size_t pos = 0; pos < text.size();) {
      utf8proc_int32_t cp;
      const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + pos),
                                      static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
      const auto next = pos + static_cast<std::size_t>(n);
      if (is_python_whitespace(static_cast<char32_t>(cp))) {
        word_until(pos);
        start = next;
      }
      pos = next;
    }
    word_until(text.size());
  }

  void emit_words(const BasicWords& words, std::vector<std::int64_t>& ids,
                  std::vector<std::string>* tokens) const {
    for (std::size_t i = 0; i < words.size(); ++i) {
      const auto word = words.text(i);
      if (words.keep_whole(i)) {
        const auto id = whole_.find(word);
        ids.push_back(id >= 0 ? id : special_.unk);
        if (tokens) tokens->emplace_back(word);
        continue;
      }
      wordpiece(word, ids, tokens);
    }
  }

  // Greedy longest-match-first, as WordpieceTokenizer.tokenize: a word with any piece that
  // matches nothing, or longer than 100 code points, is one unknown token.
  void wordpiece(std::string_view word, std::vector<std::int64_t>& ids,
                 std::vector<std::string>* tokens) const {
    const std::size_t first = ids.size();
    bool known =
        word.size() <= kMaxInputCharsPerWord || io::count_code_points(word) <= kMaxInputCharsPerWord;
    for (std::size_t start = 0; known && start < word.size();) {
      const auto& index = start == 0 ? whole_ : continuation_;
      std::size_t end = std::min(word.size(), start + index.max_length());
      std::int64_t id = -1;
      for (; end > start; --end) {
        if (end < word.size() && io::is_continuation_byte(word[end])) continue;
        id = index.find(word.substr(start, end - start));
        if (id >= 0) break;
      }
      if (id < 0) known = false;
      ids.push_back(id);
      start = end;
    }
    if (!known) {
      ids.resize(first);
      ids.push_back(special_.unk);
    }
    if (tokens) {
      for (std::size_t i = first; i < ids.size(); ++i) {
        tokens->push_back(tokens_[static_cast<std::size_t>(ids[i])]);
      }
    }
  }

  std::vector<std::string> tokens_;
  VocabIndex whole_;
  VocabIndex continuation_;
  BertNormalizer normalizer_;
  WordPieceConfig config_;
  std::vector<AddedToken> added_;
  std::array<bool, 256> added_first_bytes_{};
  std::vector<std::int64_t> all_special_ids_;
};

std::vector<std::string> read_vocab(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) throw error_in(file, "missing (the WordPiece vocabulary)");
  const auto content = read_file(file);
  if (content.empty()) throw error_in(file, "empty file: expected one token per line");
  std::vector<std::string> tokens;
  std::size_t line = 0;
  for (std::size_t pos = 0; pos < content.size();) {
    ++line;
    auto end = content.find('\n', pos);
    if (end == std::string::npos) end = content.size();
    const std::string_view token(content.data() + pos, end - pos);
    pos = end + 1;
    if (token.empty()) throw error_at(file, line, "empty line: expected a token");
    if (token.back() == '\r') {
      throw error_at(file, line, "token ends in a carriage return (CRLF line endings?)");
    }
    if (token.find('\0') != std::string_view::npos || io::first_invalid_utf8(token)) {
      throw error_at(file, line, "not a UTF-8 text token (corrupt or binary file?)");
    }
    tokens.emplace_back(token);
  }
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto [it, inserted] = seen.emplace(tokens[i], i + 1);
    if (!inserted) {
      throw error_at(
          file, i + 1,
          fmt::format("duplicate token \"{}\" (first on line {})", tokens[i], it->second));
    }
  }
  return tokens;
}

WordPieceConfig read_config(const std::filesystem::path& dir) {
  WordPieceConfig config;
  const auto file = dir / "tokenizer_config.json";
  if (!std::filesystem::exists(file)) return config;
  const auto json = read_json_object(file);
  auto& options = config.normalizer;
  options.do_lower_case = json_bool(json, "do_lower_case", true, file);
  options.tokenize_chinese_chars = json_bool(json, "tokenize_chinese_chars", true, file);
  options.split_on_punctuation = json_bool(json, "do_split_on_punc", true, file);
  config.do_basic_tokenize = json_bool(json, "do_basic_tokenize", true, file);
  config.clean_up_tokenization_spaces = json_bool(json, "clean_up_tokenization_spaces", true, file);
  if (json.contains("strip_accents") && !json["strip_accents"].is_null()) {
    options.strip_accents = json_bool(json, "strip_accents", true, file);
  }
  if (json.contains("never_split") && !json["never_split"].is_null()) {
    const auto& list = json["never_split"];
    if (!list.is_array()) throw error_in(file, "\"never_split\": expected a list of strings");
    for (const auto& entry : list) {
      if (!entry.is_string()) throw error_in(file, "\"never_split\": expected a list of strings");
      options.never_split.push_back(entry.get<std::string>());
    }
  }
  if (json.contains("model_max_length") && !json["model_max_length"].is_null()) {
    const auto& value = json["model_max_length"];
    if (!value.is_number() || value.get<double>() < 1) {
      throw error_in(file, "\"model_max_length\": expected a positive integer");
    }
    // HF writes int(1e30) for "no limit".
    const double length = value.get<double>();
    config.model_max_length =
        length >= 1e18 ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(length);
  }
  return config;
}

}  // namespace

std::unique_ptr<Tokenizer> load_wordpiece_tokenizer(const std::filesystem::path& dir) {
  const auto vocab_file = dir / "vocab.txt";
  auto vocab = read_vocab(vocab_file);
  auto config = read_config(dir);

  // Tokens added on top of the vocabulary change the splitting and the ids; refuse them rather
  // than tokenize differently from HF.
  if (std::filesystem::exists(dir / "added_tokens.json")) {
    throw error_in(dir / "added_tokens.json",
                   "added (non-vocabulary) tokens are not supported by the WordPiece tokenizer");
  }
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    const auto file = dir / name;
    if (!std::filesystem::exists(file)) continue;
    const auto json = nlohmann::json::parse(read_file(file), nullptr, false);
    if (json.is_object() && json.contains("additional_special_tokens") &&
        !json["additional_special_tokens"].is_null() &&
        !json["additional_special_tokens"].empty()) {
      throw error_in(file,
                     "\"additional_special_tokens\" is not supported by the WordPiece "
                     "tokenizer");
    }
  }

  // BertTokenizer's defaults, overridden by the tokenizer files.
  std::map<std::string, AddedToken> by_key = {{"unk_token", {"[UNK]"}},
                                              {"sep_token", {"[SEP]"}},
                                              {"pad_token", {"[PAD]"}},
                                              {"cls_token", {"[CLS]"}},
                                              {"mask_token", {"[MASK]"}}};
  for (auto& entry : read_special_tokens(dir)) by_key[entry.key] = entry.token;

  std::map<std::string_view, std::int64_t> id_of;
  for (std::size_t i = 0; i < vocab.size(); ++i)
    id_of.emplace(vocab[i], static_cast<std::int64_t>(i));
  std::vector<AddedToken> added;
  std::vector<std::int64_t> all_special_ids;
  SpecialTokenIds ids;
  std::vector<std::string> missing;
  for (const auto& [key, token] : by_key) {
    if (!id_of.contains(token.content))
      missing.push_back(fmt::format("{} \"{}\"", key, token.content));
  }
  if (!missing.empty()) {
    throw error_in(vocab_file,
                   fmt::format("has no entry for {} (named by the tokenizer files or BERT's "
                               "defaults); truncated or wrong vocabulary?",
                               fmt::join(missing, ", ")));
  }
  for (auto& [key, token] : by_key) {
    token.id = id_of.at(token.content);
    if (key == "unk_token") ids.unk = token.id;
    if (key == "sep_token") ids.sep = token.id;
    if (key == "pad_token") ids.pad = token.id;
    if (key == "cls_token") ids.cls = token.id;
    if (key == "mask_token") ids.mask = token.id;
    config.normalizer.special_tokens.push_back(token.content);
    all_special_ids.push_back(token.id);
    added.push_back(token);
  }
  const auto model_max_length = config.model_max_length;
  auto tokenizer = std::make_unique<WordPieceTokenizer>(std::move(vocab), std::move(config),
                                                        std::move(added), model_max_length);
  tokenizer->set_special_ids(ids, std::move(all_special_ids));
  return tokenizer;
}

}  // namespace emotune::text
