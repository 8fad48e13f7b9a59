#pragma once

// The pieces of GPT-2 / RoBERTa byte-level BPE that do not depend on a vocabulary:
// the pre-tokenization regex and the byte <-> printable-character map (UTF-8 checks and
// decoding: io/utf8.h).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emotune::text {

// Splits text into words with GPT-2's pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// as Python's `regex.findall` does, where `\s` is Unicode White_Space (the `regex` module's
// meaning). Compiled once with PCRE2 (UTF, UCP, JIT). Thread-safe: split() may run
// concurrently, each call uses its own match-data block.
class Gpt2PreTokenizer {
 public:
  Gpt2PreTokenizer();
  ~Gpt2PreTokenizer();
  Gpt2PreTokenizer(const Gpt2PreTokenizer&) = delete;
  Gpt2PreTokenizer& operator=(const Gpt2PreTokenizer&) = delete;

  // Appends the words of `text` (views into it) to `words`. `text` must be valid UTF-8
  // (see io::first_invalid_utf8); it is not checked again here.
  void split(std::string_view text, std::vector<std::string_view>& words) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

// GPT-2's reversible map from each byte to a printable code point: the printable Latin-1
// bytes map to themselves, the other 68 to U+0100.. in byte order (space -> 'Ġ', \n -> 'Ċ').
// The UTF-8 of the code point of `byte`.
const std::string& byte_to_unicode(std::uint8_t byte);
// The byte a code point stands for, or nullopt when it is not in the map.
std::optional<std::uint8_t> unicode_to_byte(char32_t code_point);


}  // namespace emotune::text
