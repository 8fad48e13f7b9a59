#include "train/pretrain.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"
#include "common/version.h"
#include "data/training_texts.h"
#include "io/checkpoint_files.h"
#include "io/hf_config.h"
#include "model/checkpoint.h"
#include "model/electra_pretraining.h"
#include "model/encoder.h"
#include "runtime/device.h"
#include "text/tokenizer.h"
#include "train/batcher.h"
#include "train/cooccurrence_embeddings.h"
#include "train/electra_objective.h"
#include "train/local_attention_init.h"
#include "train/optim.h"
#include "train/progress.h"
#include "train/run_dir.h"

namespace emotune::train {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::int64_t kDefaultSteps = 10000;
// Steps timed before a budget-only run fixes its schedule length.
constexpr std::int64_t kCalibrationSteps = 8;

// Everything that defines the run; stored in snapshot/state.json so --resume repeats it.
struct Recipe : PretrainHyperparameters {
  std::string data_dir;
  // "electra": generator + discriminator (RTD); "mlm": masked-LM only, continuing a BERT
  // checkpoint (`from`) whose config is then discriminator_config (= generator_config).
  std::string objective = "electra";
  json discriminator_config;
  json generator_config;
  std::string from;
  bool masked_lm_only() const { return objective == "mlm"; }
};

json to_json(const Recipe& r) {
  return json{
      {"data_dir", r.data_dir},
      {"objective", r.objective},
      {"discriminator_config", r.discriminator_config},
      {"generator_config", r.generator_config},
      {"max_length", r.max_length},
      {"batch_size", r.batch_size},
      {"seed", r.seed},
      {"learning_rate", r.learning_rate},
      {"warmup_steps", r.warmup_steps},
      {"warmup_ratio", r.warmup_ratio ? json(*r.warmup_ratio) : json(nullptr)},
      {"weight_decay", r.weight_decay},
      {"initialization", r.initialization},
      {"attention_init", r.attention_init},
      {"word_embeddings", r.word_embeddings},
      {"dropout", r.dropout ? json(*r.dropout) : json(nullptr)},
      {"max_grad_norm", r.max_grad_norm},
      {"mask_probability", r.mask_probability},
      {"rtd_weight", r.rtd_weight},
      {"snapshot_every_steps", r.snapshot_every_steps},
      {"log_every_steps", r.log_every_steps},
      {"text_limit", r.text_limit},
      {"from", r.from},
      {"masking", r.masked_lm_only()
                      ? "ELECTRA's generator: round(p·n) of the non-special tokens per sequence; "
                        "85% of them become [MASK], 15% stay (no random replacements); the "
                        "MLM loss is over all of them"
                      : "ELECTRA: round(p·n) of the non-special tokens per sequence; 85% of "
                        "them become [MASK], 15% stay; the generator samples every one"}};
}

Recipe recipe_from_json(const json& j) {
  Recipe r;
  r.data_dir = j.at("data_dir").get<std::string>();
  r.objective = j.value("objective", "electra");  // snapshots before the MLM objective
  r.discriminator_config = j.at("discriminator_config");
  r.generator_config = j.at("generator_config");
  r.max_length = j.at("max_length").get<std::int64_t>();
  r.batch_size = j.at("batch_size").get<std::int64_t>();
  r.seed = j.at("seed").get<std::int64_t>();
  r.learning_rate = j.at("learning_rate").get<double>();
  // Snapshots before warmup_steps existed hold only the ratio.
  r.warmup_steps = j.value("warmup_steps", std::int64_t{0});
  if (j.contains("warmup_ratio") && !j.at("warmup_ratio").is_null())
    r.warmup_ratio = j.at("warmup_ratio").get<double>();
  r.weight_decay = j.at("weight_decay").get<double>();
  // Snapshots before the option drew from the configs' initializer_range.
  r.initialization = j.value("initialization", "config");
  r.attention_init = j.value("attention_init", "random");  // snapshots before the option
  r.word_embeddings = j.value("word_embeddings", "random");  // snapshots before the option
  if (j.contains("dropout") && !j.at("dropout").is_null()) r.dropout = j.at("dropout").get<double>();
  r.max_grad_norm = j.at("max_grad_norm").get<double>();
  r.mask_probability = j.at("mask_probability").get<double>();
  r.rtd_weight = j.at("rtd_weight").get<double>();
  r.snapshot_every_steps = j.at("snapshot_every_steps").get<std::int64_t>();
  r.log_every_steps = j.at("log_every_steps").get<std::int64_t>();
  r.text_limit = j.at("text_limit").get<std::size_t>();
  r.from = j.value("from", "");
  return r;
}

// Where pre-training stands (snapshot/state.json).
struct Position {
  std::int64_t step = 0;
  std::int64_t epoch = 0;
  std::int64_t batch_in_epoch = 0;
  std::int64_t total_steps = 0;  // 0 = not fixed yet (budget calibration)
  bool budget_schedule = false;  // total_steps follows the measured speed and the time budget
  std::int64_t log_lines = 0;
  double elapsed_seconds = 0;  // over every invocation
  // Sums of the current log window.
  double loss_sum = 0, mlm_sum = 0, rtd_sum = 0;
  ElectraCounts counts;
  std::int64_t window = 0;
  json last_log;
};

json to_json(const Position& p) {
  return json{{"step", p.step},
              {"epoch", p.epoch},
              {"batch_in_epoch", p.batch_in_epoch},
              {"total_steps", p.total_steps},
              {"budget_schedule", p.budget_schedule},
              {"log_lines", p.log_lines},
              {"elapsed_seconds", p.elapsed_seconds},
              {"window",
               {{"steps", p.window},
                {"loss", p.loss_sum},
                {"mlm", p.mlm_sum},
                {"rtd", p.rtd_sum},
                {"mask_correct", p.counts.mask_correct},
                {"mask_count", p.counts.mask_count},
                {"kept_correct", p.counts.kept_correct},
                {"kept_count", p.counts.kept_count},
                {"rtd_correct", p.counts.rtd_correct},
                {"rtd_count", p.counts.rtd_count},
                {"replaced_count", p.counts.replaced},
                {"replaced_detected", p.counts.replaced_detected}}},
              {"last_log", p.last_log}};
}

Position position_from_json(const json& j) {
  Position p;
  p.step = j.at("step").get<std::int64_t>();
  p.epoch = j.at("epoch").get<std::int64_t>();
  p.batch_in_epoch = j.at("batch_in_epoch").get<std::int64_t>();
  p.total_steps = j.at("total_steps").get<std::int64_t>();
  p.budget_schedule = j.value("budget_schedule", false);
  p.log_lines = j.at("log_lines").get<std::int64_t>();
  p.elapsed_seconds = j.at("elapsed_seconds").get<double>();
  const auto& w = j.at("window");
  p.window = w.at("steps").get<std::int64_t>();
  p.loss_sum = w.at("loss").get<double>();
  p.mlm_sum = w.at("mlm").get<double>();
  p.rtd_sum = w.at("rtd").get<double>();
  // Window counts of older snapshots are partly missing: they only shorten one log window.
  p.counts.mask_correct = w.value("mask_correct", 0.0);
  p.counts.mask_count = w.value("mask_count", 0.0);
  p.counts.kept_correct = w.value("kept_correct", 0.0);
  p.counts.kept_count = w.value("kept_count", 0.0);
  p.counts.rtd_correct = w.at("rtd_correct").get<double>();
  p.counts.rtd_count = w.at("rtd_count").get<double>();
  p.counts.replaced = w.value("replaced_count", 0.0);
  p.counts.replaced_detected = w.value("replaced_detected", 0.0);
  p.last_log = j.at("last_log");
  return p;
}

json base_config(std::int64_t vocab_size) {
  return json{{"architectures", json::array({"ElectraForPreTraining"})},
              {"model_type", "electra"},
              {"vocab_size", vocab_size},
              {"hidden_act", "gelu"},
              {"hidden_dropout_prob", 0.1},
              {"attention_probs_dropout_prob", 0.1},
              {"max_position_embeddings", 512},
              {"type_vocab_size", 2},
              {"initializer_range", 0.02},
              {"layer_norm_eps", 1e-12},
              {"pad_token_id", 0},
              {"position_embedding_type", "absolute"},
              {"summary_activation", "gelu"},
              {"summary_last_dropout", 0.1},
              {"summary_type", "first"},
              {"summary_use_proj", true}};
}

io::HfConfig parse_config(const json& config, const std::string& origin) {
  return io::parse_hf_config(config.dump(), origin);
}

// Texts packed into sequences of at most max_length ids: [CLS] a [SEP] b [SEP] ..., a long
// text split over several sequences. Packing keeps the CPU busy with real tokens, not padding.
std::vector<std::vector<std::int64_t>> pack_texts(const std::vector<std::string>& texts,
                                                  const text::Tokenizer& tokenizer,
                                                  std::int64_t max_length, std::uint64_t seed) {
  const auto& special = tokenizer.special_ids();
  const auto order = epoch_order(texts.size(), seed, /*epoch=*/1000003);
  std::vector<std::vector<std::int64_t>> sequences;
  std::vector<std::int64_t> current{special.cls};
  const auto capacity = static_cast<std::size_t>(max_length);
  const auto flush = [&] {
    if (current.size() > 1) sequences.push_back(std::move(current));
    current = {special.cls};
  };
  for (const auto index : order) {
    const auto ids = tokenizer.encode_without_specials(texts[index]);
    std::size_t taken = 0;
    while (taken < ids.size()) {
      // Start a new sequence rather than put a few tokens of a text at the end of one.
      if (capacity - current.size() < std::min<std::size_t>(9, ids.size() - taken + 1)) flush();
      const std::size_t room = capacity - current.size() - 1;
      const std::size_t count = std::min(room, ids.size() - taken);
      current.insert(current.end(), ids.begin() + static_cast<std::ptrdiff_t>(taken),
                     ids.begin() + static_cast<std::ptrdiff_t>(taken + count));
      current.push_back(special.sep);
      taken += count;
      if (current.size() >= capacity) flush();
    }
  }
  flush();
  return sequences;
}

// The tokens that are never masked, never sampled as replacements and never counted: [CLS],
// [SEP], padding, [MASK] and [UNK] (-1 where the tokenizer has none).
std::vector<std::int64_t> special_token_list(const text::SpecialTokenIds& special) {
  return {special.cls, special.sep, special.pad, special.mask, special.unk};
}

struct UnigramReference {
  double top1_share = 0;  // the most frequent non-special token's share: top-1 without context
  double entropy = 0;     // nats: the MLM loss of the unigram distribution
};

UnigramReference unigram_reference(const std::vector<std::vector<std::int64_t>>& sequences,
                                   const text::SpecialTokenIds& special) {
  const auto specials = special_token_list(special);
  std::map<std::int64_t, double> counts;
  double total = 0;
  for (const auto& sequence : sequences)
    for (const auto id : sequence)
      if (std::find(specials.begin(), specials.end(), id) == specials.end()) {
        counts[id] += 1;
        total += 1;
      }
  UnigramReference out;
  for (const auto& [id, count] : counts) {
    const double p = count / total;
    out.top1_share = std::max(out.top1_share, p);
    out.entropy -= p * std::log(p);
  }
  return out;
}

// One line of what the last log window says against the context-free references.
void log_diagnostics(const json& last_log, const json& corpus, bool masked_lm_only) {
  if (!last_log.is_object()) return;
  if (masked_lm_only) {
    spdlog::info("pretrain: step {}: top-1 at [MASK] {:.3f} (unigram {:.3f}), MLM {:.3f} "
                 "(unigram entropy {:.3f})",
                 last_log.value("step", 0), last_log.value("generator_mask_accuracy", 0.0),
                 corpus.value("unigram_top1_share", 0.0), last_log.value("mlm_loss", 0.0),
                 corpus.value("unigram_entropy_nats", 0.0));
    return;
  }
  spdlog::info(
      "pretrain: step {}: generator top-1 at [MASK] {:.3f} (unigram {:.3f}), MLM {:.3f} "
      "(unigram entropy {:.3f}); RTD loss {:.4f}, gain over the prior {:+.4f} nats, accuracy "
      "{:.4f} ({:+.4f} over calling all original), replaced tokens found {:.3f}",
      last_log.value("step", 0), last_log.value("generator_mask_accuracy", 0.0),
      corpus.value("unigram_top1_share", 0.0), last_log.value("mlm_loss", 0.0),
      corpus.value("unigram_entropy_nats", 0.0), last_log.value("rtd_loss", 0.0),
      last_log.value("rtd_gain_nats", 0.0), last_log.value("rtd_accuracy", 0.0),
      last_log.value("rtd_accuracy_gain", 0.0), last_log.value("replaced_recall", 0.0));
}

// The models with their parameter groups, and the names snapshots store them under.
struct Models : ElectraPair {
  std::map<std::string, torch::Tensor> snapshot_tensors() const {
    std::map<std::string, torch::Tensor> out;
    for (const auto* group : {&groups.decay, &groups.no_decay})
      for (const auto& [name, tensor] : *group) out.emplace(name, tensor.detach());
    return out;
  }
};

Models build_models(const Recipe& recipe) {
  Models models;
  if (recipe.masked_lm_only()) {
    const auto config = parse_config(recipe.generator_config, "model config");
    models.generator = model::ElectraGenerator(
        config, model::DropoutRates{config.hidden_dropout_prob,
                                    config.attention_probs_dropout_prob});
    model::initialize_weights(*models.generator, config.initializer_range);
    for (const auto& item : models.generator->named_parameters(true))
      models.groups.add("generator." + item.key(), item.value());
    return models;
  }
  const auto discriminator = parse_config(recipe.discriminator_config, "discriminator config");
  const auto generator = parse_config(recipe.generator_config, "generator config");
  static_cast<ElectraPair&>(models) = make_electra_pair(discriminator, generator, recipe.dropout);
  if (recipe.attention_init == "local") {
    const std::string positions = "electra.embeddings.position_embeddings.weight";
    initialize_sinusoidal_positions(models.discriminator->named_parameters(true)[positions],
                                    discriminator.initializer_range);
    if (!models.shared_embeddings)
      initialize_sinusoidal_positions(models.generator->named_parameters(true)[positions],
                                      generator.initializer_range);
    if (!initialize_local_attention(*models.discriminator, discriminator, "electra."))
      throw Error(fmt::format("--attention-init local needs the discriminator's embedding_size "
                              "({}) even and at most its hidden_size ({})",
                              discriminator.embedding_size, discriminator.hidden_size));
    // A generator reading the shared embeddings through a projection down to a smaller hidden
    // size (the presets' generators by default) cannot carry the sinusoids and keeps its random
    // heads; one with its own embeddings (--generator-embeddings own) takes the local start.
    initialize_local_attention(*models.generator, generator, "electra.");
  }
  return models;
}

// The word embeddings of both models from the corpus's co-occurrence counts (the generator's only
// when it has its own; shared ones are the discriminator's), each at the std its draw had. Rows
// past the tokenizer's vocabulary (a config may declare more) keep their draw.
void start_word_embeddings_from_cooccurrence(Models& models, const Recipe& recipe,
                                             const std::vector<std::vector<std::int64_t>>& corpus,
                                             const text::Tokenizer& tokenizer) {
  const auto started = std::chrono::steady_clock::now();
  const auto discriminator = parse_config(recipe.discriminator_config, "discriminator config");
  const auto generator = parse_config(recipe.generator_config, "generator config");
  const auto dim = std::max(discriminator.embedding_size,
                            models.shared_embeddings ? 0 : generator.embedding_size);
  const auto seen = static_cast<std::int64_t>(tokenizer.vocab_size());
  CooccurrenceOptions cooccurrence;
  cooccurrence.seed = static_cast<std::uint64_t>(recipe.seed);
  const auto table =
      ppmi_embeddings(corpus, seen, dim, special_token_list(tokenizer.special_ids()), cooccurrence);
  model::start_from_word_embeddings(*models.discriminator->electra,
                                    table.narrow(1, 0, discriminator.embedding_size),
                                    discriminator.initializer_range);
  if (!models.shared_embeddings)
    model::start_from_word_embeddings(*models.generator->electra,
                                      table.narrow(1, 0, generator.embedding_size),
                                      generator.initializer_range);
  spdlog::info(
      "pretrain: word embeddings from co-occurrence counts (PPMI, window {}, SVD to {}) "
      "in {:.1f} s",
      cooccurrence.window, dim,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

void load_snapshot_weights(Models& models, const fs::path& file) {
  const auto tensors = model::load_tensors(file);
  torch::NoGradGuard no_grad;
  for (auto* group : {&models.groups.decay, &models.groups.no_decay}) {
    for (auto& [name, parameter] : *group) {
      const auto it = tensors.find(name);
      if (it == tensors.end())
        throw error_in(file, fmt::format("snapshot lacks tensor '{}'", name));
      if (it->second.sizes() != parameter.sizes())
        throw error_in(file, fmt::format("snapshot tensor '{}' has another shape", name));
      parameter.copy_(it->second);
    }
  }
}

json with_architecture(json config, const char* architecture) {
  config["architectures"] = json::array({architecture});
  config["model_type"] = "electra";
  config["torch_dtype"] = "float32";
  return config;
}

struct Run {
  Recipe recipe;
  Position position;
  fs::path out;
  fs::path snapshot;
  json corpus;  // counts for pretraining.json
};

// The HF folders: out/ (ElectraForPreTraining) and out/generator/ (ElectraForMaskedLM).
// With the MLM objective: out/ is a BertForMaskedLM folder (model_type bert, as `from`).
void write_checkpoint(const Run& run, Models& models, bool finished, bool stopped_by_budget) {
  if (run.recipe.masked_lm_only()) {
    auto config = run.recipe.discriminator_config;
    config["architectures"] = json::array({"BertForMaskedLM"});
    config["torch_dtype"] = "float32";
    write_json(run.out / "config.json", config);
    model::save_tensors(run.out / "model.safetensors",
                        model::export_bert_masked_lm(*models.generator));
  } else {
    write_json(run.out / "config.json",
               with_architecture(run.recipe.discriminator_config, "ElectraForPreTraining"));
    model::save_tensors(run.out / "model.safetensors",
                        model::export_tensors(*models.discriminator));
    write_folder_atomic(run.out / "generator", [&](const fs::path& dir) {
      write_json(dir / "config.json",
                 with_architecture(run.recipe.generator_config, "ElectraForMaskedLM"));
      model::save_tensors(dir / "model.safetensors", model::export_tensors(*models.generator));
      copy_tokenizer_files(run.out, dir);
    });
  }
  write_json(run.out / "pretraining.json", json{{"emotune_version", kVersion},
                                                {"steps_done", run.position.step},
                                                {"total_steps", run.position.total_steps},
                                                {"finished", finished},
                                                {"stopped_by_budget", stopped_by_budget},
                                                {"elapsed_seconds", run.position.elapsed_seconds},
                                                {"last_log", run.position.last_log},
                                                {"corpus", run.corpus},
                                                {"recipe", to_json(run.recipe)}});
}

void write_snapshot(const Run& run, Models& models, const AdamW& decay, const AdamW& no_decay) {
  write_folder_atomic(run.snapshot, [&](const fs::path& dir) {
    model::save_tensors(dir / "weights.safetensors", models.snapshot_tensors());
    model::save_tensors(dir / "optimizer_decay.safetensors", decay.state_tensors());
    model::save_tensors(dir / "optimizer_no_decay.safetensors", no_decay.state_tensors());
    write_json(dir / "state.json",
               json{{"emotune_version", kVersion},
                    {"position", to_json(run.position)},
                    {"recipe", to_json(run.recipe)},
                    {"rng",
                     "torch manual_seed(seed) before the new weights are drawn, "
                     "manual_seed(seed·1000003 + step + 1) before each step; epoch "
                     "order mt19937_64(seed, epoch) Fisher-Yates"}});
  });
}

// A fixed number of warm-up steps (post-LN transformers need a long one, whatever the length
// of the run), at most half the schedule so that a short run still reaches its peak; or, when
// the recipe gives a ratio, that share of the schedule.
std::int64_t warmup_steps_of(const Recipe& recipe, std::int64_t total) {
  if (recipe.warmup_ratio)
    return static_cast<std::int64_t>(std::llround(*recipe.warmup_ratio * total));
  return std::min(recipe.warmup_steps, total / 2);
}

double learning_rate_at(const Recipe& recipe, std::int64_t step, std::int64_t total) {
  return warmup_then_linear_decay(recipe.learning_rate, warmup_steps_of(recipe, total), total,
                                  step);
}

void check_options(const PretrainOptions& o) {
  if (o.out_dir.empty()) throw Error("pretrain: --out is required");
  if (o.max_length < 8) throw Error(fmt::format("--max-length must be ≥ 8, got {}", o.max_length));
  if (o.batch_size < 1) throw Error(fmt::format("--batch-size must be ≥ 1, got {}", o.batch_size));
  if (o.steps < 0) throw Error(fmt::format("--steps must be ≥ 0, got {}", o.steps));
  if (o.budget_minutes < 0)
    throw Error(fmt::format("--budget-minutes must be ≥ 0, got {}", o.budget_minutes));
  if (!(o.learning_rate > 0)) throw Error("learning rate must be positive");
  if (o.warmup_steps < 0)
    throw Error(fmt::format("--warmup-steps must be ≥ 0, got {}", o.warmup_steps));
  if (o.warmup_ratio && !(*o.warmup_ratio >= 0 && *o.warmup_ratio < 1))
    throw Error(fmt::format("--warmup-ratio must be in [0, 1), got {}", *o.warmup_ratio));
  if (!(o.mask_probability > 0 && o.mask_probability < 1))
    throw Error(fmt::format("mask probability must be in (0, 1), got {}", o.mask_probability));
  if (!(o.generator_ratio > 0 && o.generator_ratio <= 1))
    throw Error(fmt::format("generator ratio must be in (0, 1], got {}", o.generator_ratio));
  if (o.snapshot_every_steps < 1 || o.log_every_steps < 1)
    throw Error("snapshot and log intervals must be ≥ 1 step");
  if (o.initialization != "fan-in" && o.initialization != "config")
    throw Error(fmt::format("--init must be fan-in or config, got '{}'", o.initialization));
  if (o.attention_init != "random" && o.attention_init != "local")
    throw Error(fmt::format("--attention-init must be random or local, got '{}'", o.attention_init));
  if (o.generator_embeddings != "shared" && o.generator_embeddings != "own")
    throw Error(fmt::format("--generator-embeddings must be shared or own, got '{}'",
                            o.generator_embeddings));
  if (o.attention_init == "local" && !o.from.empty())
    throw Error("--attention-init local draws new weights; it does not apply with --from");
  if (o.word_embeddings != "random" && o.word_embeddings != "cooccurrence")
    throw Error(fmt::format("--word-embeddings must be random or cooccurrence, got '{}'",
                            o.word_embeddings));
  if (o.word_embeddings == "cooccurrence" && !o.from.empty())
    throw Error("--word-embeddings cooccurrence starts new weights; it does not apply with --from");
  if (o.dropout && !(*o.dropout >= 0 && *o.dropout < 1))
    throw Error(fmt::format("--dropout must be in [0, 1), got {}", *o.dropout));
}

// std 1/sqrt(hidden), to 4 digits so that config.json reads well.
double fan_in_initializer_range(const json& config) {
  const auto hidden = config.at("hidden_size").get<double>();
  return std::round(1e4 / std::sqrt(hidden)) / 1e4;
}

json discriminator_config_of(const PretrainOptions& options, std::int64_t tokenizer_vocab) {
  if (!options.from.empty()) {
    const auto file = options.from / "config.json";
    auto config = read_json(file);
    const auto type = config.value("model_type", "");
    if (type == "bert") {
      // The generator's MLM head applies gelu; BERT's applies hidden_act.
      if (config.value("hidden_act", "gelu") != "gelu")
        throw error_in(file, fmt::format("continued MLM pre-training supports hidden_act gelu, "
                                         "this checkpoint has '{}'",
                                         config.value("hidden_act", "")));
      if (config.contains("embedding_size") &&
          config.at("embedding_size") != config.at("hidden_size"))
        throw error_in(file, "continued MLM pre-training needs embedding_size == hidden_size");
      return config;
    }
    if (type != "electra")
      throw error_in(file, fmt::format("--from needs an ELECTRA checkpoint (replaced-token "
                                       "detection) or a BERT one (masked-LM only), model_type "
                                       "is '{}'",
                                       type));
    return config;
  }
  const auto names = electra_preset_names();
  if (std::find(names.begin(), names.end(), options.config) != names.end())
    return electra_preset(options.config, tokenizer_vocab);
  const fs::path file = options.config;
  if (!fs::is_regular_file(file))
    throw Error(fmt::format("--config '{}' is neither a preset ({}) nor a config.json file",
                            options.config, fmt::join(names, ", ")));
  auto config = read_json(file);
  if (config.value("model_type", "electra") != "electra")
    throw error_in(file, "model_type must be electra");
  config["model_type"] = "electra";
  if (!config.contains("vocab_size")) config["vocab_size"] = tokenizer_vocab;
  auto merged = base_config(tokenizer_vocab);
  merged.update(config);
  return merged;
}

fs::path tokenizer_dir_of(const PretrainOptions& options) {
  if (options.vocab_dir.empty() && options.from.empty())
    throw Error("pretrain: give --vocab (a tokenizer folder from `emotune vocab`) or --from");
  return options.vocab_dir.empty() ? options.from : options.vocab_dir;
}

Run prepare_new_run(const PretrainOptions& options) {
  const auto tokenizer_dir = tokenizer_dir_of(options);
  const auto tokenizer = text::load_tokenizer(tokenizer_dir);
  const auto vocab = static_cast<std::int64_t>(tokenizer->vocab_size());
  if (tokenizer->special_ids().mask < 0)
    throw error_in(tokenizer_dir, "the tokenizer has no mask token; ELECTRA needs one");

  Run run;
  run.out = options.out_dir;
  run.snapshot = options.out_dir / "snapshot";
  auto& r = run.recipe;
  r.data_dir = fs::absolute(options.data_dir).string();
  r.discriminator_config = discriminator_config_of(options, vocab);
  if (r.discriminator_config.value("model_type", "") == "bert") r.objective = "mlm";
  const auto disc = parse_config(r.discriminator_config, "discriminator config");
  if (disc.vocab_size < vocab)
    throw Error(fmt::format("the model's vocab_size {} is smaller than the tokenizer's {} ({})",
                            disc.vocab_size, vocab, tokenizer_dir.string()));
  if (options.word_embeddings == "cooccurrence" && vocab > kMaxCooccurrenceVocabulary)
    throw error_in(tokenizer_dir,
                   fmt::format("--word-embeddings cooccurrence counts a dense vocabulary × "
                               "vocabulary matrix: at most {} entries, this tokenizer has {} (use "
                               "--word-embeddings random, or a smaller `emotune vocab --size`)",
                               kMaxCooccurrenceVocabulary, vocab));
  if (options.max_length > disc.max_position_embeddings)
    throw Error(fmt::format("--max-length {} exceeds the model's max_position_embeddings {}",
                            options.max_length, disc.max_position_embeddings));
  const bool generator_from_checkpoint =
      !options.from.empty() && fs::is_regular_file(options.from / "generator" / "config.json");
  if (r.masked_lm_only())
    r.generator_config = r.discriminator_config;  // the BERT model is the MLM model
  else if (generator_from_checkpoint)
    r.generator_config = read_json(options.from / "generator" / "config.json");
  else
    r.generator_config = generator_config_for(r.discriminator_config, options.generator_ratio,
                                              options.generator_embeddings == "own");
  // Only models drawn afresh: a checkpoint's config keeps the range its weights came from.
  if (options.initialization == "fan-in" && !r.masked_lm_only()) {
    if (options.from.empty())
      r.discriminator_config["initializer_range"] = fan_in_initializer_range(r.discriminator_config);
    if (!generator_from_checkpoint)
      r.generator_config["initializer_range"] = fan_in_initializer_range(r.generator_config);
  }
  (void)parse_config(r.generator_config, "generator config");
  static_cast<PretrainHyperparameters&>(r) = options;
  r.from = options.from.empty() ? "" : fs::absolute(options.from).string();
  run.position.total_steps =
      options.steps > 0 ? options.steps : (options.budget_minutes > 0 ? 0 : kDefaultSteps);

  fs::create_directories(run.out);
  std::error_code same_error;
  if (!fs::equivalent(tokenizer_dir, run.out, same_error))
    copy_tokenizer_files(tokenizer_dir, run.out);
  return run;
}

}  // namespace

json discriminator_config(const PretrainOptions& options) {
  const auto tokenizer_dir = tokenizer_dir_of(options);
  const auto tokenizer = text::load_tokenizer(tokenizer_dir);
  return discriminator_config_of(options, static_cast<std::int64_t>(tokenizer->vocab_size()));
}

std::vector<std::string> electra_preset_names() {
  return {"tiny", "mini", "small", "base"};
}

json electra_preset(const std::string& name, std::int64_t vocab_size) {
  auto config = base_config(vocab_size);
  const auto set = [&](std::int64_t embedding, std::int64_t hidden, std::int64_t layers,
                       std::int64_t heads, std::int64_t intermediate) {
    config["embedding_size"] = embedding;
    config["hidden_size"] = hidden;
    config["num_hidden_layers"] = layers;
    config["num_attention_heads"] = heads;
    config["intermediate_size"] = intermediate;
  };
  if (name == "tiny")
    set(128, 128, 4, 2, 512);  // configs/pretrain/electra-tiny.json: the quick start's default
  else if (name == "mini")
    set(128, 256, 4, 4, 1024);  // ELECTRA-Small's widths, a third of its depth: CPU-sized
  else if (name == "small")
    set(128, 256, 12, 4, 1024);  // google/electra-small-discriminator
  else if (name == "base")
    set(768, 768, 12, 12, 3072);  // google/electra-base-discriminator
  else
    throw Error(fmt::format("unknown ELECTRA preset '{}' (expected one of {})", name,
                            fmt::join(electra_preset_names(), ", ")));
  return config;
}

json generator_config_for(const json& discriminator_config, double ratio, bool own_embeddings) {
  const auto disc = parse_config(discriminator_config, "discriminator config");
  const auto scaled = [&](std::int64_t value) {
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(value * ratio)));
  };
  auto config = discriminator_config;
  const auto hidden = scaled(disc.hidden_size);
  // Keep the discriminator's head size where possible (64 for ELECTRA's presets).
  const auto heads =
      std::max<std::int64_t>(1, hidden / std::max<std::int64_t>(1, disc.head_size()));
  config["architectures"] = json::array({"ElectraForMaskedLM"});
  config["hidden_size"] = hidden;
  config["num_attention_heads"] = hidden % heads == 0 ? heads : 1;
  config["intermediate_size"] = scaled(disc.intermediate_size);
  config["embedding_size"] = own_embeddings ? hidden : disc.embedding_size;
  return config;
}

