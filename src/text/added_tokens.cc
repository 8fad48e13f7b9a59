#include "text/added_tokens.h"

#include <algorithm>
#include <map>

#include <utf8proc.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "text/tokenizer_files.h"

namespace emotune::text {

bool is_python_whitespace(char32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x1C:
    case 0x1D:
    case 0x1E:
    case 0x1F:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      break;
  }
  if (cp >= 0x2000 && cp <= 0x200A) return true;
  return false;
}

namespace {

// Decodes the code point that starts at `pos`; returns its byte length (1 for invalid bytes,
// which are never whitespace).
std::size_t decode_at(std::string_view s, std::size_t pos, char32_t& cp) {
  utf8proc_int32_t value = -1;
  const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + pos),
                                  static_cast<utf8proc_ssize_t>(s.size() - pos), &value);
  if (n <= 0) {
    cp = 0xFFFD;
    return 1;
  }
  cp = static_cast<char32_t>(value);
  return static_cast<std::size_t>(n);
}

std::string_view lstrip_whitespace(std::string_view s) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    char32_t cp;
    const auto n = decode_at(s, pos, cp);
    if (!is_python_whitespace(cp)) break;
    pos += n;
  }
  return s.substr(pos);
}

std::string_view rstrip_whitespace(std::string_view s) {
  // Walk forward to find where the trailing whitespace run starts (UTF-8 is not
  // self-synchronising for our purposes when bytes are invalid).
  std::size_t pos = 0;
  std::size_t keep = 0;
  while (pos < s.size()) {
    char32_t cp;
    const auto n = decode_at(s, pos, cp);
    pos += n;
    if (!is_python_whitespace(cp)) keep = pos;
  }
  return s.substr(0, keep);
}

}  // namespace

std::vector<TextSegment> split_on_added_tokens(std::string_view text,
                                               const std::vector<AddedToken>& tokens) {
  std::vector<TextSegment> segments;
  std::size_t start = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const AddedToken* best = nullptr;
    for (const auto& token : tokens) {
      if (token.content.empty()) continue;
      if (text.compare(pos, token.content.size(), token.content) == 0 &&
          (best == nullptr || token.content.size() > best->content.size())) {
        best = &token;
      }
    }
    if (best == nullptr) {
      ++pos;
      continue;
    }
    if (pos > start) segments.push_back({text.substr(start, pos - start), nullptr});
    segments.push_back({text.substr(pos, best->content.size()), best});
    pos += best->content.size();
    start = pos;
  }
  if (start < text.size()) segments.push_back({text.substr(start), nullptr});

  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto* token = segments[i].added;
    if (token == nullptr) continue;
    if (token->rstrip && i + 1 < segments.size() && segments[i + 1].added == nullptr) {
      segments[i + 1].text = lstrip_whitespace(segments[i + 1].text);
    }
    if (token->lstrip && i > 0 && segments[i - 1].added == nullptr) {
      segments[i - 1].text = rstrip_whitespace(segments[i - 1].text);
    }
  }
  std::erase_if(segments,
                [](const TextSegment& s) { return s.added == nullptr && s.text.empty(); });
  return segments;
}

namespace {

void collect(const std::filesystem::path& file, std::map<std::string, AddedToken>& out) {
  if (!std::filesystem::exists(file)) return;
  const auto json = read_json_object(file);
  static const char* kKeys[] = {"cls_token",  "sep_token", "pad_token", "unk_token",
                                "mask_token", "bos_token", "eos_token"};
  for (const char* key : kKeys) {
    if (!json.contains(key) || json[key].is_null()) continue;
    const auto& value = json[key];
    AddedToken token;
    if (value.is_string()) {
      token.content = value.get<std::string>();
    } else if (value.is_object() && value.contains("content") && value["content"].is_string()) {
      token.content = value["content"].get<std::string>();
      token.lstrip = value.value("lstrip", false);
      token.rstrip = value.value("rstrip", false);
    } else {
      throw error_in(file,
                     fmt::format("\"{}\": expected a string or an object with \"content\"", key));
    }
    out[key] = token;
  }
}

}  // namespace

std::vector<SpecialTokenEntry> read_special_tokens(const std::filesystem::path& dir) {
  std::map<std::string, AddedToken> by_key;
  collect(dir / "special_tokens_map.json", by_key);
  collect(dir / "tokenizer_config.json", by_key);
  std::vector<SpecialTokenEntry> out;
  for (auto& [key, token] : by_key) out.push_back({key, token});
  return out;
}

}  // namespace emotune::text
