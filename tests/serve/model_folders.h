#pragma once

// Shared by the prediction tests: a model folder written from a TaskModel the test built, as
// `emotune train` writes a best/ snapshot (weights, then emotune.json through io::ModelManifest).

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include <torch/torch.h>

#include "io/run_files.h"
#include "model/checkpoint.h"
#include "model/heads.h"

namespace emotune::testing {

// model.safetensors and emotune.json of `task_model` in `folder` (config.json and the
// tokenizer files are the caller's); a model with a person input records its width.
inline void save_model_folder(const std::filesystem::path& folder, model::TaskModel& task_model,
                              std::int64_t max_length) {
  std::map<std::string, torch::Tensor> tensors;
  for (auto& [name, tensor] : task_model->export_tensors()) tensors.emplace(name, tensor.detach());
  model::save_tensors(folder / "model.safetensors", tensors);
  io::ModelManifest manifest;
  manifest.model_type = task_model->encoder().model_type();
  manifest.tasks = task_model->tasks();
  manifest.max_length = max_length;
  manifest.details = {{"weight_prefix", task_model->encoder().weight_prefix()},
                      {"emotion_labels", model::emotion_labels()}};
  if (task_model->person_dimension() > 0) {
    manifest.inputs = {"text", "person"};
    manifest.person = io::PersonInputInfo{task_model->person_dimension(), {}, ""};
  }
  manifest.write(folder);
}

}  // namespace emotune::testing
