#include "model/encoder.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "io/safetensors.h"
#include "model/albert.h"
#include "model/bert.h"
#include "model/checkpoint.h"
#include "model/electra.h"
#include "model/roberta.h"

namespace emotune::model {
namespace {

using Factory = std::function<std::shared_ptr<Encoder>(const io::HfConfig&, const DropoutRates&)>;

template <typename Family>
Factory factory() {
  return [](const io::HfConfig& config, const DropoutRates& dropout) {
    return std::make_shared<Family>(config, dropout);
  };
}

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> families{
      {"bert", factory<BertModel>()},
      {"roberta", factory<RobertaModel>()},
      {"electra", factory<ElectraModel>()},
      {"albert", factory<AlbertModel>()},
  };
  return families;
}

// Buffers HF may save beside the weights; positions and token types are computed here.
bool is_known_buffer(const std::string& name) {
  return name == "embeddings.position_ids" || name == "embeddings.token_type_ids";
}

// Names that belong to the base model (as opposed to task/pre-training heads).
bool looks_like_base_weight(const std::string& name) {
  for (const char* prefix : {"embeddings.", "encoder.", "embeddings_project.", "pooler."})
    if (name.starts_with(prefix)) return true;
  return false;
}

// Safetensors' spelling ("I64") where the format has the type, else torch's.
std::string dtype_text(torch::ScalarType dtype) {
  try {
    return std::string(io::dtype_name(to_safetensors_dtype(dtype)));
  } catch (const Error&) {
    return c10::toString(dtype);
  }
}

std::string shape_text(c10::IntArrayRef shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// A checkpoint tensor's name in the encoder: bare base-model names and those under the
// family's task/pre-training class prefix ("electra.") both count.
std::string encoder_name_of(const std::string& tensor_name, const std::string& prefix) {
  return tensor_name.starts_with(prefix) ? tensor_name.substr(prefix.size()) : tensor_name;
}

// Errors naming the file unless `info` can fill `parameter`: a float tensor of its shape.
void check_fits(const CheckpointTensor& info, const torch::Tensor& parameter) {
  if (!c10::isFloatingType(info.dtype))
    throw error_in(info.file,
                   fmt::format("tensor '{}' has dtype {}; a weight must be F32, F16, BF16 or F64",
                               info.name, dtype_text(info.dtype)));
  if (c10::IntArrayRef(info.shape) != parameter.sizes())
    throw error_in(info.file,
                   fmt::format("tensor '{}' has shape {} but config.json gives {}", info.name,
                               shape_text(info.shape), shape_text(parameter.sizes())));
}

void apply_placement(Encoder& encoder, const EncoderOptions& options) {
  if (options.dtype && !c10::isFloatingType(*options.dtype))
    throw Error(
        fmt::format("encoder dtype must be floating, got {}", c10::toString(*options.dtype)));
  if (options.device && options.dtype)
    encoder.to(*options.device, *options.dtype);
  else if (options.device)
    encoder.to(*options.device);
  else if (options.dtype)
    encoder.to(*options.dtype);
}

}  // namespace

std::vector<std::string> supported_model_types() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

std::shared_ptr<Encoder> build_encoder(const io::HfConfig& config, const EncoderOptions& options) {
  const auto it = registry().find(config.model_type);
  if (it == registry().end())
    throw error_in(config.origin,
                   fmt::format("key 'model_type': '{}' is not supported (expected one of {})",
                               config.model_type, fmt::join(supported_model_types(), ", ")));
  DropoutRates dropout{options.hidden_dropout.value_or(config.hidden_dropout_prob),
                       options.attention_dropout.value_or(config.attention_probs_dropout_prob)};
  for (double p : {dropout.hidden, dropout.attention})
    if (!(p >= 0.0 && p < 1.0))
      throw Error(fmt::format("dropout probability must be in [0, 1), got {}", p));
  return it->second(config, dropout);
}

void load_encoder_weights(Encoder& encoder, const std::filesystem::path& weights_file) {
  const auto tensors = open_weights(weights_file);
  const std::string prefix = encoder.weight_prefix() + ".";
  auto parameters = encoder.named_parameters(/*recurse=*/true);

  std::map<std::string, const CheckpointTensor*> matched;
  std::vector<std::string> ignored;
  for (const auto& info : tensors) {
    const std::string name = encoder_name_of(info.name, prefix);
    if (parameters.contains(name)) {
      const auto [it, inserted] = matched.emplace(name, &info);
      if (!inserted)
        throw error_in(weights_file, fmt::format("tensors '{}' and '{}' both hold weight '{}'",
                                                 it->second->name, info.name, name));
    } else if (is_known_buffer(name)) {
      continue;
    } else if (looks_like_base_weight(name)) {
      throw error_in(weights_file,
                     fmt::format("tensor '{}' has no place in the {} model that config.json "
                                 "describes (does config.json belong to this checkpoint?)",
                                 info.name, encoder.model_type()));
    } else {
      ignored.push_back(info.name);
    }
  }
  if (!ignored.empty())
    spdlog::debug("{}: ignoring {} tensors emotune does not use: {}", weights_file.string(),
                  ignored.size(), fmt::join(ignored, ", "));

  if (encoder.has_pooler()) {
    bool any_pooler = false;
    for (const auto& [name, info] : matched) any_pooler = any_pooler || name.starts_with("pooler.");
    if (!any_pooler) {
      spdlog::debug("{}: no pooler weights; the encoder runs without a pooler",
                    weights_file.string());
      encoder.remove_pooler();
      parameters = encoder.named_parameters(true);
    }
  }

  std::vector<std::string> missing;
  for (const auto& item : parameters)
    if (!matched.contains(item.key())) missing.push_back(item.key());
  if (!missing.empty())
    throw error_in(
        weights_file,
        fmt::format("missing {} weight(s) of the {} model (with or without the '{}' "
                    "prefix): {}",
                    missing.size(), encoder.model_type(), prefix, fmt::join(missing, ", ")));

  torch::NoGradGuard no_grad;
  for (const auto& [name, info] : matched) {
    auto& parameter = parameters[name];
    check_fits(*info, parameter);
    parameter.copy_(info->read());
  }
}

std::shared_ptr<Encoder> load_encoder(const std::filesystem::path& dir,
                                      const EncoderOptions& options) {
  const auto config = io::load_hf_config(dir / "config.json");
  auto encoder = build_encoder(config, options);
  load_encoder_weights(*encoder, checkpoint_weights_file(dir));
  apply_placement(*encoder, options);
  return encoder;
}

std::shared_ptr<Encoder> create_encoder(const std::filesystem::path& config_json,
                                        const EncoderOptions& options) {
  return create_encoder(io::load_hf_config(config_json), options);
}

std::shared_ptr<Encoder> create_encoder(const io::HfConfig& config, const EncoderOptions& options) {
  auto encoder = build_encoder(config, options);
  initialize_weights(*encoder, options.initializer_range.value_or(config.initializer_range));
  apply_placement(*encoder, options);
  return encoder;
}

namespace {

std::shared_ptr<torch::nn::EmbeddingImpl> word_embedding_module(Encoder& encoder) {
  const std::string module_name = "embeddings.word_embeddings";
  for (const auto& item : encoder.named_modules("", /*include_self=*/false))
    if (item.key() == module_name)
      if (auto target = std::dynamic_pointer_cast<torch::nn::EmbeddingImpl>(item.value()))
        return target;
  throw Error(fmt::format("the {} encoder has no {}", encoder.model_type(), module_name));
}

void check_positive_std(double std) {
  if (!(std > 0.0))
    throw Error(fmt::format("word embeddings: the standard deviation must be > 0, got {}", std));
}

}  // namespace

void start_from_word_embeddings(Encoder& encoder, const std::filesystem::path& dir, double std) {
  check_positive_std(std);
  const auto target = word_embedding_module(encoder);
  const std::string name = "embeddings.word_embeddings.weight";
  const auto file = checkpoint_weights_file(dir);
  const auto tensors = open_weights(file);
  const std::string prefix = encoder.weight_prefix() + ".";
  const auto found = std::find_if(tensors.begin(), tensors.end(), [&](const auto& info) {
    return encoder_name_of(info.name, prefix) == name;
  });
  if (found == tensors.end())
    throw error_in(file, fmt::format("no tensor '{}' (nor '{}{}')", name, prefix, name));
  check_fits(*found, target->weight);
  try {
    start_from_word_embeddings(encoder, found->read(), std);
  } catch (const Error& e) {
    throw error_in(file, fmt::format("tensor '{}': {}", found->name, e.what()));
  }
}

void start_from_word_embeddings(Encoder& encoder, const torch::Tensor& embeddings, double std) {
  check_positive_std(std);
  const auto target = word_embedding_module(encoder);
  if (embeddings.dim() != 2 || embeddings.size(1) != target->weight.size(1) ||
      embeddings.size(0) > target->weight.size(0))
    throw Error(fmt::format("word embeddings of shape {} cannot replace the encoder's {}",
                            shape_text(embeddings.sizes()), shape_text(target->weight.sizes())));
  auto centred = embeddings.to(torch::kFloat64);
  centred = centred - centred.mean(0, /*keepdim=*/true);
  const double spread = centred.std().item<double>();
  if (!(spread > 0.0)) throw Error("the word embeddings are constant: nothing to start from");
  centred *= std / spread;
  torch::NoGradGuard no_grad;
  target->weight.narrow(0, 0, embeddings.size(0)).copy_(centred.to(target->weight.scalar_type()));
  // As a fresh draw does (HF's init): the padding row stays zero.
  if (const auto& pad = target->options.padding_idx(); pad.has_value())
    target->weight[*pad].zero_();
}

void scale_attention_logits(Encoder& encoder, double factor) {
  torch::NoGradGuard no_grad;
  int scaled = 0;
  for (auto& item : encoder.named_parameters(true)) {
    const auto& name = item.key();
    for (const char* suffix : {".query.weight", ".query.bias", ".key.weight", ".key.bias"}) {
      if (name.ends_with(suffix)) {
        item.value().mul_(factor);
        ++scaled;
        break;
      }
    }
  }
  if (scaled == 0)
    throw Error(fmt::format("attention_scale: the {} encoder has no attention query/key tensors",
                            encoder.model_type()));
}

}  // namespace emotune::model
