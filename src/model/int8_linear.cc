#include "model/int8_linear.h"

#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "model/int8_rows_kernel.h"

namespace emotune::model {

namespace {

// body(begin, end) over blocks of rows on torch's intra-op threads, blocks of at least ~32k
// elements so that a small product is not handed between threads.
template <typename Body>
void for_row_blocks(std::int64_t rows, std::int64_t cols, const Body& body) {
  const auto grain = std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(cols, 1));
  at::parallel_for(0, rows, grain, body);
}

}  // namespace

struct Int8Linear::Impl {
  std::int64_t inputs = 0, outputs = 0;
  torch::Tensor bias;  // float [out]
  c10::IValue prepacked;
  bool reduce_range = false;
};

Int8Linear::Int8Linear(const torch::Tensor& weight, const torch::Tensor& bias, Int8Range range)
    : impl_(std::make_unique<Impl>()) {
  if (!weight.device().is_cpu() || weight.dim() != 2)
    throw Error(fmt::format("precision int8 runs on the CPU only, with 2-d weights (got {} "
                            "dimensions on {})",
                            weight.dim(), weight.device().str()));
  if (range == Int8Range::automatic)
    throw Error("Int8Linear: resolve Int8Range::automatic before packing");
  auto& m = *impl_;
  m.outputs = weight.size(0);
  m.inputs = weight.size(1);
  m.bias = bias.to(torch::kFloat32).contiguous();
  m.reduce_range = range == Int8Range::seven_bit_activations;
  // One scale per output row keeps rows with small weights from losing all precision.
  const double levels = range == Int8Range::seven_bit_weights ? 63.0 : 127.0;
  const auto w = weight.to(torch::kFloat32).contiguous();
  const auto steps = (w.abs().amax(1) / levels).clamp_min(1e-12).to(torch::kDouble);
  const auto per_channel = at::quantize_per_channel(
      w, steps, torch::zeros({m.outputs}, torch::kLong), 0, torch::kQInt8);
  static const auto prepack =
      c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack", "");
  std::vector<c10::IValue> stack{per_channel, c10::optional<at::Tensor>()};
  prepack.callBoxed(&stack);
  m.prepacked = std::move(stack.at(0));
}

Int8Linear::~Int8Linear() = default;

torch::Tensor Int8Linear::operator()(const torch::Tensor& x) const {
  const auto& m = *impl_;
  const auto input = x.to(torch::kFloat32).contiguous();
  if (input.size(-1) != m.inputs)
    throw Error(fmt::format("int8 Linear: the input has {} features, the layer takes {}",
                            input.size(-1), m.inputs));
  const auto rows = input.numel() / m.inputs;
  auto scaled = torch::empty({rows, m.inputs}, input.options());
  auto row_scale = torch::empty({rows}, input.options());
  for_row_blocks(rows, m.inputs, [&](std::int64_t begin, std::int64_t end) {
    scale_rows_to_unit(input.data_ptr<float>() + begin * m.inputs,
                       scaled.data_ptr<float>() + begin * m.inputs,
                       row_scale.data_ptr<float>() + begin, static_cast<std::size_t>(end - begin),
                       static_cast<std::size_t>(m.inputs));
  });
  static const auto linear_dynamic =
      c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_dynamic", "");
  std::vector<c10::IValue> stack{scaled, m.prepacked, m.reduce_range};
  linear_dynamic.callBoxed(&stack);
  auto product = stack.at(0).toTensor();
  if (!product.is_contiguous() || product.scalar_type() != torch::kFloat32)
    product = product.to(torch::kFloat32).contiguous();
  for_row_blocks(rows, m.outputs, [&](std::int64_t begin, std::int64_t end) {
    unscale_rows_add_bias(product.data_ptr<float>() + begin * m.outputs,
                          row_scale.data_ptr<float>() + begin, m.bias.data_ptr<float>(),
                          static_cast<std::size_t>(end - begin),
                          static_cast<std::size_t>(m.outputs));
  });
  auto sizes = input.sizes().vec();
  sizes.back() = m.outputs;
  return product.view(sizes);
}

}  // namespace emotune::model
