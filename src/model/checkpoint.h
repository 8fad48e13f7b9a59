#pragma once

#include <filesystem>
#include <map>
#include <string>

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

// Writes tensors (any device; F32/F16/BF16/I64) as a safetensors file, atomically.
void save_tensors(const std::filesystem::path& file,
                  const std::map<std::string, torch::Tensor>& tensors,
                  const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace emotune::model
