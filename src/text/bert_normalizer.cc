#include "text/bert_normalizer.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>

#include <utf8proc.h>

#include "common/error.h"
#include "text/added_tokens.h"

namespace emotune::text {
namespace {

enum class AsciiClass : std::uint8_t { kDeleted, kSpace, kPunctuation, kWord };

// BasicTokenizer's view of each ASCII byte: _is_control (Cc except \t\n\r) deletes,
// _is_whitespace splits, _is_punctuation (every non-alphanumeric symbol) splits off.
constexpr std::array<AsciiClass, 128> make_ascii_classes() {
  std::array<AsciiClass, 128> classes{};
  for (int b = 0; b < 128; ++b) {
    if (b == '\t' || b == '\n' || b == '\r' || b == ' ') {
      classes[b] = AsciiClass::kSpace;
    } else if (b < 0x20 || b == 0x7F) {
      classes[b] = AsciiClass::kDeleted;
    } else if ((b >= 33 && b <= 47) || (b >= 58 && b <= 64) || (b >= 91 && b <= 96) ||
               (b >= 123 && b <= 126)) {
      classes[b] = AsciiClass::kPunctuation;
    } else {
      classes[b] = AsciiClass::kWord;
    }
  }
  return classes;
}
constexpr auto kAsciiClasses = make_ascii_classes();

struct FreeDeleter {
  void operator()(utf8proc_uint8_t* p) const { std::free(p); }
};

void append_utf8(char32_t cp, std::string& out) {
  utf8proc_uint8_t bytes[4];
  const auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), bytes);
  out.append(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(n));
}

// Decodes the code point at `pos` of already validated UTF-8.
char32_t decode_valid(std::string_view s, std::size_t& pos) {
  utf8proc_int32_t cp = 0;
  const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + pos),
                                  static_cast<utf8proc_ssize_t>(s.size() - pos), &cp);
  pos += static_cast<std::size_t>(n > 0 ? n : 1);
  return static_cast<char32_t>(cp < 0 ? 0xFFFD : cp);
}

// utf8proc's NFC or NFD of valid UTF-8.
std::string normalize(std::string_view s, int options) {
  utf8proc_uint8_t* raw = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                              static_cast<utf8proc_ssize_t>(s.size()), &raw,
                              static_cast<utf8proc_option_t>(options));
  std::unique_ptr<utf8proc_uint8_t, FreeDeleter> owned(raw);
  if (n < 0) throw Error(fmt::format("Unicode normalisation failed: {}", utf8proc_errmsg(n)));
  return std::string(reinterpret_cast<const char*>(raw), static_cast<std::size_t>(n));
}

bool is_control_category(utf8proc_category_t category) {
  return category == UTF8PROC_CATEGORY_CC || category == UTF8PROC_CATEGORY_CF ||
         category == UTF8PROC_CATEGORY_CS || category == UTF8PROC_CATEGORY_CO ||
         category == UTF8PROC_CATEGORY_CN;
}

}  // namespace

bool is_bert_punctuation(char32_t cp) {
  if (cp < 128) return kAsciiClasses[cp] == AsciiClass::kPunctuation;
  const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return category >= UTF8PROC_CATEGORY_PC && category <= UTF8PROC_CATEGORY_PO;
}

bool is_cjk_ideograph(char32_t cp) {
  // BasicTokenizer._is_chinese_char: the CJK Unified Ideographs blocks and their extensions
  // and compatibility blocks (not Hiragana, Katakana or Hangul).
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

void append_python_lower(char32_t cp, std::string& out) {
  // U+0130 is the one code point whose unconditional full lower-case mapping
  // (SpecialCasing.txt) differs from the simple one utf8proc gives.
  if (cp == 0x130) {
    out += 'i';
    append_utf8(0x307, out);
    return;
  }
  append_utf8(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))), out);
}

BertNormalizer::BertNormalizer(BertNormalizerOptions options) : options_(std::move(options)) {
  strip_accents_ = options_.do_lower_case ? options_.strip_accents.value_or(true)
                                          : options_.strip_accents.value_or(false);
  auto add = [this](const std::string& word) {
    if (word.empty()) return;
    if (never_split_all_.empty()) {
      never_split_min_length_ = never_split_max_length_ = word.size();
    }
    never_split_min_length_ = std::min(never_split_min_length_, word.size());
    never_split_max_length_ = std::max(never_split_max_length_, word.size());
    never_split_all_.insert(word);
  };
  for (const auto& word : options_.never_split) {
    add(word);
    keep_whole_.insert(word);
  }
  for (const auto& word : options_.special_tokens) add(word);
}

bool BertNormalizer::in_never_split(std::string_view word) const {
  if (word.size() < never_split_min_length_ || word.size() > never_split_max_length_) {
    return false;
  }
  return never_split_all_.contains(std::string(word));
}

bool BertNormalizer::in_keep_whole(std::string_view word) const {
  return !keep_whole_.empty() && keep_whole_.contains(std::string(word));
}

