#include "io/hf_config.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"

namespace emotune::io {
namespace {

using nlohmann::json;

class ConfigReader {
 public:
  ConfigReader(const json& root, const std::filesystem::path& origin)
      : root_(root), origin_(origin) {}

  bool has(const char* key) const { return root_.contains(key) && !root_.at(key).is_null(); }

  std::int64_t positive_int(const char* key, std::optional<std::int64_t> fallback) const {
    const auto value = integer(key, fallback);
    if (value <= 0) throw bad(key, "a positive integer", json(value));
    return value;
  }

  std::int64_t integer(const char* key, std::optional<std::int64_t> fallback) const {
    if (!has(key)) {
      if (fallback) return *fallback;
      throw missing(key);
    }
    const auto& v = root_.at(key);
    if (!v.is_number_integer()) throw bad(key, "an integer", v);
    return v.get<std::int64_t>();
  }

  double probability(const char* key, double fallback) const {
    const double p = number(key, fallback);
    if (!(p >= 0.0 && p < 1.0)) throw bad(key, "a probability in [0, 1)", json(p));
    return p;
  }

  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const auto& v = root_.at(key);
    if (!v.is_number()) throw bad(key, "a number", v);
    return v.get<double>();
  }

  std::string string(const char* key, std::optional<std::string> fallback) const {
    if (!has(key)) {
      if (fallback) return *fallback;
      throw missing(key);
    }
    const auto& v = root_.at(key);
    if (!v.is_string()) throw bad(key, "a string", v);
    return v.get<std::string>();
  }

  std::vector<std::string> strings(const char* key) const {
    std::vector<std::string> out;
    if (!has(key)) return out;
    const auto& v = root_.at(key);
    if (!v.is_array()) throw bad(key, "an array of strings", v);
    for (const auto& item : v) {
      if (!item.is_string()) throw bad(key, "an array of strings", v);
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  Error missing(const char* key) const {
    return error_in(origin_, fmt::format("missing required key '{}'", key));
  }

  Error bad(const char* key, const std::string& expected, const json& got) const {
    return error_in(origin_,
                    fmt::format("key '{}': expected {}, got {}", key, expected, got.dump()));
  }

 private:
  const json& root_;
  const std::filesystem::path& origin_;
};

}  // namespace

const std::vector<std::string>& supported_activations() {
  static const std::vector<std::string> names{
      "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "swish", "tanh"};
  return names;
}

HfConfig parse_hf_config(std::string_view json_text, const std::filesystem::path& origin) {
  json root;
  try {
    root = json::parse(json_text.begin(), json_text.end());
  } catch (const json::exception& e) {
    throw error_in(origin, fmt::format("not valid JSON: {}", e.what()));
  }
  if (!root.is_object()) throw error_in(origin, "config.json must hold a JSON object");
  const ConfigReader read(root, origin);

  HfConfig c;
  c.origin = origin;
  c.model_type = read.string("model_type", std::nullopt);
  c.architectures = read.strings("architectures");
  c.vocab_size = read.positive_int("vocab_size", std::nullopt);
  c.hidden_size = read.positive_int("hidden_size", std::nullopt);
  c.num_hidden_layers = read.positive_int("num_hidden_layers", std::nullopt);
  c.num_attention_heads = read.positive_int("num_attention_heads", std::nullopt);
  c.intermediate_size = read.positive_int("intermediate_size", std::nullopt);
  const bool albert = c.model_type == "albert";
  const bool factorized = albert || c.model_type == "electra";
  c.hidden_act = read.string("hidden_act", albert ? "gelu_new" : "gelu");
  const auto& acts = supported_activations();
  if (std::find(acts.begin(), acts.end(), c.hidden_act) == acts.end())
    throw read.bad("hidden_act", fmt::format("one of {}", fmt::join(acts, ", ")),
                   json(c.hidden_act));
  c.hidden_dropout_prob = read.probability("hidden_dropout_prob", albert ? 0.0 : 0.1);
  c.attention_probs_dropout_prob =
      read.probability("attention_probs_dropout_prob", albert ? 0.0 : 0.1);
  c.max_position_embeddings = read.positive_int("max_position_embeddings", 512);
  c.type_vocab_size = read.positive_int("type_vocab_size", 2);
  c.layer_norm_eps = read.number("layer_norm_eps", 1e-12);
  if (!(c.layer_norm_eps > 0.0 && std::isfinite(c.layer_norm_eps)))
    throw read.bad("layer_norm_eps", "a positive number", json(c.layer_norm_eps));
  c.pad_token_id = read.integer("pad_token_id", c.model_type == "roberta" ? 1 : 0);
  if (c.pad_token_id < 0 || c.pad_token_id >= c.vocab_size)
    throw read.bad("pad_token_id", fmt::format("an id in [0, vocab_size={})", c.vocab_size),
                   json(c.pad_token_id));
  c.position_embedding_type = read.string("position_embedding_type", "absolute");
  if (c.position_embedding_type != "absolute")
    throw read.bad("position_embedding_type",
                   "\"absolute\" (relative position embeddings are not supported)",
                   json(c.position_embedding_type));
  c.embedding_size = factorized ? read.positive_int("embedding_size", 128)
                                : read.positive_int("embedding_size", c.hidden_size);
  c.num_hidden_groups = read.positive_int("num_hidden_groups", 1);
  c.inner_group_num = read.positive_int("inner_group_num", 1);
  c.initializer_range = read.number("initializer_range", 0.02);
  if (c.num_hidden_groups > c.num_hidden_layers)
    throw read.bad("num_hidden_groups",
                   fmt::format("at most num_hidden_layers={}", c.num_hidden_layers),
                   json(c.num_hidden_groups));
  if (c.hidden_size % c.num_attention_heads != 0)
    throw error_in(origin, fmt::format("key 'hidden_size': {} is not a multiple of "
                                       "num_attention_heads={}",
                                       c.hidden_size, c.num_attention_heads));
  return c;
}

HfConfig load_hf_config(const std::filesystem::path& path) {
  const auto file = std::filesystem::is_directory(path) ? path / "config.json" : path;
  return parse_hf_config(read_file(file), file);
}

}  // namespace emotune::io
