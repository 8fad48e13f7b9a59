#include "model/int8_rows_kernel.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace emotune::model {

namespace {

using Floats8 = float __attribute__((vector_size(32)));
using Bits8 = std::uint32_t __attribute__((vector_size(32)));

// The largest |row[j]| (at least 1e-12). Sixteen running maxima in two 8-float vectors (GCC's
// vector extension), since the compiler does not vectorize a float max reduction without
// -ffast-math. A NaN is not counted (amax would make the scale NaN) but stays in its own
// element of the output.
[[gnu::always_inline]] inline float row_max_abs(const float* row, std::size_t cols) {
  Floats8 lanes[2] = {};
  std::size_t j = 0;
  for (; j + 16 <= cols; j += 16) {
    for (int half = 0; half < 2; ++half) {
      Bits8 bits;  // |x| by clearing the sign bits
      std::memcpy(&bits, row + j + 8 * half, sizeof bits);
      bits &= 0x7FFFFFFFU;
      Floats8 v;
      std::memcpy(&v, &bits, sizeof v);
      lanes[half] = lanes[half] < v ? v : lanes[half];
    }
  }
  float top = 1e-12F;
  for (int k = 0; k < 8; ++k) top = std::max({top, lanes[0][k], lanes[1][k]});
  for (; j < cols; ++j) top = std::max(top, std::fabs(row[j]));
  return top;
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void scale_rows_to_unit(
    const float* x, float* out, float* scale, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    const float top = row_max_abs(row, cols);
    scale[r] = top;
    float* dst = out + r * cols;
    for (std::size_t k = 0; k < cols; ++k) dst[k] = row[k] / top;
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void unscale_rows_add_bias(
    float* y, const float* scale, const float* bias, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = y + r * cols;
    const float s = scale[r];
    for (std::size_t j = 0; j < cols; ++j) row[j] = row[j] * s + bias[j];
  }
}

}  // namespace emotune::model
