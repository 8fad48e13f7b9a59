#pragma once

// A best/ model folder (as `emotune train` writes it) at ELECTRA-base shape with random
// weights: 12 layers, hidden 768, 12 heads, FFN 3072, the fixture ELECTRA vocabulary and
// tokenizer, heads for empathy, distress and emotion. For speed measurements only.

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "train/run_dir.h"

namespace emotune::bench {

inline std::filesystem::path make_base_model(const std::filesystem::path& folder,
                                             const std::filesystem::path& fixtures,
                                             std::size_t max_length) {
  using nlohmann::json;
  std::filesystem::create_directories(folder);
  auto config = json::parse(std::ifstream(fixtures / "electra" / "config.json"));
  config["hidden_size"] = 768;
  config["embedding_size"] = 768;
  config["num_hidden_layers"] = 12;
  config["num_attention_heads"] = 12;
  config["intermediate_size"] = 3072;
  train::write_json(folder / "config.json", config);
  train::copy_tokenizer_files(fixtures / "electra", folder);
  torch::manual_seed(1);
  const std::vector<model::Task> tasks = {model::Task::empathy, model::Task::distress,
                                          model::Task::emotion};
  model::TaskModel task_model(model::create_encoder(folder / "config.json"), tasks, 0.0);
  std::map<std::string, torch::Tensor> tensors;
  for (auto& [name, tensor] : task_model->export_tensors()) tensors.emplace(name, tensor.detach());
  model::save_tensors(folder / "model.safetensors", tensors);
  train::write_json(folder / "emotune.json", json{{"model_type", "electra"},
                                                  {"tasks", {"empathy", "distress", "emotion"}},
                                                  {"max_length", max_length}});
  return folder;
}

}  // namespace emotune::bench
