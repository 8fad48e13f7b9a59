#include "common/json_file.h"

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"

namespace emotune {

void write_json(const std::filesystem::path& path, const nlohmann::json& value) {
  write_file_atomic(path, value.dump(2) + "\n");
}

nlohmann::json read_json(const std::filesystem::path& path) {
  const auto text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& error) {
    throw error_in(path, fmt::format("invalid JSON: {}", error.what()));
  }
}

}  // namespace emotune
