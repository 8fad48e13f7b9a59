#pragma once

// Word embeddings from co-occurrence counts: positive pointwise mutual information over a
// window, reduced by a truncated SVD (Levy, Goldberg & Dagan 2015, "Improving distributional
// similarity with lessons learned from word embeddings"). On the pre-training corpus (1.1 M
// tokens) this takes seconds and gives the neighbours masked-LM pre-training does not reach in
// the quick start's minutes (sad: upset, awful, scary), so `emotune pretrain` can start the
// encoder's word embeddings from them (docs/pretraining.md).

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace emotune::train {

struct CooccurrenceOptions {
  // Tokens counted on each side; a pair d apart weighs (window - d + 1) / window, as word2vec's
  // dynamic window does on average.
  std::int64_t window = 5;
  // Context counts raised to this power before they are normalised (word2vec's negative
  // sampling distribution): rare contexts no longer get the largest PMI.
  double context_smoothing = 0.75;
  // Randomised SVD (Halko, Martinsson & Tropp 2011): subspace iterations and extra columns.
  std::int64_t power_iterations = 4;
  std::int64_t oversampling = 16;
  std::uint64_t seed = 1;
};

// The largest vocabulary whose dense vocab × vocab count matrix (float) is built: 1 GiB.
inline constexpr std::int64_t kMaxCooccurrenceVocabulary = 16384;

// vocab_size × dim rows U·Σ of the top `dim` singular triplets of the PPMI matrix of
// `sequences`. Ids in `boundaries` ([CLS], [SEP], padding...) end a window and are not counted;
// tokens never seen get zero rows. Error on an id outside [0, vocab_size), on dim outside
// [1, vocab_size], on a vocabulary above kMaxCooccurrenceVocabulary, or when no pair is counted.
torch::Tensor ppmi_embeddings(const std::vector<std::vector<std::int64_t>>& sequences,
                              std::int64_t vocab_size, std::int64_t dim,
                              const std::vector<std::int64_t>& boundaries,
                              const CooccurrenceOptions& options = {});

}  // namespace emotune::train
