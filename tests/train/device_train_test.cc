// Training on each device (tests/common/devices.h): three AdamW steps of ElectraModel + a
// regression head on the reference's batch (golden/electra_train_regression, made by the
// Python reference on the CPU), in float32 and in bfloat16 (`dtype = "bfloat16"`: weights,
// activations and gradients in bf16) and in mixed precision (`mixed_precision = "bf16"`: the
// products in bf16 under autocast, float32 weights and AdamW).
// On "cpu" float32 is held to the fixtures' tolerances (as parity_test does); on "cuda" this
// is the GPU's parity with the CPU: cuBLAS and CUDA's reductions sum in other orders, so the
// loss gets 1e-4 relative and parameters 5e-6 absolute (AdamW moves each by up to lr = 1e-5 a
// step, 3e-5 in all, so a wrong update still shows).

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/devices.h"
#include "common/json_file.h"
#include "common/test_paths.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "runtime/autocast.h"
#include "runtime/torch_compat.h"
#include "train/optim.h"
#include "train/train_helpers.h"

namespace emotune::train {
namespace {

using model::Task;

struct StepsResult {
  std::vector<double> losses;                   // before each update
  std::map<std::string, torch::Tensor> params;  // after the last update, float32 on the CPU
};

class ReferenceBatch {
 public:
  ReferenceBatch()
      : root_(emotune::testing::hf_fixtures_dir()),
        golden_(read_json(root_ / "golden" / "electra_train_regression.json")),
        tensors_(model::load_tensors(root_ / "golden" / "electra_train_regression.safetensors")) {}

  const nlohmann::json& golden() const { return golden_; }
  const std::map<std::string, torch::Tensor>& tensors() const { return tensors_; }

  StepsResult run(const torch::Device& device, torch::ScalarType dtype,
                  std::optional<double> lr = std::nullopt,
                  runtime::MixedPrecision mixed = runtime::MixedPrecision::none) const {
    const auto& overrides = golden_.at("config_overrides");
    model::EncoderOptions encoder_options;
    encoder_options.hidden_dropout = overrides.at("hidden_dropout_prob").get<double>();
    encoder_options.attention_dropout = overrides.at("attention_probs_dropout_prob").get<double>();
    auto encoder =
        model::load_encoder(root_ / golden_.at("model_dir").get<std::string>(), encoder_options);
    model::TaskModel task_model(encoder, std::vector<Task>{Task::empathy}, 0.0);
    {
      torch::NoGradGuard no_grad;
      task_model->head(Task::empathy)->weight.copy_(tensors_.at("head.weight.init"));
      task_model->head(Task::empathy)->bias.copy_(tensors_.at("head.bias.init"));
    }
    task_model->to(device, dtype);
    task_model->train();
    std::vector<std::pair<std::string, torch::Tensor>> named;
    for (const auto& item : encoder->named_parameters(true))
      named.emplace_back(item.key(), item.value());
    named.emplace_back("head.weight", task_model->head(Task::empathy)->weight);
    named.emplace_back("head.bias", task_model->head(Task::empathy)->bias);

    auto options = testing::adamw_options_of(golden_.at("optimizer"));
    if (lr) options.lr = *lr;
    AdamW optimizer(named, options);

    model::TaskTargets targets;
    targets[Task::empathy] = tensors_.at("targets").to(device, dtype);
    const auto input_ids = tensors_.at("input_ids").to(device);
    const auto attention_mask = tensors_.at("attention_mask").to(device);
    const auto token_type_ids = tensors_.at("token_type_ids").to(device);
    StepsResult result;
    for (std::size_t step = 0; step < golden_.at("steps").size(); ++step) {
      optimizer.zero_grad();
      const auto outputs = model::training_forward(task_model, mixed, dtype, input_ids,
                                                   attention_mask, token_type_ids);
      const auto loss = model::task_loss(outputs, targets);
      EXPECT_TRUE(::emotune::testing::on_device(loss, device)) << loss.device();
      result.losses.push_back(loss.item<double>());
      loss.backward();
      optimizer.step();
    }
    for (const auto& [name, param] : named)
      result.params.emplace(name, param.detach().to(torch::kCPU, torch::kFloat32));
    return result;
  }

