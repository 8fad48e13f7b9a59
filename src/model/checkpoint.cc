#include "model/checkpoint.h"

#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "io/checkpoint_files.h"
#include "model/torch_bin.h"

namespace emotune::model {

torch::ScalarType to_torch_dtype(io::DType dtype) {
  switch (dtype) {
    case io::DType::F64:
      return torch::kDouble;
    case io::DType::F32:
      return torch::kFloat;
    case io::DType::F16:
      return torch::kHalf;
    case io::DType::BF16:
      return torch::kBFloat16;
    case io::DType::I64:
      return torch::kLong;
    case io::DType::I32:
      return torch::kInt;
    case io::DType::I16:
      return torch::kShort;
    case io::DType::I8:
      return torch::kChar;
    case io::DType::U8:
      return torch::kByte;
    case io::DType::BOOL:
      return torch::kBool;
  }
  throw std::logic_error("unhandled io::DType");
}

io::DType to_safetensors_dtype(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kDouble:
      return io::DType::F64;
    case torch::kFloat:
      return io::DType::F32;
    case torch::kHalf:
      return io::DType::F16;
    case torch::kBFloat16:
      return io::DType::BF16;
    case torch::kLong:
      return io::DType::I64;
    case torch::kInt:
      return io::DType::I32;
    case torch::kShort:
      return io::DType::I16;
    case torch::kChar:
      return io::DType::I8;
    case torch::kByte:
      return io::DType::U8;
    case torch::kBool:
      return io::DType::BOOL;
    default:
      throw Error(
          fmt::format("tensors of dtype {} cannot be stored in safetensors", c10::toString(dtype)));
  }
}

torch::Tensor read_tensor(const io::SafetensorsFile& file, const io::TensorInfo& info) {
  auto tensor = torch::empty(info.shape, torch::TensorOptions().dtype(to_torch_dtype(info.dtype)));
  const auto bytes = file.data(info);
  // The data section need not be aligned for the element type, so copy bytes, never alias.
  if (!bytes.empty()) std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
  return tensor;
}

std::map<std::string, torch::Tensor> load_tensors(const std::filesystem::path& file) {
  const io::SafetensorsFile safetensors(file);
  std::map<std::string, torch::Tensor> out;
  for (const auto& info : safetensors.tensors())
    out.emplace(info.name, read_tensor(safetensors, info));
  return out;
}

std::vector<CheckpointTensor> open_weights(const std::filesystem::path& file) {
  const auto name = file.filename().string();
  std::vector<CheckpointTensor> out;
  if (name.ends_with(".index.json")) {
    const auto index = io::read_shard_index(file);
    std::set<std::string> seen;
    for (const auto& shard : index.shards()) {
      const auto shard_path = file.parent_path() / shard;
      if (!std::filesystem::is_regular_file(shard_path))
        throw error_in(file, fmt::format("names the shard '{}', which is not in {}", shard,
                                         file.parent_path().string()));
      std::set<std::string> in_shard;
      for (auto& tensor : open_weights(shard_path)) {
        in_shard.insert(tensor.name);
        if (!seen.insert(tensor.name).second)
          throw error_in(file, fmt::format("tensor '{}' is held by two shards", tensor.name));
        out.push_back(std::move(tensor));
      }
      for (const auto& [tensor, where] : index.weight_map)
        if (where == shard && !in_shard.contains(tensor))
          throw error_in(file, fmt::format("places tensor '{}' in {}, which lacks it", tensor,
                                           shard_path.string()));
    }
    return out;
  }
  if (name.ends_with(".safetensors")) {
    const auto safetensors = std::make_shared<io::SafetensorsFile>(file);
    for (const auto& info : safetensors->tensors())
      out.push_back({info.name, to_torch_dtype(info.dtype), info.shape, file,
                     [safetensors, &info] { return read_tensor(*safetensors, info); }});
    return out;
  }
  for (auto& [tensor_name, tensor] : load_torch_bin(file))
    out.push_back({tensor_name, tensor.scalar_type(), tensor.sizes().vec(), file,
                   [tensor] { return tensor.contiguous(); }});
  return out;
}

std::map<std::string, torch::Tensor> load_weights(const std::filesystem::path& file) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& tensor : open_weights(file)) out.emplace(tensor.name, tensor.read());
  return out;
}

std::filesystem::path checkpoint_weights_file(const std::filesystem::path& dir) {
  if (auto file = io::find_weights_file(dir)) return *file;
  throw error_in(dir, fmt::format("no weights: expected {}", io::weight_file_names_text()));
}

void save_tensors(const std::filesystem::path& file,
                  const std::map<std::string, torch::Tensor>& tensors,
                  const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep_alive;
  keep_alive.reserve(tensors.size());
  std::map<std::string, io::TensorBytes> views;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined())
      throw Error(fmt::format("{}: tensor '{}' is undefined", file.string(), name));
    auto cpu = tensor.detach().to(torch::kCPU).contiguous();
    io::TensorBytes view;
    view.dtype = to_safetensors_dtype(cpu.scalar_type());
    view.shape = cpu.sizes().vec();
    view.bytes = {static_cast<const std::byte*>(cpu.data_ptr()), cpu.nbytes()};
    views.emplace(name, std::move(view));
    keep_alive.push_back(std::move(cpu));
  }
  io::write_safetensors(file, views, metadata);
}

}  // namespace emotune::model
