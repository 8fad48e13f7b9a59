#include "train/optim.h"

#include <cmath>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "common/error.h"
#include "train/adamw_kernel.h"

namespace emotune::train {

AdamW::AdamW(std::vector<std::pair<std::string, torch::Tensor>> named_parameters,
             AdamWOptions options)
    : options_(options) {
  for (auto& [name, param] : named_parameters) {
    slots_.push_back({name, param, torch::zeros_like(param, torch::MemoryFormat::Preserve),
                      torch::zeros_like(param, torch::MemoryFormat::Preserve)});
  }
}

void AdamW::zero_grad() {
  for (auto& slot : slots_) slot.param.mutable_grad().reset();
}

namespace {

bool fusable(const torch::Tensor& param, const torch::Tensor& grad, const torch::Tensor& exp_avg,
             const torch::Tensor& exp_avg_sq) {
  for (const auto* t : {&param, &grad, &exp_avg, &exp_avg_sq}) {
    if (!t->device().is_cpu() || t->scalar_type() != torch::kFloat || !t->is_contiguous() ||
        t->is_sparse()) {
      return false;
    }
  }
  return grad.numel() == param.numel();
}

}  // namespace

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++steps_;
  // Python computes the bias corrections as Python floats (double); so do we.
  const double bias_correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(steps_));
  const double bias_correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(steps_));
  const double step_size = lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  const AdamWStepScalars scalars{static_cast<float>(1.0 - lr * options_.weight_decay),
                                 static_cast<float>(options_.beta1),
                                 static_cast<float>(1.0 - options_.beta1),
                                 static_cast<float>(options_.beta2),
                                 static_cast<float>(1.0 - options_.beta2),
                                 static_cast<float>(bias_correction2_sqrt),
                                 static_cast<float>(options_.eps),
                                 static_cast<float>(-step_size)};
  for (auto& slot : slots_) {
    const auto& grad = slot.param.grad();
    if (!grad.defined()) continue;
    if (options_.fused && fusable(slot.param, grad, slot.exp_avg, slot.exp_avg_sq)) {
      float* param = slot.param.data_ptr<float>();
      const float* g = grad.data_ptr<float>();
      float* exp_avg = slot.exp_avg.data_ptr<float>();
      float* exp_avg_sq = slot.exp_avg_sq.data_ptr<float>();
      // Chunks of 32 K elements spread over torch's intra-op threads; small tensors in one.
      at::parallel_for(0, slot.param.numel(), 1 << 15, [&](std::int64_t begin, std::int64_t end) {
        adamw_update(param + begin, g + begin, exp_avg + begin, exp_avg_sq + begin,
                     static_cast<std::size_t>(end - begin), scalars);
      });
      continue;
    }
    if (options_.weight_decay != 0.0) slot.param.mul_(1.0 - lr * options_.weight_decay);
    slot.exp_avg.mul_(options_.beta1).add_(grad, 1.0 - options_.beta1);
    slot.exp_avg_sq.mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
    const auto denom = (slot.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(options_.eps);
    slot.param.addcdiv_(slot.exp_avg, denom, -step_size);
  }
}

std::map<std::string, torch::Tensor> AdamW::state_tensors() const {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& slot : slots_) {
    tensors.emplace("adamw." + slot.name + ".exp_avg", slot.exp_avg);
    tensors.emplace("adamw." + slot.name + ".exp_avg_sq", slot.exp_avg_sq);
  }
  tensors.emplace("adamw.step", torch::tensor({steps_}, torch::kInt64));
  return tensors;
}

void AdamW::load_state_tensors(const std::map<std::string, torch::Tensor>& tensors,
                               const std::string& origin) {
  const auto fetch = [&](const std::string& name, const torch::Tensor& like) {
    const auto found = tensors.find(name);
    if (found == tensors.end()) throw Error(fmt::format("{}: tensor {} is missing", origin, name));
    if (like.defined() && found->second.sizes() != like.sizes()) {
      throw Error(fmt::format("{}: tensor {} has another shape than parameter it belongs to",
                              origin, name));
    }
    return found->second;
  };
  torch::NoGradGuard no_grad;
  for (auto& slot : slots_) {
    slot.exp_avg.copy_(fetch("adamw." + slot.name + ".exp_avg", slot.exp_avg));
    slot.exp_avg_sq.copy_(fetch("adamw." + slot.name + ".exp_avg_sq", slot.exp_avg_sq));
  }
  steps_ = fetch("adamw.step", {}).reshape({-1})[0].item<std::int64_t>();
}

}  // namespace emotune::train
