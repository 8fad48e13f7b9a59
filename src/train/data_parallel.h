#pragma once

// The trainer's view of data-parallel training: which rank this process is, how it takes its
// share of a global batch, and the few points where ranks meet. The base class is a single
// process (rank 0 of 1, every meeting a no-op), so plain training runs exactly this code;
// train/distributed.h implements it over PyTorch's c10d (Gloo on CPU, NCCL on CUDA).

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace emotune::train {

class DataParallel {
 public:
  virtual ~DataParallel() = default;

  virtual int rank() const { return 0; }
  virtual int world_size() const { return 1; }
  bool is_coordinator() const { return rank() == 0; }

  // Called after backward with this rank's mean loss over `local_rows` rows of a global batch
  // of `global_rows` (the same on every rank). Leaves in every parameter's gradient the
  // gradient of the mean loss over the global batch, and returns that mean loss, as one
  // process training the whole global batch would have. `step` is the 1-based optimizer step
  // (for error messages).
  virtual double average_gradients(const std::vector<torch::Tensor>& parameters, double local_loss,
                                   std::int64_t local_rows, std::int64_t global_rows,
                                   std::int64_t step) {
    return local_loss;
  }

  // Makes every rank hold rank 0's `tensors` (overwritten in place) and `document`.
  virtual void broadcast_from_coordinator(const std::vector<torch::Tensor>& tensors,
                                          std::string& document) {}

  // The other ranks wait here while rank 0 evaluates and writes snapshots; rank 0 arrives
  // when it is done.
  virtual void wait_for_coordinator() {}
};

// The rows of `global_batch` that `rank` of `world_size` trains: a contiguous, balanced slice
// (sizes differ by at most one), so full global batches of world_size × B rows give every
// rank exactly B. A rank whose slice is empty (a last batch smaller than the world) gets the
// first row as a stand-in with `rows` = 0: it must still run forward and backward so every
// rank gives gradients of the same parameters, and its gradient is weighted by 0.
struct LocalShard {
  std::vector<std::size_t> chosen;
  std::int64_t rows = 0;  // real rows in `chosen` (0 for the stand-in)
};

inline LocalShard local_shard(const std::vector<std::size_t>& global_batch, int rank,
                              int world_size) {
  const auto size = global_batch.size();
  const auto world = static_cast<std::size_t>(world_size);
  const auto r = static_cast<std::size_t>(rank);
  const auto begin = size * r / world;
  const auto end = size * (r + 1) / world;
  LocalShard shard;
  if (begin == end) {
    if (!global_batch.empty()) shard.chosen = {global_batch.front()};
    return shard;
  }
  shard.chosen.assign(global_batch.begin() + static_cast<std::ptrdiff_t>(begin),
                      global_batch.begin() + static_cast<std::ptrdiff_t>(end));
  shard.rows = static_cast<std::int64_t>(end - begin);
  return shard;
}

}  // namespace emotune::train
