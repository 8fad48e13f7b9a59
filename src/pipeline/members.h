#pragma once
// The members of a pipeline: one training config each, trained (or resumed, or found
// finished) into its run folder, and the seeds a system may name in it.

#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "train/config.h"
#include "train/trainer.h"

namespace emotune::pipeline {

// One system to fine-tune.
struct Member {
  std::string name;  // e.g. "emotion-electra-base-ba": the config file's stem
  train::TrainConfig config;
  std::filesystem::path run_dir;
  // Where `config` comes from: the file, then "key=value" overrides in order (as `train
  // --set`), so that a child `emotune train` process can build the same config.
  std::filesystem::path config_file;
  std::vector<std::string> overrides;
};

// Every *.toml of `configs_dir` (sorted by name) as a member, each config with `overrides`
// ("key=value", as `train --set`) applied in order and its run folder runs_dir/<name>.
std::vector<Member> load_members(const std::filesystem::path& configs_dir,
                                 std::span<const std::string> overrides,
                                 const std::filesystem::path& runs_dir);

enum class MemberStatus {
  missing_backbone,  // the backbone folder does not exist: not trained
  done,              // a finished run with the same config was found: nothing trained
  resumed,           // an interrupted run (or one given more seeds) was continued
  trained,           // trained from the start
};
std::string_view to_string(MemberStatus status);

struct MemberOutcome {
  std::string member;
  MemberStatus status = MemberStatus::trained;
  std::string detail;  // what happened, and for a skip what was expected where
  std::string message() const { return member + ": " + detail; }  // the log line
  bool available() const { return status != MemberStatus::missing_backbone; }
};

// What train_member would do now, without training: missing_backbone or done (with the same
// details), resumed (an interrupted run of the same config, or one given more seeds, is
// there) or trained (nothing there yet). A run folder holding another config is an Error naming
// the first key that differs.
MemberOutcome plan_member(const Member& member, const std::filesystem::path& data_dir);

// Step 1. Trains `member` into its run folder unless it holds a finished run of the same config
// (seeds and device may differ: more seeds are trained, finished ones kept). An interrupted run
// is resumed from its snapshots. A run folder holding another config is an Error naming the
// first key that differs. A missing backbone folder is no error: the member is skipped and the
// message names the folder expected. When training ran, predictions cached in the run folder
// are removed (the best model may have changed).
MemberOutcome train_member(const Member& member, const std::filesystem::path& data_dir,
                           const train::TrainHooks& hooks = {});

// The outcome of a member just trained (status trained) or resumed (status resumed) by someone
// else, e.g. a child `emotune train` process: its cached predictions are removed (the best
// model may have changed) and the detail reports its summary.json, as train_member's does.
MemberOutcome trained_member_outcome(const Member& member, MemberStatus status);

// Logs the outcome's message: info when the member is available, a warning when it was skipped.
void log_outcome(const MemberOutcome& outcome);

// Step 1 for every member, in order, each outcome logged; by member name.
std::map<std::string, MemberOutcome> train_members(std::span<const Member> members,
                                                   const std::filesystem::path& data_dir,
                                                   const train::TrainHooks& hooks = {});

// True when `run_dir` holds a finished run (summary.json).
bool is_finished_run(const std::filesystem::path& run_dir);

// "<member>" or "<member>#k": the k-th best seed (k >= 1) of a member's run.
struct MemberRef {
  std::string member;
  int rank = 1;
  std::string text() const;  // as written in the config
};
MemberRef parse_member_ref(std::string_view text);  // Error on "name#0", "name#x", "#2", ...

// The folder to predict with for `ref` in the finished run `run_dir`: the run itself for its
// best seed (rank 1), else RUN/seed-<n> of the rank-th best seed by summary.json's scores;
// nullopt, with `why_not` set, when the run has fewer seeds.
std::optional<std::filesystem::path> member_folder(const std::filesystem::path& run_dir, int rank,
                                                   std::string& why_not);

}  // namespace emotune::pipeline
