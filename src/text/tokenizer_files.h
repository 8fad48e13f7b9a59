#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

// What the tokenizer families read alike from a HuggingFace checkpoint folder.
namespace emotune::text {

// A JSON file of the folder (tokenizer_config.json, added_tokens.json, ...) that must hold
// an object; an Error naming the file when it is not valid JSON or not an object.
nlohmann::json read_json_object(const std::filesystem::path& file);

// A boolean option: `fallback` when absent or null, an Error naming file and key otherwise.
bool json_bool(const nlohmann::json& json, const char* key, bool fallback,
               const std::filesystem::path& file);

// transformers' clean_up_tokenization (4.30): glue punctuation and English contractions back
// onto the preceding word, as decode(clean_up_tokenization_spaces=True) does.
std::string clean_up_tokenization(std::string text);

}  // namespace emotune::text
