#pragma once

#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace emotune::runtime {

// "cpu", "cuda" or "cuda:N"; an Error when CUDA is asked for but this libtorch has none.
c10::Device parse_device(const std::string& name);

// "float32" | "fp32" | "bfloat16" | "bf16"; an Error for anything else.
c10::ScalarType parse_dtype(const std::string& name);

}  // namespace emotune::runtime
