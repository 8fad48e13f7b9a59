#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/test_paths.h"
#include "model/checkpoint.h"

namespace emotune::model::testing_support {

// The forward golden of a family: its index JSON and its tensors.
struct ForwardGolden {
  nlohmann::json index;
  std::map<std::string, torch::Tensor> tensors;

  const torch::Tensor& at(const std::string& name) const { return tensors.at(name); }
  bool has(const std::string& name) const { return tensors.contains(name); }
};

inline ForwardGolden load_forward_golden(const std::string& family) {
  const auto dir = emotune::testing::hf_fixtures_dir() / "golden";
  return {nlohmann::json::parse(read_file(dir / (family + "_forward.json"))),
          load_tensors(dir / (family + "_forward.safetensors"))};
}

// input_ids_512 of every text from golden/<family>_tokens.json (HF's tokenizer output).
inline std::vector<std::vector<std::int64_t>> golden_input_ids(const std::string& family) {
  const auto path = emotune::testing::hf_fixtures_dir() / "golden" / (family + "_tokens.json");
  const auto tokens = nlohmann::json::parse(read_file(path));
  std::vector<std::vector<std::int64_t>> ids;
  for (const auto& text : tokens.at("texts"))
    ids.push_back(text.at("input_ids_512").get<std::vector<std::int64_t>>());
  return ids;
}

// Max |a - b| over positions where mask [batch, length] is 1 (a, b: [batch, length, hidden]).
inline double masked_max_abs_diff(const torch::Tensor& a, const torch::Tensor& b,
                                  const torch::Tensor& mask) {
  const auto keep = mask.to(torch::kBool).unsqueeze(-1).expand_as(a);
  return (a.to(torch::kFloat) - b.to(torch::kFloat)).abs().masked_select(keep).max().item<double>();
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat) - b.to(torch::kFloat)).abs().max().item<double>();
}

// Right-pads rows of ids with `pad` to the longest; returns {input_ids, attention_mask}.
inline std::pair<torch::Tensor, torch::Tensor> pad_batch(
    const std::vector<std::vector<std::int64_t>>& rows, std::int64_t pad) {
  std::size_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, r.size());
  auto ids =
      torch::full({static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(longest)}, pad,
                  torch::kLong);
  auto mask = torch::zeros_like(ids);
  auto ids_at = ids.accessor<std::int64_t, 2>();
  auto mask_at = mask.accessor<std::int64_t, 2>();
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < rows[i].size(); ++j) {
      ids_at[i][j] = rows[i][j];
      mask_at[i][j] = 1;
    }
  return {ids, mask};
}

}  // namespace emotune::model::testing_support
