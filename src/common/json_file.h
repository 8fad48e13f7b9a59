#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

namespace emotune {

// Writes a JSON document atomically (write_file_atomic), pretty-printed with two spaces and a
// final newline: the layout of every JSON file emotune writes (summary.json, emotune.json, ...).
void write_json(const std::filesystem::path& path, const nlohmann::json& value);

// Parses a JSON file; Error naming the file (and the parser's position) when it is not JSON.
nlohmann::json read_json(const std::filesystem::path& path);

}  // namespace emotune
