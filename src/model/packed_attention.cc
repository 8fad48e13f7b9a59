#include "model/packed_attention.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "common/error.h"

namespace emotune::model {

namespace {

void check_matrix(const torch::Tensor& t, const char* name, std::int64_t min_rows,
                  std::int64_t min_columns) {
  if (!t.device().is_cpu() || t.scalar_type() != torch::kFloat32 || t.dim() != 2 ||
      t.stride(1) != 1 || t.size(0) < min_rows || t.size(1) < min_columns) {
    throw Error(fmt::format(
        "packed attention: {} must be a float32 CPU matrix with unit column stride, at least "
        "{} x {}",
        name, min_rows, min_columns));
  }
}

}  // namespace

torch::Tensor packed_attention(const torch::Tensor& query, const torch::Tensor& key,
                               const torch::Tensor& value, const PackedRows& rows,
                               std::int64_t num_heads, std::int64_t hidden) {
  const auto essays = rows.length.size();
  if (rows.key_start.size() != essays || rows.query_start.size() != essays || num_heads <= 0 ||
      hidden % num_heads != 0) {
    throw Error("packed attention: inconsistent essay rows or head count");
  }
  std::int64_t tokens = 0;
  std::int64_t query_rows = 0;
  std::int64_t longest = 0;
  for (std::size_t b = 0; b < essays; ++b) {
    tokens = std::max(tokens, rows.key_start[b] + rows.length[b]);
    query_rows = std::max(query_rows,
                          rows.query_start[b] + (rows.first_query_only ? 1 : rows.length[b]));
    longest = std::max(longest, rows.length[b]);
  }
  check_matrix(query, "query", query_rows, hidden);
  check_matrix(key, "key", tokens, hidden);
  check_matrix(value, "value", tokens, hidden);

  const auto head_size = hidden / num_heads;
  const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_size)));
  auto output = torch::empty({query.size(0), hidden}, torch::kFloat32);
  const float* q = query.data_ptr<float>();
  const float* k = key.data_ptr<float>();
  const float* v = value.data_ptr<float>();
  float* out = output.data_ptr<float>();
  const auto q_ld = query.stride(0), k_ld = key.stride(0), v_ld = value.stride(0);
  const auto out_ld = output.stride(0);

  std::vector<std::size_t> order(essays);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return rows.length[a] > rows.length[b];
  });
  std::atomic<std::size_t> next{0};
  const auto workers = std::max<std::int64_t>(
      1, std::min<std::int64_t>(at::get_num_threads(), static_cast<std::int64_t>(essays)));
  const auto per_head_rows = rows.first_query_only ? 1 : longest;
  at::parallel_for(0, workers, 1, [&](std::int64_t, std::int64_t) {
    // Scores and probabilities of every head of the current essay, reused across essays.
    std::vector<float> scores(static_cast<std::size_t>(num_heads * per_head_rows * longest));
    std::vector<float> probabilities(scores.size());
    for (std::size_t item = next.fetch_add(1); item < essays; item = next.fetch_add(1)) {
      const auto b = order[item];
      const auto n = rows.length[b];
      if (n <= 0) continue;
      const auto r = rows.first_query_only ? 1 : n;
      const float* q_b = q + rows.query_start[b] * q_ld;
      const float* k_b = k + rows.key_start[b] * k_ld;
      const float* v_b = v + rows.key_start[b] * v_ld;
      float* out_b = out + rows.query_start[b] * out_ld;
      // Strided views straight into the packed matrices; at::mm_out inside a parallel
      // region runs the BLAS on this thread.
      const auto options = torch::TensorOptions(torch::kFloat32);
      const auto view = [&](const float* data, std::int64_t rows_, std::int64_t columns,
                            std::int64_t row_stride, std::int64_t column_stride) {
        return torch::from_blob(const_cast<float*>(data), {rows_, columns},
                                {row_stride, column_stride}, options);
      };
      for (std::int64_t h = 0; h < num_heads; ++h) {
        auto s_h = view(scores.data() + h * r * n, r, n, n, 1);
        at::mm_out(s_h, view(q_b + h * head_size, r, head_size, q_ld, 1),
                   view(k_b + h * head_size, head_size, n, 1, k_ld));
      }
      auto s = view(scores.data(), num_heads * r, n, n, 1);
      s.mul_(scale);
      auto p = view(probabilities.data(), num_heads * r, n, n, 1);
      at::_softmax_out(p, s, 1, false);
      for (std::int64_t h = 0; h < num_heads; ++h) {
        auto out_h = view(out_b + h * head_size, r, head_size, out_ld, 1);
        at::mm_out(out_h, view(probabilities.data() + h * r * n, r, n, n, 1),
                   view(v_b + h * head_size, n, head_size, v_ld, 1));
      }
    }
  });
  return output;
}

}  // namespace emotune::model