void BertNormalizer::split(std::string_view text, BasicWords& out) const {
  auto& chars = out.chars_;
  std::size_t start = chars.size();
  bool ascii = true;
  const bool lower = options_.do_lower_case;
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();

  auto end_word = [&] {
    if (chars.size() > start) flush_word(out, start, ascii);
    start = chars.size();
    ascii = true;
  };

  std::size_t pos = 0;
  while (pos < size) {
    const unsigned char b = bytes[pos];
    if (b < 0x80) {
      switch (kAsciiClasses[b]) {
        case AsciiClass::kDeleted:
          break;
        case AsciiClass::kSpace:
          end_word();
          break;
        default:
          chars.push_back(static_cast<char>(lower && b >= 'A' && b <= 'Z' ? b + 32 : b));
      }
      ++pos;
      continue;
    }
    utf8proc_int32_t value = -1;
    const auto n = utf8proc_iterate(bytes + pos, static_cast<utf8proc_ssize_t>(size - pos), &value);
    if (n <= 0) throw Error(fmt::format("invalid UTF-8 at byte {} of the text", pos));
    pos += static_cast<std::size_t>(n);

    // Python's str.lower() may give two code points (U+0130), so the clean-up below runs on
    // each code point of the lower-cased character.
    char32_t lowered[2] = {static_cast<char32_t>(value), 0};
    std::size_t count = 1;
    if (lower) {
      if (value == 0x130) {
        lowered[0] = 'i';
        lowered[1] = 0x307;
        count = 2;
      } else {
        lowered[0] = static_cast<char32_t>(utf8proc_tolower(value));
      }
    }
    for (std::size_t i = 0; i < count; ++i) {
      const char32_t cp = lowered[i];
      if (cp < 0x80) {  // only 'i' from U+0130 or 'k' from the Kelvin sign
        chars.push_back(static_cast<char>(cp));
        continue;
      }
      if (cp == 0xFFFD ||
          is_control_category(utf8proc_category(static_cast<utf8proc_int32_t>(cp)))) {
        continue;
      }
      if (is_python_whitespace(cp)) {
        end_word();
      } else if (options_.tokenize_chinese_chars && is_cjk_ideograph(cp)) {
        end_word();
        append_utf8(cp, chars);
        ascii = false;
        end_word();
      } else {
        append_utf8(cp, chars);
        ascii = false;
      }
    }
  }
  end_word();
}

void BertNormalizer::finish_word(BasicWords& out, std::size_t start) const {
  const auto length = out.chars_.size() - start;
  if (length == 0) return;
  const auto word = std::string_view(out.chars_).substr(start);
  out.words_.push_back(
      {static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(length), in_keep_whole(word)});
}

void BertNormalizer::flush_word(BasicWords& out, std::size_t start, bool ascii) const {
  auto& chars = out.chars_;
  if (ascii) {
    // NFC, lower-casing (already done) and accent stripping change nothing in ASCII.
    const auto word = std::string_view(chars).substr(start);
    if (!options_.split_on_punctuation || in_never_split(word)) {
      finish_word(out, start);
      return;
    }
    const std::size_t end = chars.size();
    std::size_t piece = start;
    for (std::size_t i = start; i < end; ++i) {
      if (kAsciiClasses[static_cast<unsigned char>(chars[i])] != AsciiClass::kPunctuation) continue;
      if (i > piece) {
        out.words_.push_back(
            {static_cast<std::uint32_t>(piece), static_cast<std::uint32_t>(i - piece), false});
      }
      out.words_.push_back({static_cast<std::uint32_t>(i), 1, false});
      piece = i + 1;
    }
    if (end > piece) {
      out.words_.push_back(
          {static_cast<std::uint32_t>(piece), static_cast<std::uint32_t>(end - piece), false});
    }
    if (!keep_whole_.empty()) {
      for (auto& w : out.words_) {
        if (w.offset >= start) w.keep_whole = in_keep_whole(out.text(&w - out.words_.data()));
      }
    }
    return;
  }

  // The general path, step by step as BasicTokenizer.tokenize does it for one
  // whitespace-separated token.
  auto& token = out.scratch_;
  token = normalize(std::string_view(chars).substr(start), UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  chars.resize(start);
  if (in_never_split(token)) {
    chars += token;
    finish_word(out, start);
    return;
  }
  if (options_.do_lower_case) {
    // Already lower-cased character by character; str.lower() again changes nothing except
    // for what NFC composed, so it is repeated here on the composed form.
    std::string lowered;
    lowered.reserve(token.size());
    for (std::size_t pos = 0; pos < token.size();)
      append_python_lower(decode_valid(token, pos), lowered);
    token.swap(lowered);
  }
  if (strip_accents_) {
    const auto decomposed = normalize(token, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
    token.clear();
    for (std::size_t pos = 0; pos < decomposed.size();) {
      const auto begin = pos;
      const char32_t cp = decode_valid(decomposed, pos);
      if (utf8proc_category(static_cast<utf8proc_int32_t>(cp)) == UTF8PROC_CATEGORY_MN) continue;
      token.append(decomposed, begin, pos - begin);
    }
  }
  if (!options_.split_on_punctuation || in_never_split(token)) {
    chars += token;
    finish_word(out, start);
    return;
  }
  std::size_t piece = start;
  for (std::size_t pos = 0; pos < token.size();) {
    const auto begin = pos;
    const char32_t cp = decode_valid(token, pos);
    if (is_bert_punctuation(cp)) {
      finish_word(out, piece);
      const auto mark = chars.size();
      chars.append(token, begin, pos - begin);
      finish_word(out, mark);
      piece = chars.size();
    } else {
      chars.append(token, begin, pos - begin);
    }
  }
  finish_word(out, piece);
}

}  // namespace emotune::text
