#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <torch/torch.h>

#include "common/emotions.h"
#include "common/tasks.h"
#include "model/encoder.h"
#include "runtime/autocast.h"

namespace emotune::model {

using ::emotune::is_regression;
using ::emotune::parse_task;
using ::emotune::Task;
using ::emotune::task_name;
using ::emotune::task_output_size;

// Class ids of the emotion head: the alphabetical order WASSA and the reference use.
inline const std::vector<std::string>& emotion_labels() {
  static const std::vector<std::string> labels(kEmotionLabels.begin(), kEmotionLabels.end());
  return labels;
}

// Per-task outputs of a forward pass: regression tasks give predictions [batch], the emotion
// task gives logits [batch, 7].
using TaskOutputs = std::map<Task, torch::Tensor>;

// Targets of a batch: regression values [batch] (float) and emotion class ids [batch] (int64).
using TaskTargets = std::map<Task, torch::Tensor>;

// An encoder plus one linear head per task, all reading the final hidden state of the first
// token ([CLS] / <s>) with no pooler and no activation, as the WASSA@IITK system does.
// Parameters are registered as "encoder.<HF base-model name>" and "heads.<task>.{weight,bias}".
//
// With person_dimension > 0 the model has a second input: one vector of that many values per
// essay (the writer's person features, data::PersonEncoder), concatenated after the
// first-token vector, so every head reads [first token (hidden) | person (person_dimension)]
// and its weight is [outputs, hidden + person_dimension]. No hidden layer; head dropout applies
// to the first-token part only.
class TaskModelImpl : public torch::nn::Module {
 public:
  // head_dropout: probability of the dropout applied to the first-token vector before the
  // heads (active in train mode only).
  TaskModelImpl(std::shared_ptr<Encoder> encoder, std::vector<Task> tasks, double head_dropout,
                std::int64_t person_dimension = 0);

  // `person`: float [batch, person_dimension] when the model has that input, else undefined.
  TaskOutputs forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                      const torch::Tensor& token_type_ids, const torch::Tensor& person = {});

  // The heads alone, on first-token vectors [batch, hidden] an encoder computed elsewhere (the
  // inference kernels); no dropout. `person` as in forward(). An Error when the person input
  // is missing, given to a model without one, or of the wrong shape.
  TaskOutputs head_outputs(const torch::Tensor& first_token, const torch::Tensor& person = {});

  const std::vector<Task>& tasks() const { return tasks_; }
  // Width of the person input (0: the model reads text only).
  std::int64_t person_dimension() const { return person_dimension_; }
  Encoder& encoder() { return *encoder_; }
  const std::shared_ptr<Encoder>& encoder_ptr() const { return encoder_; }
  torch::nn::Linear& head(Task task);

  // Every trainable tensor under the names used in HF-style exports:
  // "<weight_prefix>.<encoder name>" for the encoder (e.g. "electra.embeddings...") and
  // "heads.<task>.weight|bias" for the heads.
  std::map<std::string, torch::Tensor> export_tensors() const;

  // Copies tensors written by export_tensors() back in; an Error naming `origin` and the tensor
  // when one is missing or has another shape.
  void import_tensors(const std::map<std::string, torch::Tensor>& tensors,
                      const std::string& origin);

 private:
  std::shared_ptr<Encoder> encoder_;
  std::vector<Task> tasks_;
  std::int64_t person_dimension_ = 0;
  std::map<Task, torch::nn::Linear> heads_;
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(TaskModel);

// model->forward() for a training step under `precision` (runtime::AutocastScope on the inputs'
// device), the outputs then in `output_dtype`, the dtype the losses are taken in (under autocast
// the heads answer in bfloat16).
TaskOutputs training_forward(TaskModel& model, runtime::MixedPrecision precision,
                             torch::ScalarType output_dtype, const torch::Tensor& input_ids,
                             const torch::Tensor& attention_mask,
                             const torch::Tensor& token_type_ids, const torch::Tensor& person = {});

// Loss weights per task (a task missing from the map has weight 1).
using LossWeights = std::map<Task, double>;

// Sum over tasks of weight × loss: MSELoss (mean) for regression, CrossEntropyLoss (mean) for
// the emotion task. Targets must hold every task of `outputs`.
torch::Tensor task_loss(const TaskOutputs& outputs, const TaskTargets& targets,
                        const LossWeights& weights = {});

}  // namespace emotune::model
