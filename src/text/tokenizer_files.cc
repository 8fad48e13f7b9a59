#include "text/tokenizer_files.h"

#include <string_view>
#include <utility>

#include "common/error.h"
#include "common/files.h"

namespace emotune::text {

nlohmann::json read_json_object(const std::filesystem::path& file) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::parse_error& e) {
    throw error_in(file, fmt::format("not valid JSON ({})", e.what()));
  }
  if (!json.is_object()) throw error_in(file, "expected a JSON object");
  return json;
}

bool json_bool(const nlohmann::json& json, const char* key, bool fallback,
               const std::filesystem::path& file) {
  if (!json.contains(key) || json[key].is_null()) return fallback;
  if (!json[key].is_boolean()) {
    throw error_in(file,
                   fmt::format("\"{}\": expected true or false, got {}", key, json[key].dump()));
  }
  return json[key].get<bool>();
}

std::string clean_up_tokenization(std::string text) {
  static constexpr std::pair<std::string_view, std::string_view> kReplacements[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  // Applied one after another over the whole text, as Python's chained str.replace does.
  for (const auto& [from, to] : kReplacements) {
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (true) {
      const auto hit = text.find(from, pos);
      if (hit == std::string::npos) break;
      out.append(text, pos, hit - pos);
      out.append(to);
      pos = hit + from.size();
    }
    out.append(text, pos, std::string::npos);
    text = std::move(out);
  }
  return text;
}

}  // namespace emotune::text
