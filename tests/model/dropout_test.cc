// model::apply_dropout: torch::dropout's contract (scaling, eval, gradients) with a mask drawn
// in parallel from a counter-based stream keyed by torch's generator.

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "model/dropout_kernel.h"
#include "model/layers.h"

namespace emotune::model {
namespace {

TEST(Dropout, DropsTheShareAskedForAndScalesTheRest) {
  torch::manual_seed(3);
  const auto x = torch::rand({1000, 1000}) + 0.5;  // no zeros, so a zero means dropped
  for (const double p : {0.1, 0.5}) {
    const auto y = apply_dropout(x, p, true);
    const auto dropped = (y == 0);
    EXPECT_NEAR(dropped.to(torch::kDouble).mean().item<double>(), p, 0.002) << p;
    const auto kept = ~dropped;
    EXPECT_TRUE(torch::equal(y.masked_select(kept), (x * (1.0 / (1.0 - p))).masked_select(kept)))
        << "kept elements are x / (1 - p), rounded as torch::dropout rounds them";
    // Neighbours share a 64-bit draw four at a time; their drops must still be independent.
    const auto flat = dropped.reshape({-1}).to(torch::kDouble);
    for (const std::int64_t lag : {1, 2, 3, 4, 1000}) {
      const double both =
          (flat.slice(0, 0, flat.numel() - lag) * flat.slice(0, lag)).mean().item<double>();
      EXPECT_NEAR(both, p * p, 0.003) << "p " << p << " lag " << lag;
    }
  }
  EXPECT_TRUE(torch::equal(apply_dropout(x, 0.1, false), x)) << "evaluation leaves x alone";
  EXPECT_TRUE(torch::equal(apply_dropout(x, 0.0, true), x));
  EXPECT_EQ(apply_dropout(x, 1.0, true).abs().sum().item<double>(), 0.0);
}

TEST(Dropout, TheSeedFixesTheMaskWhateverTheThreadCount) {
  const auto x = torch::ones({64, 12, 50, 50});
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  torch::manual_seed(11);
  const auto one_thread = apply_dropout(x, 0.1, true);
  torch::set_num_threads(std::max(2, threads));
  torch::manual_seed(11);
  const auto many_threads = apply_dropout(x, 0.1, true);
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one_thread, many_threads));
  torch::manual_seed(12);
  EXPECT_FALSE(torch::equal(apply_dropout(x, 0.1, true), one_thread)) << "another seed";
  EXPECT_FALSE(torch::equal(apply_dropout(x, 0.1, true), apply_dropout(x, 0.1, true)))
      << "consecutive calls draw new keys";
}

TEST(Dropout, GradientsFlowThroughTheKeptElementsOnly) {
  torch::manual_seed(5);
  auto x = torch::randn({300, 7}, torch::requires_grad());
  const auto y = apply_dropout(x, 0.25, true);
  y.sum().backward();
  const auto kept = (y != 0).to(torch::kFloat);
  EXPECT_TRUE(torch::allclose(x.grad(), kept * (1.0 / 0.75)));
}

TEST(Dropout, KeepMaskIsTheSameForAnySplitOfTheRange) {
  std::vector<std::uint8_t> whole(1001), pieces(1001);
  fill_keep_mask(whole.data(), whole.size(), 0, 42, 6554);
  // Pieces that start and end off the four-element words.
  const std::size_t cuts[] = {0, 3, 4, 9, 502, 1001};
  for (std::size_t k = 0; k + 1 < std::size(cuts); ++k)
    fill_keep_mask(pieces.data() + cuts[k], cuts[k + 1] - cuts[k], cuts[k], 42, 6554);
  EXPECT_EQ(whole, pieces);
  std::vector<std::uint8_t> other_key(1001);
  fill_keep_mask(other_key.data(), other_key.size(), 0, 43, 6554);
  EXPECT_NE(whole, other_key);
}

}  // namespace
}  // namespace emotune::model
