#include "text/unigram.h"

#include <algorithm>
#include <bitset>
#include <limits>
#include <new>
#include <string>
#include <unordered_set>
#include <vector>

#include <dlfcn.h>
#include <sentencepiece_processor.h>
#include <utf8proc.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "text/added_tokens.h"
#include "text/albert_normalizer.h"
#include "text/tokenizer_files.h"
#include "text/unicode.h"

namespace emotune::text {

namespace {

// Debian's libsentencepiece carries its own copy of protobuf-lite 3.14 and exports it, while
// libtorch loads the system libprotobuf 3.21. In one process the two interpose each other's
// symbols and the program crashes before main (or fails protobuf's version check). So nothing
// links against libsentencepiece: it is opened privately (RTLD_LOCAL keeps its symbols away
// from libprotobuf, RTLD_DEEPBIND makes it use its own protobuf) and reached only through
// virtual calls on a processor built by its dlsym'd constructor.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// The sanitizer runtimes refuse RTLD_DEEPBIND; sanitizer builds of torch-free programs
// (text tests, fuzzers) do not load libprotobuf, so they need no deep binding.
constexpr int kDeepBind = 0;
#else
constexpr int kDeepBind = RTLD_DEEPBIND;
#endif

class SentencePieceLibrary {
 public:
  static const SentencePieceLibrary& get() {
    static const SentencePieceLibrary library;
    return library;
  }

  void (*construct_processor)(void*) = nullptr;
  void (*destroy_status)(void*) = nullptr;
  const char* (*status_message)(const void*) = nullptr;

 private:
  SentencePieceLibrary() {
    static constexpr const char* kName = "libsentencepiece.so.0";
    handle_ = dlopen(kName, RTLD_NOW | RTLD_LOCAL | kDeepBind);
    if (handle_ == nullptr) {
      const char* why = dlerror();
      throw Error(fmt::format("cannot load {} (install libsentencepiece0): {}", kName,
                              why != nullptr ? why : "unknown error"));
    }
    construct_processor = symbol<void (*)(void*)>("_ZN13sentencepiece22SentencePieceProcessorC1Ev");
    destroy_status = symbol<void (*)(void*)>("_ZN13sentencepiece4util6StatusD1Ev");
    status_message =
        symbol<const char* (*)(const void*)>("_ZNK13sentencepiece4util6Status13error_messageEv");
  }

  template <typename Function>
  Function symbol(const char* name) const {
    void* address = dlsym(handle_, name);
    if (address == nullptr) {
      throw Error(fmt::format("libsentencepiece.so.0 lacks {}: an incompatible version", name));
    }
    return reinterpret_cast<Function>(address);
  }

  void* handle_ = nullptr;  // kept open for the life of the process
};

// A util::Status returned by a call into the library, destroyed by the library's destructor.
class SentencePieceStatus {
 public:
  template <typename Call>
  explicit SentencePieceStatus(Call&& call) {
    // Guaranteed copy elision: the callee builds the Status right here, so this file never
    // needs Status's copy constructor or destructor from the library.
    ::new (static_cast<void*>(storage_)) sentencepiece::util::Status(call());
  }
  ~SentencePieceStatus() { SentencePieceLibrary::get().destroy_status(storage_); }
  SentencePieceStatus(const SentencePieceStatus&) = delete;
  SentencePieceStatus& operator=(const SentencePieceStatus&) = delete;

  bool ok() const { return status().ok(); }
  std::string message() const {
    const char* text = SentencePieceLibrary::get().status_message(storage_);
    return text != nullptr ? text : "unknown error";
  }

 private:
  const sentencepiece::util::Status& status() const {
    return *std::launder(reinterpret_cast<const sentencepiece::util::Status*>(storage_));
  }
  alignas(sentencepiece::util::Status) unsigned char storage_[sizeof(sentencepiece::util::Status)];
};

// The SentencePieceProcessor calls the tokenizer needs.
class SentencePiece {
 public:
  SentencePiece() {
    SentencePieceLibrary::get().construct_processor(storage_);
    processor_ = std::launder(reinterpret_cast<sentencepiece::SentencePieceProcessor*>(storage_));
  }
  ~SentencePiece() { processor_->~SentencePieceProcessor(); }  // virtual: runs the library's
  SentencePiece(const SentencePiece&) = delete;
  SentencePiece& operator=(const SentencePiece&) = delete;

