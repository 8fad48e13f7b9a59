#include "train/config.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "common/error.h"
#include "common/files.h"
#include "common/paths.h"
#include "train/toml_file.h"

namespace emotune::train {
namespace {

// Where a value came from, for error messages: "file:line" or "--set".
struct Origin {
  std::string where;
  std::string key;
  Error error(const std::string& what) const {
    return Error(fmt::format("{}: {}: {}", where, key, what));
  }
};

std::string trim(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  const auto end = text.find_last_not_of(" \t");
  return std::string(text.substr(begin, end - begin + 1));
}

std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto end = comma == std::string_view::npos ? text.size() : comma;
    parts.push_back(trim(text.substr(start, end - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return parts;
}

std::string as_string(const toml::node& node, const Origin& origin) {
  if (const auto* value = node.as_string()) return value->get();
  throw origin.error("expected a string");
}

std::int64_t as_int(const toml::node& node, const Origin& origin) {
  if (const auto* value = node.as_integer()) return value->get();
  if (const auto* value = node.as_string()) {
    try {
      std::size_t used = 0;
      const auto parsed = std::stoll(value->get(), &used);
      if (used == value->get().size()) return parsed;
    } catch (const std::exception&) {
    }
  }
  throw origin.error("expected an integer");
}

double as_double(const toml::node& node, const Origin& origin) {
  if (const auto* value = node.as_floating_point()) return value->get();
  if (const auto* value = node.as_integer()) return static_cast<double>(value->get());
  throw origin.error("expected a number");
}

bool as_bool(const toml::node& node, const Origin& origin) {
  if (const auto* value = node.as_boolean()) return value->get();
  throw origin.error("expected true or false");
}

// An array, a single value, or a comma-separated string ("1,2,3").
template <typename Convert>
auto as_list(const toml::node& node, const Origin& origin, Convert convert) {
  using Item = decltype(convert(node, origin));
  std::vector<Item> items;
  if (const auto* array = node.as_array()) {
    for (const auto& element : *array) items.push_back(convert(element, origin));
  } else if (const auto* text = node.as_string();
             text && text->get().find(',') != std::string::npos) {
    for (const auto& part : split_commas(text->get())) {
      items.push_back(convert(toml::value<std::string>(part), origin));
    }
  } else {
    items.push_back(convert(node, origin));
  }
  return items;
}

model::Task as_task(const toml::node& node, const Origin& origin) {
  const auto name = as_string(node, origin);
  if (const auto task = model::parse_task(name)) return *task;
  throw origin.error(
      fmt::format("unknown task '{}' (expected empathy, distress or emotion)", name));
}

struct KeyHandler {
  std::string name;
  bool textual;  // a --set value is taken as text rather than parsed as TOML
  std::function<void(TrainConfig&, const toml::node&, const Origin&)> set;
  std::function<void(const TrainConfig&, toml::table&)> write;
};

template <typename T>
toml::array to_array(const std::vector<T>& items) {
  toml::array array;
  for (const auto& item : items) array.push_back(item);
  return array;
}

// Puts a dotted key ("loss_weights.empathy") into nested tables.
template <typename T>
void put(toml::table& table, const std::string& key, T&& value) {
  const auto dot = key.find('.');
  if (dot == std::string::npos) {
    table.insert_or_assign(key, std::forward<T>(value));
    return;
  }
  auto head = key.substr(0, dot);
  if (!table.contains(head)) table.insert(head, toml::table{});
  put(*table[head].as_table(), key.substr(dot + 1), std::forward<T>(value));
}

#define EMOTUNE_STRING_KEY(field)                                                                  \
  KeyHandler {                                                                                     \
#field, true,                                                                                  \
        [](TrainConfig & c, const toml::node& n,                                                   \
           const Origin& o) { c.field = as_string(n, o); }, [](const TrainConfig& c,               \
                                                               toml::table&                        \
                                                                   t) { put(t, #field, c.field); } \
  }
#define EMOTUNE_INT_KEY(field)                                                                  \
  KeyHandler {                                                                                  \
#field, false,                                                                              \
        [](TrainConfig & c, const toml::node& n,                                                \
           const Origin& o) { c.field = as_int(n, o); }, [](const TrainConfig& c,               \
                                                            toml::table&                        \
                                                                t) { put(t, #field, c.field); } \
  }
#define EMOTUNE_DOUBLE_KEY(field)                                                                  \
  KeyHandler {                                                                                     \
#field, false,                                                                                 \
        [](TrainConfig & c, const toml::node& n,                                                   \
           const Origin& o) { c.field = as_double(n, o); }, [](const TrainConfig& c,               \
                                                               toml::table&                        \
                                                                   t) { put(t, #field, c.field); } \
  }

KeyHandler loss_weight_key(model::Task task) {
  const std::string key = "loss_weights." + model::task_name(task);
  return KeyHandler{key, false,
                    [task](TrainConfig& c, const toml::node& n, const Origin& o) {
                      c.loss_weights[task] = as_double(n, o);
                    },
                    [task, key](const TrainConfig& c, toml::table& t) {
                      const auto found = c.loss_weights.find(task);
                      put(t, key, found == c.loss_weights.end() ? 1.0 : found->second);
                    }};
}

const std::vector<KeyHandler>& handlers() {
  static const std::vector<KeyHandler> all = {
      EMOTUNE_STRING_KEY(models_root),
      EMOTUNE_STRING_KEY(backbone),
      EMOTUNE_STRING_KEY(data),
      KeyHandler{"tasks", true,
                 [](TrainConfig& c, const toml::node& n, const Origin& o) {
                   c.tasks = as_list(n, o, as_task);
                 },
                 [](const TrainConfig& c, toml::table& t) {
                   std::vector<std::string> names;
                   for (const auto task : c.tasks) names.push_back(model::task_name(task));
                   put(t, "tasks", to_array(names));
                 }},
      KeyHandler{
          "inputs", true,
          [](TrainConfig& c, const toml::node& n, const Origin& o) {
            c.inputs = as_list(n, o, as_string);
          },
          [](const TrainConfig& c, toml::table& t) { put(t, "inputs", to_array(c.inputs)); }},
      loss_weight_key(model::Task::empathy),
      loss_weight_key(model::Task::distress),
      loss_weight_key(model::Task::emotion),
      EMOTUNE_INT_KEY(max_length),
      EMOTUNE_INT_KEY(batch_size),
      EMOTUNE_INT_KEY(epochs),
      EMOTUNE_DOUBLE_KEY(learning_rate),
      EMOTUNE_DOUBLE_KEY(adam_beta1),
      EMOTUNE_DOUBLE_KEY(adam_beta2),
      EMOTUNE_DOUBLE_KEY(adam_eps),
      EMOTUNE_DOUBLE_KEY(weight_decay),
      EMOTUNE_STRING_KEY(lr_schedule),
      EMOTUNE_DOUBLE_KEY(warmup_ratio),
      EMOTUNE_DOUBLE_KEY(max_grad_norm),
      KeyHandler{"head_dropout", false,
                 [](TrainConfig& c, const toml::node& n, const Origin& o) {
                   // "checkpoint" (or "") = the backbone's hidden_dropout_prob.
                   if (const auto* text = n.as_string();
                       text && (text->get() == "checkpoint" || text->get().empty())) {
                     c.head_dropout.reset();
                   } else {
                     c.head_dropout = as_double(n, o);
                   }
                 },
                 [](const TrainConfig& c, toml::table& t) {
                   if (c.head_dropout) {
                     put(t, "head_dropout", *c.head_dropout);
                   } else {
                     put(t, "head_dropout", std::string("checkpoint"));
                   }
                 }},
      EMOTUNE_STRING_KEY(head_bias_init),
      KeyHandler{"attention_scale", false,
                 [](TrainConfig& c, const toml::node& n, const Origin& o) {
                   c.attention_scale = as_double(n, o);
                 },
                 // Written only when set, so that earlier runs' config files stay as they were.
                 [](const TrainConfig& c, toml::table& t) {
                   if (c.attention_scale != 1.0) put(t, "attention_scale", c.attention_scale);
                 }},
      EMOTUNE_STRING_KEY(augment),
      EMOTUNE_INT_KEY(augment_size),
      KeyHandler{"seeds", false,
                 [](TrainConfig& c, const toml::node& n, const Origin& o) {
                   c.seeds = as_list(n, o, as_int);
                 },
                 [](const TrainConfig& c, toml::table& t) { put(t, "seeds", to_array(c.seeds)); }},
      EMOTUNE_INT_KEY(eval_every_steps),
      EMOTUNE_STRING_KEY(selection_metric),
      KeyHandler{"length_bucketing", false,
                 [](TrainConfig& c, const toml::node& n, const Origin& o) {
                   c.length_bucketing = as_bool(n, o);
                 },
                 [](const TrainConfig& c, toml::table& t) {
                   put(t, "length_bucketing", c.length_bucketing);
                 }},
      EMOTUNE_INT_KEY(train_limit),
      EMOTUNE_INT_KEY(holdout_every),
      EMOTUNE_INT_KEY(dev_limit),
      EMOTUNE_INT_KEY(max_steps),
      KeyHandler{
          "random_init", false,
          [](TrainConfig& c, const toml::node& n, const Origin& o) {
            c.random_init = as_bool(n, o);
          },
          [](const TrainConfig& c, toml::table& t) { put(t, "random_init", c.random_init); }},
      // Both written only when set, so that earlier runs' config files stay as they were.
      KeyHandler{"backbone_weights", false,
                 [](TrainConfig& c, const toml::node& n, const Origin& o) {
                   c.backbone_weights = as_string(n, o);
                 },
                 [](const TrainConfig& c, toml::table& t) {
                   if (c.backbone_weights != "all") put(t, "backbone_weights", c.backbone_weights);
                 }},
      KeyHandler{"initializer_range", false,
                 [](TrainConfig& c, const toml::node& n, const Origin& o) {
                   c.initializer_range = as_double(n, o);
                 },
                 [](const TrainConfig& c, toml::table& t) {
                   if (c.initializer_range) put(t, "initializer_range", *c.initializer_range);
                 }},
      EMOTUNE_STRING_KEY(device),
      EMOTUNE_STRING_KEY(dtype),
      EMOTUNE_STRING_KEY(mixed_precision),
  };
  return all;
}

const KeyHandler* find_handler(std::string_view key) {
  for (const auto& handler : handlers()) {
    if (handler.name == key) return &handler;
  }
  return nullptr;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

Error unknown_key(const std::string& where, std::string_view key) {
  return Error(fmt::format("{}: unknown config key '{}' (did you mean '{}'?)", where, key,
                           nearest_key(key)));
}

void read_table(TrainConfig& config, const toml::table& table, const std::string& prefix,
                const std::filesystem::path& file) {
  for (const auto& [raw_key, node] : table) {
    const std::string key = prefix + std::string(raw_key.str());
    const std::string where = fmt::format("{}:{}", file.string(), node.source().begin.line);
    if (const auto* nested = node.as_table()) {
      read_table(config, *nested, key + ".", file);
      continue;
    }
    const auto* handler = find_handler(key);
    if (!handler) throw unknown_key(where, key);
    handler->set(config, node, Origin{where, key});
  }
}

}  // namespace

std::string nearest_key(std::string_view key) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& handler : handlers()) {
    const auto distance = edit_distance(key, handler.name);
    if (distance < best_distance) {
      best_distance = distance;
      best = handler.name;
    }
  }
  return best;
}

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> names;
    for (const auto& handler : handlers()) names.push_back(handler.name);
    return names;
  }();
  return keys;
}

TrainConfig load_config(const std::filesystem::path& file) {
  const auto table = read_toml_file(file);
  TrainConfig config;
  read_table(config, table, "", file);
  return config;
}

void apply_override(TrainConfig& config, std::string_view assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string_view::npos) {
    throw Error(fmt::format("--set {}: expected key=value", assignment));
  }
  const auto key = trim(assignment.substr(0, equals));
  const auto value = trim(assignment.substr(equals + 1));
  const auto* handler = find_handler(key);
  if (!handler) throw unknown_key("--set", key);
  const Origin origin{"--set", key};
  const bool looks_like_toml = !value.empty() && (value.front() == '[' || value.front() == '"');
  if (handler->textual && !looks_like_toml) {
    handler->set(config, toml::value<std::string>(value), origin);
    return;
  }
  try {
    const auto parsed = toml::parse("value = " + value);
    handler->set(config, *parsed.get("value"), origin);
  } catch (const toml::parse_error&) {
    // A bare word such as `linear` or a comma list such as `1,2,3`.
    handler->set(config, toml::value<std::string>(value), origin);
  }
}

void validate(const TrainConfig& config) {
  const auto fail = [](const std::string& key, const std::string& what) {
    return Error(fmt::format("config key {}: {}", key, what));
  };
  if (config.backbone.empty()) throw fail("backbone", "no backbone folder given");
  if (config.tasks.empty()) throw fail("tasks", "at least one task is needed");
  for (std::size_t i = 0; i < config.tasks.size(); ++i) {
    for (std::size_t j = i + 1; j < config.tasks.size(); ++j) {
      if (config.tasks[i] == config.tasks[j]) {
        throw fail("tasks", fmt::format("{} is listed twice", model::task_name(config.tasks[i])));
      }
    }
  }
  for (std::size_t i = 0; i < config.inputs.size(); ++i) {
    if (config.inputs[i] != "text" && config.inputs[i] != "person") {
      throw fail("inputs",
                 fmt::format("unknown input '{}' (expected text, person)", config.inputs[i]));
    }
    for (std::size_t j = i + 1; j < config.inputs.size(); ++j) {
      if (config.inputs[i] == config.inputs[j]) {
        throw fail("inputs", fmt::format("{} is listed twice", config.inputs[i]));
      }
    }
  }
  if (std::find(config.inputs.begin(), config.inputs.end(), "text") == config.inputs.end()) {
    throw fail("inputs",
               "\"text\" is needed (the encoder reads the essay): [\"text\"] or "
               "[\"text\", \"person\"]");
  }
  for (const auto& [task, weight] : config.loss_weights) {
    if (!(weight >= 0.0)) {
      throw fail("loss_weights." + model::task_name(task), "must be >= 0");
    }
  }
  if (config.max_length < 2 || config.max_length > 4096)
    throw fail("max_length", "must be in 2..4096");
  if (config.batch_size < 1) throw fail("batch_size", "must be >= 1");
  if (config.epochs < 1) throw fail("epochs", "must be >= 1");
  if (!(config.learning_rate > 0.0 && config.learning_rate < 1.0)) {
    throw fail("learning_rate", fmt::format("{} is out of range (0, 1)", config.learning_rate));
  }
  if (!(config.adam_beta1 >= 0.0 && config.adam_beta1 < 1.0))
    throw fail("adam_beta1", "must be in [0, 1)");
  if (!(config.adam_beta2 >= 0.0 && config.adam_beta2 < 1.0))
    throw fail("adam_beta2", "must be in [0, 1)");
  if (!(config.adam_eps > 0.0)) throw fail("adam_eps", "must be > 0");
  if (!(config.weight_decay >= 0.0)) throw fail("weight_decay", "must be >= 0");
  if (config.lr_schedule != "constant" && config.lr_schedule != "linear") {
    throw fail("lr_schedule", fmt::format("'{}' is not constant or linear", config.lr_schedule));
  }
  if (config.head_bias_init != "default" && config.head_bias_init != "train_targets") {
    throw fail("head_bias_init",
               fmt::format("'{}' is not default or train_targets", config.head_bias_init));
  }
  if (!(config.warmup_ratio >= 0.0 && config.warmup_ratio < 1.0))
    throw fail("warmup_ratio", "must be in [0, 1)");
  if (!(config.max_grad_norm >= 0.0)) throw fail("max_grad_norm", "must be >= 0 (0 = off)");
  if (config.backbone_weights != "all" && config.backbone_weights != "word_embeddings") {
    throw fail("backbone_weights",
               fmt::format("'{}' is not all or word_embeddings", config.backbone_weights));
  }
  if (config.random_init && config.backbone_weights != "all") {
    throw fail("backbone_weights",
               fmt::format("'{}' keeps part of the backbone, but random_init = true keeps none",
                           config.backbone_weights));
  }
  if (config.initializer_range && !(*config.initializer_range > 0.0)) {
    throw fail("initializer_range", fmt::format("must be > 0, got {}", *config.initializer_range));
  }
  if (!(config.attention_scale > 0.0))
    throw fail("attention_scale", fmt::format("must be > 0, got {}", config.attention_scale));
  if (config.head_dropout && !(*config.head_dropout >= 0.0 && *config.head_dropout < 1.0)) {
    throw fail("head_dropout", "must be in [0, 1)");
  }
  if (config.augment != "none" && config.augment != "ba" && config.augment != "ra") {
    throw fail("augment", fmt::format("'{}' is not none, ba or ra", config.augment));
  }
  if (config.augment != "none" && config.tasks != std::vector<model::Task>{model::Task::emotion}) {
    throw fail("augment",
               "GoEmotions comments carry emotion labels only, so augmentation needs "
               "tasks = [\"emotion\"]");
  }
  if (config.augment_size < 0) throw fail("augment_size", "must be >= 0");
  if (config.seeds.empty()) throw fail("seeds", "at least one seed is needed");
  for (const auto seed : config.seeds) {
    if (seed < 0) throw fail("seeds", "seeds must be >= 0");
  }
  if (config.eval_every_steps < 0)
    throw fail("eval_every_steps", "must be >= 0 (0 = epoch ends only)");
  if (config.train_limit < 0) throw fail("train_limit", "must be >= 0");
  if (config.holdout_every < 0 || config.holdout_every == 1)
    throw fail("holdout_every", "must be 0 (none) or at least 2");
  if (config.dev_limit < 0) throw fail("dev_limit", "must be >= 0");
  if (config.max_steps < 0) throw fail("max_steps", "must be >= 0");
  const auto metric = config.resolved_selection_metric();
  const bool has_regression =
      std::any_of(config.tasks.begin(), config.tasks.end(), model::is_regression);
  const bool has_emotion = std::find(config.tasks.begin(), config.tasks.end(),
                                     model::Task::emotion) != config.tasks.end();
  if (metric == "avg_pearson") {
    if (!has_regression) throw fail("selection_metric", "avg_pearson needs empathy or distress");
  } else if (metric == "macro_f1" || metric == "accuracy") {
    if (!has_emotion) throw fail("selection_metric", metric + " needs the emotion task");
  } else if (metric.rfind("pearson_", 0) == 0) {
    const auto task = model::parse_task(metric.substr(8));
    if (!task || !model::is_regression(*task) ||
        std::find(config.tasks.begin(), config.tasks.end(), *task) == config.tasks.end()) {
      throw fail("selection_metric", metric + " names no trained regression task");
    }
  } else {
    throw fail(
        "selection_metric",
        fmt::format("'{}' is not auto, avg_pearson, macro_f1, accuracy or pearson_<task>", metric));
  }
  if (config.device != "cpu" && config.device.rfind("cuda", 0) != 0) {
    throw fail("device", fmt::format("'{}' is not cpu or cuda[:N]", config.device));
  }
  if (config.dtype != "float32" && config.dtype != "bfloat16") {
    throw fail("dtype", fmt::format("'{}' is not float32 or bfloat16", config.dtype));
  }
  if (config.mixed_precision != "none" && config.mixed_precision != "bf16" &&
      config.mixed_precision != "auto") {
    throw fail("mixed_precision",
               fmt::format("'{}' is not none, bf16 or auto", config.mixed_precision));
  }
  if (config.mixed_precision != "none" && config.dtype != "float32") {
    throw fail("mixed_precision",
               "mixed precision keeps float32 weights; it needs dtype = "
               "\"float32\"");
  }
}

std::filesystem::path TrainConfig::backbone_dir() const {
  static const std::string placeholder = "${models_root}";
  std::string path = backbone;
  const auto at = path.find(placeholder);
  if (at != std::string::npos) {
    std::string root = models_root;
    if (root.empty()) root = default_models_root().string();
    if (root.empty()) {
      throw Error(
          fmt::format("config key backbone: '{}' uses ${{models_root}}, but neither models_root "
                      "(--set models_root=DIR) nor $EMOTUNE_MODELS nor $HOME is set",
                      backbone));
    }
    path.replace(at, placeholder.size(), root);
  }
  return path;
}

std::string TrainConfig::resolved_selection_metric() const {
  if (selection_metric != "auto") return selection_metric;
  return std::any_of(tasks.begin(), tasks.end(), model::is_regression) ? "avg_pearson" : "macro_f1";
}

bool TrainConfig::reads_person() const {
  return std::find(inputs.begin(), inputs.end(), "person") != inputs.end();
}

std::string to_toml(const TrainConfig& config) {
  toml::table table;
  for (const auto& handler : handlers()) handler.write(config, table);
  std::ostringstream out;
  out << table << "\n";
  return out.str();
}

}  // namespace emotune::train
