#include "text/byte_bpe.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "io/utf8.h"
#include "common/files.h"
#include "text/added_tokens.h"
#include "text/bpe_merges.h"
#include "text/gpt2_pretokenizer.h"
#include "text/tokenizer_files.h"

namespace emotune::text {

namespace {

namespace fs = std::filesystem;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

template <typename Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

constexpr std::uint64_t kMaxTokenId = (1u << 24) - 1;

// Reads vocab.json as (token, id) pairs in file order without building a DOM (the file has
// ~50k keys), so that duplicate keys and ids resolve as Python's json/dict do: last wins.
class VocabReader : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit VocabReader(const fs::path& file) : file_(file) {}

  std::vector<std::pair<std::string, std::int64_t>> entries;

  bool null() override { return value("null"); }
  bool boolean(bool) override { return value("a boolean"); }
  bool number_integer(number_integer_t id) override {
    if (id < 0) return value("a negative number");
    return add(static_cast<std::uint64_t>(id));
  }
  bool number_unsigned(number_unsigned_t id) override { return add(id); }
  bool number_float(number_float_t, const string_t&) override { return value("a fraction"); }
  bool string(string_t&) override { return value("a string"); }
  bool binary(binary_t&) override { return value("binary data"); }
  bool start_object(std::size_t) override {
    if (depth_ == 1) return value("an object");
    if (depth_ == 0 && seen_top_) throw error_in(file_, "expected one JSON object");
    seen_top_ = true;
    ++depth_;
    return true;
  }
  bool key(string_t& key) override {
    key_ = std::move(key);
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0) throw error_in(file_, "expected a JSON object of token -> id, got an array");
    return value("an array");
  }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    throw error_in(file_, fmt::format("not valid JSON (byte {}): {}", position, e.what()));
  }

 private:
  bool add(std::uint64_t id) {
    if (depth_ != 1) return value("a number");
    // Ids index a dense table; real vocabularies stay far below this.
    if (id > kMaxTokenId) {
      throw error_in(file_, fmt::format("\"{}\": id {} is implausibly large (over {})", key_, id,
                                        kMaxTokenId));
    }
    entries.emplace_back(std::move(key_), static_cast<std::int64_t>(id));
    return true;
  }
  bool value(const char* what) {
    if (depth_ == 0) {
      throw error_in(file_, fmt::format("expected a JSON object of token -> id, got {}", what));
    }
    throw error_in(file_,
                   fmt::format("\"{}\": expected a non-negative integer id, got {}", key_, what));
  }

  fs::path file_;
  std::string key_;
  int depth_ = 0;
  bool seen_top_ = false;
};

char32_t first_code_point(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) return lead;
  const int length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  char32_t cp = lead & (0x3F >> (length - 1));
  for (int i = 1; i < length && i < static_cast<int>(text.size()); ++i) {
    cp = (cp << 6) | (static_cast<unsigned char>(text[i]) & 0x3F);
  }
  return cp;
}

class ByteBpeTokenizer final : public Tokenizer {
 public:
  explicit ByteBpeTokenizer(const fs::path& dir);

  std::vector<std::string> tokenize(std::string_view text) const override {
    std::vector<std::string> tokens;
    run(text, [&](const AddedToken* added, SymbolId symbol) {
      tokens.push_back(added != nullptr ? added->content : symbol_text_[symbol]);
    });
    return tokens;
  }

  std::vector<std::int64_t> encode_without_specials(std::string_view text) const override {
    std::vector<std::int64_t> ids;
    ids.reserve(text.size() / 3 + 4);
    run(text, [&](const AddedToken* added, SymbolId symbol) {
      if (added != nullptr) {
        ids.push_back(added->id);
      } else {
        const auto id = symbol_vocab_id_[symbol];
        ids.push_back(id >= 0 ? id : special_.unk);
      }
    });
    return ids;
  }

