#include "io/checkpoint_files.h"

#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"

namespace emotune::io {

std::optional<std::filesystem::path> find_weights_file(const std::filesystem::path& dir) {
  for (const auto name : kWeightFileNames) {
    std::error_code ec;
    const auto path = dir / name;
    if (std::filesystem::is_regular_file(path, ec)) return path;
  }
  return std::nullopt;
}

std::string weight_file_names_text() {
  return fmt::format("{}, {}, {} or {}", kWeightFileNames[0], kWeightFileNames[1],
                     kWeightFileNames[2], kWeightFileNames[3]);
}

std::vector<std::string> ShardIndex::shards() const {
  std::set<std::string> names;
  for (const auto& [tensor, shard] : weight_map) names.insert(shard);
  return {names.begin(), names.end()};
}

bool is_safe_relative_path(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto end = std::min(name.find('/', start), name.size());
    const auto part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

ShardIndex read_shard_index(const std::filesystem::path& index_file) {
  const auto json = nlohmann::json::parse(read_file(index_file), nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("weight_map") ||
      !json["weight_map"].is_object()) {
    throw error_in(index_file, "expected a JSON object with a \"weight_map\" object");
  }
  ShardIndex index;
  for (const auto& [tensor, shard] : json["weight_map"].items()) {
    if (!shard.is_string() || !is_safe_relative_path(shard.get<std::string>())) {
      throw error_in(index_file, fmt::format("\"weight_map\".\"{}\": expected a file name in "
                                             "the checkpoint folder",
                                             tensor));
    }
    index.weight_map.emplace(tensor, shard.get<std::string>());
  }
  if (index.weight_map.empty()) throw error_in(index_file, "\"weight_map\" is empty");
  return index;
}

}  // namespace emotune::io