 private:
  std::filesystem::path root_;
  nlohmann::json golden_;
  std::map<std::string, torch::Tensor> tensors_;
};

class TrainStepOnDevice : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainStepOnDevice, ThreeAdamWStepsMatchTheCpuReference) {
  EMOTUNE_SKIP_UNLESS_DEVICE(GetParam());
  const torch::Device device(GetParam());
  const double loss_rtol = device.is_cuda() ? 1e-4 : 1e-5;
  const double param_atol = device.is_cuda() ? 5e-6 : 2e-7;
  const ReferenceBatch batch;
  const auto result = batch.run(device, torch::kFloat32);
  const auto& steps = batch.golden().at("steps");
  ASSERT_EQ(result.losses.size(), steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const double expected = steps.at(i).at("loss_before_update").get<double>();
    EXPECT_NEAR(result.losses[i], expected, loss_rtol * std::abs(expected)) << "step " << i + 1;
  }
  const std::string last_prefix = "step" + std::to_string(steps.size()) + ".param.";
  int checked = 0;
  double worst = 0;
  for (const auto& [key, expected] : batch.tensors()) {
    if (key.rfind(last_prefix, 0) != 0) continue;
    const auto name = key.substr(last_prefix.size());
    ASSERT_TRUE(result.params.count(name)) << key;
    worst =
        std::max(worst, (result.params.at(name).to(torch::kFloat64) - expected.to(torch::kFloat64))
                            .abs()
                            .max()
                            .item<double>());
    ++checked;
  }
  std::printf("%s: loss %.8g first, %.8g last; parameters after the last step max|diff| %.3g\n",
              GetParam().c_str(), result.losses.front(), result.losses.back(), worst);
  EXPECT_GT(checked, 0);
  EXPECT_LE(worst, param_atol);
}

TEST_P(TrainStepOnDevice, Bfloat16TrainingStaysNearFloat32AndLearns) {
  EMOTUNE_SKIP_UNLESS_DEVICE(GetParam());
  const torch::Device device(GetParam());
  if (device.is_cpu() && runtime::kTorchVersionMajor < 2)
    GTEST_SKIP() << "libtorch 1.13 has no bfloat16 mse_loss on the CPU (\"mse_cpu\" not "
                    "implemented for 'BFloat16'); 2.x has";
  const ReferenceBatch batch;
  // The reference's lr (1e-5) is below bfloat16's resolution for most weights; 1e-3 moves
  // them, so the loss must fall.
  const auto bf16 = batch.run(device, torch::kBFloat16, 1e-3);
  const auto& steps = batch.golden().at("steps");
  const double first_fp32 = steps.at(0).at("loss_before_update").get<double>();
  ASSERT_GE(bf16.losses.size(), 2u);
  std::printf("%s bf16: loss %.6g first, %.6g last (float32 reference first loss %.6g)\n",
              GetParam().c_str(), bf16.losses.front(), bf16.losses.back(), first_fp32);
  for (const double loss : bf16.losses) ASSERT_TRUE(std::isfinite(loss));
  // bfloat16 keeps 8 bits of mantissa: the same batch's loss within a few percent.
  EXPECT_NEAR(bf16.losses[0], first_fp32, 0.05 * std::abs(first_fp32));
  EXPECT_NE(bf16.losses[0], first_fp32) << "no sign of bfloat16 arithmetic";
  EXPECT_LT(bf16.losses.back(), bf16.losses.front()) << "three steps on one batch must lower it";
  for (const auto& [name, param] : bf16.params)
    EXPECT_TRUE(torch::isfinite(param).all().item<bool>()) << name;
}

// Mixed precision at the reference's own lr (1e-5): the float32 master weights take every
// update (a bf16 weight would round most of them away), in the float32 run's direction.
TEST_P(TrainStepOnDevice, MixedPrecisionKeepsFloat32WeightsAndFollowsTheirUpdates) {
  EMOTUNE_SKIP_UNLESS_DEVICE(GetParam());
  const torch::Device device(GetParam());
  const auto mixed = runtime::MixedPrecision::bf16;
  if (const auto refusal = runtime::mixed_precision_refusal(mixed, device); !refusal.empty())
    GTEST_SKIP() << refusal;
  const ReferenceBatch batch;
  const auto initial = batch.run(device, torch::kFloat32, 0.0);
  const auto fp32 = batch.run(device, torch::kFloat32);
  const auto result = batch.run(device, torch::kFloat32, std::nullopt, mixed);
  const double first_fp32 = batch.golden().at("steps").at(0).at("loss_before_update").get<double>();
  std::printf("%s mixed bf16: loss %.6g first, %.6g last (float32 %.6g first)\n",
              GetParam().c_str(), result.losses.front(), result.losses.back(), first_fp32);
  EXPECT_NEAR(result.losses[0], first_fp32, 0.05 * std::abs(first_fp32));
  EXPECT_NE(result.losses[0], fp32.losses[0]) << "no sign of bfloat16 products";
  std::int64_t moved = 0, agreeing = 0, total = 0;
  for (const auto& [name, start] : initial.params) {
    const auto& param = result.params.at(name);
    ASSERT_TRUE(torch::isfinite(param).all().item<bool>()) << name;
    const auto delta = param - start;
    const auto reference_delta = fp32.params.at(name) - start;
    const auto updated = reference_delta.abs() > 1e-6;  // rows the batch's gradient reaches
    total += updated.sum().item<std::int64_t>();
    moved += (updated & (delta != 0)).sum().item<std::int64_t>();
    agreeing += (updated & (delta * reference_delta > 0)).sum().item<std::int64_t>();
  }
  ASSERT_GT(total, 0);
  const double moved_share = static_cast<double>(moved) / static_cast<double>(total);
  const double agreeing_share = static_cast<double>(agreeing) / static_cast<double>(total);
  std::printf("updated by float32: %lld; moved too: %.4f; same direction: %.4f\n",
              static_cast<long long>(total), moved_share, agreeing_share);
  EXPECT_GT(moved_share, 0.99);
  EXPECT_GT(agreeing_share, 0.8);
}

INSTANTIATE_TEST_SUITE_P(Devices, TrainStepOnDevice,
                         ::testing::ValuesIn(emotune::testing::test_devices()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace emotune::train
