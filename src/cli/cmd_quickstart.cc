#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "common/error.h"
#include "common/paths.h"
#include "pipeline/quickstart.h"
#include "runtime/threads.h"
#include "train/config.h"

namespace emotune::cli {
namespace {

// scripts/fetch_models.sh unpacks it into $EMOTUNE_MODELS (default ~/.cache/emotune/models).
constexpr const char* kDefaultEncoder = "all-MiniLM-L6-v2";

struct QuickstartCliOptions {
  pipeline::QuickstartOptions library;
  std::string data;
  std::string seeds;
  bool no_progress = false;
  bool no_report = false;
  std::string encoder;
  bool no_encoder = false;
  int pretrain = 0;  // --pretrain > 0, --no-pretrain < 0, neither: only without an encoder
  int ablation = 0;  // the same for --ablation / --no-ablation
  // One small model's steps leave a second core mostly idle: on the 2-core machines two
  // processes of one thread each get through ~1.65x the work of one of two threads.
  int jobs = std::min(2, runtime::hardware_threads());
};

void run_quickstart(QuickstartCliOptions& options, const GlobalOptions& globals) {
  apply_thread_option(globals);
  auto& request = options.library;
  request.data_dir = resolve_data_dir(options.data);
  if (!options.seeds.empty()) {
    train::TrainConfig parsed;  // the same parser as `train --seeds`
    train::apply_override(parsed, "seeds=" + options.seeds);
    request.seeds = parsed.seeds;
  }
  if (!options.encoder.empty() && options.no_encoder)
    throw Error("quickstart: --encoder and --no-encoder contradict each other");
  if (!options.encoder.empty()) {
    request.encoder_dir = options.encoder;
  } else if (!options.no_encoder && request.models_root.empty()) {
    const auto found = default_models_root() / kDefaultEncoder;
    if (std::filesystem::is_regular_file(found / "config.json")) {
      spdlog::info("quickstart: fine-tuning the pretrained encoder {} (--no-encoder: without it)",
                   found.string());
      request.encoder_dir = found;
    }
  }
  request.pretrain = options.pretrain != 0 ? options.pretrain > 0 : request.encoder_dir.empty();
  request.ablation = options.ablation != 0 ? options.ablation > 0 : request.encoder_dir.empty();
  request.predictor.threads = globals.threads;
  if (options.jobs < 1) throw Error("quickstart --jobs: expected at least 1");
  request.parallel_jobs = static_cast<std::size_t>(options.jobs);
  // The real path, so that `ps` and the logs name the program the children run.
  std::error_code no_link;
  request.program = std::filesystem::read_symlink("/proc/self/exe", no_link);
  if (no_link) request.program = "/proc/self/exe";
  const int threads = globals.threads > 0 ? globals.threads : runtime::hardware_threads();
  request.child_threads = std::max(1, threads / options.jobs);
  request.hooks.progress = !options.no_progress;
  request.write_report = !options.no_report;
  const auto result = pipeline::quickstart(request);
  fmt::print("\n{}", pipeline::format_comparison(result.table));
  for (const auto& system : result.pipeline.systems)
    if (system.submitted) fmt::print("submitted: {} (dev scores above)\n", system.name);
  if (result.pipeline.submission_dir)
    fmt::print("submission: {}\n", (*result.pipeline.submission_dir / "predictions.zip").string());
  if (result.pipeline.report_html)
    fmt::print("report: {}\n", result.pipeline.report_html->string());
  fmt::print("table: {}\n", result.table_file.string());
}

[[maybe_unused]] const bool registered = register_command(
    "quickstart",
    "The whole job: vocabulary, fine-tuning of a real pretrained encoder when one is there "
    "($EMOTUNE_MODELS/all-MiniLM-L6-v2 or --encoder; the paper's recipe, configs/minilm/), "
    "else ELECTRA pre-training on the training texts and fine-tuning from it, the same from "
    "random init, ensembles, the best system per track on dev submitted, report, and dev scores "
    "beside the paper's and a TF-IDF baseline's; resumable",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<QuickstartCliOptions>();
      auto& o = options->library;
      command.add_option("--data", options->data,
                         "Folder holding wassa2021/ and goemotions/ (default: $EMOTUNE_DATA)");
      command.add_option("--out", o.out_dir, "Output folder (run it again to resume)")
          ->capture_default_str();
      command
          .add_option("--budget-minutes", o.budget_minutes,
                      "Time to plan for, end to end; pre-training gets --pretrain-share of it, "
                      "fine-tuning follows configs/quick/")
          ->capture_default_str();
      command
          .add_option("--pretrain-share", o.pretrain_share,
                      "Share of the budget spent pre-training")
          ->capture_default_str();
      command
          .add_option("--pretrain-config", o.pretrain_config,
                      "ELECTRA shape to pre-train: tiny, mini, small, base or a config.json")
          ->capture_default_str();
      command
          .add_option("--pretrain-recipe", o.pretrain_recipe,
                      "Pre-training recipe: context (lr 1e-3, layer 0 starting on the "
                      "neighbouring tokens, dropout 0, a half-width generator with its own "
                      "embeddings) or plain (`emotune pretrain`'s defaults)")
          ->check(CLI::IsMember({"context", "plain"}))
          ->capture_default_str();
      command
          .add_option("--pretrain-word-embeddings", o.pretrain_word_embeddings,
                      "Pre-training's start for the word embeddings: cooccurrence (PPMI reduced "
                      "by SVD over the training texts) or random")
          ->check(CLI::IsMember({"cooccurrence", "random"}))
          ->capture_default_str();
      command
          .add_option("--vocab-size", o.vocab_size,
                      "WordPiece vocabulary learned from the training texts; small encoders "
                      "trained on ~2000 labelled essays generalise better with a small one")
          ->capture_default_str();
      command.add_option("--models-root", o.models_root,
                         "Folder of downloaded checkpoints: run the paper's pipeline "
                         "(`emotune reproduce`) on them instead");
      command.add_option("--configs", o.configs_dir, "Fine-tuning configs (one member each)")
          ->capture_default_str();
      command
          .add_option("--systems", o.systems_file,
                      "Systems file whose published numbers are shown beside ours")
          ->capture_default_str();
      command.add_option("--seeds", options->seeds,
                         "Fine-tuning seeds, e.g. 1,2 (default: the configs'; a pretrained encoder's members: 1,2)");
      command.add_option("--set", o.overrides,
                         "key=value for every fine-tuning config (as `train --set`)");
      command.add_option("--encoder", options->encoder,
                         "A real pretrained encoder (HuggingFace checkpoint folder) to fine-tune "
                         "with --encoder-configs; default: $EMOTUNE_MODELS/all-MiniLM-L6-v2 "
                         "(EMOTUNE_MODELS defaults to ~/.cache/emotune/models) when it exists");
      command.add_flag("--no-encoder", options->no_encoder,
                       "Do not use a pretrained encoder even when one is there");
      command
          .add_option("--encoder-configs", o.encoder_configs_dir,
                      "The pretrained encoder's recipe: its multitask.toml and emotion-ba.toml")
          ->capture_default_str();
      command.add_flag("--pretrain,!--no-pretrain", options->pretrain,
                       "Run emotune's own ELECTRA pre-training and fine-tune from it (default: "
                       "only when no pretrained encoder is used: with one, it would not fit the "
                       "30 minutes)");
      command
          .add_option("--own-weights", o.own_weights,
                      "What the members fine-tuned from the own checkpoint keep of it: "
                      "word_embeddings (centred, at the random-init members' scale; the rest "
                      "drawn as they draw it: minutes of pre-training teach the embeddings, "
                      "while its layers fine-tune worse than random weights) or all")
          ->check(CLI::IsMember({"word_embeddings", "all"}))
          ->capture_default_str();
      command.add_flag("--ablation,!--no-ablation", options->ablation,
                       "Also fine-tune the same systems from random init and submit per track "
                       "whichever scores better on dev (default: only when no pretrained "
                       "encoder is used: with one, it would not fit the 30 minutes)");
      command.add_flag("--stacking,!--no-stacking", o.stacking,
                       "Also train linear members (TF-IDF text, + person features, person "
                       "features alone; for Track I also kernel ridge members, RBF on the "
                       "person features) and per track systems stacked on out-of-fold train "
                       "predictions with the fine-tuned one; submitted when better on dev "
                       "(default; docs/person_features.md)");
      command
          .add_option("--jobs", options->jobs,
                      "Pre-training and fine-tuning runs at once, as child processes sharing "
                      "--threads (logs in OUT/logs/); 1 = all in this process, in order")
          ->capture_default_str();
      command.add_flag("--no-report", options->no_report, "Do not write the HTML report");
      command.add_flag("--no-progress", options->no_progress, "No progress bars");
      command.callback([options, &globals] { run_quickstart(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
