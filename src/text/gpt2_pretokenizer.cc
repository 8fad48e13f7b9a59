#include "text/gpt2_pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <fmt/format.h>

#include "common/error.h"

namespace emotune::text {

namespace {

// Python's `regex` module reads `\s` as the Unicode White_Space property ("space" is its
// alias); PCRE2's UCP `\s` also takes U+180E, so the property is spelled out.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+)"
    R"(|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+)";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

}  // namespace

struct Gpt2PreTokenizer::Compiled {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Compiled() { pcre2_code_free(code); }
};

Gpt2PreTokenizer::Gpt2PreTokenizer() : compiled_(std::make_unique<Compiled>()) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  compiled_->code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern.data()), kGpt2Pattern.size(),
                    PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (compiled_->code == nullptr) {
    throw Error(fmt::format("PCRE2 rejected the GPT-2 pattern at offset {}: {}", error_offset,
                            pcre2_message(error_code)));
  }
  // Without JIT support in the library, pcre2_match's interpreter gives the same matches.
  compiled_->jit = pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE) == 0;
}

Gpt2PreTokenizer::~Gpt2PreTokenizer() = default;

void Gpt2PreTokenizer::split(std::string_view text, std::vector<std::string_view>& words) const {
  if (text.empty()) return;
  const std::unique_ptr<pcre2_match_data, MatchDataDeleter> match(
      pcre2_match_data_create_from_pattern(compiled_->code, nullptr));
  if (!match) throw Error("out of memory for PCRE2 match data");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  PCRE2_SIZE offset = 0;
  while (offset < text.size()) {
    int rc = compiled_->jit ? pcre2_jit_match(compiled_->code, subject, text.size(), offset, 0,
                                              match.get(), nullptr)
                            : pcre2_match(compiled_->code, subject, text.size(), offset,
                                          PCRE2_NO_UTF_CHECK, match.get(), nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      // A pathological run (e.g. megabytes of whitespace) outgrew the JIT stack; the
      // interpreter keeps its backtracking frames on the heap.
      rc = pcre2_match(compiled_->code, subject, text.size(), offset,
                       PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, match.get(), nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) throw Error("GPT-2 pre-tokenization failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
    const auto start = ovector[0];
    const auto end = ovector[1];
    if (end <= start) {  // cannot happen: every alternative consumes a character
      throw Error("GPT-2 pre-tokenization made no progress");
    }
    words.push_back(text.substr(start, end - start));
    offset = end;
  }
}

namespace {

struct ByteMap {
  std::array<std::string, 256> to_unicode;
  std::array<char32_t, 256> code_points{};
  std::array<std::int16_t, 256 + 68> from_code_point{};  // -1: stands for no byte

  ByteMap() {
    from_code_point.fill(-1);
    char32_t next_unprintable = 256;
    for (int byte = 0; byte < 256; ++byte) {
      const bool printable =
          (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE);
      const char32_t cp = printable ? static_cast<char32_t>(byte) : next_unprintable++;
      code_points[byte] = cp;
      from_code_point[cp] = static_cast<std::int16_t>(byte);
      std::string utf8;
      if (cp < 0x80) {
        utf8.push_back(static_cast<char>(cp));
      } else {  // all mapped code points are below U+0800
        utf8.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        utf8.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
      to_unicode[byte] = std::move(utf8);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

}  // namespace

const std::string& byte_to_unicode(std::uint8_t byte) {
  return byte_map().to_unicode[byte];
}

std::optional<std::uint8_t> unicode_to_byte(char32_t code_point) {
  const auto& from = byte_map().from_code_point;
  if (code_point >= from.size() || from[code_point] < 0) return std::nullopt;
  return static_cast<std::uint8_t>(from[code_point]);
}

}  // namespace emotune::text