PretrainResult run_pretraining(const PretrainOptions& options, const PretrainHooks& hooks) {
  check_options(options);
  const auto wall_start = std::chrono::steady_clock::now();
  const auto snapshot_dir = options.out_dir / "snapshot";
  const auto existing = existing_snapshot(snapshot_dir);

  Run run;
  if (options.resume) {
    if (existing.empty())
      throw error_in(options.out_dir, "--resume: no pre-training snapshot (snapshot/) here");
    const auto state = read_json(existing / "state.json");
    run.recipe = recipe_from_json(state.at("recipe"));
    run.position = position_from_json(state.at("position"));
    run.out = options.out_dir;
    run.snapshot = snapshot_dir;
    if (!options.data_dir.empty()) run.recipe.data_dir = fs::absolute(options.data_dir).string();
    if (options.steps > 0) run.position.total_steps = std::max(options.steps, run.position.step);
  } else {
    if (!existing.empty())
      throw error_in(options.out_dir,
                     "already holds a pre-training run (snapshot/); use --resume or another --out");
    run = prepare_new_run(options);
  }
  const auto& recipe = run.recipe;
  auto& position = run.position;

  const auto device = runtime::parse_device(options.device);
  const auto tokenizer = text::load_tokenizer(run.out);
  const auto special = tokenizer->special_ids();

  data::TrainingTextOptions text_options;
  text_options.limit_per_source = recipe.text_limit;
  const auto corpus = data::load_training_texts(recipe.data_dir, text_options);
  const auto sequences = pack_texts(corpus.texts, *tokenizer, recipe.max_length,
                                    static_cast<std::uint64_t>(recipe.seed));
  if (sequences.empty()) throw Error("pretrain: the training texts hold no tokens");
  std::size_t tokens = 0;
  for (const auto& s : sequences) tokens += s.size();
  const auto unigram = unigram_reference(sequences, special);
  run.corpus = json{{"wassa_train_essays", corpus.wassa},
                    {"goemotions_train_comments", corpus.goemotions},
                    {"sequences", sequences.size()},
                    {"tokens", tokens},
                    // What a generator that ignores context reaches at [MASK] positions.
                    {"unigram_top1_share", unigram.top1_share},
                    {"unigram_entropy_nats", unigram.entropy}};
  spdlog::info(
      "pretrain: {} texts ({} WASSA train essays, {} GoEmotions train comments) -> {} "
      "sequences of ≤ {} tokens ({} tokens)",
      corpus.texts.size(), corpus.wassa, corpus.goemotions, sequences.size(), recipe.max_length,
      tokens);

  // The seed fixes the new weights too (the masked-LM head of a BERT checkpoint, every weight of
  // a new ELECTRA), so two runs of one recipe start alike in any process.
  torch::manual_seed(static_cast<std::uint64_t>(recipe.seed));
  auto models = build_models(recipe);
  if (options.resume) {
    load_snapshot_weights(models, existing / "weights.safetensors");
  } else if (recipe.masked_lm_only()) {
    const auto weights = model::checkpoint_weights_file(recipe.from);
    if (!model::import_bert_masked_lm(*models.generator, model::load_weights(weights),
                                      weights.string()))
      spdlog::info("pretrain: {} has no masked-LM head (cls.predictions); starting one",
                   recipe.from);
  } else if (!recipe.from.empty()) {
    const fs::path from = recipe.from;
    // Generator first: its copy of the shared embeddings is then overwritten by the
    // discriminator's.
    if (const auto generator_weights = io::find_weights_file(from / "generator"))
      model::import_tensors(*models.generator, model::load_weights(*generator_weights),
                            generator_weights->string());
    else
      spdlog::info("pretrain: {} has no generator/; starting a new generator ({} hidden)",
                   from.string(), recipe.generator_config.at("hidden_size").get<std::int64_t>());
    const auto weights = model::checkpoint_weights_file(from);
    const bool had_head =
        model::import_tensors(*models.discriminator, model::load_weights(weights),
                              weights.string(), /*require_head=*/false);
    if (!had_head)
      spdlog::info("pretrain: {} has no discriminator head; starting one", from.string());
  } else if (recipe.word_embeddings == "cooccurrence") {
    start_word_embeddings_from_cooccurrence(models, recipe, sequences, *tokenizer);
  }
  if (models.discriminator) {
    models.discriminator->to(device);
    models.discriminator->train();
  }
  models.generator->to(device);
  models.generator->train();

  const AdamWOptions decay_options{recipe.learning_rate, 0.9, 0.999, 1e-6, recipe.weight_decay};
  AdamWOptions no_decay_options = decay_options;
  no_decay_options.weight_decay = 0.0;
  AdamW optimizer_decay(models.groups.decay, decay_options);
  AdamW optimizer_no_decay(models.groups.no_decay, no_decay_options);
  if (options.resume) {
    optimizer_decay.load_state_tensors(
        model::load_tensors(existing / "optimizer_decay.safetensors"),
        (existing / "optimizer_decay.safetensors").string());
    optimizer_no_decay.load_state_tensors(
        model::load_tensors(existing / "optimizer_no_decay.safetensors"),
        (existing / "optimizer_no_decay.safetensors").string());
    spdlog::info("pretrain: resuming at step {} of {}", position.step, position.total_steps);
  }
  std::vector<torch::Tensor> all_parameters;
  for (const auto* group : {&models.groups.decay, &models.groups.no_decay})
    for (const auto& [name, tensor] : *group) all_parameters.push_back(tensor);

  const auto log_file = run.out / "log.jsonl";
  keep_first_lines(log_file, position.log_lines);

  const double budget_seconds = options.budget_minutes * 60.0;
  const auto elapsed_now = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  };
  const double elapsed_before = position.elapsed_seconds;
  const auto batch_size = static_cast<std::size_t>(recipe.batch_size);
  const auto batches_per_epoch =
      static_cast<std::int64_t>((sequences.size() + batch_size - 1) / batch_size);

  // Special tokens are never masked and never sampled as replacements.
  const auto tokenizer_vocab = static_cast<std::int64_t>(tokenizer->vocab_size());
  auto sample_mask = torch::zeros({tokenizer_vocab}, torch::kBool);
  for (const auto id : special_token_list(special))
    if (id >= 0) sample_mask[id] = true;
  const auto disc_vocab = recipe.discriminator_config.at("vocab_size").get<std::int64_t>();
  if (disc_vocab > tokenizer_vocab) {
    sample_mask =
        torch::cat({sample_mask, torch::ones({disc_vocab - tokenizer_vocab}, torch::kBool)});
  }
  sample_mask = sample_mask.to(device);

  bool stopped_by_budget = false;
  std::int64_t calibration_start_step = position.step;
  double calibration_start_time = 0;
  ProgressReporter reporter(hooks.progress, std::max<std::int64_t>(1, position.total_steps),
                            position.step, "loss");
  const auto total_or_default = [&] {
    return position.total_steps > 0 ? position.total_steps : kDefaultSteps;
  };

  while (position.total_steps == 0 || position.step < position.total_steps) {
    if (budget_seconds > 0 && elapsed_now() >= budget_seconds) {
      stopped_by_budget = true;
      break;
    }
    const auto order = epoch_order(sequences.size(), static_cast<std::uint64_t>(recipe.seed),
                                   static_cast<std::uint64_t>(position.epoch));
    const auto first = static_cast<std::size_t>(position.batch_in_epoch) * batch_size;
    const auto last = std::min(sequences.size(), first + batch_size);
    std::size_t longest = 0;
    for (std::size_t i = first; i < last; ++i)
      longest = std::max(longest, sequences[order[i]].size());
    const auto rows = static_cast<std::int64_t>(last - first);
    auto ids = torch::full({rows, static_cast<std::int64_t>(longest)}, special.pad, torch::kLong);
    auto attention = torch::zeros_like(ids);
    {
      auto ids_access = ids.accessor<std::int64_t, 2>();
      auto mask_access = attention.accessor<std::int64_t, 2>();
      for (std::int64_t row = 0; row < rows; ++row) {
        const auto& sequence = sequences[order[first + static_cast<std::size_t>(row)]];
        for (std::size_t j = 0; j < sequence.size(); ++j) {
          ids_access[row][static_cast<std::int64_t>(j)] = sequence[j];
          mask_access[row][static_cast<std::int64_t>(j)] = 1;
        }
      }
    }
    ids = ids.to(device);
    attention = attention.to(device);

    torch::manual_seed(step_seed(recipe.seed, position.step));
    optimizer_decay.zero_grad();
    optimizer_no_decay.zero_grad();
    const auto step =
        recipe.masked_lm_only()
            ? masked_lm_step(*models.generator, ids, attention, sample_mask, special.mask,
                             recipe.mask_probability)
            : electra_step(*models.generator, *models.discriminator, ids, attention,
                           sample_mask, special.mask, recipe.mask_probability,
                           recipe.rtd_weight);
    step.loss.backward();
    if (recipe.max_grad_norm > 0)
      torch::nn::utils::clip_grad_norm_(all_parameters, recipe.max_grad_norm);
    const double lr = learning_rate_at(recipe, position.step, total_or_default());
    optimizer_decay.step(lr);
    optimizer_no_decay.step(lr);

    const double loss_value = step.loss.item<double>();
    if (!std::isfinite(loss_value))
      throw Error(fmt::format("pretrain: the loss became {} at step {}; lower the learning rate",
                              loss_value, position.step + 1));
    const double mlm_value = step.mlm.item<double>();
    const double rtd_value = step.rtd.item<double>();
    ++position.step;
    ++position.batch_in_epoch;
    if (position.batch_in_epoch >= batches_per_epoch) {
      ++position.epoch;
      position.batch_in_epoch = 0;
    }
    position.loss_sum += loss_value;
    position.mlm_sum += mlm_value;
    position.rtd_sum += rtd_value;
    position.counts += step.counts;
    ++position.window;
    if (hooks.on_step) hooks.on_step(position.step, loss_value, mlm_value, rtd_value);
    reporter.update(position.step, position.epoch, loss_value);

    // A budget-only run sets its length once the first steps are timed, then re-estimates it
    // at every log line from the speed so far (the machine's load may change): the schedule
    // ends when the budget does.
    if (position.step - calibration_start_step == 1) calibration_start_time = elapsed_now();
    const auto timed_steps = position.step - calibration_start_step - 1;
    const bool calibrated = position.total_steps == 0 && timed_steps == kCalibrationSteps;
    const bool re_estimate = position.budget_schedule && budget_seconds > 0 &&
                             timed_steps > kCalibrationSteps &&
                             position.step % recipe.log_every_steps == 0;
    if (calibrated || re_estimate) {
      const double per_step =
          (elapsed_now() - calibration_start_time) / static_cast<double>(timed_steps);
      const double left = std::max(0.0, budget_seconds - elapsed_now());
      const auto estimate =
          position.step + 1 + static_cast<std::int64_t>(0.97 * left / std::max(per_step, 1e-6));
      if (calibrated) {
        position.budget_schedule = true;
        spdlog::info("pretrain: {:.2f} s/step, about {} steps fit the budget", per_step, estimate);
      }
      if (estimate != position.total_steps) {
        position.total_steps = estimate;
        reporter = ProgressReporter(hooks.progress, position.total_steps, position.step, "loss");
      }
    }

    if (hooks.crash_after_step > 0 && position.step == hooks.crash_after_step) {
      reporter.break_line();
      throw SimulatedPretrainCrash();
    }
    const bool done = position.total_steps > 0 && position.step >= position.total_steps;
    if (position.step % recipe.log_every_steps == 0 || done) {
      const double n = static_cast<double>(std::max<std::int64_t>(1, position.window));
      const auto diagnostics = diagnose(position.counts, position.rtd_sum / n);
      position.last_log =
          json{{"step", position.step},
               {"epoch",
                static_cast<double>(position.epoch) + static_cast<double>(position.batch_in_epoch) /
                                                          static_cast<double>(batches_per_epoch)},
               {"lr", lr},
               {"loss", position.loss_sum / n},
               {"mlm_loss", position.mlm_sum / n},
               {"generator_mask_accuracy", diagnostics.generator_mask_accuracy},
               {"generator_kept_accuracy", diagnostics.generator_kept_accuracy},
               {"elapsed_seconds", elapsed_before + elapsed_now()}};
      if (!recipe.masked_lm_only()) {
        position.last_log.update(json{
            {"rtd_loss", position.rtd_sum / n},
            {"rtd_accuracy", diagnostics.rtd_accuracy},
            // 1 - this is the accuracy of calling every token original: what RTD must beat.
            {"replaced_share", diagnostics.replaced_share},
            {"rtd_accuracy_gain", diagnostics.rtd_accuracy_gain},
            {"rtd_gain_nats", diagnostics.rtd_gain_nats},
            {"replaced_recall", diagnostics.replaced_recall}});
      }
      append_line(log_file, position.last_log.dump());
      ++position.log_lines;
      position.window = 0;
      position.loss_sum = position.mlm_sum = position.rtd_sum = 0;
      position.counts = {};
    }
    if (position.step % recipe.snapshot_every_steps == 0 && !done) {
      reporter.break_line();
      if (hooks.progress)
        log_diagnostics(position.last_log, run.corpus, recipe.masked_lm_only());
      position.elapsed_seconds = elapsed_before + elapsed_now();
      write_snapshot(run, models, optimizer_decay, optimizer_no_decay);
      write_checkpoint(run, models, /*finished=*/false, /*stopped_by_budget=*/false);
    }
  }
  reporter.break_line();
  log_diagnostics(position.last_log, run.corpus, recipe.masked_lm_only());
  if (position.total_steps == 0) position.total_steps = position.step;
  position.elapsed_seconds = elapsed_before + elapsed_now();
  const bool finished = position.step >= position.total_steps;
  write_snapshot(run, models, optimizer_decay, optimizer_no_decay);
  write_checkpoint(run, models, finished, stopped_by_budget);
  spdlog::info("pretrain: {} at step {} of {}; checkpoint in {}",
               stopped_by_budget ? "stopped by the time budget" : "finished", position.step,
               position.total_steps, run.out.string());

  PretrainResult result;
  result.steps_done = position.step;
  result.total_steps = position.total_steps;
  result.stopped_by_budget = stopped_by_budget;
  if (position.last_log.is_object()) {
    result.last_loss = position.last_log.value("loss", 0.0);
    result.last_mlm = position.last_log.value("mlm_loss", 0.0);
    result.last_rtd = position.last_log.value("rtd_loss", 0.0);
  }
  result.checkpoint = run.out;
  result.summary = read_json(run.out / "pretraining.json");
  return result;
}

}  // namespace emotune::train