  std::string id_to_token(std::int64_t id) const override {
    if (const auto* token = token_of(id)) return *token;
    throw Error(fmt::format("token id {} is not in the vocabulary of {}", id, dir_.string()));
  }

  std::optional<std::int64_t> token_to_id(std::string_view token) const override {
    if (const auto it = symbol_ids_.find(token); it != symbol_ids_.end()) {
      if (const auto id = symbol_vocab_id_[it->second]; id >= 0) return id;
    }
    if (const auto it = added_ids_.find(token); it != added_ids_.end()) return it->second;
    return std::nullopt;
  }

  std::size_t vocab_size() const override { return id_to_token_.size(); }

  std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const override;

  std::string algorithm() const override { return "byte_bpe"; }

 private:
  template <typename Sink>
  void run(std::string_view text, Sink&& sink) const;
  template <typename Sink>
  void bpe_word(std::string_view word, Sink& sink) const;

  SymbolId intern(std::string_view text);
  std::int64_t resolve_added_id(const std::string& content);
  const std::string* token_of(std::int64_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= id_to_token_.size() || !has_id_[id]) {
      return nullptr;
    }
    return &id_to_token_[static_cast<std::size_t>(id)];
  }
  bool is_special_id(std::int64_t id) const {
    return std::find(special_id_list_.begin(), special_id_list_.end(), id) !=
           special_id_list_.end();
  }

  fs::path dir_;
  // Every distinct piece string (vocabulary entries, single bytes, merge parts and results)
  // gets one symbol id, so BPE runs on integers and merges are looked up by id pair.
  std::vector<std::string> symbol_text_;
  std::vector<std::int64_t> symbol_vocab_id_;  // -1: not in vocab.json
  StringMap<SymbolId> symbol_ids_;
  std::array<SymbolId, 256> byte_symbol_{};
  BpeMergeTable merges_;

  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  std::size_t encoder_size_ = 0;  // len(encoder) in HF: distinct tokens of vocab.json

  std::vector<AddedToken> added_tokens_;  // matched literally before BPE
  StringMap<std::int64_t> added_ids_;     // tokens not in vocab.json, with their new ids
  std::array<bool, 256> added_first_byte_{};
  std::vector<std::int64_t> special_id_list_;

  bool add_prefix_space_ = false;
  bool clean_up_spaces_ = true;
  io::Utf8Errors errors_ = io::Utf8Errors::kReplace;

  Gpt2PreTokenizer pretokenizer_;

  static constexpr std::size_t kCacheCapacity = 1 << 16;
  static constexpr std::size_t kCacheMaxWordBytes = 256;
  mutable std::shared_mutex cache_mutex_;
  mutable StringMap<std::vector<SymbolId>> cache_;
};

SymbolId ByteBpeTokenizer::intern(std::string_view text) {
  if (const auto it = symbol_ids_.find(text); it != symbol_ids_.end()) return it->second;
  const auto symbol = static_cast<SymbolId>(symbol_text_.size());
  symbol_text_.emplace_back(text);
  symbol_vocab_id_.push_back(-1);
  symbol_ids_.emplace(std::string(text), symbol);
  return symbol;
}

std::int64_t ByteBpeTokenizer::resolve_added_id(const std::string& content) {
  if (const auto id = token_to_id(content)) return *id;
  // HF's from_pretrained appends a special token missing from the vocabulary at len(tokenizer).
  const auto id = static_cast<std::int64_t>(encoder_size_ + added_ids_.size());
  added_ids_.emplace(content, id);
  if (static_cast<std::size_t>(id) >= id_to_token_.size()) {
    id_to_token_.resize(static_cast<std::size_t>(id) + 1);
    has_id_.resize(static_cast<std::size_t>(id) + 1, false);
  }
  id_to_token_[static_cast<std::size_t>(id)] = content;
  has_id_[static_cast<std::size_t>(id)] = true;
  return id;
}

