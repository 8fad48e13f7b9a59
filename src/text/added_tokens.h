#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emotune::text {

// A token matched literally in the input before the model's own algorithm runs
// ("[CLS]", "<mask>", ...), as HuggingFace's slow tokenizers treat special tokens.
struct AddedToken {
  std::string content;
  std::int64_t id = -1;
  // Whether the whitespace before / after a match is swallowed. HF strips both sides of
  // tokens given as plain strings and follows the flags of tokens given as AddedToken objects.
  bool lstrip = true;
  bool rstrip = true;
};

struct TextSegment {
  std::string_view text;              // the ordinary text between matches, or the matched token
  const AddedToken* added = nullptr;  // non-null when this segment is an added token
};

// Splits `text` on added tokens (leftmost, longest match first), then strips Unicode
// whitespace from the neighbours of each match as its flags say. Empty segments are dropped.
std::vector<TextSegment> split_on_added_tokens(std::string_view text,
                                               const std::vector<AddedToken>& tokens);

// Python's str.isspace() for one code point.
bool is_python_whitespace(char32_t cp);

// Reads the special tokens of tokenizer_config.json and special_tokens_map.json in `dir`
// (either form: "[CLS]" or {"content": "<mask>", "lstrip": true, ...}); values in
// tokenizer_config.json win. Keys are HF's: cls_token, sep_token, pad_token, unk_token,
// mask_token, bos_token, eos_token. Ids are left at -1 for the caller's vocabulary to fill.
// Missing files give an empty list; malformed JSON is an Error naming the file.
struct SpecialTokenEntry {
  std::string key;
  AddedToken token;
};
std::vector<SpecialTokenEntry> read_special_tokens(const std::filesystem::path& dir);

}  // namespace emotune::text
