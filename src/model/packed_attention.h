#pragma once

// Multi-head attention over essays packed end to end (no padding), for inference on the CPU.
//
// Why its own kernel: libtorch 1.13's batched matmul on the CPU loops over the
// batch × heads small products, each a separate BLAS call with its own thread hand-off, and
// its nested-tensor path adds per-essay bookkeeping; at MiniLM's width those overheads cost
// as much as the layer's large products. Here one task per essay runs all its heads
// single-threaded (the BLAS inside a parallel region runs on the calling thread), essays
// longest first from a shared counter so the threads finish together.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace emotune::model {

// Where each essay's rows lie in the packed [tokens, ...] matrices.
struct PackedRows {
  std::vector<std::int64_t> key_start;    // first key/value row of essay b
  std::vector<std::int64_t> length;       // keys (tokens) of essay b
  std::vector<std::int64_t> query_start;  // first query (and output) row of essay b
  bool first_query_only = false;          // one query row per essay (its first token)
};

// softmax(q k^T / sqrt(head_size)) v per essay and head. query [rows, ≥ hidden] and
// key/value [tokens, ≥ hidden] are float32 CPU matrices whose rows may be strided views
// into a wider matrix (a fused QKV product), with unit stride along the last dimension;
// heads are the consecutive head_size-wide column blocks. Returns float32 [rows, hidden].
torch::Tensor packed_attention(const torch::Tensor& query, const torch::Tensor& key,
                               const torch::Tensor& value, const PackedRows& rows,
                               std::int64_t num_heads, std::int64_t hidden);

}  // namespace emotune::model
