#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/command.h"
#include "common/error.h"
#include "common/paths.h"
#include "pipeline/quickstart.h"
#include "train/config.h"

namespace emotune::cli {
namespace {

struct QuickstartCliOptions {
  pipeline::QuickstartOptions library;
  std::string data;
  std::string seeds;
  bool no_progress = false;
  bool no_report = false;
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
  request.predictor.threads = globals.threads;
  request.hooks.progress = !options.no_progress;
  request.write_report = !options.no_report;
  const auto result = pipeline::quickstart(request);
  fmt::print("\n{}", pipeline::format_comparison(result.table));
  if (result.pipeline.submission_dir)
    fmt::print("submission: {}\n", (*result.pipeline.submission_dir / "predictions.zip").string());
  if (result.pipeline.report_html)
    fmt::print("report: {}\n", result.pipeline.report_html->string());
  fmt::print("table: {}\n", result.table_file.string());
}

[[maybe_unused]] const bool registered = register_command(
    "quickstart",
    "The whole job without downloaded checkpoints: vocabulary, ELECTRA pre-training on the "
    "training texts, fine-tuning (with --ablation also from random init), ensembles, submission, "
    "report, and dev scores beside the paper's and a TF-IDF baseline's; resumable",
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
                         "Fine-tuning seeds, e.g. 1,2 (default: the configs')");
      command.add_option("--set", o.overrides,
                         "key=value for every fine-tuning config (as `train --set`)");
      command.add_flag("--ablation", o.ablation,
                       "Also run the same fine-tuning from random init (about doubles the "
                       "fine-tuning time) and show it beside the pre-trained systems");
      command.add_flag("--no-report", options->no_report, "Do not write the HTML report");
      command.add_flag("--no-progress", options->no_progress, "No progress bars");
      command.callback([options, &globals] { run_quickstart(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
