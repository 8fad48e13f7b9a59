#pragma once

// `emotune reproduce`: the paper's whole pipeline on downloaded checkpoints. Every system of
// configs/paper/ is fine-tuned (each seed), then the final systems of
// configs/ensembles/paper.toml are built (the Track I system and Track II Ensembles 1 and 2),
// with dev scores, test predictions, the submission files and the report; see pipeline.h for
// the steps and the output folder, docs/reproduce.md for the user's view.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/pipeline.h"

namespace emotune::pipeline {

// The pipeline's own options (data, output folder, predictor, hooks, report) plus what picks
// and adjusts the paper's members.
struct ReproduceOptions : PipelineOptions {
  ReproduceOptions() { out_dir = "reproduce"; }
  std::filesystem::path configs_dir = "configs/paper";
  std::filesystem::path systems_file = "configs/ensembles/paper.toml";
  std::filesystem::path models_root;  // required: ${models_root} of the configs' backbones
  std::string device;                  // empty = the configs' (cpu)
  std::vector<std::int64_t> seeds;     // empty = the configs'
  std::vector<std::string> only;       // member or system names; empty = everything
  std::vector<std::string> overrides;  // key=value applied to every member after the above
};

// The members and systems `only` selects: a member name selects that member (and the systems
// using it are built); a system name selects the system and all its members. Empty selects
// everything. An unknown name is an Error listing the valid ones.
struct Selection {
  std::vector<Member> members;
  std::vector<std::string> systems;
};
Selection select(std::vector<Member> members, const PipelineSpec& spec,
                 const std::vector<std::string>& only);

// Loads the configs (with models_root, seeds, device and overrides applied) and the systems
// file, selects, and runs the pipeline into out_dir.
PipelineResult reproduce(const ReproduceOptions& options);

}  // namespace emotune::pipeline
