#include "model/electra_pretraining.h"

#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"

namespace emotune::model {
namespace {

std::string shape_text(c10::IntArrayRef shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

bool is_base_model_name(const std::string& name) {
  for (const char* prefix : {"embeddings.", "encoder.", "embeddings_project."})
    if (name.starts_with(prefix)) return true;
  return false;
}

bool is_ignored_name(const std::string& name) {
  return name.ends_with("embeddings.position_ids") || name.ends_with("embeddings.token_type_ids") ||
         name == "generator_lm_head.weight";
}

std::map<std::string, torch::Tensor> detached_parameters(torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : module.named_parameters(/*recurse=*/true))
    out.emplace(item.key(), item.value().detach());
  return out;
}

// Copies tensors into `module` by name (a bare "embeddings."/"encoder." name counts as
// "electra.<name>"); returns the names of the module's parameters that got no tensor.
std::vector<std::string> copy_by_name(torch::nn::Module& module,
                                      const std::map<std::string, torch::Tensor>& tensors,
                                      const std::string& origin) {
  auto parameters = module.named_parameters(/*recurse=*/true);
  std::map<std::string, bool> filled;
  torch::NoGradGuard no_grad;
  for (const auto& [stored, tensor] : tensors) {
    if (is_ignored_name(stored)) continue;
    const std::string name = is_base_model_name(stored) ? "electra." + stored : stored;
    auto* parameter = parameters.find(name);
    if (parameter == nullptr) continue;  // heads of other classes (classifier.*, pooler, ...)
    if (filled.contains(name))
      throw Error(fmt::format("{}: two tensors hold weight '{}'", origin, name));
    if (!c10::isFloatingType(tensor.scalar_type()))
      throw Error(fmt::format("{}: tensor '{}' is not floating point", origin, stored));
    if (tensor.sizes() != parameter->sizes())
      throw Error(fmt::format("{}: tensor '{}' has shape {} but config.json gives {}", origin,
                              stored, shape_text(tensor.sizes()), shape_text(parameter->sizes())));
    parameter->copy_(tensor);
    filled[name] = true;
  }
  std::vector<std::string> missing;
  for (const auto& item : parameters)
    if (!filled.contains(item.key())) missing.push_back(item.key());
  return missing;
}

// BertForMaskedLM's name prefixes and the generator's, in both directions.
constexpr std::pair<std::string_view, std::string_view> kBertMaskedLmNames[] = {
    {"bert.", "electra."},
    {"cls.predictions.transform.dense.", "generator_predictions.dense."},
    {"cls.predictions.transform.LayerNorm.", "generator_predictions.LayerNorm."},
    {"cls.predictions.bias", "generator_lm_head.bias"},
};

bool is_ignored_bert_name(const std::string& name) {
  return name.starts_with("pooler.") || name.starts_with("bert.pooler.") ||
         name.starts_with("cls.seq_relationship.") || name.starts_with("cls.predictions.decoder.");
}

}  // namespace

ElectraDiscriminatorPredictionsImpl::ElectraDiscriminatorPredictionsImpl(const io::HfConfig& config)
    : activation_(parse_activation(config.hidden_act)) {
  dense = register_module("dense", torch::nn::Linear(config.hidden_size, config.hidden_size));
  dense_prediction = register_module("dense_prediction", torch::nn::Linear(config.hidden_size, 1));
}

torch::Tensor ElectraDiscriminatorPredictionsImpl::forward(const torch::Tensor& hidden) {
  return dense_prediction(activate(activation_, dense(hidden))).squeeze(-1);
}

ElectraGeneratorPredictionsImpl::ElectraGeneratorPredictionsImpl(const io::HfConfig& config) {
  dense = register_module("dense", torch::nn::Linear(config.hidden_size, config.embedding_size));
  LayerNorm = register_module(
      "LayerNorm",
      torch::nn::LayerNorm(
          torch::nn::LayerNormOptions({config.embedding_size}).eps(config.layer_norm_eps)));
}

torch::Tensor ElectraGeneratorPredictionsImpl::forward(const torch::Tensor& hidden) {
  // HF's ElectraGeneratorPredictions uses gelu whatever hidden_act says.
  return normalize(LayerNorm, torch::gelu(dense(hidden)));
}

ElectraLmHeadBiasImpl::ElectraLmHeadBiasImpl(std::int64_t vocab_size) {
  bias = register_parameter("bias", torch::zeros({vocab_size}));
}

ElectraGeneratorImpl::ElectraGeneratorImpl(const io::HfConfig& config,
                                           const DropoutRates& dropout) {
  electra = register_module("electra", std::make_shared<ElectraModel>(config, dropout));
  generator_predictions =
      register_module("generator_predictions", ElectraGeneratorPredictions(config));
  generator_lm_head = register_module("generator_lm_head", ElectraLmHeadBias(config.vocab_size));
}

torch::Tensor ElectraGeneratorImpl::hidden(const torch::Tensor& input_ids,
                                           const torch::Tensor& attention_mask) {
  return electra->forward(input_ids, attention_mask, {});
}

torch::Tensor ElectraGeneratorImpl::logits(const torch::Tensor& hidden_rows) {
  const auto& word = electra->embeddings->word_embeddings->weight;
  return torch::matmul(generator_predictions(hidden_rows), word.t()) + generator_lm_head->bias;
}

void ElectraGeneratorImpl::share_embeddings(const BertEmbeddings& embeddings) {
  const auto own = electra->embeddings->word_embeddings->weight.sizes();
  const auto other = embeddings->word_embeddings->weight.sizes();
  if (own != other)
    throw Error(fmt::format(
        "the generator's word embeddings {} cannot be shared with the discriminator's {} "
        "(vocab_size and embedding_size must agree)",
        shape_text(own), shape_text(other)));
  electra->embeddings = electra->replace_module("embeddings", embeddings);
}

ElectraDiscriminatorImpl::ElectraDiscriminatorImpl(const io::HfConfig& config,
                                                   const DropoutRates& dropout) {
  electra = register_module("electra", std::make_shared<ElectraModel>(config, dropout));
  discriminator_predictions =
      register_module("discriminator_predictions", ElectraDiscriminatorPredictions(config));
}

torch::Tensor ElectraDiscriminatorImpl::forward(const torch::Tensor& input_ids,
                                                const torch::Tensor& attention_mask) {
  return discriminator_predictions(electra->forward(input_ids, attention_mask, {}));
}

std::map<std::string, torch::Tensor> export_tensors(ElectraDiscriminatorImpl& discriminator) {
  return detached_parameters(discriminator);
}

std::map<std::string, torch::Tensor> export_tensors(ElectraGeneratorImpl& generator) {
  return detached_parameters(generator);
}

bool import_tensors(ElectraDiscriminatorImpl& discriminator,
                    const std::map<std::string, torch::Tensor>& tensors, const std::string& origin,
                    bool require_head) {
  const auto missing = copy_by_name(discriminator, tensors, origin);
  std::vector<std::string> missing_body;
  for (const auto& name : missing)
    if (!name.starts_with("discriminator_predictions.")) missing_body.push_back(name);
  if (!missing_body.empty() || (require_head && !missing.empty()))
    throw Error(fmt::format("{}: missing {} weight(s) of ElectraForPreTraining: {}", origin,
                            missing_body.empty() ? missing.size() : missing_body.size(),
                            fmt::join(missing_body.empty() ? missing : missing_body, ", ")));
  return missing.empty();
}

void import_tensors(ElectraGeneratorImpl& generator,
                    const std::map<std::string, torch::Tensor>& tensors,
                    const std::string& origin) {
  const auto missing = copy_by_name(generator, tensors, origin);
  if (!missing.empty())
    throw Error(fmt::format("{}: missing {} weight(s) of ElectraForMaskedLM: {}", origin,
                            missing.size(), fmt::join(missing, ", ")));
}

bool import_bert_masked_lm(ElectraGeneratorImpl& generator,
                           const std::map<std::string, torch::Tensor>& tensors,
                           const std::string& origin) {
  std::map<std::string, torch::Tensor> renamed;
  for (const auto& [stored, tensor] : tensors) {
    if (is_ignored_bert_name(stored)) continue;
    std::string name = stored;
    for (const auto& [bert, ours] : kBertMaskedLmNames) {
      if (name.starts_with(bert)) {
        name = std::string(ours) + name.substr(bert.size());
        break;
      }
    }
    if (!renamed.emplace(name, tensor).second)
      throw Error(fmt::format("{}: two tensors hold weight '{}'", origin, name));
  }
  const auto missing = copy_by_name(generator, renamed, origin);
  std::vector<std::string> missing_body;
  for (const auto& name : missing)
    if (name.starts_with("electra.")) missing_body.push_back(name);
  if (!missing_body.empty())
    throw Error(fmt::format("{}: missing {} weight(s) of the BERT model: {}", origin,
                            missing_body.size(), fmt::join(missing_body, ", ")));
  return missing.empty();
}

std::map<std::string, torch::Tensor> export_bert_masked_lm(ElectraGeneratorImpl& generator) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, tensor] : detached_parameters(generator)) {
    std::string hf_name = name;
    for (const auto& [bert, ours] : kBertMaskedLmNames) {
      if (name.starts_with(ours)) {
        hf_name = std::string(bert) + name.substr(ours.size());
        break;
      }
    }
    out.emplace(std::move(hf_name), std::move(tensor));
  }
  return out;
}

}  // namespace emotune::model
