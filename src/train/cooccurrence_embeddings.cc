#include "train/cooccurrence_embeddings.h"

#include <algorithm>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include "common/error.h"

namespace emotune::train {
namespace {

torch::Tensor pair_counts(const std::vector<std::vector<std::int64_t>>& sequences,
                          std::int64_t vocab_size, const std::vector<std::int64_t>& boundaries,
                          std::int64_t window) {
  std::vector<char> is_boundary(static_cast<std::size_t>(vocab_size), 0);
  for (const auto id : boundaries)
    if (id >= 0 && id < vocab_size) is_boundary[static_cast<std::size_t>(id)] = 1;
  auto counts = torch::zeros({vocab_size, vocab_size}, torch::kFloat32);
  auto* c = counts.data_ptr<float>();
  const auto at = [&](std::int64_t a, std::int64_t b) -> float& { return c[a * vocab_size + b]; };
  for (std::size_t s = 0; s < sequences.size(); ++s) {
    const auto& ids = sequences[s];
    for (const auto id : ids)
      if (id < 0 || id >= vocab_size)
        throw Error(
            fmt::format("co-occurrence counts: sequence {} holds token id {}, outside "
                        "the vocabulary of {}",
                        s, id, vocab_size));
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (is_boundary[static_cast<std::size_t>(ids[i])]) continue;
      for (std::int64_t d = 1; d <= window; ++d) {
        const auto j = i + static_cast<std::size_t>(d);
        if (j >= ids.size() || is_boundary[static_cast<std::size_t>(ids[j])]) break;
        const auto weight = static_cast<float>(window - d + 1) / static_cast<float>(window);
        at(ids[i], ids[j]) += weight;
        at(ids[j], ids[i]) += weight;
      }
    }
  }
  return counts;
}

torch::Tensor positive_pmi(const torch::Tensor& counts, double context_smoothing) {
  const auto total = counts.sum();
  const auto word = counts.sum(1) / total;
  auto context = counts.sum(0).pow(context_smoothing);
  context = context / context.sum();
  const auto pmi = (counts / total).log() - word.log().unsqueeze(1) - context.log().unsqueeze(0);
  // Unseen pairs are 0, not -inf (and the rows and columns of unseen tokens not NaN).
  return torch::where(counts > 0, pmi.clamp_min(0), torch::zeros_like(pmi));
}

torch::Tensor orthonormal_basis(const torch::Tensor& m) {
  return std::get<0>(torch::linalg_qr(m));
}

}  // namespace

torch::Tensor ppmi_embeddings(const std::vector<std::vector<std::int64_t>>& sequences,
                              std::int64_t vocab_size, std::int64_t dim,
                              const std::vector<std::int64_t>& boundaries,
                              const CooccurrenceOptions& options) {
  if (vocab_size > kMaxCooccurrenceVocabulary)
    throw Error(
        fmt::format("co-occurrence embeddings count a dense {0}×{0} matrix; "
                    "vocabularies above {1} are not supported",
                    vocab_size, kMaxCooccurrenceVocabulary));
  if (dim < 1 || dim > vocab_size)
    throw Error(
        fmt::format("co-occurrence embeddings: dimension {} must be in [1, {}]", dim, vocab_size));
  if (options.window < 1)
    throw Error(fmt::format("co-occurrence window must be ≥ 1, got {}", options.window));
  torch::NoGradGuard no_grad;
  const auto counts = pair_counts(sequences, vocab_size, boundaries, options.window);
  if (counts.sum().item<double>() <= 0)
    throw Error("co-occurrence embeddings: the corpus holds no pair of neighbouring tokens");
  const auto ppmi = positive_pmi(counts, options.context_smoothing);

  const auto columns = std::min(vocab_size, dim + options.oversampling);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const auto probe = torch::randn({vocab_size, columns}, generator, torch::kFloat32);
  auto basis = orthonormal_basis(torch::mm(ppmi, probe));
  for (std::int64_t i = 0; i < options.power_iterations; ++i)
    basis = orthonormal_basis(torch::mm(ppmi, orthonormal_basis(torch::mm(ppmi.t(), basis))));
  const auto [u_small, singular, vh] =
      torch::linalg_svd(torch::mm(basis.t(), ppmi), /*full_matrices=*/false);
  const auto u = torch::mm(basis, u_small).narrow(1, 0, dim);
  return (u * singular.narrow(0, 0, dim).unsqueeze(0)).contiguous();
}

}  // namespace emotune::train
