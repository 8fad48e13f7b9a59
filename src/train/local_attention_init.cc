#include "train/local_attention_init.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "common/error.h"

namespace emotune::train {
namespace {

torch::Tensor frequencies(std::int64_t count) {
  return (torch::arange(count, torch::kDouble) + 0.5) * (std::numbers::pi / double(count));
}

}  // namespace

void initialize_sinusoidal_positions(torch::Tensor positions, double std) {
  const auto width = positions.size(1);
  if (width % 2 != 0)
    throw Error(fmt::format("sinusoidal position embeddings need an even width, got {}", width));
  const auto angle =
      torch::arange(positions.size(0), torch::kDouble).unsqueeze(1) * frequencies(width / 2);
  auto sinusoids = torch::empty({positions.size(0), width}, torch::kDouble);
  sinusoids.slice(1, 0, width, 2).copy_(angle.sin());
  sinusoids.slice(1, 1, width, 2).copy_(angle.cos());
  torch::NoGradGuard no_grad;
  positions.copy_(sinusoids * (std / sinusoids.std().item<double>()));
}

bool initialize_local_attention(torch::nn::Module& model, const io::HfConfig& config,
                                const std::string& prefix, double scale) {
  auto parameters = model.named_parameters(true);
  const auto find = [&](const std::string& name) {
    const auto* tensor = parameters.find(prefix + name);
    if (tensor == nullptr)
      throw Error(
          fmt::format("local attention init: the model has no tensor '{}{}'", prefix, name));
    return *tensor;
  };
  const auto width = find("embeddings.position_embeddings.weight").size(1);
  const auto hidden = config.hidden_size;
  if (width > hidden || width % 2 != 0 || hidden / config.num_attention_heads < 2) return false;
  // A row u of the embedding space read off the hidden state h = W·x: u·x = (u·pinv(W))·h.
  auto to_hidden = torch::eye(width, torch::kDouble);
  if (const auto* project = parameters.find(prefix + "embeddings_project.weight"))
    to_hidden = torch::linalg_pinv(project->detach().to(torch::kDouble));

  const std::string layer = "encoder.layer.0.attention.self.";
  auto query = find(layer + "query.weight"), key = find(layer + "key.weight");
  auto query_bias = find(layer + "query.bias"), key_bias = find(layer + "key.bias");
  const auto heads = config.num_attention_heads;
  const auto head_dim = hidden / heads;
  const auto pairs = head_dim / 2;
  const auto local_heads = std::min<std::int64_t>(2, heads);
  const auto omega = frequencies(width / 2);
  // Each head takes every stride-th frequency, so that its share spans the whole range and its
  // peak stays one token wide.
  const auto stride = std::max<std::int64_t>(1, (width / 2) / pairs);

  torch::NoGradGuard no_grad;
  for (std::int64_t head = 0; head < local_heads; ++head) {
    const int offset = head == 0 ? -1 : +1;  // the token this head looks at: i + offset
    std::int64_t pair = 0;
    for (std::int64_t f = head % stride; f < width / 2 && pair < pairs; f += stride, ++pair) {
      // query = (sin ωi, cos ωi), key = (sin ω(j - offset), cos ω(j - offset)):
      // their product is cos ω(i - j + offset), largest at j = i + offset over the frequencies.
      const double shift = omega[f].item<double>() * -offset;
      const double c = std::cos(shift), s = std::sin(shift);
      auto unit = [&](double at_sin, double at_cos) {
        auto row = torch::zeros({width}, torch::kDouble);
        row[2 * f] = scale * at_sin;
        row[2 * f + 1] = scale * at_cos;
        return row.matmul(to_hidden).to(query.scalar_type());
      };
      const auto row = head * head_dim + 2 * pair;
      query[row].copy_(unit(1, 0));
      query[row + 1].copy_(unit(0, 1));
      key[row].copy_(unit(c, s));
      key[row + 1].copy_(unit(-s, c));
      for (auto bias : {query_bias, key_bias}) bias.slice(0, row, row + 2).zero_();
    }
  }
  return true;
}

}  // namespace emotune::train
