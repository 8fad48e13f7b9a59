#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/command.h"
#include "common/error.h"
#include "common/paths.h"
#include "train/pretrain.h"

namespace emotune::cli {
namespace {

struct PretrainCommandOptions {
  train::PretrainOptions library;
  std::string data;
  double warmup_ratio = -1;  // < 0: not given
  double dropout = -1;       // < 0: not given
  bool no_progress = false;
};

void run_pretrain(PretrainCommandOptions& options, const GlobalOptions& globals) {
  apply_thread_option(globals);
  auto& library = options.library;
  if (!library.resume || !options.data.empty()) library.data_dir = resolve_data_dir(options.data);
  if (options.warmup_ratio >= 0) library.warmup_ratio = options.warmup_ratio;
  if (options.dropout >= 0) library.dropout = options.dropout;
  train::PretrainHooks hooks;
  hooks.progress = !options.no_progress;
  const auto result = train::run_pretraining(library, hooks);
  fmt::print("pre-training {} at step {} of {}{}\n",
             result.steps_done >= result.total_steps ? "finished" : "stopped", result.steps_done,
             result.total_steps, result.stopped_by_budget ? " (time budget)" : "");
  const auto& last = result.summary.value("last_log", nlohmann::json::object());
  const auto& corpus = result.summary.value("corpus", nlohmann::json::object());
  const bool masked_lm_only =
      result.summary.at("recipe").value("objective", "electra") == "mlm";
  if (masked_lm_only)
    fmt::print("last masked-LM loss {:.4f} (unigram entropy {:.4f})\n", result.last_mlm,
               corpus.value("unigram_entropy_nats", 0.0));
  else
    fmt::print("last losses: total {:.4f}, generator MLM {:.4f}, discriminator RTD {:.4f}\n",
               result.last_loss, result.last_mlm, result.last_rtd);
  if (last.is_object() && last.contains("generator_mask_accuracy")) {
    fmt::print("top-1 at [MASK]: {:.4f} (the most frequent token's share: {:.4f})\n",
               last.value("generator_mask_accuracy", 0.0), corpus.value("unigram_top1_share", 0.0));
    if (!masked_lm_only)
      fmt::print("RTD gain over calling every token original: {:+.4f} nats, accuracy {:+.4f}\n",
                 last.value("rtd_gain_nats", 0.0), last.value("rtd_accuracy_gain", 0.0));
  }
  if (masked_lm_only) {
    fmt::print("checkpoint (BertForMaskedLM): {}\n", result.checkpoint.string());
  } else {
    fmt::print("discriminator (ElectraForPreTraining): {}\n", result.checkpoint.string());
    fmt::print("generator (ElectraForMaskedLM): {}\n", (result.checkpoint / "generator").string());
  }
}

[[maybe_unused]] const bool registered = register_command(
    "pretrain",
    "Pre-train an ELECTRA discriminator (replaced-token detection with a small MLM generator) "
    "on the WASSA and GoEmotions training texts, into an HF checkpoint folder; or continue a "
    "BERT checkpoint with masked-LM alone (--from)",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<PretrainCommandOptions>();
      auto& o = options->library;
      command.add_option("--data", options->data,
                         "Folder holding wassa2021/ and goemotions/ (default: $EMOTUNE_DATA); "
                         "only the train files are read");
      command
          .add_option("--out", o.out_dir,
                      "Checkpoint folder to write: config.json, model.safetensors, tokenizer "
                      "files, generator/, snapshot/ (for --resume), log.jsonl")
          ->required();
      command
          .add_option("--config", o.config,
                      "Discriminator shape: tiny (4 layers, 128 hidden), mini (4 layers, 256 "
                      "hidden), small "
                      "(ELECTRA-Small), "
                      "base (ELECTRA-Base) or a config.json file; ignored with --from")
          ->capture_default_str();
      command.add_option(
          "--vocab", o.vocab_dir,
          "Tokenizer folder (from `emotune vocab`); default: the --from checkpoint's");
      command.add_option("--from", o.from,
                         "Continue pre-training this checkpoint on the training texts "
                         "(domain-adaptive): an ELECTRA one with replaced-token detection (its "
                         "generator/ is used when present, else a new generator is sized from "
                         "it), or a BERT one (e.g. all-MiniLM-L6-v2) with masked-LM alone, "
                         "written as a BertForMaskedLM folder that `train` fine-tunes");
      command.add_flag("--resume", o.resume,
                       "Continue the run in --out from its snapshot (same recipe; weights, "
                       "optimizer state, step and random stream restored)");
      command
          .add_option("--budget-minutes", o.budget_minutes,
                      "Stop cleanly after this many minutes of this invocation, writing the "
                      "checkpoint (0 = no limit)")
          ->capture_default_str();
      command
          .add_option("--steps", o.steps,
                      "Optimizer steps of the schedule (0 = as many as --budget-minutes allows, "
                      "timed on the first steps; 10000 without a budget)")
          ->capture_default_str();
      command.add_option("--max-length", o.max_length, "Tokens per packed sequence")
          ->capture_default_str();
      command.add_option("--batch-size", o.batch_size, "Sequences per step")->capture_default_str();
      command.add_option("--seed", o.seed, "Seed of the init, masking, sampling and order")
          ->capture_default_str();
      command
          .add_option("--lr", o.learning_rate, "Peak learning rate (linear warmup, linear decay)")
          ->capture_default_str();
      command
          .add_option("--warmup-steps", o.warmup_steps,
                      "Linear warm-up steps (at most half the schedule)")
          ->capture_default_str();
      command.add_option("--warmup-ratio", options->warmup_ratio,
                         "Warm up for this share of the steps instead of --warmup-steps");
      command
          .add_option("--weight-decay", o.weight_decay,
                      "AdamW weight decay (not on biases and LayerNorms)")
          ->capture_default_str();
      command.add_option("--mask-probability", o.mask_probability, "Share of tokens masked")
          ->capture_default_str();
      command
          .add_option("--rtd-weight", o.rtd_weight,
                      "Weight of the discriminator loss (loss = MLM + w · RTD)")
          ->capture_default_str();
      // An option taking one of a few words.
      const auto choice = [&command](const std::string& name, std::string& value,
                                     const std::string& help,
                                     const std::vector<std::string>& words) {
        command.add_option(name, value, help)->check(CLI::IsMember(words))->capture_default_str();
      };
      choice("--init", o.initialization,
             "New weights: fan-in (std 1/sqrt(hidden) per model, what small models need to learn "
             "from context) or config (the config's initializer_range)",
             {"fan-in", "config"});
      choice("--attention-init", o.attention_init,
             "New weights: local (sinusoidal positions, layer 0's first two heads on the previous "
             "and next token: what lets a small discriminator leave its prior on real text within "
             "minutes) or random",
             {"random", "local"});
      choice("--word-embeddings", o.word_embeddings,
             "New weights: cooccurrence (the word embeddings start from the corpus's "
             "co-occurrence counts, PPMI reduced by SVD, in seconds: neighbours minutes of "
             "pre-training do not teach) or random",
             {"random", "cooccurrence"});
      command.add_option("--dropout", options->dropout,
                         "Dropout while pre-training (default: the config's, 0.1); the "
                         "checkpoint keeps the config's rate for fine-tuning");
      command
          .add_option("--generator-ratio", o.generator_ratio,
                      "Generator hidden/intermediate size as a share of the discriminator's")
          ->capture_default_str();
      choice("--generator-embeddings", o.generator_embeddings,
             "shared (the discriminator's embeddings, projected down: ELECTRA's tie) or own (as "
             "wide as the generator's hidden size, untied; with --attention-init local the "
             "generator then gets the local start too)",
             {"shared", "own"});
      command
          .add_option("--snapshot-every", o.snapshot_every_steps,
                      "Write snapshot/ and the checkpoint every N steps")
          ->capture_default_str();
      command
          .add_option("--limit", o.text_limit,
                      "Use only the first N texts of each source (0 = all), for quick trials")
          ->capture_default_str();
      command.add_option("--device", o.device, "cpu, cuda, cuda:N")->capture_default_str();
      command.add_flag("--no-progress", options->no_progress, "No progress bar or step lines");
      command.callback([options, &globals] { run_pretrain(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
