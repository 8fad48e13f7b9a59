#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string_view>

#include "cli/command.h"
#include "common/error.h"
#include "common/files.h"
#include "common/paths.h"
#include "runtime/threads.h"
#include "train/config.h"
#include "train/distributed.h"
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
  int nproc = 0;
  std::string dist_backend = "auto";
  int dist_timeout_s = 300;
  int dist_eval_timeout_s = 3600;
};

// This program's own arguments, to start the --nproc workers with exactly the same ones.
std::vector<std::string> own_arguments() {
  const auto text = read_file("/proc/self/cmdline");
  std::vector<std::string> arguments;
  std::string current;
  for (const char c : text) {
    if (c == '\0') {
      arguments.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!arguments.empty()) arguments.erase(arguments.begin());  // argv[0]
  return arguments;
}

void run_train(const TrainOptions& options, const GlobalOptions& globals) {
  const bool launching = options.nproc > 0 && !train::launched_by_emotune();
  if (!launching) apply_thread_option(globals);
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

  train::DistributedOptions distributed;
  distributed.backend = options.dist_backend;
  distributed.timeout = std::chrono::seconds(options.dist_timeout_s);
  distributed.coordinator_timeout = std::chrono::seconds(options.dist_eval_timeout_s);

  if (launching) {
    if (train::worker_environment()) {
      throw Error(
          "train: --nproc starts its own workers, but RANK/WORLD_SIZE (torchrun) or "
          "a multi-task Slurm step is already set up; drop --nproc there");
    }
    train::validate(config);  // fail once here rather than once per worker
    std::vector<std::string> arguments = own_arguments();
    if (globals.threads == 0) {
      // The ranks share this machine's cores.
      const int threads = std::max(1, runtime::hardware_threads() / options.nproc);
      arguments.insert(arguments.begin(), {"--threads", std::to_string(threads)});
    }
    train::LocalLaunch launch;
    launch.program = "/proc/self/exe";
    launch.arguments = arguments;
    launch.processes = options.nproc;
    launch.timeout = distributed.timeout;
    launch.resume_hint = fmt::format("continue it with `emotune train --resume {} --nproc {}`",
                                     run_dir, options.nproc);
    train::launch_local_workers(launch);
    return;
  }

  train::TrainHooks hooks;
  hooks.progress = !options.no_progress;
  std::unique_ptr<train::DataParallel> parallel;
  if (const auto environment = train::worker_environment()) {
    if (environment->rank != 0) {
      // Rank 0 speaks for the job; the others only report problems.
      spdlog::set_level(std::max(spdlog::get_level(), spdlog::level::warn));
      hooks.progress = false;
    }
    config.device = train::device_for_rank(config.device, *environment);
    distributed.device = config.device;
    parallel = train::join_process_group(*environment, distributed);
    hooks.parallel = parallel.get();
  }
  nlohmann::json summary;
  try {
    summary = train::run_training(config, data_dir, run_dir, resume, hooks);
  } catch (const Error& e) {
    // Several ranks print to the same terminal: say which one failed.
    if (!parallel || std::string_view(e.what()).starts_with("rank ")) throw;
    throw Error(fmt::format("rank {}: {}", parallel->rank(), e.what()));
  }
  if (!parallel || parallel->is_coordinator()) fmt::print("{}", train::format_summary(summary));
}

[[maybe_unused]] const bool registered = register_command(
    "train",
    "Fine-tune a backbone on WASSA 2021 (empathy/distress regression, emotion classification) "
    "into a run folder",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<TrainOptions>();
      command.add_option(
          "config", options->config,
          "TOML config (see configs/paper/); every key can be overridden with --set");
      command.add_option("--backbone", options->backbone,
                         "HF checkpoint folder to fine-tune (overrides the config's backbone)");
      command.add_option("--data", options->data,
                         "Data folder holding wassa2021/ and goemotions/ (default: the config's "
                         "data key, else $EMOTUNE_DATA)");
      command.add_option(
          "--out", options->out,
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
      command
          .add_option("--nproc", options->nproc,
                      "Data-parallel training in N processes on this machine (Gloo on CPU, "
                      "NCCL on CUDA): batch_size is per process, the effective batch is N × "
                      "batch_size; --threads is per process (default: the cores / N). "
                      "Without --nproc, RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT (torchrun) or "
                      "a multi-task srun make this process one rank of a larger job "
                      "(docs/distributed.md)")
          ->check(CLI::Range(1, 1024));
      command
          .add_option("--dist-backend", options->dist_backend,
                      "auto (NCCL for CUDA when built with it, else Gloo), gloo or nccl")
          ->check(CLI::IsMember({"auto", "gloo", "nccl"}))
          ->capture_default_str();
      command
          .add_option("--dist-timeout-s", options->dist_timeout_s,
                      "Data-parallel: a process that dies or hangs stops the whole job with an "
                      "error after at most this many seconds (rendezvous, gradient exchange)")
          ->check(CLI::Range(1, 86400))
          ->capture_default_str();
      command
          .add_option("--dist-eval-timeout-s", options->dist_eval_timeout_s,
                      "Data-parallel: how long the other processes wait for rank 0's dev "
                      "evaluation and snapshots")
          ->check(CLI::Range(1, 7 * 86400))
          ->capture_default_str();
      command.callback([options, &globals] { run_train(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