  // An empty string when the serialized model loaded, else why not.
  std::string load(std::string_view serialized_model) {
    const SentencePieceStatus status(
        [&] { return processor_->LoadFromSerializedProto(serialized_model); });
    return status.ok() ? std::string() : status.message();
  }

  void encode(std::string_view text, std::vector<std::string>& pieces) const {
    const SentencePieceStatus status([&] { return processor_->Encode(text, &pieces); });
    if (!status.ok()) throw Error(fmt::format("SentencePiece failed: {}", status.message()));
  }

  std::string decode(const std::vector<std::string>& pieces) const {
    std::string text;
    const SentencePieceStatus status([&] { return processor_->Decode(pieces, &text); });
    if (!status.ok()) throw Error(fmt::format("SentencePiece failed: {}", status.message()));
    return text;
  }

  int piece_to_id(std::string_view piece) const { return processor_->PieceToId(piece); }
  const std::string& id_to_piece(int id) const { return processor_->IdToPiece(id); }
  int size() const { return processor_->GetPieceSize(); }
  int unk_id() const { return processor_->unk_id(); }

 private:
  alignas(sentencepiece::SentencePieceProcessor) unsigned char storage_[sizeof(
      sentencepiece::SentencePieceProcessor)];
  sentencepiece::SentencePieceProcessor* processor_ = nullptr;
};

constexpr std::string_view kSpieceUnderline = "\xE2\x96\x81";  // U+2581 '▁'

struct UnigramConfig {
  AlbertPreprocessOptions preprocess;
  bool clean_up_tokenization_spaces = true;
  std::size_t model_max_length = 512;
};

UnigramConfig read_config(const std::filesystem::path& dir) {
  UnigramConfig config;
  const auto file = dir / "tokenizer_config.json";
  if (!std::filesystem::exists(file)) return config;
  const auto json = read_json_object(file);
  config.preprocess.do_lower_case = json_bool(json, "do_lower_case", true, file);
  config.preprocess.remove_space = json_bool(json, "remove_space", true, file);
  config.preprocess.keep_accents = json_bool(json, "keep_accents", false, file);
  config.clean_up_tokenization_spaces = json_bool(json, "clean_up_tokenization_spaces", true, file);
  if (json.contains("model_max_length") && !json["model_max_length"].is_null()) {
    const auto& value = json["model_max_length"];
    if (!value.is_number() || value.get<double>() < 2) {
      throw error_in(file, fmt::format("\"model_max_length\": expected a number of at least 2, "
                                       "got {}",
                                       value.dump()));
    }
    // HF writes 1e30 (VERY_LARGE_INTEGER) when the checkpoint sets no limit.
    const double limit = value.get<double>();
    config.model_max_length =
        limit >= static_cast<double>(std::numeric_limits<std::size_t>::max() / 2)
            ? std::numeric_limits<std::size_t>::max() / 2
            : static_cast<std::size_t>(limit);
  }
  return config;
}

// Whether the mask token that read_special_tokens picked was written as a plain string (or left
// out), rather than as an AddedToken object with its own flags.
bool mask_given_as_string(const std::filesystem::path& dir) {
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    const auto file = dir / name;
    if (!std::filesystem::exists(file)) continue;
    const auto json = nlohmann::json::parse(read_file(file), nullptr, /*allow_exceptions=*/false);
    if (json.is_object() && json.contains("mask_token") && !json["mask_token"].is_null()) {
      return json["mask_token"].is_string();
    }
  }
  return true;
}

// The special tokens, with the defaults of AlbertTokenizer.__init__ for keys the files leave
// out; `keys` receives (key, content) for every key, the list is deduplicated by content.
std::vector<AddedToken> special_tokens_of(const std::filesystem::path& dir,
                                          std::vector<std::pair<std::string, std::string>>& keys) {
  auto entries = read_special_tokens(dir);
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"bos_token", "[CLS]"},  {"eos_token", "[SEP]"}, {"unk_token", "<unk>"},
      {"sep_token", "[SEP]"},  {"pad_token", "<pad>"}, {"cls_token", "[CLS]"},
      {"mask_token", "[MASK]"}};
  for (const auto& [key, content] : defaults) {
    const bool present = std::any_of(entries.begin(), entries.end(),
                                     [&](const SpecialTokenEntry& e) { return e.key == key; });
    if (!present) entries.push_back({key, AddedToken{content, -1, true, true}});
  }
  std::vector<AddedToken> tokens;
  for (auto& entry : entries) {
    // AlbertTokenizer turns a plain-string mask token into AddedToken(lstrip=True, rstrip=False):
    // "[MASK]" behaves like a word and takes the space before it.
    if (entry.key == "mask_token" && mask_given_as_string(dir)) {
      entry.token.lstrip = true;
      entry.token.rstrip = false;
    }
    if (entry.token.content.empty()) continue;
    keys.emplace_back(entry.key, entry.token.content);
    const bool seen = std::any_of(tokens.begin(), tokens.end(), [&](const AddedToken& t) {
      return t.content == entry.token.content;
    });
    if (!seen) tokens.push_back(entry.token);
  }
  return tokens;
}

