#pragma once

// `emotune quickstart`: the whole job on a machine with no pretrained checkpoints, in a time
// budget. Steps (each skipped when its output is complete, resumed when interrupted):
//
//   1. vocab      OUT/vocab/          WordPiece vocabulary learned from the training texts
//   2. baseline   OUT/baseline.json   TF-IDF + ridge / logistic regression on the same split
//   3. pretrain   OUT/pretrained/     ELECTRA replaced-token detection, a share of the budget
//                 (with `pretrain`; the CLI turns it off by default when a real pretrained
//                 encoder is given, to keep the job near its 30 minutes)
//   4. fine-tune  OUT/runs/<member>/  the multi-task (empathy + distress) and emotion (BA)
//                 systems of configs/quick/, every seed, from the pre-trained checkpoint; with
//                 `ablation` (the default), also the same fine-tuning from random init
//                 (<member>-random-init, whose backbone OUT/random-init/ holds the same
//                 config.json and tokenizer without weights); with `encoder_dir`, the members
//                 `encoder_members` of `encoder_configs_dir` (configs/minilm/: the paper's
//                 recipe for a real pretrained encoder) fine-tuned from that checkpoint
//                 (<member>-<encoder folder name>)
//   5. systems    OUT/systems/, OUT/submission/, OUT/report/  seed ensembles, dev and test
//                 predictions, the submission files, the report (pipeline.h's steps): per
//                 track one system for each origin (real encoder "track1-<encoder folder
//                 name>", own pre-training "track1", random init "track1-random-init"), and
//                 each track submits whichever scores best on dev (the way the paper keeps the
//                 best seed)
//   6. table      OUT/quickstart.md   dev scores beside the paper's and the baseline's
//
// With `program` set and parallel_jobs ≥ 2, steps 3 and 4 run as child processes of that
// program (`emotune pretrain`, `emotune train`; logs in OUT/logs/), parallel_jobs at a time:
// the encoder and random-init runs do not wait for pre-training. Otherwise they run in this
// process, in order.
//
// With models_root set, the paper's own pipeline runs instead (pipeline::reproduce).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/pipeline.h"

namespace emotune::pipeline {

// The pipeline's own options (data, output folder, predictor, hooks, report) plus the quick
// start's plan.
struct QuickstartOptions : PipelineOptions {
  QuickstartOptions() { out_dir = "runs/quickstart"; }
  std::filesystem::path configs_dir = "configs/quick";  // multitask.toml, emotion.toml
  std::filesystem::path systems_file = "configs/ensembles/paper.toml";  // the paper's numbers
  std::filesystem::path models_root;  // set: run `reproduce` on these checkpoints instead
  double budget_minutes = 30;         // end to end; pre-training gets pretrain_share of it
  double pretrain_share = 0.3;
  std::string pretrain_config = "tiny";  // train::electra_preset name or config.json
  std::int64_t pretrain_max_length = 128;
  std::int64_t pretrain_batch_size = 32;
  // "context" (lr 1e-3, layer 0 starting on the neighbouring tokens, dropout 0, a half-width
  // generator with its own embeddings): both networks learn within the budget and the own
  // members beat random init in both tracks; "plain" (`emotune pretrain`'s defaults: lr 1e-4, a
  // quarter-width generator sharing the embeddings): the quick start of sessions 5-20, whose
  // discriminator stays near its prior (docs/pretraining.md, session 21).
  std::string pretrain_recipe = "context";
  // train::PretrainHyperparameters::word_embeddings: the own members start from these, and
  // co-occurrence ones lift Track II above random init (docs/pretraining.md).
  std::string pretrain_word_embeddings = "cooccurrence";
  // 4000 rather than `vocab`'s 16000: with 1860 labelled essays, the embedding of a rare
  // wordpiece is barely trained, and Track I dev r rose from ~0.30 to ~0.37 (docs/pretraining.md).
  std::size_t vocab_size = 4000;
  std::vector<std::int64_t> seeds;  // empty = the configs'
  bool ablation = true;             // also fine-tune from random init, submit the better
                                    // (the CLI's default: only without a real encoder)
  bool pretrain = true;             // own ELECTRA pre-training and fine-tuning from it
  // What the members fine-tuned from the own checkpoint keep of it (train's backbone_weights):
  // word_embeddings (the rest drawn as the random-init members draw it) or all. Minutes of
  // pre-training teach the embeddings something; the layers fine-tune worse than random
  // weights (docs/pretraining.md).
  std::string own_weights = "word_embeddings";
  // A real pretrained encoder (HF checkpoint folder, e.g. $EMOTUNE_MODELS/all-MiniLM-L6-v2);
  // empty = none. Its members are these configs of encoder_configs_dir, backbone set to it.
  std::filesystem::path encoder_dir;
  std::filesystem::path encoder_configs_dir = "configs/minilm";
  std::vector<std::string> encoder_members = {"multitask", "emotion-ba"};
  // The encoder members' seeds when `seeds` is empty. Two, not the configs' three: on 2 cores a
  // MiniLM emotion-BA seed takes ~9.5 minutes, and three would fill the 30 minutes alone.
  std::vector<std::int64_t> encoder_seeds = {1, 2};
  std::filesystem::path program;       // the emotune executable, to run steps as child processes
  std::size_t parallel_jobs = 1;       // child processes at once (with `program`)
  int child_threads = 1;               // --threads of each child
  std::vector<std::string> overrides;  // key=value for every fine-tuning config
  // Linear members (text, text + person features, person features) and per track a system
  // stacked on out-of-fold train predictions; submitted when better on dev.
  bool stacking = true;
};

struct QuickstartResult {
  PipelineResult pipeline;
  std::vector<ComparisonRow> table;  // systems, members, then the baseline row
  std::filesystem::path table_file;  // OUT/quickstart.md
  nlohmann::json pretraining;        // OUT/pretrained/pretraining.json
};

QuickstartResult quickstart(const QuickstartOptions& options);

}  // namespace emotune::pipeline
