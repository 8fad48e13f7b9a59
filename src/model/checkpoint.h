#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "io/safetensors.h"

namespace emotune::model {

// The torch dtype of a safetensors dtype (all ten have one).
torch::ScalarType to_torch_dtype(io::DType dtype);
// The safetensors dtype of a torch dtype; Error for types the format lacks (complex, ...).
io::DType to_safetensors_dtype(torch::ScalarType dtype);

// One tensor of an open file, copied into a new CPU tensor of its own dtype.
torch::Tensor read_tensor(const io::SafetensorsFile& file, const io::TensorInfo& info);

// All tensors of a safetensors file as CPU tensors (copied out of the memory map), by name.
std::map<std::string, torch::Tensor> load_tensors(const std::filesystem::path& file);

// One tensor of a checkpoint's weights: its header, and how to read it (on demand from a
// memory-mapped safetensors file, or already in memory for a PyTorch file).
struct CheckpointTensor {
  std::string name;
  torch::ScalarType dtype = torch::kFloat;
  std::vector<std::int64_t> shape;
  std::filesystem::path file;  // the file (or shard) holding it, for messages
  std::function<torch::Tensor()> read;
};

// The tensors of a weights file, by its name: *.safetensors, a PyTorch zip checkpoint
// (pytorch_model.bin, *.pt, *.pth), or a sharded index (*.index.json) of either, whose
// weight_map is checked against its shards. A tensor held twice is an Error.
std::vector<CheckpointTensor> open_weights(const std::filesystem::path& file);

// open_weights, every tensor read: CPU tensors by name.
std::map<std::string, torch::Tensor> load_weights(const std::filesystem::path& file);

// The weights of a HuggingFace checkpoint folder, found as transformers finds them
// (io::find_weights_file); Error naming the folder and the file names when there are none.
std::filesystem::path checkpoint_weights_file(const std::filesystem::path& dir);

// Writes tensors (any device; F32/F16/BF16/I64) as a safetensors file, atomically.
void save_tensors(const std::filesystem::path& file,
                  const std::map<std::string, torch::Tensor>& tensors,
                  const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace emotune::model
