#pragma once
// The systems file (configs/ensembles/*.toml, see pipeline.h): which members each final
// system combines, per column, and the published numbers beside it.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "eval/ensemble.h"
#include "pipeline/members.h"

namespace emotune::pipeline {

// Score names (each used as dev_<name> or test_<name> in published numbers).
inline constexpr std::string_view kScoreNames[] = {"empathy_r", "distress_r", "average_r",
                                                   "macro_f1", "accuracy"};
using Scores = std::map<std::string, double>;  // e.g. {"macro_f1": 0.64, "accuracy": 0.7111}

// A final system: each task column the combination of its members' predictions of that task.
struct SystemSpec {
  std::string name;   // folder name under OUT/systems/<split>/
  std::string title;  // for tables
  std::vector<MemberRef> empathy, distress, emotion;
  eval::EmotionCombination emotion_method = eval::EmotionCombination::prob_sum;
  // Its test predictions go into the submission. When several built systems of a track are
  // marked submit (only code can do that; a systems file may mark one per track), the one with
  // the best dev score is submitted: average_r for Track I, macro_f1 for Track II.
  bool submit = false;
  Scores paper_dev, paper_test;
  std::vector<std::string> member_names() const;  // every member named, once, in order
};

struct PipelineSpec {
  std::vector<SystemSpec> systems;
  std::map<std::string, Scores> paper_dev;  // published dev numbers of single members
};

// Reads a systems file (see the top of this header). Unknown keys, unknown score names, a
// system with no column, empathy without distress (or the reverse), two systems submitted for
// the same track, duplicate names: Error naming the file and key.
PipelineSpec load_pipeline_spec(const std::filesystem::path& file);

}  // namespace emotune::pipeline
