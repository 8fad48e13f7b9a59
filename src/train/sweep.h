#pragma once

// Sweeps: independent training runs (seeds × backbones × augmentations), each an
// `emotune train` process with its own run folder, run a few at a time on this machine, or one
// per Slurm array task from the manifest.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace emotune::train {

struct SweepAxes {
  std::filesystem::path config;        // the TOML config every member starts from
  std::vector<std::int64_t> seeds;     // one member per seed (at least one)
  std::vector<std::string> backbones;  // empty = the config's backbone
  std::vector<std::string> augments;   // empty = the config's augment; else none | ba | ra
  // Passed to every member's `train` after the sweep's own (e.g. --set key=value, --data DIR).
  std::vector<std::string> extra_arguments;
  std::filesystem::path out;  // DIR: one run folder per member, manifest.tsv, logs/
};

struct SweepMember {
  std::size_t index = 0;  // 0-based, as SLURM_ARRAY_TASK_ID with --array=0-(N-1)
  std::string name;       // e.g. "seed-1" or "electra-base_aug-ba_seed-1" (the axes swept)
  std::int64_t seed = 0;
  std::string backbone;  // empty = the config's
  std::string augment;   // empty = the config's
  std::filesystem::path run_dir;
  std::vector<std::string> arguments;  // `train ...` for a fresh run of this member
};

// The cross product, in the order backbones, augments, seeds (seeds vary fastest). Errors:
// no seed, an unknown augmentation, two members with the same name.
std::vector<SweepMember> plan_sweep(const SweepAxes& axes);

// Tab-separated, a header line then one line per member:
// index, name, seed, backbone, augment, run_dir, command ("-" for the config's value).
std::string manifest_tsv(const std::vector<SweepMember>& members,
                         const std::filesystem::path& program);

// The arguments that run `member` now: skip (nullopt) when its run folder holds a finished
// run (summary.json), `train --resume RUN_DIR ...` when it holds an interrupted one, else the
// fresh-run arguments.
std::optional<std::vector<std::string>> member_arguments(const SweepMember& member,
                                                         const std::vector<std::string>& extra);

struct SweepRunner {
  std::filesystem::path program;              // the emotune program
  std::vector<std::string> global_arguments;  // before `train` (e.g. --threads 1)
  std::vector<std::string> extra_arguments;   // appended to every member's train arguments
  std::size_t max_parallel = 1;
  std::filesystem::path log_dir;  // each member's stdout and stderr: <log_dir>/<name>.log
};

struct MemberOutcome {
  std::size_t index = 0;
  std::string name;
  bool skipped = false;  // already finished
  int exit_code = 0;     // 128 + signal when killed
  double seconds = 0.0;
  std::filesystem::path log;
};

// Runs the members, at most max_parallel at once, each with its output in its log file.
// A failing member does not stop the others. Returns one outcome per member, in index order.
std::vector<MemberOutcome> run_sweep(const std::vector<SweepMember>& members,
                                     const SweepRunner& runner);

// Runs one member in the foreground (output not redirected: a Slurm array task's log gets
// it). Returns its exit code (0 also when it was already finished).
int run_member(const SweepMember& member, const SweepRunner& runner);

}  // namespace emotune::train