ByteBpeTokenizer::ByteBpeTokenizer(const fs::path& dir) : dir_(dir) {
  const auto vocab_file = dir / "vocab.json";
  const auto merges_file = dir / "merges.txt";
  for (const auto& file : {vocab_file, merges_file}) {
    if (!fs::is_regular_file(file)) {
      throw error_in(file, "missing (a byte-level BPE tokenizer needs vocab.json and merges.txt)");
    }
  }

  // vocab.json
  {
    const auto text = read_file(vocab_file);
    if (const auto bad = io::first_invalid_utf8(text)) {
      throw error_in(vocab_file, fmt::format("not valid UTF-8 (byte offset {})", *bad));
    }
    VocabReader reader(vocab_file);
    nlohmann::json::sax_parse(text, &reader);
    if (reader.entries.empty()) throw error_in(vocab_file, "holds no tokens");
    std::int64_t max_id = 0;
    for (const auto& [token, id] : reader.entries) max_id = std::max(max_id, id);
    id_to_token_.resize(static_cast<std::size_t>(max_id) + 1);
    has_id_.assign(id_to_token_.size(), false);
    symbol_text_.reserve(reader.entries.size() * 2);
    for (auto& [token, id] : reader.entries) {
      const auto symbol = intern(token);
      symbol_vocab_id_[symbol] = id;
      id_to_token_[static_cast<std::size_t>(id)] = token;
      has_id_[static_cast<std::size_t>(id)] = true;
    }
    encoder_size_ = symbol_ids_.size();
  }
  for (int byte = 0; byte < 256; ++byte) {
    byte_symbol_[byte] = intern(byte_to_unicode(static_cast<std::uint8_t>(byte)));
  }

  // merges.txt: HF reads `text.split("\n")[1:-1]`, i.e. it always drops line 1 (the
  // "#version" header) and whatever follows the last newline. Both are checked here rather
  // than letting a headerless or cut-off file lose a merge silently.
  {
    const auto text = read_file(merges_file);
    if (const auto bad = io::first_invalid_utf8(text)) {
      const auto line = 1 + std::count(text.begin(), text.begin() + *bad, '\n');
      throw error_at(merges_file, line, "not valid UTF-8");
    }
    if (!text.starts_with("#version")) {
      throw error_at(merges_file, 1,
                     "expected a \"#version: ...\" header line (HF always skips line 1)");
    }
    if (text.back() != '\n') {
      const auto line = 1 + std::count(text.begin(), text.end(), '\n');
      throw error_at(merges_file, line,
                     "file does not end with a newline; the last line looks truncated");
    }
    std::size_t pos = text.find('\n') + 1;
    std::size_t line_number = 1;
    std::int32_t rank = 0;
    merges_.reserve(text.size() / 8);
    while (pos < text.size()) {
      ++line_number;
      const auto end = text.find('\n', pos);
      std::string_view line(text.data() + pos, end - pos);
      pos = end + 1;
      std::vector<std::string_view> fields;
      std::size_t start = 0;
      while (start < line.size()) {
        const auto field_end = line.find_first_of(" \t\r", start);
        const auto stop = field_end == std::string_view::npos ? line.size() : field_end;
        if (stop > start) fields.push_back(line.substr(start, stop - start));
        start = stop + 1;
      }
      if (fields.empty()) continue;  // HF keeps blank lines as empty tuples that never match
      if (fields.size() != 2) {
        throw error_at(merges_file, line_number,
                       fmt::format("expected two space-separated symbols (\"left right\"), got {}",
                                   fields.size()));
      }
      const auto left = intern(fields[0]);
      const auto right = intern(fields[1]);
      std::string merged(fields[0]);
      merged += fields[1];
      const auto result = intern(merged);
      // Python's dict(zip(merges, range(...))): a repeated merge keeps its last rank.
      merges_.add(left, right, rank++, result);
    }
  }

  // tokenizer_config.json options
  const auto config_file = dir / "tokenizer_config.json";
  if (fs::exists(config_file)) {
    const auto config = read_json_object(config_file);
    const auto flag = [&](const char* key, bool fallback) {
      return json_bool(config, key, fallback, config_file);
    };
    add_prefix_space_ = flag("add_prefix_space", false);
    clean_up_spaces_ = flag("clean_up_tokenization_spaces", true);
    if (config.contains("errors") && !config["errors"].is_null()) {
      if (!config["errors"].is_string()) {
        throw error_in(config_file, "\"errors\": expected \"replace\", \"ignore\" or \"strict\"");
      }
      try {
        errors_ = io::parse_utf8_errors(config["errors"].get<std::string>());
      } catch (const Error& e) {
        throw error_in(config_file, e.what());
      }
    }
    if (config.contains("model_max_length") && !config["model_max_length"].is_null()) {
      const auto& value = config["model_max_length"];
      if (value.is_number_unsigned()) {
        model_max_length_ = static_cast<std::size_t>(value.get<std::uint64_t>());
      } else if (value.is_number_float() && value.get<double>() >= 1) {
        // HF writes int(1e30) ("no limit"), which JSON readers see as a float.
        const double length = value.get<double>();
        model_max_length_ = length >= 1e18 ? std::numeric_limits<std::size_t>::max()
                                           : static_cast<std::size_t>(length);
      } else {
        throw error_in(config_file, "\"model_max_length\": expected a positive integer");
      }
    }
  }

  // Special tokens: RobertaTokenizer's defaults, overridden by the folder's files.
  std::map<std::string, AddedToken> specials = {
      {"bos_token", {"<s>", -1, false, false}},   {"eos_token", {"</s>", -1, false, false}},
      {"sep_token", {"</s>", -1, false, false}},  {"cls_token", {"<s>", -1, false, false}},
      {"unk_token", {"<unk>", -1, false, false}}, {"pad_token", {"<pad>", -1, false, false}},
      {"mask_token", {"<mask>", -1, true, false}}};
  for (auto& entry : read_special_tokens(dir)) specials[entry.key] = entry.token;
  // HF resolves missing specials in SPECIAL_TOKENS_ATTRIBUTES order.
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                          "cls_token", "mask_token"}) {
    auto& token = specials.at(key);
    token.id = resolve_added_id(token.content);
    special_id_list_.push_back(token.id);
    const auto duplicate =
        std::find_if(added_tokens_.begin(), added_tokens_.end(),
                     [&](const AddedToken& t) { return t.content == token.content; });
    if (duplicate == added_tokens_.end()) added_tokens_.push_back(token);
  }
  special_.cls = specials.at("cls_token").id;
  special_.sep = specials.at("sep_token").id;
  special_.pad = specials.at("pad_token").id;
  special_.unk = specials.at("unk_token").id;
  special_.mask = specials.at("mask_token").id;

  // added_tokens.json: user-added tokens, whose ids must follow the vocabulary in order.
  const auto added_file = dir / "added_tokens.json";
  if (fs::exists(added_file)) {
    const auto added = read_json_object(added_file);
    std::vector<std::pair<std::int64_t, std::string>> by_id;
    for (const auto& [content, id] : added.items()) {
      if (!id.is_number_integer()) {
        throw error_in(added_file, fmt::format("\"{}\": expected an integer id", content));
      }
      by_id.emplace_back(id.get<std::int64_t>(), content);
    }
    std::sort(by_id.begin(), by_id.end());
    for (const auto& [id, content] : by_id) {
      if (token_to_id(content)) continue;  // already known: HF neither adds nor isolates it
      const auto expected = static_cast<std::int64_t>(encoder_size_ + added_ids_.size());
      if (id != expected) {
        throw error_in(added_file, fmt::format("\"{}\" has id {}, expected the next free id {}",
                                               content, id, expected));
      }
      added_tokens_.push_back({content, resolve_added_id(content), true, true});
    }
  }
  for (const auto& token : added_tokens_) {
    if (!token.content.empty()) {
      added_first_byte_[static_cast<unsigned char>(token.content[0])] = true;
    }
  }
}

