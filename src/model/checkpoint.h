#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <torch/torch.h>

namespace emotune::model {

// All tensors of a safetensors file as CPU tensors (copied out of the memory map), by name.
std::map<std::string, torch::Tensor> load_tensors(const std::filesystem::path& file);

// Writes tensors (any device; F32/F16/BF16/I64) as a safetensors file, atomically.
void save_tensors(const std::filesystem::path& file,
                  const std::map<std::string, torch::Tensor>& tensors,
                  const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace emotune::model