// Python's str.strip() of the result of convert_tokens_to_string.
std::string_view strip_python_whitespace(std::string_view s) {
  auto is_space_at = [&](std::size_t pos, std::size_t& length) {
    utf8proc_int32_t cp = 0;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + pos),
                                    static_cast<utf8proc_ssize_t>(s.size() - pos), &cp);
    length = n > 0 ? static_cast<std::size_t>(n) : 1;
    return n > 0 && is_python_whitespace(static_cast<char32_t>(cp));
  };
  std::size_t begin = 0;
  std::size_t length = 0;
  while (begin < s.size() && is_space_at(begin, length)) begin += length;
  std::size_t end = begin;
  std::size_t pos = begin;
  while (pos < s.size()) {
    const bool space = is_space_at(pos, length);
    pos += length;
    if (!space) end = pos;
  }
  return s.substr(begin, end - begin);
}

// The last code point of `s` (valid UTF-8, non-empty) and where it starts.
std::size_t last_code_point_start(std::string_view s) {
  std::size_t pos = s.size() - 1;
  while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}

// Python's str.isdigit() for one code point. Pieces come out of SentencePiece NFKC-normalised,
// which folds the compatibility digits (superscripts, circled digits) into ASCII, so the
// decimal-digit category is what remains to test.
bool is_python_digit(std::string_view code_point) {
  utf8proc_int32_t cp = 0;
  utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(code_point.data()),
                   static_cast<utf8proc_ssize_t>(code_point.size()), &cp);
  if (cp >= '0' && cp <= '9') return true;
  if (cp < 0x80) return false;
  if (utf8proc_category(cp) == UTF8PROC_CATEGORY_ND) return true;
  // A compatibility digit (e.g. '²') whose NFKD is a single decimal digit.
  utf8proc_int32_t decomposed[4];
  int boundclass = UTF8PROC_BOUNDCLASS_START;
  const auto n = utf8proc_decompose_char(
      cp, decomposed, 4, static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT),
      &boundclass);
  return utf8proc_category(cp) == UTF8PROC_CATEGORY_NO && n == 1 &&
         utf8proc_category(decomposed[0]) == UTF8PROC_CATEGORY_ND;
}

