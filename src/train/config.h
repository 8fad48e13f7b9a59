#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/heads.h"

namespace emotune::train {

// Everything a training run needs, with the paper's defaults. Each field is one key of the
// TOML config (see config_keys()); `--set key=value` overrides any of them.
struct TrainConfig {
  std::string models_root;  // substituted for ${models_root} in `backbone`; else
                            // $EMOTUNE_MODELS, else ~/.cache/emotune/models
  std::string backbone;     // HF checkpoint folder (config.json, model.safetensors, tokenizer)
  std::string data;         // data folder (wassa2021/, goemotions/); else --data / $EMOTUNE_DATA
  std::vector<model::Task> tasks{model::Task::empathy};
  // What the model reads: "text" (always) and optionally "person", the writer's person
  // features (data::PersonEncoder, standardized with train statistics) concatenated with the
  // first-token vector before the heads (docs/person_features.md).
  std::vector<std::string> inputs{"text"};
  model::LossWeights loss_weights;  // per task; 1 when absent
  std::int64_t max_length = 512;
  std::int64_t batch_size = 16;
  std::int64_t epochs = 5;
  double learning_rate = 1e-5;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.99;
  double adam_eps = 1e-6;
  double weight_decay = 0.0;
  std::string lr_schedule = "constant";  // constant | linear (warm-up then linear decay to 0)
  double warmup_ratio = 0.0;             // fraction of all steps spent warming up (linear only)
  double max_grad_norm = 0.0;            // 0 = no clipping
  std::optional<double> head_dropout;    // unset = the backbone's hidden_dropout_prob
  // default (PyTorch's Linear init) | train_targets: each head's bias starts at what the
  // training targets predict on their own (regression: their mean; emotion: log class shares),
  // so the first steps learn from the text instead of moving the output to the targets' scale.
  std::string head_bias_init = "default";
  // Multiplies every attention query and key weight and bias of the loaded backbone before
  // fine-tuning: < 1 starts attention nearer uniform (the first token then starts as an average
  // of the essay), which a checkpoint pre-trained for minutes needs (docs/pretraining.md).
  double attention_scale = 1.0;
  std::string augment = "none";   // none | ba | ra (Track II, GoEmotions)
  std::int64_t augment_size = 0;  // 0 = the method's default (ba 2800, ra 1000)
  std::vector<std::int64_t> seeds{42};
  std::int64_t eval_every_steps = 0;      // 0 = only at each epoch end
  std::string selection_metric = "auto";  // auto | avg_pearson | macro_f1 | pearson_<task>
  bool length_bucketing = false;
  std::int64_t train_limit = 0;  // use only the first N training examples (0 = all)
  // Hold the WASSA train essays of every K-th writer out of training (data::writer_folds fold 0;
  // 0 = none): the run's predictions on them are out-of-fold predictions for stacking
  // (docs/person_features.md).
  std::int64_t holdout_every = 0;
  std::int64_t dev_limit = 0;  // evaluate only the first N dev rows (0 = all)
  std::int64_t max_steps = 0;  // stop after N optimizer steps in total (0 = no limit)
  bool random_init = false;    // fresh encoder weights from config.json (timing, ablations)
  // all (the backbone's weights) | word_embeddings (a fresh draw, as random_init, except the
  // backbone's word embeddings, centred and rescaled to the draw's std: what an own checkpoint
  // pre-trained for minutes transfers best; docs/pretraining.md).
  std::string backbone_weights = "all";
  // Std of freshly drawn encoder weights (random_init, backbone_weights = word_embeddings);
  // unset = the backbone config's initializer_range.
  std::optional<double> initializer_range;
  std::string device = "cpu";
  std::string dtype = "float32";
  // none | bf16 | auto: the forward pass's products in bfloat16 under torch's autocast,
  // weights, gradients and AdamW in float32 (runtime/autocast.h). bf16 is refused on a CPU
  // without native bfloat16; auto takes bf16 where the CPU has it and none elsewhere, and a run
  // records what it took. Incompatible with dtype = "bfloat16".
  std::string mixed_precision = "none";

  // The backbone folder with ${models_root} resolved.
  std::filesystem::path backbone_dir() const;
  // avg_pearson when any regression task is trained, else macro_f1 (for "auto").
  std::string resolved_selection_metric() const;
  // Whether `inputs` has "person".
  bool reads_person() const;
};

// The valid keys, in the order the resolved config is written.
const std::vector<std::string>& config_keys();

// Reads a TOML config (keys may be nested: [loss_weights] empathy = 1 is loss_weights.empathy).
// Unknown keys, wrong types: Error naming file, line and key (with the nearest valid key).
TrainConfig load_config(const std::filesystem::path& file);

// Applies one `key=value` override; the value is TOML (1e-5, "text", [1, 2]) or a bare word /
// comma list ("linear", "empathy,distress", "1,2,3").
void apply_override(TrainConfig& config, std::string_view assignment);

// Range and consistency checks of every value; Error naming the key.
void validate(const TrainConfig& config);

// The config as TOML, every key written (the run folder's config.toml).
std::string to_toml(const TrainConfig& config);

// The valid key closest to `key` in edit distance.
std::string nearest_key(std::string_view key);

}  // namespace emotune::train