template <typename Sink>
void ByteBpeTokenizer::run(std::string_view text, Sink&& sink) const {
  if (const auto bad = io::first_invalid_utf8(text)) {
    throw Error(fmt::format("text is not valid UTF-8: byte 0x{:02X} at offset {}",
                            static_cast<unsigned char>(text[*bad]), *bad));
  }
  std::string prefixed;
  if (add_prefix_space_ && !text.empty() && !is_python_whitespace(first_code_point(text))) {
    prefixed = " ";
    prefixed += text;
    text = prefixed;
  }
  std::vector<std::string_view> words;
  const auto ordinary = [&](std::string_view segment) {
    words.clear();
    pretokenizer_.split(segment, words);
    for (const auto word : words) bpe_word(word, sink);
  };
  const bool may_hold_added = std::any_of(text.begin(), text.end(), [&](char c) {
    return added_first_byte_[static_cast<unsigned char>(c)];
  });
  if (!may_hold_added) {
    ordinary(text);
    return;
  }
  for (const auto& segment : split_on_added_tokens(text, added_tokens_)) {
    if (segment.added != nullptr) {
      sink(segment.added, SymbolId{-1});
    } else {
      ordinary(segment.text);
    }
  }
}

template <typename Sink>
void ByteBpeTokenizer::bpe_word(std::string_view word, Sink& sink) const {
  {
    std::shared_lock lock(cache_mutex_);
    if (const auto it = cache_.find(word); it != cache_.end()) {
      for (const auto symbol : it->second) sink(nullptr, symbol);
      return;
    }
  }
  std::vector<SymbolId> symbols;
  symbols.reserve(word.size());
  for (const char c : word) symbols.push_back(byte_symbol_[static_cast<unsigned char>(c)]);
  merges_.apply(symbols);
  for (const auto symbol : symbols) sink(nullptr, symbol);
  if (word.size() > kCacheMaxWordBytes) return;  // rare; would only crowd the cache
  std::unique_lock lock(cache_mutex_);
  if (cache_.size() >= kCacheCapacity) cache_.clear();
  cache_.emplace(std::string(word), std::move(symbols));
}

