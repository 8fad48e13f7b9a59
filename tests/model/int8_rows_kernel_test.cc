// model/int8_rows_kernel.h: the per-token scaling around int8 products equals the tensor
// operations it replaced (abs, amax, clamp_min, div; mul, add) bit for bit, at every width.

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "model/int8_rows_kernel.h"

namespace emotune::model {
namespace {

TEST(Int8RowsKernel, ScalingEqualsTheTensorOperationsBitForBit) {
  torch::manual_seed(5);
  // Widths with and without a tail after the 16-float blocks, and a single column.
  for (const std::int64_t cols : {1, 7, 16, 37, 384, 1536}) {
    auto x = torch::randn({9, cols}) * torch::rand({9, 1}) * 30;
    x[2].zero_();  // the 1e-12 floor
    x[4][cols - 1] = -1e4F;  // the largest magnitude last and negative
    const auto expected_scale = x.abs().amax(-1, true).clamp_min(1e-12);
    const auto expected = x / expected_scale;

    auto out = torch::empty_like(x);
    auto scale = torch::empty({9});
    scale_rows_to_unit(x.data_ptr<float>(), out.data_ptr<float>(), scale.data_ptr<float>(), 9,
                       static_cast<std::size_t>(cols));
    EXPECT_TRUE(torch::equal(scale, expected_scale.squeeze(-1))) << cols;
    EXPECT_TRUE(torch::equal(out, expected)) << cols;
    EXPECT_EQ(out[4][cols - 1].item<float>(), -1.0F) << cols;

    auto in_place = x.clone();
    scale_rows_to_unit(in_place.data_ptr<float>(), in_place.data_ptr<float>(),
                       scale.data_ptr<float>(), 9, static_cast<std::size_t>(cols));
    EXPECT_TRUE(torch::equal(in_place, expected)) << "in place, " << cols;

    const auto bias = torch::randn({cols});
    auto y = torch::randn({9, cols});
    const auto expected_y = (y * expected_scale).add_(bias);
    unscale_rows_add_bias(y.data_ptr<float>(), scale.data_ptr<float>(), bias.data_ptr<float>(), 9,
                          static_cast<std::size_t>(cols));
    EXPECT_TRUE(torch::equal(y, expected_y)) << "product rounded before the sum, " << cols;
  }
}

TEST(Int8RowsKernel, ANanStaysInItsOwnElement) {
  auto x = torch::tensor({{1.0F, -2.0F, std::nanf(""), 0.5F}});
  auto out = torch::empty_like(x);
  float scale = 0;
  scale_rows_to_unit(x.data_ptr<float>(), out.data_ptr<float>(), &scale, 1, 4);
  EXPECT_EQ(scale, 2.0F);
  EXPECT_TRUE(std::isnan(out[0][2].item<float>()));
  EXPECT_EQ(out[0][1].item<float>(), -1.0F);
}

}  // namespace
}  // namespace emotune::model
