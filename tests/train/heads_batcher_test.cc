#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/error.h"
#include "model/heads.h"
#include "train/batcher.h"
#include "train/scoring.h"

namespace emotune::train {
namespace {

using model::Task;

// A stand-in encoder (embedding lookup only) so head and loss logic is tested without a
// transformer.
class FakeEncoder : public model::Encoder {
 public:
  FakeEncoder() { embedding_ = register_module("embeddings", torch::nn::Embedding(50, 6)); }
  model::EncoderOutput forward_detailed(const torch::Tensor& input_ids, const torch::Tensor&,
                                        const torch::Tensor&,
                                        const model::EncoderOutputRequest&) override {
    model::EncoderOutput output;
    output.last_hidden_state = embedding_->forward(input_ids);
    return output;
  }
  std::int64_t hidden_size() const override { return 6; }
  std::string model_type() const override { return "fake"; }
  std::string weight_prefix() const override { return "fake"; }

 private:
  torch::nn::Embedding embedding_{nullptr};
};

TEST(Heads, PersonVectorIsConcatenatedAfterTheFirstToken) {
  torch::manual_seed(2);
  model::TaskModel task_model(std::make_shared<FakeEncoder>(),
                              std::vector<Task>{Task::empathy, Task::emotion}, 0.0, 3);
  EXPECT_EQ(task_model->person_dimension(), 3);
  EXPECT_EQ(task_model->head(Task::emotion)->weight.sizes(), (std::vector<std::int64_t>{7, 9}));
  const auto ids = torch::tensor({{1, 2, 3}, {4, 5, 0}}, torch::kInt64);
  const auto person = torch::tensor({{0.5f, -1.0f, 2.0f}, {0.0f, 1.0f, 0.0f}});
  const auto outputs =
      task_model->forward(ids, torch::ones_like(ids), torch::zeros_like(ids), person);
  const auto first = task_model->encoder().forward(ids, {}, {}).select(1, 0);
  const auto expected =
      task_model->head(Task::empathy)->forward(torch::cat({first, person}, 1)).squeeze(-1);
  EXPECT_TRUE(torch::allclose(outputs.at(Task::empathy), expected));
  // Missing, unexpected or misshapen person inputs are errors.
  EXPECT_THROW(task_model->forward(ids, torch::ones_like(ids), torch::zeros_like(ids)), Error);
  EXPECT_THROW(task_model->head_outputs(first, person.narrow(1, 0, 2)), Error);
  model::TaskModel text_only(std::make_shared<FakeEncoder>(), std::vector<Task>{Task::empathy},
                             0.0);
  EXPECT_THROW(text_only->head_outputs(first, person), Error);
}

TEST(Heads, OutputsPerTaskAndExportNames) {
  torch::manual_seed(1);
  model::TaskModel task_model(std::make_shared<FakeEncoder>(),
                              std::vector<Task>{Task::empathy, Task::distress, Task::emotion}, 0.0);
  const auto ids = torch::tensor({{1, 2, 3}, {4, 5, 0}}, torch::kInt64);
  const auto outputs = task_model->forward(ids, torch::ones_like(ids), torch::zeros_like(ids));
  EXPECT_EQ(outputs.at(Task::empathy).sizes(), (std::vector<std::int64_t>{2}));
  EXPECT_EQ(outputs.at(Task::emotion).sizes(), (std::vector<std::int64_t>{2, 7}));
  // The first token's vector feeds the heads.
  const auto expected = task_model->head(Task::distress)
                            ->forward(task_model->encoder().forward(ids, {}, {}).select(1, 0));
  EXPECT_TRUE(torch::allclose(outputs.at(Task::distress), expected.squeeze(-1)));

  const auto tensors = task_model->export_tensors();
  EXPECT_TRUE(tensors.count("fake.embeddings.weight"));
  EXPECT_TRUE(tensors.count("heads.emotion.weight"));
  EXPECT_EQ(tensors.at("heads.emotion.weight").sizes(), (std::vector<std::int64_t>{7, 6}));
  EXPECT_EQ(tensors.size(), 7u);

  model::TaskModel other(std::make_shared<FakeEncoder>(),
                         std::vector<Task>{Task::empathy, Task::distress, Task::emotion}, 0.0);
  other->import_tensors(tensors, "test");
  EXPECT_TRUE(
      torch::equal(other->head(Task::emotion)->weight, task_model->head(Task::emotion)->weight));
  auto missing = tensors;
  missing.erase("heads.empathy.bias");
  EXPECT_THROW(other->import_tensors(missing, "test"), Error);
}

TEST(Heads, MultitaskLossIsTheWeightedSumOfTaskLosses) {
  const auto empathy = torch::tensor({1.0f, 2.0f});
  const auto distress = torch::tensor({0.0f, 1.0f});
  const auto logits = torch::tensor(
      {{2.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}});
  model::TaskOutputs outputs{
      {Task::empathy, empathy}, {Task::distress, distress}, {Task::emotion, logits}};
  model::TaskTargets targets{{Task::empathy, torch::tensor({2.0f, 2.0f})},
                             {Task::distress, torch::tensor({2.0f, 3.0f})},
                             {Task::emotion, torch::tensor({0, 1}, torch::kInt64)}};
  const double mse_empathy = 0.5, mse_distress = 4.0;
  const double cross_entropy =
      torch::cross_entropy_loss(logits, targets.at(Task::emotion)).item<double>();
  EXPECT_NEAR(model::task_loss(outputs, targets).item<double>(),
              mse_empathy + mse_distress + cross_entropy, 1e-6);
  EXPECT_NEAR(model::task_loss(outputs, targets, {{Task::distress, 0.5}, {Task::emotion, 2.0}})
                  .item<double>(),
              mse_empathy + 0.5 * mse_distress + 2.0 * cross_entropy, 1e-6);
  targets.erase(Task::distress);
  EXPECT_THROW(model::task_loss(outputs, targets), Error);
}

TEST(Batcher, EpochOrderIsAPortableDeterministicPermutation) {
  const auto order = epoch_order(10, 42, 0);
  EXPECT_EQ(order, epoch_order(10, 42, 0));
  EXPECT_NE(order, epoch_order(10, 42, 1));
  EXPECT_NE(order, epoch_order(10, 43, 0));
  std::set<std::size_t> unique(order.begin(), order.end());
  EXPECT_EQ(unique.size(), 10u);
  EXPECT_EQ(*unique.rbegin(), 9u);
  // mt19937_64 and our Fisher-Yates are fully specified: this order is the same everywhere.
  EXPECT_EQ(order, (std::vector<std::size_t>{2, 6, 9, 5, 0, 1, 8, 7, 4, 3}));
}

TEST(Batcher, CollatePadsToTheLongestAndGathersTargets) {
  std::vector<Example> examples(3);
  examples[0] = {"a", "x", 2.0, 3.0, 1};
  examples[1] = {"b", "y", 4.0, 5.0, 6};
  examples[2] = {"c", "z", std::nullopt, 1.0, 0};
  std::vector<EncodedExample> encoded = {
      {{101, 7, 102}, 0}, {{101, 7, 8, 9, 102}, 1}, {{101, 102}, 2}};
  const auto batch = collate({1, 0}, encoded, examples, {Task::empathy, Task::emotion}, 0);
  EXPECT_EQ(batch.input_ids.sizes(), (std::vector<std::int64_t>{2, 5}));
  EXPECT_TRUE(torch::equal(batch.input_ids[1], torch::tensor({101, 7, 102, 0, 0}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(batch.attention_mask[1], torch::tensor({1, 1, 1, 0, 0}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(batch.targets.at(Task::empathy), torch::tensor({4.0f, 2.0f})));
  EXPECT_TRUE(torch::equal(batch.targets.at(Task::emotion), torch::tensor({6, 1}, torch::kInt64)));
  EXPECT_EQ(collate({0}, encoded, examples, {Task::empathy}, 0, 8).input_ids.size(1), 8);
  EXPECT_THROW(collate({2}, encoded, examples, {Task::empathy}, 0), Error);  // c has no empathy

  // Person vectors: gathered in batch order when the examples carry them (all or none).
  for (auto& example : examples) example.person = {1.0f, 2.0f};
  examples[1].person = {3.0f, 4.0f};
  const auto with_person = collate({1, 0}, encoded, examples, {Task::distress}, 0);
  EXPECT_TRUE(
      torch::equal(with_person.person, torch::tensor({3.0f, 4.0f, 1.0f, 2.0f}).view({2, 2})));
  EXPECT_FALSE(batch.person.defined());
  examples[0].person.clear();
  EXPECT_THROW(collate({1, 0}, encoded, examples, {Task::distress}, 0), Error);
  examples[0].person = {1.0f, 2.0f};

  const auto batches = make_batches({0, 1, 2}, 2, encoded, false, 1, 0);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[1], std::vector<std::size_t>{2});
  const auto bucketed = make_batches({0, 1, 2}, 2, encoded, true, 1, 0);
  std::set<std::size_t> seen;
  for (const auto& b : bucketed) seen.insert(b.begin(), b.end());
  EXPECT_EQ(seen.size(), 3u);
}

TEST(Scoring, OfficialPearsonAndMacroF1Rules) {
  DevPredictions predictions;
  predictions.regression_gold[Task::empathy] = {1, 2, 3, 4};
  predictions.regression_predicted[Task::empathy] = {1, 2, 3, 5};
  predictions.regression_gold[Task::distress] = {1, 2, 3, 4};
  predictions.regression_predicted[Task::distress] = {2, 2, 2, 2};  // no variance: r = 0
  predictions.emotion_gold = {0, 0, 1, 2};
  predictions.emotion_predicted = {0, 1, 1, 3};
  const auto scores = score_dev(predictions);
  EXPECT_DOUBLE_EQ(scores.at("pearson_empathy"), 0.9827);
  EXPECT_DOUBLE_EQ(scores.at("pearson_distress"), 0.0);
  EXPECT_DOUBLE_EQ(scores.at("avg_pearson"), 0.9827 / 2);
  // Labels {0,1,2,3}: F1 = 2/3, 2/3, 0 (never predicted: P=1, R=0), 0 (never in gold).
  EXPECT_DOUBLE_EQ(scores.at("macro_f1"), 0.3333);
  EXPECT_DOUBLE_EQ(scores.at("accuracy"), 0.5);
}

}  // namespace
}  // namespace emotune::train
