#include "runtime/autocast.h"

#include <ATen/autocast_mode.h>
#include <fmt/format.h>

#include "common/error.h"
#include "runtime/cpu_capabilities.h"
#include "runtime/torch_compat.h"

namespace emotune::runtime {

MixedPrecision parse_mixed_precision(const std::string& name) {
  if (name == "none") return MixedPrecision::none;
  if (name == "bf16") return MixedPrecision::bf16;
  throw Error(fmt::format("mixed precision '{}' is not none, bf16 or auto", name));
}

std::string to_string(MixedPrecision precision) {
  return precision == MixedPrecision::bf16 ? "bf16" : "none";
}

MixedPrecision resolve_mixed_precision(const std::string& name, const torch::Device& device) {
  if (name != "auto") return parse_mixed_precision(name);
  return device.is_cpu() && reduced_precision_support().bf16_matrix_units ? MixedPrecision::bf16
                                                                          : MixedPrecision::none;
}

namespace {

// libtorch 2.4 made autocast's switches per device type; 1.13 has one pair per backend.
bool autocast_enabled(torch::DeviceType type) {
#if TORCH_VERSION_MAJOR >= 2
  return at::autocast::is_autocast_enabled(type);
#else
  return type == torch::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void set_autocast_enabled(torch::DeviceType type, bool enabled) {
#if TORCH_VERSION_MAJOR >= 2
  at::autocast::set_autocast_enabled(type, enabled);
#else
  if (type == torch::kCUDA) {
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_cpu_enabled(enabled);
  }
#endif
}

torch::ScalarType autocast_dtype(torch::DeviceType type) {
#if TORCH_VERSION_MAJOR >= 2
  return at::autocast::get_autocast_dtype(type);
#else
  return type == torch::kCUDA ? at::autocast::get_autocast_gpu_dtype()
                              : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_autocast_dtype(torch::DeviceType type, torch::ScalarType dtype) {
#if TORCH_VERSION_MAJOR >= 2
  at::autocast::set_autocast_dtype(type, dtype);
#else
  if (type == torch::kCUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

}  // namespace

AutocastScope::AutocastScope(MixedPrecision precision, const torch::Device& device) {
  if (precision == MixedPrecision::none) return;
  if (!device.is_cpu() && !device.is_cuda()) {
    throw Error(fmt::format("mixed precision runs on cpu or cuda, not {}", device.str()));
  }
  active_ = true;
  device_type_ = device.type();
  was_enabled_ = autocast_enabled(device_type_);
  previous_dtype_ = autocast_dtype(device_type_);
  set_autocast_dtype(device_type_, torch::kBFloat16);
  set_autocast_enabled(device_type_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // As torch.autocast's __exit__: the bfloat16 copies of the weights cached for this forward
  // pass go when the outermost scope ends, so the next step casts the updated weights.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_enabled(device_type_, was_enabled_);
  set_autocast_dtype(device_type_, previous_dtype_);
}

std::string mixed_precision_refusal(MixedPrecision precision, const torch::Device& device) {
  if (precision == MixedPrecision::none || !device.is_cpu()) return "";
  const auto support = reduced_precision_support();
  if (support.native_bf16) return "";
  return fmt::format(
      "mixed_precision = \"bf16\" needs native bfloat16 arithmetic (the CPU feature AVX512_BF16, "
      "or AMX), which this CPU lacks (oneDNN level {}); emulated, its products would run far "
      "slower than float32. Train with mixed_precision = \"none\"",
      support.isa ? onednn_isa_name(*support.isa) : std::string("below SSE4.1"));
}

MixedPrecision usable_mixed_precision(const std::string& name, const torch::Device& device) {
  const auto precision = resolve_mixed_precision(name, device);
  if (const auto refusal = mixed_precision_refusal(precision, device); !refusal.empty()) {
    throw Error(refusal);
  }
  return precision;
}

}  // namespace emotune::runtime