class UnigramTokenizer final : public Tokenizer {
 public:
  explicit UnigramTokenizer(const std::filesystem::path& dir) {
    const auto model_file = dir / "spiece.model";
    if (!std::filesystem::is_regular_file(model_file)) {
      throw error_in(model_file, "missing (an ALBERT checkpoint needs its SentencePiece model)");
    }
    // Parse from memory so that a broken file is reported as such rather than by path lookup.
    const std::string bytes = read_file(model_file);
    if (const auto why = processor_.load(bytes); !why.empty()) {
      throw error_in(model_file, fmt::format("not a valid SentencePiece model ({})", why));
    }
    if (processor_.size() <= 0) throw error_in(model_file, "the model has no pieces");

    config_ = read_config(dir);
    model_max_length_ = config_.model_max_length;
    std::vector<std::pair<std::string, std::string>> keys;
    added_ = special_tokens_of(dir, keys);
    for (auto& token : added_) {
      token.id = processor_.piece_to_id(token.content);
      special_contents_.insert(token.content);
      special_id_set_.insert(token.id);
      first_bytes_.set(static_cast<unsigned char>(token.content.front()));
    }
    for (const auto& [key, content] : keys) {
      const auto id = static_cast<std::int64_t>(processor_.piece_to_id(content));
      if (key == "cls_token") special_.cls = id;
      if (key == "sep_token") special_.sep = id;
      if (key == "pad_token") special_.pad = id;
      if (key == "unk_token") special_.unk = id;
      if (key == "mask_token") special_.mask = id;
    }
  }

  std::vector<std::string> tokenize(std::string_view text) const override {
    std::vector<std::string> pieces;
    std::vector<std::int64_t> ids;
    run(text, pieces, ids, /*want_pieces=*/true);
    return pieces;
  }

  std::vector<std::int64_t> encode_without_specials(std::string_view text) const override {
    std::vector<std::string> pieces;
    std::vector<std::int64_t> ids;
    run(text, pieces, ids, /*want_pieces=*/false);
    return ids;
  }

  std::string id_to_token(std::int64_t id) const override {
    check_id(id);
    return processor_.id_to_piece(static_cast<int>(id));
  }

  std::optional<std::int64_t> token_to_id(std::string_view token) const override {
    const int id = processor_.piece_to_id(token);
    // PieceToId answers unk for anything it does not know; only "<unk>" itself is unk.
    if (id == processor_.unk_id() && processor_.id_to_piece(id) != token) return std::nullopt;
    return id;
  }

  std::size_t vocab_size() const override { return static_cast<std::size_t>(processor_.size()); }

  // transformers 4.30 `decode`: ids to pieces (dropping special ids when asked),
  // AlbertTokenizer.convert_tokens_to_string, then clean_up_tokenization.
  std::string decode(const std::vector<std::int64_t>& ids,
                     bool skip_special_tokens) const override {
    std::vector<std::string> pending;
    std::string out;
    bool previous_special = false;
    for (const auto id : ids) {
      check_id(id);
      if (skip_special_tokens && special_id_set_.contains(id)) continue;
      const auto& piece = processor_.id_to_piece(static_cast<int>(id));
      if (special_contents_.contains(piece)) {
        if (!previous_special) out += ' ';
        out += processor_.decode(pending);
        out += piece;
        pending.clear();
        previous_special = true;
      } else {
        pending.push_back(piece);
        previous_special = false;
      }
    }
    out += processor_.decode(pending);
    std::string text(strip_python_whitespace(out));
    return config_.clean_up_tokenization_spaces ? clean_up_tokenization(std::move(text)) : text;
  }

  std::string algorithm() const override { return "unigram"; }

 private:
  void check_id(std::int64_t id) const {
    if (id < 0 || id >= processor_.size()) {
      throw Error(
          fmt::format("token id {} is outside the vocabulary (0..{})", id, processor_.size() - 1));
    }
  }

