#pragma once

// A best/ model folder (as `emotune train` writes it) with random weights, by default at
// ELECTRA-base shape (12 layers, hidden 768, 12 heads, FFN 3072), with the fixture ELECTRA
// vocabulary and tokenizer, heads for empathy, distress and emotion. For speed measurements only.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "common/json_file.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "predict/predictor.h"
#include "text/tokenizer.h"
#include "train/run_dir.h"

namespace emotune::bench {

// The encoder dimensions a bench model folder gets (the rest of the fixture ELECTRA config).
struct ModelShape {
  int hidden = 768;
  int layers = 12;
  int heads = 12;
  int ffn = 3072;
};
inline constexpr ModelShape kBaseShape{};  // ELECTRA-base
// The quick start's encoder (electra preset "tiny").
inline constexpr ModelShape kTinyShape{.hidden = 128, .layers = 4, .heads = 2, .ffn = 512};

inline std::filesystem::path make_base_model(const std::filesystem::path& folder,
                                             const std::filesystem::path& fixtures,
                                             std::size_t max_length,
                                             const ModelShape& shape = kBaseShape) {
  using nlohmann::json;
  std::filesystem::create_directories(folder);
  auto config = json::parse(std::ifstream(fixtures / "electra" / "config.json"));
  config["hidden_size"] = shape.hidden;
  config["embedding_size"] = shape.hidden;
  config["num_hidden_layers"] = shape.layers;
  config["num_attention_heads"] = shape.heads;
  config["intermediate_size"] = shape.ffn;
  write_json(folder / "config.json", config);
  train::copy_tokenizer_files(fixtures / "electra", folder);
  torch::manual_seed(1);
  const std::vector<model::Task> tasks = {model::Task::empathy, model::Task::distress,
                                          model::Task::emotion};
  model::TaskModel task_model(model::create_encoder(folder / "config.json"), tasks, 0.0);
  std::map<std::string, torch::Tensor> tensors;
  for (auto& [name, tensor] : task_model->export_tensors()) tensors.emplace(name, tensor.detach());
  model::save_tensors(folder / "model.safetensors", tensors);
  write_json(folder / "emotune.json", json{{"model_type", "electra"},
                                                  {"tasks", {"empathy", "distress", "emotion"}},
                                                  {"max_length", max_length}});
  return folder;
}

// Median of a benchmark's repetitions (the figure the benches report).
inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// The usual eager-PyTorch loop both benches compare against: batches of 16 in file order,
// each padded to max_length. The caller chooses the grad mode (NoGradGuard, InferenceMode).
inline double padded_essays_per_second(const std::vector<predict::EssayInput>& essays,
                                       std::size_t max_length, model::TaskModel& task_model,
                                       const text::Tokenizer& tokenizer) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  for (std::size_t start = 0; start < essays.size(); start += 16) {
    std::vector<std::int64_t> ids, mask;
    std::size_t rows = 0;
    for (std::size_t i = start; i < std::min(essays.size(), start + 16); ++i, ++rows) {
      auto encoding = tokenizer.encode(essays[i].text, max_length);
      encoding.input_ids.resize(max_length, tokenizer.special_ids().pad);
      encoding.attention_mask.resize(max_length, 0);
      ids.insert(ids.end(), encoding.input_ids.begin(), encoding.input_ids.end());
      mask.insert(mask.end(), encoding.attention_mask.begin(), encoding.attention_mask.end());
    }
    const std::vector<std::int64_t> shape = {static_cast<std::int64_t>(rows),
                                             static_cast<std::int64_t>(max_length)};
    auto outputs =
        task_model->forward(torch::tensor(ids).view(shape), torch::tensor(mask).view(shape),
                            torch::zeros(shape, torch::kInt64));
    (void)outputs;
  }
  return static_cast<double>(essays.size()) /
         std::chrono::duration<double>(Clock::now() - started).count();
}

}  // namespace emotune::bench
