#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "common/error.h"
#include "common/paths.h"
#include "train/config.h"
#include "train/trainer.h"

namespace emotune::cli {
namespace {

struct TrainOptions {
  std::string config;
  std::string backbone;
  std::string data;
  std::string out;
  std::string seeds;
  std::string device;
  std::vector<std::string> sets;
  std::string resume;
  bool no_progress = false;
};

void run_train(const TrainOptions& options, const GlobalOptions& globals) {
  apply_thread_option(globals);
  const bool resume = !options.resume.empty();
  if (resume == !options.config.empty()) {
    throw Error("train: give either a CONFIG file or --resume RUN_DIR");
  }
  train::TrainConfig config =
      resume ? train::load_run_config(options.resume) : train::load_config(options.config);
  if (!options.backbone.empty()) config.backbone = options.backbone;
  if (!options.seeds.empty()) train::apply_override(config, "seeds=" + options.seeds);
  if (!options.device.empty()) config.device = options.device;
  for (const auto& assignment : options.sets) train::apply_override(config, assignment);
  const auto data_dir = resolve_data_dir(options.data.empty() ? config.data : options.data);
  std::string run_dir = resume ? options.resume : options.out;
  if (run_dir.empty()) throw Error("train: --out RUN_DIR is required for a new run");

  train::TrainHooks hooks;
  hooks.progress = !options.no_progress;
  const auto summary = train::run_training(config, data_dir, run_dir, resume, hooks);
  fmt::print("{}", train::format_summary(summary));
}

[[maybe_unused]] const bool registered = register_command(
    "train",
    "Fine-tune a backbone on WASSA 2021 (empathy/distress regression, emotion classification) "
    "into a run folder",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<TrainOptions>();
      command.add_option("config", options->config,
                         "TOML config (see configs/paper/); every key can be overridden with --set");
      command.add_option("--backbone", options->backbone,
                         "HF checkpoint folder to fine-tune (overrides the config's backbone)");
      command.add_option("--data", options->data,
                         "Data folder holding wassa2021/ and goemotions/ (default: the config's "
                         "data key, else $EMOTUNE_DATA)");
      command.add_option("--out", options->out,
                         "Run folder to create: config.toml, fingerprints.json, seed-<n>/{metrics.jsonl, "
                         "best/, last/}, summary.json");
      command.add_option("--seeds", options->seeds,
                         "Comma-separated seeds, one sub-run each (overrides the config's seeds)");
      command.add_option("--device", options->device, "cpu, cuda or cuda:N (overrides the config)");
      command.add_option("--set", options->sets,
                         "Override a config key: key=value (TOML value or bare word / comma list); "
                         "repeatable, e.g. --set learning_rate=2e-5 --set tasks=empathy,distress");
      command.add_option("--resume", options->resume,
                         "Continue an interrupted run folder from its last snapshots (uses its "
                         "config.toml)");
      command.add_flag("--no-progress", options->no_progress,
                       "No progress bar or progress log lines");
      command.callback([options, &globals] { run_train(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