std::string ByteBpeTokenizer::decode(const std::vector<std::int64_t>& ids,
                                     bool skip_special_tokens) const {
  // As HF's slow _decode: runs of vocabulary tokens are turned back into bytes and decoded;
  // tokens added outside vocab.json stand alone; the pieces are joined with spaces.
  std::vector<std::string> pieces;
  std::string bytes;
  const auto flush = [&] {
    if (!bytes.empty()) pieces.push_back(io::decode_utf8(bytes, errors_));
    bytes.clear();
  };
  for (const auto id : ids) {
    if (skip_special_tokens && is_special_id(id)) continue;
    const auto* token = token_of(id);
    if (token == nullptr) {
      throw Error(
          fmt::format("decode: token id {} is not in the vocabulary of {}", id, dir_.string()));
    }
    if (added_ids_.contains(*token)) {
      flush();
      pieces.push_back(*token);
      continue;
    }
    for (std::size_t pos = 0; pos < token->size();) {
      const auto lead = static_cast<unsigned char>((*token)[pos]);
      const std::size_t length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      const auto character = std::string_view(*token).substr(pos, length);
      const auto byte = unicode_to_byte(first_code_point(character));
      if (byte) {
        bytes.push_back(static_cast<char>(*byte));
      } else {
        bytes.append(character);  // not a byte-level character (HF would raise KeyError)
      }
      pos += length;
    }
  }
  flush();
  std::string text;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0) text += ' ';
    text += pieces[i];
  }
  return clean_up_spaces_ ? clean_up_tokenization(std::move(text)) : text;
}

}  // namespace

std::unique_ptr<Tokenizer> load_byte_bpe_tokenizer(const std::filesystem::path& dir) {
  return std::make_unique<ByteBpeTokenizer>(dir);
}

}  // namespace emotune::text
