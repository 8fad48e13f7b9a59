#include "model/heads.h"

#include <fmt/format.h>

#include "common/error.h"

namespace emotune::model {
namespace {

std::string shape_string(const torch::Tensor& tensor) {
  std::string text = "[";
  for (std::int64_t d = 0; d < tensor.dim(); ++d) {
    text += (d ? ", " : "") + std::to_string(tensor.size(d));
  }
  return text + "]";
}

}  // namespace

TaskModelImpl::TaskModelImpl(std::shared_ptr<Encoder> encoder, std::vector<Task> tasks,
                             double head_dropout, std::int64_t person_dimension)
    : encoder_(std::move(encoder)), tasks_(std::move(tasks)), person_dimension_(person_dimension) {
  if (!encoder_) throw Error("task model: no encoder given");
  if (tasks_.empty()) throw Error("task model: no task given");
  if (person_dimension_ < 0) throw Error("task model: negative person dimension");
  register_module("encoder", encoder_);
  dropout_ = register_module("dropout", torch::nn::Dropout(head_dropout));
  auto heads = std::make_shared<torch::nn::Module>();
  for (const Task task : tasks_) {
    if (heads_.count(task))
      throw Error(fmt::format("task model: task {} given twice", task_name(task)));
    auto linear =
        torch::nn::Linear(encoder_->hidden_size() + person_dimension_, task_output_size(task));
    heads->register_module(task_name(task), linear);
    heads_.emplace(task, linear);
  }
  register_module("heads", heads);
}

torch::nn::Linear& TaskModelImpl::head(Task task) {
  const auto found = heads_.find(task);
  if (found == heads_.end()) throw Error(fmt::format("task model has no {} head", task_name(task)));
  return found->second;
}

TaskOutputs TaskModelImpl::forward(const torch::Tensor& input_ids,
                                   const torch::Tensor& attention_mask,
                                   const torch::Tensor& token_type_ids,
                                   const torch::Tensor& person) {
  EncoderOutputRequest first_token;
  first_token.first_token_only = true;
  const auto hidden =
      encoder_->forward_detailed(input_ids, attention_mask, token_type_ids, first_token)
          .last_hidden_state;
  return head_outputs(dropout_->forward(hidden.select(1, 0)), person);
}

TaskOutputs TaskModelImpl::head_outputs(const torch::Tensor& first_token,
                                        const torch::Tensor& person) {
  torch::Tensor input = first_token;
  if (person_dimension_ > 0) {
    if (!person.defined()) {
      throw Error("task model: this model reads a person vector beside the text, none given");
    }
    if (person.dim() != 2 || person.size(0) != first_token.size(0) ||
        person.size(1) != person_dimension_) {
      throw Error(fmt::format("task model: person input has shape {}, expected [{}, {}]",
                              shape_string(person), first_token.size(0), person_dimension_));
    }
    input =
        torch::cat({first_token, person.to(first_token.device(), first_token.scalar_type())}, 1);
  } else if (person.defined()) {
    throw Error("task model: a person vector was given to a model that reads text only");
  }
  TaskOutputs outputs;
  for (const Task task : tasks_) {
    auto output = heads_.at(task)->forward(input);
    outputs.emplace(task, is_regression(task) ? output.squeeze(-1) : output);
  }
  return outputs;
}

std::map<std::string, torch::Tensor> TaskModelImpl::export_tensors() const {
  std::map<std::string, torch::Tensor> tensors;
  const std::string prefix = encoder_->weight_prefix();
  for (const auto& item : encoder_->named_parameters(true)) {
    tensors.emplace(prefix + "." + item.key(), item.value());
  }
  for (const auto& [task, linear] : heads_) {
    tensors.emplace("heads." + task_name(task) + ".weight", linear->weight);
    tensors.emplace("heads." + task_name(task) + ".bias", linear->bias);
  }
  return tensors;
}

void TaskModelImpl::import_tensors(const std::map<std::string, torch::Tensor>& tensors,
                                   const std::string& origin) {
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : export_tensors()) {
    const auto found = tensors.find(name);
    if (found == tensors.end()) {
      throw Error(fmt::format("{}: tensor {} is missing", origin, name));
    }
    if (found->second.sizes() != target.sizes()) {
      throw Error(fmt::format("{}: tensor {} has shape {}, expected {}", origin, name,
                              shape_string(found->second), shape_string(target)));
    }
    target.copy_(found->second);
  }
}

TaskOutputs training_forward(TaskModel& model, runtime::MixedPrecision precision,
                             torch::ScalarType output_dtype, const torch::Tensor& input_ids,
                             const torch::Tensor& attention_mask,
                             const torch::Tensor& token_type_ids, const torch::Tensor& person) {
  TaskOutputs outputs;
  {
    runtime::AutocastScope autocast(precision, input_ids.device());
    outputs = model->forward(input_ids, attention_mask, token_type_ids, person);
  }
  for (auto& [task, output] : outputs) output = output.to(output_dtype);
  return outputs;
}

torch::Tensor task_loss(const TaskOutputs& outputs, const TaskTargets& targets,
                        const LossWeights& weights) {
  torch::Tensor total;
  for (const auto& [task, output] : outputs) {
    const auto target = targets.find(task);
    if (target == targets.end()) {
      throw Error(fmt::format("loss: no {} targets in the batch", task_name(task)));
    }
    auto loss = is_regression(task)
                    ? torch::mse_loss(output, target->second.to(output.scalar_type()))
                    : torch::cross_entropy_loss(output, target->second);
    const auto weight = weights.find(task);
    if (weight != weights.end() && weight->second != 1.0) loss = loss * weight->second;
    total = total.defined() ? total + loss : loss;
  }
  if (!total.defined()) throw Error("loss: the model has no task");
  return total;
}

}  // namespace emotune::model
