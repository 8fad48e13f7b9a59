#include <fmt/format.h>

#include "cli/command.h"
#include "common/error.h"
#include "common/paths.h"
#include "pipeline/reproduce.h"
#include "train/config.h"

namespace emotune::cli {
namespace {

struct ReproduceCliOptions {
  std::string models_root;
  std::string data;
  std::string out = "reproduce";
  std::string device;
  std::string seeds;
  std::vector<std::string> only;
  std::vector<std::string> sets;
  std::string configs = "configs/paper";
  std::string systems = "configs/ensembles/paper.toml";
  std::size_t batch_size = 16;
  bool no_progress = false;
  bool no_report = false;
};

void run_reproduce(const ReproduceCliOptions& options, const GlobalOptions& globals) {
  apply_thread_option(globals);
  pipeline::ReproduceOptions request;
  request.models_root = options.models_root;
  request.data_dir = resolve_data_dir(options.data);
  request.out_dir = options.out;
  request.device = options.device;
  if (!options.seeds.empty()) {
    train::TrainConfig parsed;  // the same parser as `train --seeds`
    train::apply_override(parsed, "seeds=" + options.seeds);
    request.seeds = parsed.seeds;
  }
  request.only = options.only;
  request.overrides = options.sets;
  request.configs_dir = options.configs;
  request.systems_file = options.systems;
  request.predictor.threads = globals.threads;
  request.predictor.forward_batch = options.batch_size;
  request.hooks.progress = !options.no_progress;
  request.write_report = !options.no_report;
  const auto result = pipeline::reproduce(request);
  fmt::print("\n{}", pipeline::format_comparison(result.comparison));
  if (result.submission_dir) {
    fmt::print("submission: {}\n", (*result.submission_dir / "predictions.zip").string());
  }
  if (result.report_html) fmt::print("report: {}\n", result.report_html->string());
}

[[maybe_unused]] const bool registered = register_command(
    "reproduce",
    "The paper's whole pipeline on downloaded checkpoints: fine-tune every system of "
    "configs/paper/, build the Track I system and Track II Ensembles 1 and 2, write test "
    "predictions, the submission and the report; resumes where it stopped",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<ReproduceCliOptions>();
      command
          .add_option("--models-root", options->models_root,
                      "Folder of HF checkpoint folders named as the configs expect: "
                      "electra-base-discriminator, electra-large-discriminator, roberta-large, "
                      "albert-large-v2. Members whose folder is missing are skipped")
          ->required();
      command.add_option("--data", options->data,
                         "Data folder holding wassa2021/ and goemotions/ (default $EMOTUNE_DATA)");
      command.add_option("--out", options->out,
                         "Output folder: runs/<member>/, systems/{dev,test}/<system>/, "
                         "submission/, report/report.html, results.md, results.json "
                         "(default: reproduce)");
      command.add_option("--device", options->device,
                         "Where to train: cpu, cuda or cuda:N (default: the configs', cpu); "
                         "prediction runs on the CPU");
      command.add_option("--seeds", options->seeds,
                         "Comma-separated seeds for every member (default: the configs', 1,2,3)");
      command
          .add_option("--only", options->only,
                      "Comma-separated member names (config stems, e.g. "
                      "emotion-electra-base-ba) or ensembles (track1, ensemble-1, ensemble-2): "
                      "an ensemble brings its members; a member the ensembles using it")
          ->delimiter(',');
      command.add_option("--set", options->sets,
                         "Override a config key of every member: key=value, repeatable (e.g. "
                         "--set epochs=3 --set max_length=256)");
      command.add_option("--configs", options->configs,
                         "Folder of the members' training configs (default configs/paper)");
      command.add_option("--systems", options->systems,
                         "The final systems and published numbers (default "
                         "configs/ensembles/paper.toml)");
      command.add_option("--batch-size", options->batch_size,
                         "Essays per forward pass when predicting (default 16)");
      command.add_flag("--no-progress", options->no_progress,
                       "No progress bar or progress log lines while training");
      command.add_flag("--no-report", options->no_report, "Do not write the HTML report");
      command.footer(
          "Run again with the same options to continue: finished members are skipped, an "
          "interrupted one resumes from its snapshot.\nExample:\n  emotune reproduce "
          "--models-root /models --data /data --out runs/paper --device cuda");
      command.callback([options, &globals] { run_reproduce(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