  // PreTrainedTokenizer.tokenize lowercases everything but the special tokens before it
  // splits on them (so "<PAD>" becomes the special "<pad>").
  std::string lowercase_outside_specials(std::string_view text) const {
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
      const auto byte = static_cast<unsigned char>(text[pos]);
      if (first_bytes_.test(byte)) {
        const AddedToken* best = nullptr;
        for (const auto& token : added_) {
          if (text.substr(pos, token.content.size()) == token.content &&
              (best == nullptr || token.content.size() > best->content.size())) {
            best = &token;
          }
        }
        if (best != nullptr) {
          out += best->content;
          pos += best->content.size();
          continue;
        }
      }
      if (byte < 0x80) {
        out.push_back(static_cast<char>(byte >= 'A' && byte <= 'Z' ? byte - 'A' + 'a' : byte));
        ++pos;
        continue;
      }
      utf8proc_int32_t cp = 0;
      const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + pos),
                                      static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
      append_python_lower(static_cast<char32_t>(cp), out);
      pos += static_cast<std::size_t>(n);
    }
    return out;
  }

  void add_piece(std::string piece, std::vector<std::string>& pieces,
                 std::vector<std::int64_t>& ids, bool want_pieces) const {
    ids.push_back(processor_.piece_to_id(piece));
    if (want_pieces) pieces.push_back(std::move(piece));
  }

  // AlbertTokenizer._tokenize on one stretch of text between special tokens.
  void tokenize_segment(std::string_view segment, std::vector<std::string>& pieces,
                        std::vector<std::int64_t>& ids, bool want_pieces) const {
    const std::string text = albert_preprocess(segment, config_.preprocess);
    if (text.empty()) return;
    std::vector<std::string> sp_pieces;
    processor_.encode(text, sp_pieces);
    for (auto& piece : sp_pieces) {
      if (!ends_in_digit_comma(piece)) {
        add_piece(std::move(piece), pieces, ids, want_pieces);
        continue;
      }
      // SentencePiece glues a comma to the number before it ("▁1999,"); HF splits it off by
      // re-encoding the number alone.
      std::string number = piece.substr(0, piece.size() - 1);
      for (auto at = number.find(kSpieceUnderline); at != std::string::npos;
           at = number.find(kSpieceUnderline, at)) {
        number.erase(at, kSpieceUnderline.size());
      }
      std::vector<std::string> sub_pieces;
      processor_.encode(number, sub_pieces);
      const bool had_prefix = piece.starts_with(kSpieceUnderline);
      if (!had_prefix && !sub_pieces.empty() && sub_pieces.front().starts_with(kSpieceUnderline)) {
        if (sub_pieces.front().size() == kSpieceUnderline.size()) {
          sub_pieces.erase(sub_pieces.begin());
        } else {
          sub_pieces.front().erase(0, kSpieceUnderline.size());
        }
      }
      for (auto& sub : sub_pieces) add_piece(std::move(sub), pieces, ids, want_pieces);
      add_piece(",", pieces, ids, want_pieces);
    }
  }

  static bool ends_in_digit_comma(std::string_view piece) {
    if (piece.size() < 2 || piece.back() != ',') return false;
    const std::string_view before = piece.substr(0, piece.size() - 1);
    return is_python_digit(before.substr(last_code_point_start(before)));
  }

  void run(std::string_view text, std::vector<std::string>& pieces, std::vector<std::int64_t>& ids,
           bool want_pieces) const {
    check_utf8(text);
    std::string lowered;
    if (config_.preprocess.do_lower_case) {
      lowered = lowercase_outside_specials(text);
      text = lowered;
    }
    for (const auto& segment : split_on_added_tokens(text, added_)) {
      if (segment.added != nullptr) {
        ids.push_back(segment.added->id);
        if (want_pieces) pieces.emplace_back(segment.added->content);
      } else {
        tokenize_segment(segment.text, pieces, ids, want_pieces);
      }
    }
  }

  SentencePiece processor_;
  UnigramConfig config_;
  std::vector<AddedToken> added_;
  std::unordered_set<std::string> special_contents_;
  std::unordered_set<std::int64_t> special_id_set_;
  std::bitset<256> first_bytes_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_unigram_tokenizer(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) {
    throw Error(fmt::format("{}: not a checkpoint folder (no such directory)", dir.string()));
  }
  return std::make_unique<UnigramTokenizer>(dir);
}

}  // namespace emotune::text
