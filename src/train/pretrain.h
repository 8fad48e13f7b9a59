#pragma once

// ELECTRA pre-training (replaced-token detection) on the in-domain training texts, or, from a
// BERT checkpoint, continued masked-LM pre-training alone (see PretrainOptions::from).
//
// A small masked-LM generator fills 15% masked positions with tokens sampled from its softmax;
// the discriminator learns which tokens were replaced. loss = MLM + rtd_weight · RTD. The result
// is an HF ElectraForPreTraining folder (discriminator, loadable by load_encoder / `emotune
// train`) with the generator beside it in generator/ (HF ElectraForMaskedLM names).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace emotune::train {

// The hyper-parameters that define a pre-training run. They are stored in its snapshot, so
// that --resume repeats them whatever the command line says.
struct PretrainHyperparameters {
  std::int64_t max_length = 128;  // tokens per packed sequence, [CLS] and [SEP]s included
  std::int64_t batch_size = 32;
  std::int64_t seed = 1;
  // 1e-4: on the tiny preset and this corpus, 5e-4 (ELECTRA-Small's, at batch 128) and 2e-3
  // left the RTD loss at the all-original prior, 1e-4 learned it (docs/pretraining.md).
  double learning_rate = 1e-4;
  // Linear warm-up over a fixed number of steps (post-LN transformers need a long one whatever
  // the run's length), at most half the schedule; ELECTRA warms up for 10 000 of 1M steps.
  std::int64_t warmup_steps = 200;
  // When set, the warm-up is this share of the schedule instead (and warmup_steps is ignored).
  std::optional<double> warmup_ratio;
  double weight_decay = 0.01;
  // How new weights are drawn: "fan-in" = normal with std 1/sqrt(hidden) of each model (its
  // config.json then records that initializer_range), "config" = the config's
  // initializer_range (BERT's 0.02, tuned for hidden 768). At hidden 64-128, 0.02 leaves
  // attention uniform and the discriminator on its prior (docs/pretraining.md).
  std::string initialization = "fan-in";
  // "local": sinusoidal position embeddings and layer 0's first two heads looking at the
  // previous and next token (train/local_attention_init.h); "random": drawn like the rest.
  // New weights only (not with `from`).
  std::string attention_init = "random";
  // "cooccurrence": the word embeddings start from the corpus's co-occurrence statistics (PPMI
  // reduced by SVD, train/cooccurrence_embeddings.h; seconds), centred and scaled to the std of
  // the draw they replace: minutes of pre-training do not teach neighbours like these, and
  // fine-tuning from them scores higher in Track II (docs/pretraining.md); "random": drawn like
  // the rest. New weights only (not with `from`).
  std::string word_embeddings = "random";
  // Dropout while pre-training (hidden and attention); unset = the config's (0.1). The
  // checkpoint's config.json keeps the config's rates for fine-tuning.
  std::optional<double> dropout;
  double max_grad_norm = 1.0;
  double mask_probability = 0.15;
  double rtd_weight = 50.0;
  std::int64_t snapshot_every_steps = 200;  // also at the end and at the budget
  std::int64_t log_every_steps = 10;        // lines of log.jsonl
  std::size_t text_limit = 0;               // first N texts per source (0 = all), for tests
};

struct PretrainOptions : PretrainHyperparameters {
  std::filesystem::path data_dir;  // wassa2021/ + goemotions/ (train files only are read)
  std::filesystem::path out_dir;   // the checkpoint folder written (and its snapshot/)
  // Discriminator shape: "tiny" (4 layers, 128 hidden), "mini" (4 layers, 256 hidden), "small"
  // (ELECTRA-Small), "base"
  // (ELECTRA-Base) or a config.json file. Ignored with `from`.
  std::string config = "small";
  std::filesystem::path vocab_dir;  // tokenizer folder (`emotune vocab`); default: from's
  // A checkpoint to continue pre-training: ELECTRA (generator + RTD, as a new run) or BERT
  // (masked-LM only; the result is an HF BertForMaskedLM folder, no generator/).
  std::filesystem::path from;
  bool resume = false;              // continue out_dir/snapshot
  double budget_minutes = 0;        // stop cleanly after this much wall time (0 = none)
  // Optimizer steps of the schedule. 0 = as many as the budget allows (estimated from the
  // first steps' speed and then fixed), or 10 000 without a budget.
  std::int64_t steps = 0;
  // Generator hidden size (and heads, intermediate size) as a fraction of the discriminator's.
  double generator_ratio = 0.25;
  // "shared": the generator reads the discriminator's embeddings (ELECTRA's tie), projected down
  // to its hidden size; "own": its own embeddings as wide as its hidden size (untied, as
  // ELECTRA does when sizes differ), so that --attention-init local reaches it too.
  std::string generator_embeddings = "shared";
  std::string device = "cpu";
};

// Test hooks: throw SimulatedPretrainCrash right after optimizer step `crash_after_step`
// (0 = never), before that step's snapshot; `on_step` sees (step, loss, mlm, rtd) each step.
struct PretrainHooks {
  std::int64_t crash_after_step = 0;
  bool progress = true;
  std::function<void(std::int64_t, double, double, double)> on_step;
};

struct SimulatedPretrainCrash : std::runtime_error {
  SimulatedPretrainCrash() : std::runtime_error("simulated crash") {}
};

struct PretrainResult {
  std::int64_t steps_done = 0;
  std::int64_t total_steps = 0;
  bool stopped_by_budget = false;
  double last_loss = 0;  // mean loss of the last logged window
  double last_mlm = 0;
  double last_rtd = 0;
  std::filesystem::path checkpoint;  // == out_dir
  nlohmann::json summary;            // what pretraining.json holds
};

// Runs (or resumes) pre-training. Errors name the bad option or file before any step.
PretrainResult run_pretraining(const PretrainOptions& options, const PretrainHooks& hooks = {});

// The discriminator's config.json that run_pretraining(options) starts a new run with: the
// preset or config file sized to the tokenizer's vocabulary, or `from`'s config (for a BERT
// `from`, the masked-LM model's own). Errors as
// run_pretraining's for these options.
nlohmann::json discriminator_config(const PretrainOptions& options);

// The config.json of a named discriminator preset ("tiny", "mini", "small", "base") for a
// vocabulary of `vocab_size`; Error for another name.
nlohmann::json electra_preset(const std::string& name, std::int64_t vocab_size);

// The generator's config.json for a discriminator config: same vocabulary and embedding size,
// hidden/intermediate/heads scaled by `ratio` (at least one head of 64 or fewer dims).
nlohmann::json generator_config_for(const nlohmann::json& discriminator_config, double ratio,
                                    bool own_embeddings = false);

// The preset names electra_preset knows.
std::vector<std::string> electra_preset_names();

}  // namespace emotune::train
