#pragma once
// The per-token scaling around a dynamic int8 product (model/int8_linear.h): each row (token)
// divided by its largest |value| before the product quantizes it, and multiplied back after.
// One pass each way instead of the five tensor operations it replaces (abs, amax, div, mul, add),
// with the same roundings, so answers stay bit for bit those of the tensor operations.

#include <cstddef>

namespace emotune::model {

// scale[r] = max(max_j |x[r, j]|, 1e-12) and out[r, j] = x[r, j] / scale[r], for `rows` rows of
// `cols` contiguous floats; out may be x.
void scale_rows_to_unit(const float* x, float* out, float* scale, std::size_t rows,
                        std::size_t cols);

// y[r, j] = y[r, j] * scale[r] + bias[j] (rounded after the product, then after the sum).
void unscale_rows_add_bias(float* y, const float* scale, const float* bias, std::size_t rows,
                           std::size_t cols);

}  // namespace emotune::model
