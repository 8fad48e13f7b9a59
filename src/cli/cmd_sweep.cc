#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "common/error.h"
#include "common/files.h"
#include "runtime/threads.h"
#include "train/config.h"
#include "train/sweep.h"

namespace emotune::cli {
namespace {

struct SweepOptions {
  std::string config;
  std::string seeds;
  std::vector<std::string> backbones;
  std::vector<std::string> augments;
  std::vector<std::string> sets;
  std::string data;
  std::string out;
  int max_parallel = 1;
  bool print_manifest = false;
  int member = -1;
};

void run_sweep_command(const SweepOptions& options, const GlobalOptions& globals) {
  // The config and overrides are checked once here, not once per member.
  auto config = train::load_config(options.config);
  if (!options.seeds.empty()) train::apply_override(config, "seeds=" + options.seeds);
  for (const auto& assignment : options.sets) train::apply_override(config, assignment);

  train::SweepAxes axes;
  axes.config = std::filesystem::absolute(options.config);
  axes.seeds = config.seeds;
  axes.backbones = options.backbones;
  axes.augments = options.augments;
  for (const auto& assignment : options.sets) {
    axes.extra_arguments.insert(axes.extra_arguments.end(), {"--set", assignment});
  }
  if (!options.data.empty()) {
    axes.extra_arguments.insert(axes.extra_arguments.end(),
                                {"--data", std::filesystem::absolute(options.data).string()});
  }
  axes.out = std::filesystem::absolute(options.out);
  const auto members = train::plan_sweep(axes);

  const std::filesystem::path program = "/proc/self/exe";
  const auto self = std::filesystem::read_symlink(program);
  const auto manifest = train::manifest_tsv(members, self);
  std::filesystem::create_directories(axes.out);
  write_file_atomic(axes.out / "manifest.tsv", manifest);
  if (options.print_manifest) {
    fmt::print("{}", manifest);
    return;
  }

  train::SweepRunner runner;
  runner.program = self;
  runner.log_dir = axes.out / "logs";
  const auto parallel = static_cast<std::size_t>(options.max_parallel);
  // Members share the cores unless --threads says otherwise.
  const int threads = globals.threads > 0
                          ? globals.threads
                          : std::max(1, runtime::hardware_threads() / options.max_parallel);
  runner.global_arguments = {"--threads", std::to_string(threads), "--log-level",
                             globals.log_level};
  if (options.member >= 0) {
    if (static_cast<std::size_t>(options.member) >= members.size()) {
      throw Error(fmt::format("sweep --member {}: the sweep has {} members (0..{}); see {}",
                              options.member, members.size(), members.size() - 1,
                              (axes.out / "manifest.tsv").string()));
    }
    const auto& member = members[static_cast<std::size_t>(options.member)];
    spdlog::info("sweep member {} of {}: {} -> {}", member.index, members.size(), member.name,
                 member.run_dir.string());
    const int code = train::run_member(member, runner);
    if (code != 0) throw ExitStatus{code};
    return;
  }

  runner.max_parallel = parallel;
  runner.extra_arguments = {"--no-progress"};
  spdlog::info("sweep: {} members, at most {} at a time, {} threads each; manifest {}",
               members.size(), parallel, threads, (axes.out / "manifest.tsv").string());
  const auto outcomes = train::run_sweep(members, runner);
  std::vector<std::string> failed;
  fmt::print("{:<6}{:<40}{:<10}{:>10}  {}\n", "index", "member", "status", "seconds", "run");
  for (const auto& outcome : outcomes) {
    const std::string status = outcome.skipped          ? "done"
                               : outcome.exit_code == 0 ? "ok"
                                                        : fmt::format("exit {}", outcome.exit_code);
    fmt::print("{:<6}{:<40}{:<10}{:>10.1f}  {}\n", outcome.index, outcome.name, status,
               outcome.seconds, members[outcome.index].run_dir.string());
    if (!outcome.skipped && outcome.exit_code != 0) {
      failed.push_back(fmt::format("{} (log {})", outcome.name, outcome.log.string()));
    }
  }
  if (!failed.empty()) {
    throw Error(
        fmt::format("sweep: {} of {} members failed: {}; run the sweep again to resume "
                    "them",
                    failed.size(), members.size(), fmt::join(failed, ", ")));
  }
}

[[maybe_unused]] const bool registered = register_command(
    "sweep",
    "Independent training runs over seeds × backbones × augmentations, each an `emotune train` "
    "process with its own run folder, a few at a time; writes a manifest a Slurm array job can "
    "run one member per task from",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<SweepOptions>();
      command.add_option("config", options->config, "TOML config every member starts from")
          ->required();
      command.add_option("--seeds", options->seeds,
                         "Comma-separated seeds, one member each (default: the config's seeds)");
      command
          .add_option("--backbones", options->backbones,
                      "Comma-separated backbone folders (or ${models_root}/NAME), one member "
                      "each (default: the config's backbone)")
          ->delimiter(',');
      command
          .add_option("--augment", options->augments,
                      "Comma-separated augmentations to sweep: none, ba, ra (default: the "
                      "config's)")
          ->delimiter(',');
      command.add_option("--set", options->sets,
                         "Config override for every member: key=value (repeatable)");
      command.add_option("--data", options->data,
                         "Data folder for every member (default: the config's, else "
                         "$EMOTUNE_DATA)");
      command
          .add_option("--out", options->out,
                      "Sweep folder: one run folder per member (named after the swept values), "
                      "manifest.tsv, logs/<member>.log")
          ->required();
      command
          .add_option("--max-parallel", options->max_parallel,
                      "Members running at once on this machine (--threads applies to each; "
                      "default threads: the cores / this)")
          ->check(CLI::Range(1, 1024))
          ->capture_default_str();
      command.add_flag("--print-manifest", options->print_manifest,
                       "Only write and print the manifest (index, name, seed, backbone, "
                       "augment, run_dir, command), e.g. to size a Slurm array");
      command
          .add_option("--member", options->member,
                      "Run only the member with this 0-based index, in the foreground "
                      "(e.g. --member $SLURM_ARRAY_TASK_ID)")
          ->check(CLI::NonNegativeNumber);
      command.callback([options, &globals] { run_sweep_command(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
