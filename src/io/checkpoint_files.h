#pragma once

// Which files hold the weights of a HuggingFace checkpoint folder. Torch-free: the model
// layer reads the files these name.

#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emotune::io {

// The weight files transformers' from_pretrained looks for, in its order of preference:
// one safetensors file, a sharded safetensors index, one PyTorch file, a sharded PyTorch index.
inline constexpr std::array<std::string_view, 4> kWeightFileNames{
    "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
    "pytorch_model.bin.index.json"};

// The first of kWeightFileNames present in `dir`; nullopt when none is.
std::optional<std::filesystem::path> find_weights_file(const std::filesystem::path& dir);

// "model.safetensors, model.safetensors.index.json, pytorch_model.bin or
// pytorch_model.bin.index.json", for messages.
std::string weight_file_names_text();

// A sharded checkpoint's index (model.safetensors.index.json, pytorch_model.bin.index.json):
// {"metadata": {...}, "weight_map": {tensor name: shard file name}}.
struct ShardIndex {
  std::map<std::string, std::string> weight_map;
  // The distinct shard file names, sorted.
  std::vector<std::string> shards() const;
};

// Errors name the file: not JSON, no "weight_map" object, an empty map, or a shard name that
// is not a plain relative path inside the folder (no "..", no absolute path).
ShardIndex read_shard_index(const std::filesystem::path& index_file);

// Whether a name from a listing or an index stays inside the folder it is joined to.
bool is_safe_relative_path(std::string_view name);

}  // namespace emotune::io
